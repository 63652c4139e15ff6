"""pytest plugin loaded before Django: a throwaway SECRET_KEY when none is set.

Loaded with ``-p tests.testenv`` (pytest.ini) so that it runs before pytest-django reads the
settings, which require SECRET_KEY whenever DEBUG is off. Never used outside test runs.
"""
import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
