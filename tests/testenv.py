"""pytest plugin loaded before Django: a throwaway SECRET_KEY and plain static files.

Loaded with ``-p tests.testenv`` (pytest.ini) so that it runs before pytest-django reads the
settings, which require SECRET_KEY whenever DEBUG is off. Never used outside test runs.
"""
import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
# Tests serve static files from the apps' folders, with no collectstatic step.
os.environ.setdefault("STATIC_MANIFEST", "0")
# The test client speaks plain HTTP; production redirects to HTTPS.
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
# Tests make many anonymous requests a minute; the throttle itself is tested with its own rate.
os.environ.setdefault("API_ANON_RATE", "100000/minute")
# lxml is a test-only dependency (tests/atom.py validates the Atom feeds with it); production
# installs none (requirements.txt). openpyxl (the XLSX exports) and pygal (the charts and maps)
# switch to lxml whenever it is importable, and lxml's writer differs (openpyxl keeps a carriage
# return that the standard library's writer turns into a line feed): keep them on the standard
# library, the code paths production runs.
os.environ.setdefault("OPENPYXL_LXML", "False")
os.environ.setdefault("NO_LXML", "1")
