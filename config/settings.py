"""Gatehouse settings: one module, configured by the environment.

Safe local defaults (SQLite, eager Celery, console e-mail) let a first run need
no services; production sets DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY etc.
"""

from pathlib import Path

from celery.schedules import crontab

from .env import database_from_url, email_from_url, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "gatehouse-local-development-key-change-me-in-production-0000")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "governance",
    "readiness",
    "postmortems",
    "reporting",
    "examples",
    "dashboard",
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
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "governance.kernel.context_processors.navigation",
            ],
        },
    }
]

DATABASES = {"default": database_from_url(env_str("DATABASE_URL", "sqlite:///db.sqlite3"), BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "governance.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production runs collectstatic and sets STATIC_MANIFEST=true for hashed, compressed, cacheable files; the
    # embedded default serves the source files directly, so a first run needs no build step.
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not env_bool("STATIC_MANIFEST", False)

# Uploads: predictions files may be large, but never unbounded (a clear 413 beyond this).
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Security: strict by default outside DEBUG; HTTPS redirect is left to the proxy unless asked for.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG and env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = not DEBUG and env_bool("SECURE_COOKIES", True)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = ["security.W008"] if not SECURE_SSL_REDIRECT else []

# E-mail
globals().update(email_from_url(env_str("EMAIL_URL", "console://")))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Gatehouse <gatehouse@localhost>")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# Gate receipts are HMAC-signed with their own key so rotating SECRET_KEY (sessions)
# does not invalidate evidence CI has archived.
GATE_RECEIPT_KEY = env_str("GATE_RECEIPT_KEY", "") or ("receipt:" + SECRET_KEY)

# Celery: no broker configured means tasks run in-process, so a first run needs no services.
CELERY_TASK_ALWAYS_EAGER = not env_str("CELERY_BROKER_URL", "")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "evaluate-rollouts": {"task": "readiness.tasks.evaluate_rollouts", "schedule": 60.0},
    "requeue-stale-reports": {"task": "reporting.tasks.requeue_stale_reports", "schedule": 300.0},
    "remind-overdue-action-items": {
        "task": "postmortems.tasks.remind_overdue_action_items",
        "schedule": crontab(hour=7, minute=0),
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "governance.kernel.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "governance.kernel.api_errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Gatehouse API",
    "DESCRIPTION": "Launch gate, evaluations, observations, incidents and reports for governed ML launches.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "celery": {"level": "WARNING"},
                "kombu": {"level": "WARNING"}},
}

# Reports
PDF_PAGE_SIZE = env_str("PDF_PAGE_SIZE", "A4")
FAIRNESS_BOOTSTRAP_RESAMPLES = env_int("FAIRNESS_BOOTSTRAP_RESAMPLES", 10_000)

# ---------------------------------------------------------------------------------------------------------------
# Hostile users and hostile input: login throttling, content security policy, API errors, bounded uploads.
# Kept as one block so it merges cleanly beside other settings work.
from datetime import timedelta  # noqa: E402

from csp.constants import NONCE, NONE, SELF  # noqa: E402

INSTALLED_APPS += ["axes", "csp"]
MIDDLEWARE = [
    MIDDLEWARE[0],
    "csp.middleware.CSPMiddleware",
    "governance.kernel.input_guard.RejectNulBytesMiddleware",
    *MIDDLEWARE[1:],
    # Last, as django-axes requires: turns a lockout found during authentication into the lockout answer.
    "axes.middleware.AxesMiddleware",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out account or address before checking a password
    "django.contrib.auth.backends.ModelBackend",
]
# Login and signature re-authentication share one count: LOGIN_FAILURE_LIMIT wrong passwords for an account, or
# from one address, lock it for LOGIN_COOLOFF_MINUTES (an administrator can unlock sooner in the admin).
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "governance.kernel.throttling.lockout_response"
AXES_VERBOSE = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# A strict Content-Security-Policy: scripts and styles only from our own origin (or carrying the request's nonce);
# charts are inline SVG drawn with presentation attributes, never style attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# API error answers: JSON bodies over DATA_UPLOAD_MAX_MEMORY_SIZE get a JSON 413; uploads stream to a temporary
# file beyond FILE_UPLOAD_MAX_MEMORY_SIZE, so a web worker never holds a large predictions file in memory.
API_MAX_JSON_DEPTH = 32
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "governance.kernel.input_guard.JSONParser",
    "governance.kernel.input_guard.FormParser",
    "governance.kernel.input_guard.MultiPartParser",
]
REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"] = "governance.kernel.input_guard.Pagination"
HEALTH_CHECK_TIMEOUT_SECONDS = 2
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "governance.kernel.api_schema.AutoSchema"  # documents every error answer
LOGGING["loggers"]["axes"] = {"level": "WARNING"}  # one line per failure and per lockout, not per request
