"""Gatehouse settings: one module, configured by the environment.

Safe local defaults (SQLite, eager Celery, console e-mail) let a first run need
no services; production sets DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY etc.
"""

import json
from pathlib import Path
from typing import Any

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from .broker import broker_settings
from .env import database_from_url, email_from_url, env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# Outside development mode this key refuses to start (see "Secrets and evidence" below).
DEVELOPMENT_SECRET_KEY = "gatehouse-local-development-key-change-me-in-production-0000"
SECRET_KEY = env_secret("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
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
    "registry",
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

DATABASES = {"default": database_from_url(env_secret("DATABASE_URL", "sqlite:///db.sqlite3"), BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "governance.User"

AUTH_PASSWORD_VALIDATORS: list[dict[str, Any]] = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# -- Single sign-on (OpenID Connect) ------------------------------------------------------------------------
# Off unless OIDC_ISSUER is set. The issuer's discovery document supplies the endpoints.
OIDC_ISSUER = env_str("OIDC_ISSUER").rstrip("/")
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "your identity provider")
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_secret("OIDC_CLIENT_SECRET")
OIDC_RP_SCOPES = " ".join(env_list("OIDC_SCOPES", ["openid", "email", "profile"]))
OIDC_RP_SIGN_ALGO = env_str("OIDC_SIGN_ALGO", "RS256")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
# "group=ROLE,group=ROLE": which provider groups give which Gatehouse roles (applied at every sign-in).
OIDC_ROLE_GROUPS = dict(item.rsplit("=", 1) for item in env_list("OIDC_ROLE_GROUPS", []) if "=" in item)
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT_SECONDS", 10)
OIDC_USE_PKCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "sso_callback"
LOGIN_REDIRECT_URL_FAILURE = "/login/?sso=failed"
# A signature, approval or waiver by a single-sign-on person needs an authentication at most this old.
SSO_REAUTH_MAX_AGE = env_int("SSO_REAUTH_MAX_AGE_SECONDS", 300)
SSO_CLOCK_SKEW = env_int("SSO_CLOCK_SKEW_SECONDS", 30)
# Local passwords stay for the embedded demo and for break-glass administrators; switch them off once everyone
# signs in through the provider.
LOCAL_PASSWORDS = env_bool("LOCAL_PASSWORDS", True)
AUTHENTICATION_BACKENDS = (["django.contrib.auth.backends.ModelBackend"] if LOCAL_PASSWORDS else []) + (
    ["governance.kernel.sso.Backend"] if OIDC_ISSUER else [])
if OIDC_ISSUER:
    for _name in ("OIDC_CLIENT_ID",):
        if not env_str(_name):
            raise ImproperlyConfigured(f"{_name} must be set when OIDC_ISSUER is.")
if not AUTHENTICATION_BACKENDS:
    raise ImproperlyConfigured("LOCAL_PASSWORDS=false needs OIDC_ISSUER: nobody could sign in.")

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# Reports and evidence go to an S3-compatible object store (MinIO, Ceph or S3) when STORAGE_S3_BUCKET is set, so a
# file written by a worker on one host is readable from every web host; local disk stays the embedded default.
# Nothing gets a public URL: downloads stream through Gatehouse's permission checks (reporting/views.py).
STORAGE_S3_BUCKET = env_str("STORAGE_S3_BUCKET", "")
_DEFAULT_STORAGE: dict[str, Any] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if STORAGE_S3_BUCKET:
    _DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_S3_BUCKET,
            "endpoint_url": env_str("STORAGE_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("STORAGE_S3_REGION", "us-east-1"),
            "access_key": env_secret("STORAGE_S3_ACCESS_KEY", ""),
            "secret_key": env_secret("STORAGE_S3_SECRET_KEY", ""),
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 60,  # a pre-signed URL, if ever issued after the permission check, lives a minute
            "file_overwrite": False,
        },
    }
STORAGES = {
    "default": _DEFAULT_STORAGE,
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
# Without collectstatic there is no STATIC_ROOT to index: look files up when asked (from the finders) instead
# of scanning a missing directory at start-up, which would warn "No directory at: …/staticfiles/".
WHITENOISE_AUTOREFRESH = not env_bool("STATIC_MANIFEST", False)

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
globals().update(email_from_url(env_secret("EMAIL_URL", "console://")))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Gatehouse <gatehouse@localhost>")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# Celery: no broker configured means tasks run in-process, so a first run needs no services.
CELERY_BROKER_URL = env_secret("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# With no broker, reports render in a thread after the response rather than inside the request (tests: off).
REPORTS_RENDER_AFTER_RESPONSE = env_bool("REPORTS_RENDER_AFTER_RESPONSE", True)
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_secret("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# The queue tasks go to unless routed elsewhere: separate deployments (or test runs) sharing one broker name their own.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
# RabbitMQ: quorum queues and publisher confirms; Redis: a visibility timeout longer than the longest render (13.6 s
# for the busiest quarter's pack at ten years' scale) and the longest retry countdown (600 s). See config/broker.py.
CELERY_VISIBILITY_TIMEOUT_SECONDS = env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 3600)
globals().update(broker_settings(CELERY_BROKER_URL, default_queue=CELERY_TASK_DEFAULT_QUEUE,
                                 visibility_timeout=CELERY_VISIBILITY_TIMEOUT_SECONDS))
# A rendering worker touches its report every REPORT_HEARTBEAT_SECONDS; one silent for four beats is counted lost, and
# the requeue, run every REPORT_REQUEUE_SECONDS, takes the report up again: with the defaults a report whose worker
# was killed restarts within 4 × 15 + 30 = 90 seconds (reporting.common).
REPORT_HEARTBEAT_SECONDS = env_int("REPORT_HEARTBEAT_SECONDS", 15)
REPORT_REQUEUE_SECONDS = env_int("REPORT_REQUEUE_SECONDS", 30)
# How often the MLflow sync runs without webhooks: the alias guard undoes a hand move within one interval.
MLFLOW_SYNC_INTERVAL_SECONDS = env_int("MLFLOW_SYNC_INTERVAL_SECONDS", 60)
# Exactly one beat sends the schedule: a second one stands by (governance/kernel/beat.py).
CELERY_BEAT_SCHEDULER = "governance.kernel.beat:SingleBeatScheduler"
BEAT_LEASE_SECONDS = env_int("BEAT_LEASE_SECONDS", 90)
CELERY_BEAT_SCHEDULE = {
    "evaluate-rollouts": {"task": "readiness.tasks.evaluate_rollouts", "schedule": 60.0},
    # reporting.common.REQUEUE_EVERY: a render whose worker died restarts within 90 seconds.
    "requeue-stale-reports": {"task": "reporting.tasks.requeue_stale_reports",
                              "schedule": float(REPORT_REQUEUE_SECONDS)},
    "sync-mlflow-registry": {"task": "registry.tasks.sync_registry",
                             "schedule": float(MLFLOW_SYNC_INTERVAL_SECONDS)},
    "retry-mlflow-alias-changes": {"task": "registry.tasks.retry_alias_changes", "schedule": 60.0},
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
    # No deep links inside the operation toggles: a link inside a button is a nested interactive control.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False, "displayOperationId": False, "defaultModelsExpandDepth": 0},
    "COMPONENT_SPLIT_REQUEST": True,
    # Rules across fields (a serializer's schema_rules) join the schema after the enums are named.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "governance.kernel.api_schema.apply_schema_rules"],
    # Two choice sets share the field name "kind"; name each so the schema is generated without a warning.
    "ENUM_NAME_OVERRIDES": {
        "ReportKindEnum": "reporting.models.ReportKind",
        "TimelineEventKindEnum": "postmortems.models.TimelineEvent.Kind",
        "AskKindEnum": "postmortems.models.AskKind",
        "CountSourceEnum": "postmortems.models.CountSource",
        "FeatureSourceEnum": "governance.inventory.models.FeatureSource",
        "IncidentStatusEnum": "postmortems.models.IncidentStatus",
        "RemediationStatusEnum": "postmortems.models.RemediationStatus",
        "ReportStatusEnum": "reporting.models.ReportStatus",
        "LaunchStatusEnum": "readiness.models.LaunchStatus",
        "DeployDecisionEnum": "readiness.deploy.decision.THREE_WAY",
        "FindingSeverityEnum": "governance.validation.models.FindingSeverity",
        "IncidentSeverityEnum": "postmortems.models.Severity",
        "FindingStatusEnum": "governance.validation.models.FindingStatus",
        "ValidationStatusEnum": "governance.validation.models.ValidationStatus",
        "ExposureEnum": "governance.inventory.materiality.Exposure",
        "PurposeEnum": "governance.inventory.materiality.Purpose",
    },
}

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "celery": {"level": "WARNING"},
                "kombu": {"level": "WARNING"}},
}

# MLflow Model Registry: unset MLFLOW_TRACKING_URI turns the integration off (the demo needs none of it).
MLFLOW_TRACKING_URI = env_str("MLFLOW_TRACKING_URI", "")
MLFLOW_TRACKING_TOKEN = env_secret("MLFLOW_TRACKING_TOKEN", "")
MLFLOW_WEBHOOK_SECRET = env_secret("MLFLOW_WEBHOOK_SECRET", "")
MLFLOW_TIMEOUT_SECONDS = env_int("MLFLOW_TIMEOUT_SECONDS", 5)

# Reports
PDF_PAGE_SIZE = env_str("PDF_PAGE_SIZE", "A4")
# The currency money figures in reports are recorded and printed in (ISO 4217 code).
REPORT_CURRENCY = env_str("REPORT_CURRENCY", "USD")
FAIRNESS_BOOTSTRAP_RESAMPLES = env_int("FAIRNESS_BOOTSTRAP_RESAMPLES", 10_000)

# -- Secrets and evidence ------------------------------------------------------------------------------------
# Development mode (DEBUG, or GATEHOUSE_DEV=true, which `manage.py demo` sets) runs on built-in keys. Outside
# it, the serving entry points refuse to start with the development SECRET_KEY or without a receipt signing
# key, and `check --deploy` reports the same (governance/kernel/checks.py).
GATEHOUSE_DEV = env_bool("GATEHOUSE_DEV", False)
# Gate receipts are Ed25519-signed (governance/kernel/signing.py): one active private key; retired keys (public
# halves suffice) stay published at /api/v1/keys/ so receipts they signed stay verifiable after a rotation.
GATE_SIGNING_KEY = env_secret("GATE_SIGNING_KEY", "")
GATE_RETIRED_KEYS = env_secret("GATE_RETIRED_KEYS", "")
GATE_RECEIPT_TTL_SECONDS = env_int("GATE_RECEIPT_TTL_SECONDS", 15 * 60)  # one deploy step, not a release
# Deploy-tool contracts (readiness/deploy): an INCONCLUSIVE decision goes to a person in a role chosen per tier
# (Model Risk unless set here) who has this many hours before it becomes a deny and is escalated.
GATE_PENDING_DECISION_HOURS = env_int("GATE_PENDING_DECISION_HOURS", 24)
GATE_PENDING_DECISION_ROLES = {"TIER_1": "MODEL_RISK", "TIER_2": "MODEL_RISK", "TIER_3": "MODEL_RISK"}
GATE_RETRY_AFTER_SECONDS = 30
# The Gatehouse GitHub App (custom deployment protection rule): its id and private key (PEM) for the App JWT, the
# webhook secret for X-Hub-Signature-256, the API base, and which Gatehouse model and stage each repository's
# environment deploys, as JSON: {"owner/repo": {"production": {"model": "credit-line", "stage": "full"}}}.
GITHUB_APP_ID = env_str("GITHUB_APP_ID", "")
GITHUB_APP_PRIVATE_KEY = env_secret("GITHUB_APP_PRIVATE_KEY", "")
GITHUB_WEBHOOK_SECRET = env_secret("GITHUB_WEBHOOK_SECRET", "")
GITHUB_API_URL = env_str("GITHUB_API_URL", "https://api.github.com").rstrip("/")
GITHUB_DEPLOYMENTS = json.loads(env_str("GITHUB_DEPLOYMENTS", "{}") or "{}")
CELERY_BEAT_SCHEDULE["expire-pending-decisions"] = {"task": "readiness.tasks.expire_pending_decisions",
                                                    "schedule": 60.0}
# Audit anchors (governance/kernel/anchors.py): an append-only directory (WORM storage in production) and
# optionally an RFC 3161 time-stamping authority, with the CA bundle that verifies its tokens.
AUDIT_ANCHOR_DIR = env_str("AUDIT_ANCHOR_DIR", "")
AUDIT_ANCHOR_INTERVAL_SECONDS = env_int("AUDIT_ANCHOR_INTERVAL_SECONDS", 3600)
# Write-once anchors in an S3 bucket created with Object Lock (compliance mode); see governance/kernel/anchor_bucket.py.
AUDIT_ANCHOR_BUCKET = env_str("AUDIT_ANCHOR_BUCKET", "")
AUDIT_ANCHOR_RETENTION_DAYS = env_int("AUDIT_ANCHOR_RETENTION_DAYS", 3650)
AUDIT_ANCHOR_S3_ENDPOINT_URL = env_str("AUDIT_ANCHOR_S3_ENDPOINT_URL", "")
AUDIT_ANCHOR_S3_REGION = env_str("AUDIT_ANCHOR_S3_REGION", "us-east-1")
AUDIT_ANCHOR_S3_ACCESS_KEY = env_secret("AUDIT_ANCHOR_S3_ACCESS_KEY", "")
AUDIT_ANCHOR_S3_SECRET_KEY = env_secret("AUDIT_ANCHOR_S3_SECRET_KEY", "")
AUDIT_TSA_URL = env_str("AUDIT_TSA_URL", "")
AUDIT_TSA_CA_FILE = env_str("AUDIT_TSA_CA_FILE", "")
CELERY_BEAT_SCHEDULE["anchor-audit-log"] = {"task": "governance.kernel.tasks.anchor_audit_log",
                                            "schedule": float(AUDIT_ANCHOR_INTERVAL_SECONDS)}
# Signed-in pages and API answers are never kept by browsers or shared caches.
MIDDLEWARE += ["governance.kernel.middleware.no_store_when_signed_in"]
MIDDLEWARE.insert(0, "governance.kernel.middleware.refuse_long_request_targets")
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
    *AUTHENTICATION_BACKENDS,  # local passwords and single sign-on, as configured above
]
# Login and re-authentication share one count (governance/kernel/throttling.py): LOGIN_FAILURE_LIMIT wrong
# passwords for one account from one address lock that pair for LOGIN_COOLOFF_MINUTES; an address is locked for
# every account only at LOGIN_ADDRESS_FAILURE_LIMIT failures across accounts. Compliance or an administrator
# lifts a lockout sooner on the Lockouts page.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 50)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "governance.kernel.throttling.LockoutHandler"
# The client's address is the direct peer unless TRUSTED_PROXY_COUNT reverse proxies, each appending to
# X-Forwarded-For, stand in front of the application; a client-written header is never believed.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "governance.kernel.throttling.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "governance.kernel.throttling.lockout_response"
AXES_VERBOSE = False
# Lockouts are lifted through the audited, re-authenticated service only, not by deleting Axes' rows in the admin.
AXES_ENABLE_ADMIN = False
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
# The API speaks JSON: a form cannot carry a list of objects or a nested object, which it would silently read as
# none. Only the evaluation upload takes multipart as well (readiness.api.EvaluationCreate), for its files.
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["governance.kernel.input_guard.JSONParser"]
REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"] = "governance.kernel.input_guard.Pagination"
HEALTH_CHECK_TIMEOUT_SECONDS = 2
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "governance.kernel.api_schema.AutoSchema"  # documents every error answer
LOGGING["loggers"]["axes"] = {"level": "WARNING"}  # one line per failure and per lockout, not per request
