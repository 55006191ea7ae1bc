"""Settings for almlink, read from the environment (django-environ).

Production secrets have no default: a missing one stops the process with the
variable's name. Development values come from `make run` (a generated, git-ignored
`.env`), never from defaults in this file.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local `.env` is a development convenience written by `make run`, read only when asked
# (DJANGO_READ_DOT_ENV_FILE=true, which `make run` sets): a leftover file on a server must never
# turn debug on. Real deployments set the variables in the process environment (which wins).
ENV_FILE = Path(env.str("DJANGO_ENV_FILE", default=str(BASE_DIR / ".env")))
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False) and ENV_FILE.is_file():
    env.read_env(str(ENV_FILE))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- Credential encryption -------------------------------------------------
# Its own variable, independent of SECRET_KEY: rotating the session secret must
# never make the stored Azure DevOps tokens unreadable, and vice versa.
ALM_ENCRYPTION_KEY = env.str("ALM_ENCRYPTION_KEY")
# During a key rotation: the previous key, still read (never written) until rotate_encryption_key has run.
ALM_ENCRYPTION_KEY_OLD = env.str("ALM_ENCRYPTION_KEY_OLD", default="")
ALM_ENCRYPTION_SALT = env.str("ALM_ENCRYPTION_SALT", default="almlink-credentials-v1")


def _check_encryption_key(name: str, value: str) -> None:
    from alm.crypto import EncryptionKeyError, parse_key

    try:
        parse_key(value)
    except EncryptionKeyError as exc:
        raise ImproperlyConfigured(f"{name} is malformed: {exc}") from None


_check_encryption_key("ALM_ENCRYPTION_KEY", ALM_ENCRYPTION_KEY)
if ALM_ENCRYPTION_KEY_OLD:
    _check_encryption_key("ALM_ENCRYPTION_KEY_OLD", ALM_ENCRYPTION_KEY_OLD)

# --- Azure DevOps ------------------------------------------------------------
# Seconds before an outbound call to Azure DevOps gives up (connect and read).
ALM_HTTP_TIMEOUT = env.float("ALM_HTTP_TIMEOUT", default=10.0)
# http:// collection URLs for Azure DevOps Server (on-premises) installations.
ALM_ALLOW_INSECURE_SERVER_URLS = env.bool("ALM_ALLOW_INSECURE_SERVER_URLS", default=False)
# http:// on loopback (the bundled emulator); always allowed when DEBUG is on.
ALM_ALLOW_LOOPBACK_HTTP = env.bool("ALM_ALLOW_LOOPBACK_HTTP", default=DEBUG)
# Whether a user may save a token whose Azure DevOps e-mail differs from theirs.
ALM_ALLOW_FOREIGN_TOKENS = env.bool("ALM_ALLOW_FOREIGN_TOKENS", default=False)
# The app's public address, for links in e-mails sent outside a request (the daily token check).
ALM_SITE_URL = env.str("ALM_SITE_URL", default="http://127.0.0.1:8000")
# Sign in with Microsoft: the Entra ID authority host (another for sovereign clouds or the emulator), and a CA
# file to trust for it instead of the system's (the emulator's, in development; empty in production).
ALM_ENTRA_AUTHORITY_HOST = env.str("ALM_ENTRA_AUTHORITY_HOST", default="https://login.microsoftonline.com")
ALM_ENTRA_CA_BUNDLE = env.str("ALM_ENTRA_CA_BUNDLE", default="")
# Test Connection / Save attempts per user per minute.
ALM_CREDENTIAL_RATE_LIMIT = env.int("ALM_CREDENTIAL_RATE_LIMIT", default=10)
# Work item pages (they call Azure DevOps) per user per minute: everyone without a token shares the
# service account's Azure DevOps budget, so one person must not be able to spend it for all.
ALM_USER_CALLS_PER_MINUTE = env.int("ALM_USER_CALLS_PER_MINUTE", default=30)
# Azure DevOps Server on a private network (10.x, 172.16-31.x, 192.168.x, 100.64.x, fc00::/7) is refused
# unless this is set. Loopback follows ALM_ALLOW_LOOPBACK_HTTP; link-local (cloud metadata), multicast
# and reserved addresses are always refused.
ALM_ALLOW_PRIVATE_SERVER_ADDRESSES = env.bool("ALM_ALLOW_PRIVATE_SERVER_ADDRESSES", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "alm",
    "profiles",
    "workitems",
    "ado_emulator",
    "axes",
    "config.apps.SiteConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.NoStoreForSignedInMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # Refuses a sign-in while its user name and address are locked out, before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "profiles.context_processors.alm_banner",
            ],
        },
    },
]

DATABASES = {
    # The embedded default: a SQLite file in the project. PostgreSQL with
    # DATABASE_URL=postgres://user@host:5432/name (psycopg 3).
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://almlink")}

# --- Sign-in lockout (django-axes) ---------------------------------------------
# Failed sign-ins are counted in the cache, per user name and address together: guessing one
# person's password from one address locks that pair only, never the person everywhere.
AXES_HANDLER = "config.login_lockout.LockoutRecordingCacheHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("ALM_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ALM_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.login_lockout.lockout_response"
# The address is the connection's (REMOTE_ADDR), never a header a client can forge; behind a proxy
# every client shares the proxy's address, so the lockout is then per user name (README, Security).
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
# A per-process cache makes the lockout count per worker: config.checks warns (`check --deploy`, debug off).

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Compressed files with hashed names; in DEBUG the plain storage keeps
        # `runserver` working without collectstatic.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="almlink <almlink@localhost>")

# --- Security switches (environment, not code edits) -------------------------
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=False)
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Error reports (ADMINS e-mails) mask the passwords inside URL-shaped settings too (CACHE_URL's Redis password).
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.error_reports.SafeSettingsFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        # urllib3 at DEBUG prints request lines; they never carry the token
        # (it travels in a header), but keep the noise down by default.
        "urllib3": {"level": "WARNING"},
        # axes says "BEGIN" on every start at INFO; its failed sign-ins and lockouts are WARNINGs.
        "axes": {"level": "WARNING"},
    },
}
