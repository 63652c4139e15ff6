"""lawtracker settings, read from the environment only.

Variables (all optional in development):
- ``DATABASE_URL``: a dj-database-url URL; default ``sqlite:///<repo>/db.sqlite3``.
- ``SECRET_KEY``: required when ``DEBUG`` is off.
- ``DEBUG``: ``1``/``true``/``yes`` turns debug on; default off.
- ``ALLOWED_HOSTS``: comma-separated host names; default ``localhost,127.0.0.1`` (plus
  ``testserver`` under DEBUG).
- ``CSRF_TRUSTED_ORIGINS``: comma-separated origins (``https://lawtracker.example.org``).
- ``LAWTRACKER_STALE_DAYS``: an assessment verified longer ago than this is stale (default 365).
- ``LAWTRACKER_PUBLIC_NAMES``: a JSON object ``{"username": "Display name"}``: the names an
  organisation chooses to publish for its editors and reviewers; every other account is shown to
  the public as "an editor" / "a reviewer" (default ``{}``: nobody is named).
- ``PAGE_SIZE`` / ``MAX_PAGE_SIZE``: API pagination (default 50, capped at 500).
- ``STATIC_ROOT``: where ``collectstatic`` writes (default ``<repo>/staticfiles``).
- Production variables (HTTPS, proxies, cache, throttling): see deploy/README.md.
"""

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable: 1/true/yes/on (any case) are true."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated environment variable as a list of non-empty, stripped items."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (or set DEBUG=1 for local development)."
        )
    # Development only: a key that is useless anywhere else.
    SECRET_KEY = "django-insecure-development-only-key-lawtracker"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
