"""AlarmHub settings: one module, driven by environment variables.

A fresh clone with no environment runs in DEBUG on SQLite with Celery tasks executed in-process.
Production differs only by environment (see README "Configuration" and .env.example).
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import environ
from django.core.exceptions import ImproperlyConfigured

from alarmhub import headers
from alarmhub.beat import beat_schedule
from alarmhub.cache import cache_settings
from alarmhub.logging_config import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


_T = TypeVar("_T")


def _get(name: str, cast: type[_T], default: _T) -> _T:
    """Read one variable; a malformed value stops start-up with a message naming it."""
    try:
        return env.get_value(name, cast=cast, default=default)
    except (ValueError, TypeError, ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(f"Environment variable {name} is invalid: {exc}") from exc


def _rate(name: str, default: str) -> str:
    """A DRF throttle rate such as ``600/minute``, checked at start-up (not at first use)."""
    value = str(_get(name, str, default)).strip()
    count, _, period = value.partition("/")
    if not (count.isascii() and count.isdigit() and period[:1] in ("s", "m", "h", "d")):
        raise ImproperlyConfigured(
            f"Environment variable {name} must look like 600/minute (count/second|minute|hour|day)"
        )
    return value


def _positive_int(name: str, default: int) -> int:
    value = _get(name, int, default)
    assert isinstance(value, int)
    if value <= 0:
        raise ImproperlyConfigured(f"Environment variable {name} must be a positive integer")
    return value


DEBUG: bool = bool(_get("DJANGO_DEBUG", bool, True))

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    # Only ever used in DEBUG: a development key that is obviously not a secret.
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS: list[str] = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served locally, not from a CDN
    "csp",
    "axes",  # login lockout (after contrib.auth)
    "alarms",
    # After alarms: its drf_create_token (hashed tokens) wins over DRF's. Kept for migration 0012.
    "rest_framework.authtoken",
]

MIDDLEWARE = [
    "alarmhub.security.SecurityHeadersMiddleware",  # first in, last out: see its docstring
    "django.middleware.security.SecurityMiddleware",
    "alarmhub.security.CSPMiddleware",  # django-csp's, the plain policy built once
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "alarms.console.timezone.ConsoleTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into a 429
]

ROOT_URLCONF = "alarmhub.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "alarmhub.wsgi.application"

# --- Database -------------------------------------------------------------------------------
try:
    DATABASES = {
        "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    }
except (ImproperlyConfigured, ValueError, KeyError) as exc:
    raise ImproperlyConfigured(f"Environment variable DATABASE_URL is invalid: {exc}") from exc
if DATABASES["default"].get("ENGINE") not in (
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
):
    raise ImproperlyConfigured(
        "Environment variable DATABASE_URL must be a postgres:// or sqlite:/// URL"
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections with a health check survive a database restart gracefully.
    DATABASES["default"]["CONN_MAX_AGE"] = int(_get("DATABASE_CONN_MAX_AGE", int, 60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # No JIT: the app's statements are short, and compiling them costs more than it saves (the
    # statistics' one statement at a million alarms: ~70 of ~450 ms, issue 16). A DATABASE_URL
    # with ?options=... replaces this.
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")
    # A pool per process instead (needs psycopg[pool]): for the gevent web worker, whose
    # greenlets otherwise open a PostgreSQL connection per request (CONN_MAX_AGE=0). With
    # CONN_HEALTH_CHECKS the pool replaces a connection that died with a database restart.
    if _pool_size := int(_get("DATABASE_POOL_SIZE", int, 0)):
        if importlib.util.find_spec("psycopg_pool") is None:
            raise ImproperlyConfigured("DATABASE_POOL_SIZE needs psycopg[pool] installed")
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django: a pool replaces persistent connections
        DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 1, "max_size": _pool_size}
        DATABASES["default"]["ENGINE"] = "alarmhub.postgresql"  # checkouts without a round trip
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let web processes and in-process tasks share the file; IMMEDIATE
    # transactions take the write lock up front, so concurrent writers wait for it instead of
    # failing at once with "database is locked" when a read transaction tries to write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# --- Login lockout (django-axes): every login form; per username and address (SECURITY.md) --
_AXES_BACKEND = "axes.backends.AxesStandaloneBackend"  # first: refuses locked-out logins
AUTHENTICATION_BACKENDS = [_AXES_BACKEND, "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = _positive_int("ALARMHUB_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=_positive_int("ALARMHUB_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "alarmhub.security.client_ip"  # honours DJANGO_TRUSTED_PROXY
AXES_SENSITIVE_PARAMETERS: list[str] = []  # log who failed from where (never the password)
# --- Email: unset, the password-reset pages answer 404 (alarmhub/accounts.py) ---------------
if env.str("EMAIL_URL", default=""):
    try:
        globals().update(env.email_url("EMAIL_URL"))
    except (ImproperlyConfigured, ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"Environment variable EMAIL_URL is invalid: {exc}") from exc
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="alarmhub@localhost")
ALARMHUB_PASSWORD_RESETS_PER_HOUR = _positive_int("ALARMHUB_PASSWORD_RESETS_PER_HOUR", 5)

# --- Security (on by default outside DEBUG) -------------------------------------------------
SECURE_SSL_REDIRECT = bool(_get("DJANGO_SECURE_SSL_REDIRECT", bool, not DEBUG))
_secure_cookies = bool(_get("DJANGO_SECURE_COOKIES", bool, not DEBUG))
SESSION_COOKIE_SECURE = _secure_cookies
CSRF_COOKIE_SECURE = _secure_cookies
# X-Forwarded-Proto/-For count only from DJANGO_TRUSTED_PROXY's addresses (alarmhub/security.py
# drops them from other peers); DJANGO_SECURE_PROXY_SSL_HEADER=True trusts any peer's.
ALARMHUB_TRUSTED_PROXIES: list[str] = env.list("DJANGO_TRUSTED_PROXY", default=[])
if ALARMHUB_TRUSTED_PROXIES or bool(_get("DJANGO_SECURE_PROXY_SSL_HEADER", bool, False)):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"  # not in a cookie
CONTENT_SECURITY_POLICY = headers.CONTENT_SECURITY_POLICY  # no inline script or style
SECURE_HSTS_SECONDS = int(_get("DJANGO_SECURE_HSTS_SECONDS", int, 0 if DEBUG else 31536000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = bool(_get("DJANGO_SECURE_HSTS_PRELOAD", bool, False))
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Health probes and loopback Prometheus scrapes come over plain HTTP; never redirect them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SILENCED_SYSTEM_CHECKS: list[str] = env.list("DJANGO_SILENCED_SYSTEM_CHECKS", default=[])
if not SECURE_SSL_REDIRECT:
    # The operator chose plain HTTP explicitly (DJANGO_SECURE_SSL_REDIRECT=False).
    SILENCED_SYSTEM_CHECKS += ["security.W008"]
if not _secure_cookies:
    SILENCED_SYSTEM_CHECKS += ["security.W012", "security.W016"]
if not SECURE_HSTS_SECONDS:
    SILENCED_SYSTEM_CHECKS += ["security.W004"]
if not SECURE_HSTS_PRELOAD:  # irreversible, per domain: opt in with DJANGO_SECURE_HSTS_PRELOAD
    SILENCED_SYSTEM_CHECKS += ["security.W021"]
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # it ignores an index's INCLUDE columns
    SILENCED_SYSTEM_CHECKS += ["models.W040"]

# --- AlarmHub -------------------------------------------------------------------------------
ALARMHUB_MAX_BODY_BYTES = _positive_int("ALARMHUB_MAX_BODY_BYTES", 1024 * 1024)
# Callbacks stored per endpoint per minute when the endpoint sets no quota; unset: unlimited.
ALARMHUB_MAX_DELIVERIES_PER_MINUTE: int | None = (
    _positive_int("ALARMHUB_MAX_DELIVERIES_PER_MINUTE", 1)
    if env.str("ALARMHUB_MAX_DELIVERIES_PER_MINUTE", default="")
    else None
)
ALARMHUB_RETENTION_DAYS = _positive_int("ALARMHUB_RETENTION_DAYS", 90)
# Retention of rows (alarms/pipeline/retention.py): finished deliveries, finished outbound
# messages, and recovered alarms with their timelines, which are kept for ever unless set.
ALARMHUB_DELIVERY_RETENTION_DAYS = _positive_int("ALARMHUB_DELIVERY_RETENTION_DAYS", 180)
ALARMHUB_OUTBOUND_RETENTION_DAYS = _positive_int("ALARMHUB_OUTBOUND_RETENTION_DAYS", 30)
ALARMHUB_ALARM_RETENTION_DAYS: int | None = (
    _positive_int("ALARMHUB_ALARM_RETENTION_DAYS", 1)
    if env.str("ALARMHUB_ALARM_RETENTION_DAYS", default="").strip()
    else None
)
# Lifetime of new API tokens (alarms/services/tokens.py); unset: they never expire.
ALARMHUB_API_TOKEN_DAYS: int | None = (
    _positive_int("ALARMHUB_API_TOKEN_DAYS", 1)
    if env.str("ALARMHUB_API_TOKEN_DAYS", default="").strip()
    else None
)
ALARMHUB_SWEEP_INTERVAL_SECONDS = _positive_int("ALARMHUB_SWEEP_INTERVAL_SECONDS", 60)
# Deliveries a worker claims and applies in one transaction during a storm (1: one at a time).
ALARMHUB_PROCESS_BATCH_SIZE = _positive_int("ALARMHUB_PROCESS_BATCH_SIZE", 100)
# One task per this many ms per web process at most; its drain claims the rest (0: one each).
ALARMHUB_WAKEUP_COALESCE_MS = _get("ALARMHUB_WAKEUP_COALESCE_MS", int, 50)
if not 0 <= ALARMHUB_WAKEUP_COALESCE_MS <= 1000:
    raise ImproperlyConfigured("Environment variable ALARMHUB_WAKEUP_COALESCE_MS must be 0–1000")
ALARMHUB_FLAPPING_EPISODES = _positive_int("ALARMHUB_FLAPPING_EPISODES", 4)
ALARMHUB_FLAPPING_WINDOW_SECONDS = _positive_int("ALARMHUB_FLAPPING_WINDOW_SECONDS", 3600)
# A firing alarm with no push for this long is shown as stale (a lost recovery, most likely).
ALARMHUB_STALE_AFTER_SECONDS = _positive_int("ALARMHUB_STALE_AFTER_SECONDS", 86400)
# The board lists an alarm recovered this recently above older ones, marked "recently recovered".
ALARMHUB_RECENTLY_RECOVERED_SECONDS = _positive_int("ALARMHUB_RECENTLY_RECOVERED_SECONDS", 3600)
ALARMHUB_DEFAULT_TIMEZONE = env.str("ALARMHUB_DEFAULT_TIMEZONE", default="Asia/Shanghai")
# Most rows one alarm export returns (the response says when it was cut).
ALARMHUB_EXPORT_MAX_ROWS = _positive_int("ALARMHUB_EXPORT_MAX_ROWS", 100_000)
# Statistics (PostgreSQL): a window with more alarms than this reads its lists and percentiles
# from a uniform sample of about ALARMHUB_STATS_SAMPLE alarms; counts and means stay exact.
ALARMHUB_STATS_EXACT_UP_TO = _positive_int("ALARMHUB_STATS_EXACT_UP_TO", 10_000)
ALARMHUB_STATS_SAMPLE = _positive_int("ALARMHUB_STATS_SAMPLE", 2_000)
# Bearer token for GET /metrics; unset, /metrics answers loopback clients only.
ALARMHUB_METRICS_TOKEN = env.str("ALARMHUB_METRICS_TOKEN", default="")
# Where operators open AlarmHub: outbound messages link to alarm pages under it.
ALARMHUB_BASE_URL = env.str("ALARMHUB_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
if not ALARMHUB_BASE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("Environment variable ALARMHUB_BASE_URL must be an http(s) URL")
# Callback failures per client address and minute before 429 (alarms/ingress/throttle.py).
_CB = "ALARMHUB_CALLBACK_"
ALARMHUB_CALLBACK_UNKNOWN_TOKENS_PER_MINUTE = _positive_int(f"{_CB}UNKNOWN_TOKENS_PER_MINUTE", 30)
ALARMHUB_CALLBACK_BAD_CREDENTIALS_PER_MINUTE = _positive_int(f"{_CB}BAD_CREDENTIALS_PER_MINUTE", 10)
# Django rejects request bodies above this before our view can answer 413; keep it above ours.
DATA_UPLOAD_MAX_MEMORY_SIZE = ALARMHUB_MAX_BODY_BYTES + 1024

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
if CELERY_BROKER_URL and not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "memory://")):
    raise ImproperlyConfigured("Environment variable CELERY_BROKER_URL must be a redis:// URL")
# Unset broker = embedded mode: tasks run in-process, right after the request's commit.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # kombu's Redis transport with the broker-crash fix that keeps workers alive (issue 15).
    CELERY_BROKER_TRANSPORT = "alarmhub.broker:Transport"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = _positive_int("CELERY_TASK_TIME_LIMIT", 120)
CELERY_TASK_SOFT_TIME_LIMIT = _positive_int("CELERY_TASK_SOFT_TIME_LIMIT", 90)
_RQ = "ALARMHUB_REQUEUE_AFTER_SECONDS"  # above the hard limit, or running batches requeue (W003)
ALARMHUB_REQUEUE_AFTER_SECONDS = _positive_int(_RQ, CELERY_TASK_TIME_LIMIT + 60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers reconnect forever after a Redis restart instead of giving up after 100 tries.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A publish must fail fast when Redis is down: the view answers 200 anyway and the sweep re-queues.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": 2,
    "socket_connect_timeout": 2,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    "visibility_timeout": 3600,
    "health_check_interval": 10,
}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Celery's Django fix-up closes the database connection around every task by default: a new
# PostgreSQL connection per delivery. Reuse it instead; a signal handler in alarms/tasks.py checks
# it around each task (CONN_HEALTH_CHECKS, CONN_MAX_AGE) so a database restart is survived.
CELERY_DB_REUSE_MAX = 1000
CELERY_BEAT_SCHEDULE = beat_schedule(sweep_seconds=ALARMHUB_SWEEP_INTERVAL_SECONDS)

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "alarms.api.exceptions.exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "alarms.api.authentication.HashedTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "alarm_write": _rate("ALARMHUB_WRITE_THROTTLE_RATE", "600/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AlarmHub API",
    "DESCRIPTION": "Alarms from Tencent Cloud Monitor callbacks.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "AlarmStatusEnum": "alarms.choices.AlarmStatus",
        "DeliveryStatusEnum": "alarms.choices.DeliveryStatus",
        "AlarmKindEnum": "alarms.choices.AlarmKind",
        "EventTypeEnum": "alarms.choices.EventType",
    },
}

# CACHE_URL=redis://...: shared by every process (throttles); unset: local memory.
CACHES = cache_settings(env)

# Callback tokens never reach a log: every handler redacts (alarmhub/logging_config.py).
LOGGING = logging_config(level=env.str("DJANGO_LOG_LEVEL", default="INFO"))

TESTING = "pytest" in sys.modules
