"""WSGI entry point (gunicorn lawtracker.wsgi)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lawtracker.settings")
application = get_wsgi_application()
