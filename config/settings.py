"""Project settings: one flat module, read from environment variables with safe defaults.

Every variable is listed in `.env.example`. Production is switched on with
DJANGO_PRODUCTION=1 (see docs/operations.md), which turns on the secure cookie and HTTPS settings
that `manage.py check --deploy` asks for.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core -----------------------------------------------------------------------------

DEBUG = env_bool("DJANGO_DEBUG")
PRODUCTION = env_bool("DJANGO_PRODUCTION")
# Signed cookies (sessions, messages, password-reset links) are only as secret as this key.
# Development (DJANGO_DEBUG=1, as bin/serve sets) may use a public fallback, marked
# insecure so that `check --deploy` flags it; anything else refuses to start without one.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set DJANGO_SECRET_KEY (a long random string, e.g. from "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), "
            "or DJANGO_DEBUG=1 for development on the public development key."
        )
    SECRET_KEY = "django-insecure-dev-only-key-never-use-in-production"  # noqa: S105
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
# A stale token says "reload the page" in the site's look, also with DEBUG on.
CSRF_FAILURE_VIEW = "accounts.views.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "crontask",
    "axes",
    "accounts",
    "catalog",
    "watches",
    "usage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Conditional GET whose ETags survive CSRF token masking (see config/conditional_get.py).
    "config.conditional_get.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a signed-in team member; views opt out with @login_not_required.
    # (htmx requests without a session get HX-Redirect to sign-in: accounts/middleware.py)
    "accounts.middleware.SignInRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # 400 for requests no page needs and the admin cannot survive (see the module).
    "config.request_limits.RequestLimitsMiddleware",
    # Turns a sign-in that django-axes refused into the 429 page (last, as axes asks).
    "axes.middleware.AxesMiddleware",
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
                "catalog.context_processors.data_source_context",
                "watches.context_processors.inbox",
            ],
        },
    },
]

# --- Database: SQLite by default, PostgreSQL (or any) through DATABASE_URL --------------

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the task worker and the scheduler write to one file: WAL lets
    # readers go on during a write, IMMEDIATE makes writers queue instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background tasks: Django's tasks framework on the database (django-tasks-db) -------

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# With Redis, only one scheduler (`manage.py crontask`) runs at a time across servers.
CRONTASK = {"REDIS_URL": os.environ.get("REDIS_URL") or None}

# --- Cache: shared by all processes of a machine; Redis for several machines -----------

REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ.get("DJANGO_CACHE_DIR", str(BASE_DIR / ".cache" / "django")),
            "OPTIONS": {"MAX_ENTRIES": 20000},
        }
    }

# --- fal Platform API --------------------------------------------------------------------

# Unset: the bundled offline snapshot, served in process by the emulator.
FAL_API_URL = os.environ.get("FAL_API_URL", "").strip().rstrip("/")
FAL_KEY = os.environ.get("FAL_KEY", "").strip()
# fal's admin key: the team's spend and quantities (usage) need it; analytics and prices do not.
FAL_ADMIN_KEY = os.environ.get("FAL_ADMIN_KEY", "").strip()
FAL_API_TIMEOUT = float(os.environ.get("FAL_API_TIMEOUT") or 10)
FAL_API_MAX_RETRIES = int(os.environ.get("FAL_API_MAX_RETRIES") or 2)
CATALOG_CACHE_TTL = int(os.environ.get("CATALOG_CACHE_TTL") or 600)
# The sync: how often, how fast (upstream calls per second), how patient with 429s.
CATALOG_SYNC_INTERVAL = int(os.environ.get("CATALOG_SYNC_INTERVAL") or 600)
CATALOG_SYNC_MAX_RPS = float(os.environ.get("CATALOG_SYNC_MAX_RPS") or 5)
CATALOG_SYNC_MAX_RETRIES = int(os.environ.get("CATALOG_SYNC_MAX_RETRIES") or 5)
CATALOG_SYNC_RETRY_AFTER_CAP = float(os.environ.get("CATALOG_SYNC_RETRY_AFTER_CAP") or 120)
CATALOG_SNAPSHOT_DATE = "2026-08-10"
# /health/ is unhealthy (503) when the last successful sync is older than this many seconds,
# or a task has waited this long; unset: 3 x CATALOG_SYNC_INTERVAL.
CATALOG_HEALTH_MAX_SYNC_AGE = int(os.environ.get("CATALOG_HEALTH_MAX_SYNC_AGE") or 0)
# The usage sync (usage.sync): how often it fetches the team's last 90 days.
USAGE_SYNC_INTERVAL = int(os.environ.get("USAGE_SYNC_INTERVAL") or 3600)
# The endpoints it asks analytics about besides those the team has used ("app.Model.field"):
# the catalog's, wired here so that the usage app imports no catalog code.
USAGE_SYNC_CANDIDATES = "catalog.CatalogEntry.endpoint_id"

# --- Auth --------------------------------------------------------------------------------

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "catalog:index"
LOGOUT_REDIRECT_URL = "login"
# django-axes refuses a locked-out client before the password is checked (accounts/throttle.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend with the permission sets cached across requests (see the module).
    "accounts.permissions.CachedPermissionsBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Mail: only for password reset, which is offered only when mail is configured ---------

# EMAIL_URL=smtp://user:password@host:587 (STARTTLS), smtps://…:465 (TLS from the start), or
# console:// (mails printed by the server process, for development). Unset: no mail, and
# the password-reset pages are 404s ("ask an admin" on the sign-in page instead).
EMAIL_URL = os.environ.get("EMAIL_URL", "").strip()
PASSWORD_RESET_ENABLED = bool(EMAIL_URL)
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL") or "catalog@localhost"
# Django 6.1's MAILERS (the EMAIL_* settings are deprecated). Without EMAIL_URL it is left
# unset: an empty MAILERS is a check warning, and nothing sends mail then.
if EMAIL_URL:
    from urllib.parse import unquote, urlsplit

    MAILERS: dict[str, dict] = {}

    _mail = urlsplit(EMAIL_URL)
    if _mail.scheme == "console":
        MAILERS["default"] = {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    elif _mail.scheme in ("smtp", "smtps"):
        _ssl = _mail.scheme == "smtps"
        _port = _mail.port or (465 if _ssl else 587)
        MAILERS["default"] = {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _mail.hostname or "localhost",
                "port": _port,
                "username": unquote(_mail.username or ""),
                "password": unquote(_mail.password or ""),
                "use_ssl": _ssl,
                "use_tls": not _ssl and _port != 25,  # STARTTLS, except plain port 25 relays
                "timeout": 10,
            },
        }
    else:
        raise ImproperlyConfigured(
            f"EMAIL_URL must start with smtp://, smtps:// or console:// (not {_mail.scheme}://)."
        )

# --- Watches: where word of a change goes besides the inbox (watches/, docs/watches.md) ---

# The site's address, for links in watch mails and webhooks.
SITE_URL = os.environ.get("SITE_URL", "").strip().rstrip("/") or "http://localhost:8000"
# Webhooks go only to public addresses (checked on the resolved address when sending);
# 1 lets them reach loopback, private and link-local ones too (a receiver on your network).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE")

# --- Sign-in throttling (django-axes; the database handler works on SQLite and PostgreSQL) --

AXES_HANDLER = "accounts.throttle.SignInHandler"
# Five failures for a username from one address; twenty from one address (SignInHandler).
AXES_FAILURE_LIMIT = 5
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_RESET_ON_SUCCESS = True
# Attempts during a lock are refused but do not restart it: "15 minutes" stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "accounts.throttle.username_key"
AXES_CLIENT_IP_CALLABLE = "accounts.throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.throttle.lockout_response"
# Lockouts are lifted with `manage.py axes_reset` (or axes_reset_username); axes' admin
# pages are off, which keeps every admin route one the hostile query-string sweep covers.
AXES_ENABLE_ADMIN = False
# Behind a reverse proxy every client has the proxy's address: name the header the proxy
# sets (e.g. X-Forwarded-For; its right-most entry is used). Unset: REMOTE_ADDR.
CLIENT_IP_HEADER = os.environ.get("DJANGO_CLIENT_IP_HEADER", "").strip()

# --- Static files --------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Lets tests and the dev server serve static files without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG or env_bool("WHITENOISE_USE_FINDERS")
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security -------------------------------------------------------------------------------

from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    # Thumbnails come from fal's CDNs; only https images are rendered.
    "img-src": [CSP.SELF, "https:", "data:"],
    "media-src": [CSP.SELF, "https:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Sessions live in the database and are read from the cache: no query per request for them.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    # Load balancers probe instances over plain HTTP; /health/ says nothing secret.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS") or 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Internationalisation -------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging: never log request headers (they carry FAL_KEY or FAL_ADMIN_KEY) ------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s %(message)s"}},
    "filters": {"forbidden_one_line": {"()": "config.log_filters.ForbiddenWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
    "loggers": {
        "catalog": {"level": os.environ.get("CATALOG_LOG_LEVEL", "INFO")},
        # A 403 is one line ("Forbidden (Permission denied): /path"), not a traceback.
        "django.request": {"filters": ["forbidden_one_line"]},
    },
}
