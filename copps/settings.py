"""copps settings: everything comes from the environment, with safe local defaults.

The embedded default (no variables set) is a development instance: SQLite and media under
``var/``. ``COPPS_MODE=production`` turns on the strict checks: the process refuses to start
without ``SECRET_KEY`` and a real ``ALLOWED_HOSTS``, and two-factor authentication becomes
mandatory for editors and administrators. See README.md for the full reference.
"""

import os
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def envstr(name: str, default: str) -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in envstr(name, default).split(",") if item.strip()]


MODE = envstr("COPPS_MODE", "development")
if MODE not in ("development", "production"):
    raise ImproperlyConfigured(f"COPPS_MODE must be development or production, not {MODE!r}")
PRODUCTION = MODE == "production"
TESTING = "pytest" in sys.modules

VAR_DIR = Path(envstr("COPPS_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
if PRODUCTION:
    if len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "COPPS_MODE=production requires SECRET_KEY (at least 32 random characters)."
        )
    if not ALLOWED_HOSTS or any(h in ("*", ".") for h in ALLOWED_HOSTS):
        raise ImproperlyConfigured(
            "COPPS_MODE=production requires ALLOWED_HOSTS naming the real host names (never '*')."
        )
elif not SECRET_KEY:
    SECRET_KEY = "copps-development-only-key-never-use-in-production-0123456789"  # noqa: S105

DEBUG = envbool("DEBUG", False)

# The public base URL: permalinks in renditions and feeds are built from it.
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:" + envstr("PORT", "8000")).rstrip("/")
FORCE_NAME = envstr("COPPS_FORCE_NAME", "Politiezone Scheldeland")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.syndication",
    "django_tasks_db",
    "copps.accounts",
    "copps.audit",
    "copps.channels",
    "copps.newsroom",
    "copps.federation",
    "copps.inbox",
    "copps.blotter",
    "copps.listening",
    "copps.crowd",
    "copps.investigations",
    "copps.public",
    "copps.worker",
    "copps.console",
    "copps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "copps.accounts.middleware.PrivateNoStoreMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "copps.accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "copps.urls"
WSGI_APPLICATION = "copps.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "accounts:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "copps.public.context_processors.site",
                "copps.federation.context_processors.fediverse",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    import dj_database_url

    if not DATABASE_URL.startswith(("postgres://", "postgresql://", "sqlite://")):
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// (or sqlite://) URL.")
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": envstr("COPPS_SQLITE_PATH", str(VAR_DIR / "copps.sqlite3")),
            # WAL lets the web server read while the worker writes; IMMEDIATE makes a writing
            # transaction take the write lock at BEGIN, so two writers queue instead of failing.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Languages: content may be written in any of these, and the interface is translated into each.
LANGUAGE_CODE = envstr("COPPS_DEFAULT_LANGUAGE", "nl")
LANGUAGES = [
    ("nl", _("Dutch")),
    ("fr", _("French")),
    ("de", _("German")),
    ("en", _("English")),
]
LOCALE_PATHS = [BASE_DIR / "copps" / "locale"]
TIME_ZONE = envstr("TIME_ZONE", "Europe/Brussels")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(VAR_DIR / "media")))
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Upload and body limits: a clear 413/400 instead of exhausting memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("COPPS_MAX_BODY_BYTES", 2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
COPPS_MAX_IMAGE_BYTES = envint("COPPS_MAX_IMAGE_BYTES", 10 * 1024 * 1024)
COPPS_MAX_BODY_CHARS = envint("COPPS_MAX_BODY_CHARS", 50_000)
COPPS_MAX_VIDEO_BYTES = envint("COPPS_MAX_VIDEO_BYTES", 500 * 1024 * 1024)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 3600
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy: the public site ships no JavaScript and the console only the vendored
# htmx, so scripts, styles and images come from this origin only; no plugins, no <base>, no
# framing, forms post here only. Views that need an inline <style> (Django's CSRF failure page)
# get a per-response nonce. htmx inserts one fixed <style> for its request indicator: it is
# allowed by its hash (copps/console/static/console/htmx.min.js 2.0.x; a different text would
# only lose that indicator style, and tests/e2e/test_csp.py would report the violation).
HTMX_INDICATOR_STYLE_HASH = "'sha256-faU7yAF8NxuMTNEwVmBz+VcYeIoBQ2EMHW3WaVxCvnk='"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.NONCE, HTMX_INDICATOR_STYLE_HASH],
    "img-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if PRODUCTION:
    SESSION_COOKIE_SECURE = envbool("COOKIES_SECURE", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # Only trust X-Forwarded-Proto when a reverse proxy we run sets it (see docs/deployment.md).
    if envbool("BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
    # Browsers remember to use HTTPS only (sent on HTTPS responses only); 0 switches it off.
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 365 * 24 * 3600)

# Reverse proxies whose X-Forwarded-For we believe (addresses or networks); empty: trust none.
# See copps/lib/clientip.py for the model.
COPPS_TRUSTED_PROXIES = envlist("COPPS_TRUSTED_PROXIES", "")

# Login throttling: this many failures per username (or per client) within the window lock it.
COPPS_LOGIN_MAX_FAILURES = envint("COPPS_LOGIN_MAX_FAILURES", 5)
COPPS_LOGIN_WINDOW_SECONDS = envint("COPPS_LOGIN_WINDOW_SECONDS", 15 * 60)
# Two-factor: required for editors and administrators in production unless switched off here.
COPPS_REQUIRE_2FA = envbool("COPPS_REQUIRE_2FA", PRODUCTION)

# The force's own contact details are not personal data: guideline checks let them pass.
COPPS_OWN_PHONE_NUMBERS = envlist("COPPS_OWN_PHONE_NUMBERS", "101,112,+3225551010")
COPPS_OWN_EMAIL_DOMAINS = envlist("COPPS_OWN_EMAIL_DOMAINS", "police.example")

# SMS renditions are cut to fit this many concatenated segments (153 GSM-7 / 67 UCS-2 each).
COPPS_SMS_MAX_SEGMENTS = max(1, envint("COPPS_SMS_MAX_SEGMENTS", 1))

# The worker: how often it looks for scheduled work, and when /healthz calls it gone.
COPPS_WORKER_TICK_SECONDS = envint("COPPS_WORKER_TICK_SECONDS", 1)
COPPS_WORKER_STALE_SECONDS = envint("COPPS_WORKER_STALE_SECONDS", 30)

# Channels and deliveries (copps/channels). Credentials are encrypted at rest with this key
# (Fernet); by default it is derived from SECRET_KEY, so rotating SECRET_KEY needs this set to
# the old derived key first (see docs/deployment.md).
COPPS_SECRETS_KEY = envstr("COPPS_SECRETS_KEY", "")
# Hosts the outbound HTTP entry point may call even though they are private (copps/lib/http.py).
COPPS_HTTP_ALLOW_PRIVATE_HOSTS = envlist("COPPS_HTTP_ALLOW_PRIVATE_HOSTS", "")
# A delivery still "sending" after this long belongs to a worker that died: the sweeper takes it.
COPPS_DELIVERY_SENDING_TIMEOUT = envint("COPPS_DELIVERY_SENDING_TIMEOUT", 120)
# Retries of a failed delivery: at most this many attempts, backoff doubling up to the cap.
COPPS_DELIVERY_MAX_ATTEMPTS = envint("COPPS_DELIVERY_MAX_ATTEMPTS", 8)
COPPS_DELIVERY_BACKOFF_CAP = envint("COPPS_DELIVERY_BACKOFF_CAP", 3600)
# Space calls to each channel by the service's published rate limit (off only in tests).
COPPS_CHANNEL_RATE_LIMIT = envbool("COPPS_CHANNEL_RATE_LIMIT", True)
# Subscriptions: requests per client address per hour, confirmation messages per address per day.
COPPS_SUBSCRIBE_PER_SOURCE_PER_HOUR = envint("COPPS_SUBSCRIBE_PER_SOURCE_PER_HOUR", 5)
COPPS_SUBSCRIBE_PER_ADDRESS_PER_DAY = envint("COPPS_SUBSCRIBE_PER_ADDRESS_PER_DAY", 3)
# Shared secret in Kannel's sms-service get-url for inbound SMS (empty: the endpoint is off).
COPPS_SMS_INBOUND_TOKEN = envstr("COPPS_SMS_INBOUND_TOKEN", "")
# Text-to-police SMS (issue 5): Kannel's sms-service calls /hooks/sms/kannel. Authenticated by
# a shared secret (the `token` parameter) or by the caller's address; outside production the
# hook accepts loopback (the demo's Kannel), in production only what is configured here.
COPPS_SMS_HOOK_TOKEN = envstr("COPPS_SMS_HOOK_TOKEN", "")
COPPS_SMS_HOOK_ALLOWED = envlist("COPPS_SMS_HOOK_ALLOWED", "" if PRODUCTION else "127.0.0.1,::1")
# Texts one number may send per hour before it is answered "too many messages" (nothing lost).
COPPS_SMS_PER_NUMBER_PER_HOUR = envint("COPPS_SMS_PER_NUMBER_PER_HOUR", 20)
# Days after a number's last text before its alias (the only link to the number) is deleted.
COPPS_SMS_ALIAS_DAYS = envint("COPPS_SMS_ALIAS_DAYS", 30)
# Anonymous tips: attachments, flood protection (keys are HMACs of the client, kept one hour),
# proof-of-work difficulty in bits (browsers with JavaScript solve it; a plain form post is
# accepted under the stricter no-work limit), retention after a tip is closed.
COPPS_TIP_MAX_FILES = envint("COPPS_TIP_MAX_FILES", 5)
COPPS_TIP_MAX_FILE_MB = envint("COPPS_TIP_MAX_FILE_MB", 25)
COPPS_TIP_PER_SOURCE_PER_HOUR = envint("COPPS_TIP_PER_SOURCE_PER_HOUR", 10)
COPPS_TIP_NOWORK_PER_SOURCE_PER_HOUR = envint("COPPS_TIP_NOWORK_PER_SOURCE_PER_HOUR", 3)
COPPS_TIP_FOLLOWUP_FAILURES_PER_HOUR = envint("COPPS_TIP_FOLLOWUP_FAILURES_PER_HOUR", 10)
COPPS_TIP_POW_BITS = envint("COPPS_TIP_POW_BITS", 16)
COPPS_TIP_RETENTION_DAYS = envint("COPPS_TIP_RETENTION_DAYS", 365)
# Files citizens send (tip attachments): never under MEDIA_ROOT, never served by URL.
COPPS_PRIVATE_DIR = envstr("COPPS_PRIVATE_DIR", str(VAR_DIR / "private"))
# Inbox: response-time targets per priority (hours), retention of closed conversations, which
# message kinds' comments wait for a moderator (pre-moderation; the others are published at once
# and moderated afterwards), how often replies and mentions are pulled from the channels.
COPPS_INBOX_SLA_HOURS = envlist("COPPS_INBOX_SLA_HOURS", "urgent=1,high=4,normal=24,low=72")
COPPS_INBOX_RETENTION_DAYS = envint("COPPS_INBOX_RETENTION_DAYS", 180)
COPPS_COMMENTS_PREMODERATED = envlist("COPPS_COMMENTS_PREMODERATED", "notice")
COPPS_COMMENTS_PER_SOURCE_PER_HOUR = envint("COPPS_COMMENTS_PER_SOURCE_PER_HOUR", 10)
COPPS_INBOX_PULL_SECONDS = envint("COPPS_INBOX_PULL_SECONDS", 60)
# E-mail to the contact address: `copps inbox smtpd` listens here (or an MTA pipes each mail to
# `copps inbox mail`); replies go out from COPPS_CONTACT_EMAIL.
COPPS_CONTACT_EMAIL = envstr("COPPS_CONTACT_EMAIL", "contact@police.example")
COPPS_MAIL_INBOUND = envstr("COPPS_MAIL_INBOUND", "127.0.0.1:8026")
# Police blotter (issue 6): map tiles for the public map (empty: markers on a plain background,
# nothing fetched from a tile server; when set, only the blotter page allows that host in its
# CSP img-src), the daily digest per area drafted after this local hour for the previous day.
COPPS_MAP_TILE_URL = envstr("COPPS_MAP_TILE_URL", "")
COPPS_MAP_TILE_ATTRIBUTION = envstr("COPPS_MAP_TILE_ATTRIBUTION", "")
COPPS_BLOTTER_DIGEST_HOUR = envint("COPPS_BLOTTER_DIGEST_HOUR", 7)
COPPS_BLOTTER_DIGEST_AUTHOR = envstr("COPPS_BLOTTER_DIGEST_AUTHOR", "blotter-digest")
# Redaction of the blotter's free text with deduce (Dutch de-identification) on top of copps' own
# recognisers; off: only copps' recognisers (more entries wait for review).
COPPS_REDACT_DEDUCE = envbool("COPPS_REDACT_DEDUCE", True)
# Largest incident batch body the push API reads, and largest console upload (bytes).
COPPS_BLOTTER_API_MAX_BYTES = envint("COPPS_BLOTTER_API_MAX_BYTES", 20 * 1024 * 1024)
COPPS_BLOTTER_UPLOAD_MAX_BYTES = envint("COPPS_BLOTTER_UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
# Listening (issue 7): how often polled sources (RSS, Mastodon without streaming, Telegram) are
# read when they set no interval of their own; the language given to posts without letters.
COPPS_LISTENING_POLL_SECONDS = envint("COPPS_LISTENING_POLL_SECONDS", 300)
COPPS_LISTENING_DEFAULT_LANGUAGE = envstr("COPPS_LISTENING_DEFAULT_LANGUAGE", "nl")
# Largest file the console's source import reads (bigger: `copps listening_run --import`).
COPPS_LISTENING_IMPORT_MAX_BYTES = envint("COPPS_LISTENING_IMPORT_MAX_BYTES", 1024 * 1024)
# National scale-out: the listening pipeline as N consumers of a NATS JetStream stream
# (`copps listening_nats consume`); empty URL: embedded in the worker.
COPPS_NATS_URL = envstr("COPPS_NATS_URL", "")
COPPS_NATS_STREAM = envstr("COPPS_NATS_STREAM", "COPPS_LISTENING")
COPPS_NATS_SUBJECT = envstr("COPPS_NATS_SUBJECT", "copps.listening.posts")
COPPS_NATS_DURABLE = envstr("COPPS_NATS_DURABLE", "copps-listening")

# Public order (copps.crowd): sensor counts over MQTT (`copps crowd_mqtt`; empty: HTTP only),
# when a silent sensor turns stale, flood and clock limits, how long counts are kept after an
# event ended.
COPPS_MQTT_URL = envstr("COPPS_MQTT_URL", "")
COPPS_MQTT_TOPIC = envstr("COPPS_MQTT_TOPIC", "copps/sensors/+/counts")
COPPS_MQTT_CLIENT_ID = envstr("COPPS_MQTT_CLIENT_ID", "copps-crowd")
COPPS_SENSOR_STALE_SECONDS = envint("COPPS_SENSOR_STALE_SECONDS", 120)
COPPS_SENSOR_MAX_PER_MINUTE = envint("COPPS_SENSOR_MAX_PER_MINUTE", 120)
COPPS_SENSOR_CLOCK_SKEW_SECONDS = envint("COPPS_SENSOR_CLOCK_SKEW_SECONDS", 60)
COPPS_SENSOR_MAX_AGE_HOURS = envint("COPPS_SENSOR_MAX_AGE_HOURS", 24)
COPPS_CROWD_RETENTION_DAYS = envint("COPPS_CROWD_RETENTION_DAYS", 30)
# Seconds the public crowd and crisis pages may be cached (by browsers and the proxy).
COPPS_PUBLIC_CROWD_MAX_AGE = envint("COPPS_PUBLIC_CROWD_MAX_AGE", 10)
# E-mail channels: sandbox channels send to the local SMTP sink (`copps smtp_sink`, started by
# `make demo`), whose folder the console's outbox viewer reads.
COPPS_SMTP_SINK_HOST = envstr("COPPS_SMTP_SINK_HOST", "127.0.0.1")
COPPS_SMTP_SINK_PORT = envint("COPPS_SMTP_SINK_PORT", 8025)
COPPS_OUTBOX_DIR = envstr("COPPS_OUTBOX_DIR", str(VAR_DIR / "outbox"))
COPPS_SMTP_TIMEOUT = envint("COPPS_SMTP_TIMEOUT", 30)
COPPS_SMTP_EHLO_NAME = envstr("COPPS_SMTP_EHLO_NAME", "")
# An unknown outcome is read back from the channel only after this many seconds (a post may take
# a moment to appear in the account's timeline).
COPPS_READ_BACK_GRACE = envint("COPPS_READ_BACK_GRACE", 30)
# Web push: send threads per worker; subscribe/unsubscribe requests per client address per window.
COPPS_WEBPUSH_THREADS = envint("COPPS_WEBPUSH_THREADS", 16)
COPPS_PUSH_SUBSCRIBE_LIMIT = envint("COPPS_PUSH_SUBSCRIBE_LIMIT", 10)
COPPS_PUSH_SUBSCRIBE_WINDOW = envint("COPPS_PUSH_SUBSCRIBE_WINDOW", 3600)
# Browsers' push services: when they refuse our VAPID token, the key pair is bad (the channel is
# disabled); a refusal from any other endpoint only fails that citizen's copy.
COPPS_PUSH_SERVICES = envlist(
    "COPPS_PUSH_SERVICES",
    "fcm.googleapis.com,updates.push.services.mozilla.com,web.push.apple.com,"
    "api.push.apple.com,wns2-par02p.notify.windows.com,notify.windows.com",
)
# Circuit breaker: this many failures in a row pause a channel (and alert administrators).
COPPS_CHANNEL_FAILURE_THRESHOLD = envint("COPPS_CHANNEL_FAILURE_THRESHOLD", 5)

# Fediverse (copps' own ActivityPub accounts), docs/channels/fediverse.md.
# Incoming: a signed request's Date (or created) must be within this many seconds of our clock.
COPPS_AP_SIGNATURE_WINDOW = envint("COPPS_AP_SIGNATURE_WINDOW", 300)
COPPS_AP_MAX_BODY_BYTES = envint("COPPS_AP_MAX_BODY_BYTES", 256 * 1024)
COPPS_AP_MAX_DEPTH = envint("COPPS_AP_MAX_DEPTH", 20)
# Remote actors (and their keys) are fetched again after this many seconds.
COPPS_AP_KEY_CACHE_SECONDS = envint("COPPS_AP_KEY_CACHE_SECONDS", 86400)
# Outgoing: attempts per inbox (backoff doubling from 30 s, capped by COPPS_DELIVERY_BACKOFF_CAP:
# 12 attempts span about seven hours), parallel requests per worker, per-server breaker.
COPPS_AP_DELIVERY_ATTEMPTS = envint("COPPS_AP_DELIVERY_ATTEMPTS", 12)
COPPS_AP_THREADS = envint("COPPS_AP_THREADS", 16)
COPPS_AP_SERVER_FAILURE_THRESHOLD = envint("COPPS_AP_SERVER_FAILURE_THRESHOLD", 5)
COPPS_AP_DEAD_SERVER_DAYS = envint("COPPS_AP_DEAD_SERVER_DAYS", 7)
# Retention: processed activity ids (redeliveries); replies and mentions, moderated or not.
COPPS_AP_SEEN_DAYS = envint("COPPS_AP_SEEN_DAYS", 14)
COPPS_AP_ITEM_RETENTION_DAYS = envint("COPPS_AP_ITEM_RETENTION_DAYS", 180)

# Error reports never carry the client's address, User-Agent or cookies (anonymous tips).
DEFAULT_EXCEPTION_REPORTER_FILTER = "copps.lib.errorreports.AnonymousExceptionReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "null": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # httpx logs every request URL at INFO: URLs can carry tokens (Telegram puts the bot
        # token in the path) and personal data. Errors are reported by the channels code.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # A request for a host name we do not serve is a 400 for the client, not an error with a
        # traceback for us (anyone can send them by the thousand).
        "django.security.DisallowedHost": {"handlers": ["null"], "propagate": False},
        # The batch worker logs every empty poll at INFO: too chatty for a loop that runs each second.
        "django_tasks_db": {"level": "WARNING"},
    },
}

MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": envstr("EMAIL_HOST", "127.0.0.1"), "port": envint("EMAIL_PORT", 25)},
    }
}
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "noreply@police.example")