if DEBUG:
    ALLOWED_HOSTS += ["testserver", "[::1]"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "lawtracker.admin_site.AdminConfig",  # Django's admin, with the guard of admin_site.py
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "import_export",
    "axes",
    "csp",
    "jurisdictions",
    "spans",
    "django_tasks",
    "django_tasks_db",
    "alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "lawtracker.middleware.DatabaseUnavailableMiddleware",
    # axes last: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "lawtracker.auth.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "lawtracker.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "lawtracker.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}

# Reconnect by itself after a database restart: check a persistent connection before reuse.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# collectstatic's target; a release directory in production (deploy/README.md).
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files (needs `collectstatic`) in production; plain files under
        # DEBUG and in tests (STATIC_MANIFEST=0), which serve from the apps' folders.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Tests and `make run` serve static files without a collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.DjangoModelPermissionsOrAnonReadOnly",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # API writes from scripts: "Authorization: Token <key>" (rest_framework.authtoken).
        # First, so that a write without credentials is a 401 naming the scheme
        # (WWW-Authenticate: Token), as RFC 9110 asks, not a 403.
        "rest_framework.authentication.TokenAuthentication",
        # The browsable API after logging in to the admin.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PAGINATION_CLASS": "jurisdictions.api.pagination.Pagination",
    "PAGE_SIZE": int(os.environ.get("PAGE_SIZE", "50")),
    "DEFAULT_RENDERER_CLASSES": [
        "jurisdictions.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
MAX_PAGE_SIZE = int(os.environ.get("MAX_PAGE_SIZE", "500"))

SPECTACULAR_SETTINGS = {
    "TITLE": "lawtracker API",
    "DESCRIPTION": (
        "Comparative tracker of laws on AI-generated child sexual abuse imagery: "
        "jurisdictions, instruments, status history, assessments, effective coverage and gaps. "
        "How each value is decided, what counts as law, the date rules and what verification "
        "means: [the methodology](/methodology/)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from drf-spectacular-sidecar: nothing loads from another host.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The enum hook is drf-spectacular's default; public_reads writes the API's reading rules
    # into every GET operation (jurisdictions/api/schema.py), write_patterns the text rules of
    # every write body (jurisdictions/api/writes.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "jurisdictions.api.schema.public_reads",
        "jurisdictions.api.writes.write_patterns",
        "jurisdictions.api.schema.busy_answers",
    ],
    # One name per vocabulary, so that every schema field using it shares one enum component.
    "ENUM_NAME_OVERRIDES": {
        "AssessmentValueEnum": "jurisdictions.choices.AssessmentValue",
        "EffectiveValueEnum": "jurisdictions.choices.EffectiveValue",
        "JurisdictionKindEnum": "jurisdictions.choices.JurisdictionKind",
        "SourceKindEnum": "jurisdictions.choices.SourceKind",
        "EventKindEnum": "jurisdictions.choices.EventKind",
        "StatusEnum": "jurisdictions.choices.Status",
        "DatePrecisionEnum": "jurisdictions.choices.DatePrecision",
        "ResearchStatusEnum": "jurisdictions.choices.ResearchStatus",
        "InstrumentTypeEnum": "jurisdictions.choices.InstrumentType",
        "ConfidenceEnum": "jurisdictions.choices.Confidence",
        "LegalForceEnum": "jurisdictions.choices.LegalForce",
        "ScopeEnum": "jurisdictions.choices.Scope",
    },
}

LAWTRACKER_STALE_DAYS = int(os.environ.get("LAWTRACKER_STALE_DAYS", "365"))
try:
    LAWTRACKER_PUBLIC_NAMES = json.loads(os.environ.get("LAWTRACKER_PUBLIC_NAMES") or "{}")
except ValueError as exc:
    raise ImproperlyConfigured(f"LAWTRACKER_PUBLIC_NAMES is not JSON: {exc}") from exc
if not isinstance(LAWTRACKER_PUBLIC_NAMES, dict):
    raise ImproperlyConfigured('LAWTRACKER_PUBLIC_NAMES must be a JSON object {"user": "Name"}.')

# django-import-export: exports are escaped against formula injection (off by default).
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# --- security (production defaults whenever DEBUG is off) -------------------------------------
# Behind a TLS-terminating load balancer, set SECURE_PROXY_SSL_HEADER=1 so that Django trusts
# X-Forwarded-Proto; SECURE_SSL_REDIRECT=0 where the balancer already redirects.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe app servers over plain HTTP, without X-Forwarded-Proto: a redirect
# would read as "unhealthy".
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): everything from this host; no inline scripts. Inline
# styles are allowed for server-generated SVG maps, which carry their own <style>.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Admin login throttling (django-axes): 5 failures lock the username from that address for 1 h.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "1"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

# Proxies in front of the app servers that append to X-Forwarded-For (a load balancer, a local
# nginx: see deploy/README.md). 0 (the default) trusts no header and takes the peer address. The
# API throttle and the login lockout identify a client the same way (lawtracker.auth.client_ip):
# without this, DRF would key anonymous clients on the whole X-Forwarded-For header, which any
# client can vary to escape the throttle, and behind a proxy every client would share one key.
NUM_PROXIES = int(os.environ.get("NUM_PROXIES", "0"))
AXES_CLIENT_IP_CALLABLE = "lawtracker.auth.client_ip"

# API throttling of anonymous clients (429 with Retry-After).
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["rest_framework.throttling.AnonRateThrottle"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "anon": os.environ.get("API_ANON_RATE", "600/minute"),
}

# Optional shared cache (django-redis not required): REDIS_URL enables Django's Redis backend,
# so throttling and caches are shared between app servers.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }


# --- alerts (issue 14) ---------------------------------------------------------------------
# The outbox is delivered by django-tasks' database backend: ``manage.py db_worker``.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
ALERTS_SITE_URL = os.environ.get("ALERTS_SITE_URL", "http://127.0.0.1:8000")
ALERTS_WEBHOOK_TIMEOUT = float(os.environ.get("ALERTS_WEBHOOK_TIMEOUT", "10"))
# Webhooks reach public addresses only (alerts/webhooks.py); on, loopback and private receivers
# are allowed too: local development and the tests, never a server others can register on.
ALERTS_WEBHOOK_ALLOW_PRIVATE = env_bool("ALERTS_WEBHOOK_ALLOW_PRIVATE", False)
ALERTS_LEASE_SECONDS = int(os.environ.get("ALERTS_LEASE_SECONDS", "60"))
ALERTS_RETRY_BASE_SECONDS = float(os.environ.get("ALERTS_RETRY_BASE_SECONDS", "30"))
ALERTS_MAX_ATTEMPTS = int(os.environ.get("ALERTS_MAX_ATTEMPTS", "8"))
ALERTS_DISABLE_AFTER = int(os.environ.get("ALERTS_DISABLE_AFTER", "20"))
ALERTS_SIGNUPS_PER_ADDRESS = int(os.environ.get("ALERTS_SIGNUPS_PER_ADDRESS", "3"))
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["alert_signup"] = os.environ.get(
    "ALERTS_SIGNUP_RATE", "10/hour")
# E-mail (digests, notices): Django's SMTP backend from the environment; the console in DEBUG
# unless EMAIL_HOST is given.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "lawtracker <alerts@localhost>")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG and "EMAIL_HOST" not in os.environ
    else "django.core.mail.backends.smtp.EmailBackend"
)
