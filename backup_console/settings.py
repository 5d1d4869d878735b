"""Settings for Backup Console, read from the environment.

Unset, everything falls back to an embedded default that needs no server:
SQLite in ``var/`` and Celery's filesystem transport (also in ``var/``), so a
newcomer with only Python can run the console.  Set ``DATABASE_URL`` and
``CELERY_BROKER_URL`` and the same code runs on PostgreSQL and Redis.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BACKUP_CONSOLE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name, default, minimum=1, unit="minutes"):
    value = os.environ.get(name) or str(default)
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise ImproperlyConfigured(f"{name} must be a whole number of {unit} ({minimum} or more), got {value!r}")
    return number


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# HTTPS=1 turns on everything a console served over TLS needs (redirect,
# HSTS, secure cookies); production sets it, `make run` on a laptop does not.
HTTPS = env_bool("HTTPS", False)

# Sessions, CSRF tokens and password-reset links are signed with SECRET_KEY:
# the key below is in the source, so only development (DEBUG=1, as `make run`
# sets) may fall back to it.  Anything else -- DEBUG=0 or unset -- is a
# deployment and refuses to start without a key of its own.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if HTTPS or not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set: only development (DEBUG=1 without HTTPS=1) may run without one, "
            "signing sessions and CSRF tokens with the public development key. Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    SECRET_KEY = "django-insecure-dev-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "backup_console.apps.ConsoleAdminConfig",  # django.contrib.admin, for admins only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "django_tables2",
    "django_celery_beat",
    "axes",
    "csp",
    # {% partialdef %}: a live page's refresh renders one named part of its template.
    "template_partials.apps.SimpleAppConfig",
    "clusters",
    "backups",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise: pages get no-store and Permissions-Policy, static files keep their caching.
    "backup_console.middleware.PageHeadersMiddleware",
    # Before anything reads a body: over MAX_REQUEST_BODY_BYTES is refused with 413.
    "backup_console.middleware.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Inside SessionMiddleware, which saves what it marks: the idle timeout.
    "backup_console.middleware.IdleSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # request.htmx: a live page's refresh is answered with its fragment only.
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as its docs ask: it answers a locked-out login before the view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "backup_console.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            # The usual loaders (cached), wrapped so "page.html#part" names one
            # {% partialdef %} of a template (django-template-partials).
            "loaders": [("template_partials.loader.Loader", [("django.template.loaders.cached.Loader", [
                "django.template.loaders.filesystem.Loader", "django.template.loaders.app_directories.Loader",
            ])])],
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "backup_console.roles.context_processor",
                "backups.views.alerts.navigation",
            ],
        },
    },
    {
        # The task lists' rows only, generated from their Tables' columns
        # (backups/tables.py; backup_console/jinja2.py says why Jinja2).
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "backup_console.jinja2.environment", "autoescape": True},
    },
]

WSGI_APPLICATION = "backup_console.wsgi.application"


def database_settings():
    url = os.environ.get("DATABASE_URL")
    if not url:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    db = dj_database_url.parse(url, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")))
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # Web server, worker and beat share one file: WAL lets readers go on
        # while a writer commits, IMMEDIATE takes the write lock up front so
        # two writers queue on `timeout` instead of failing with "locked".
        db["CONN_MAX_AGE"] = 0
        db["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    else:
        db["CONN_HEALTH_CHECKS"] = True
        # A list page's queries are short index walks whose cost estimates on a
        # big table still pass jit_above_cost: compiling them costs more than
        # running them, so the console turns PostgreSQL's JIT off.
        db.setdefault("OPTIONS", {})["options"] = "-c jit=off"
    if os.environ.get("TEST_DATABASE_NAME"):
        # Set by tests/run.py so two test runs on one server never collide.
        db["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}
    return db


DATABASES = {"default": database_settings()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
# A refused CSRF token gets the console's framed 403 page (backup_console/views.py).
CSRF_FAILURE_VIEW = "backup_console.views.csrf_failure"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request otherwise
# Outside production, serve straight from the finders so neither `make run`
# nor the tests need a collectstatic step; production serves collected,
# hashed, compressed files.
WHITENOISE_USE_FINDERS = not HTTPS
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if HTTPS
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (check --deploy is clean when HTTPS=1 and SECRET_KEY is set) ---
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# BEHIND_PROXY=1: requests come through PROXY_COUNT reverse proxies (nginx,
# deploy/nginx.conf), each setting X-Forwarded-Proto and appending to
# X-Forwarded-For.  Only then are those headers believed: the scheme here,
# the client's address for lock-outs below.  Without it any client could claim
# https or another address.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
PROXY_COUNT = env_int("PROXY_COUNT", 1, unit="proxies")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # no page script reads the token from the cookie
# Sessions end after SESSION_IDLE_MINUTES without a page (backup_console/
# middleware.py pushes the expiry back at most once a minute, so a page costs
# no session write), and with SESSION_EXPIRE_AT_BROWSER_CLOSE=1 also when the
# browser closes (the cookie has no expiry; the server-side timeout still holds).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", False)
# Request bodies: the console takes no uploads, its largest form is a few KB.
# RequestBodyLimitMiddleware refuses a body over the cap with 413 before it is
# read; neither form fields nor (absent) files may hold more in memory.
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_KB", 1024, unit="kilobytes") * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
# No page uses these browser features; PageHeadersMiddleware denies them.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Failed-login throttling (django-axes): 5 wrong passwords for one username
# from one address lock that pair out for 15 minutes; a success resets the
# count.  The axes backend goes first so a locked-out pair is refused before
# the password is even checked.  ``ConsoleAxesBackend`` skips (rather than
# fails) the calls to authenticate() that carry no request: only code, never
# an HTTP login, makes those.
AUTHENTICATION_BACKENDS = [
    "backup_console.auth.ConsoleAxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# The address a lock-out is keyed on: REMOTE_ADDR, or behind the proxy the
# X-Forwarded-For entry the outermost trusted proxy wrote (backup_console/
# proxy.py).  Axes' own AXES_IPWARE_* settings need django-ipware, which is not
# installed: without this every client behind the proxy shared its address.
AXES_CLIENT_IP_CALLABLE = "backup_console.proxy.client_address"

# Content Security Policy (django-csp 4): every script and style comes from
# our own static files; no inline script, style attribute, frame or plugin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

# --- Live pages ----------------------------------------------------------------
# Lists, the cluster page and task pages refresh their rows and state in place
# every this many seconds (htmx polling; 0 turns it off).  The refresh pauses
# while a dialog is open, a row expanded or a field in focus (console.js).
LIVE_REFRESH_SECONDS = env_int("LIVE_REFRESH_SECONDS", 5, minimum=0, unit="seconds")

# --- Celery ---------------------------------------------------------------
# Embedded default: kombu's filesystem transport, which passes messages
# between processes on one machine through a folder, so worker and beat run
# with no Redis.  Production: CELERY_BROKER_URL=redis://host:6379/0.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_IS_EMBEDDED = CELERY_BROKER_URL.startswith("filesystem://")
if CELERY_BROKER_IS_EMBEDDED:
    # kombu's filesystem transport, made safe for concurrent writers and readers.
    CELERY_BROKER_TRANSPORT = "backup_console.embedded_broker:Transport"
    _broker_dir = VAR_DIR / "celery-broker"
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        # Fanout (worker control) messages; kombu defaults to ./control.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task taken by a worker that dies comes back after this long.
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
    }
# Task state lives in our own tables; Celery results are not needed.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
# A message is acknowledged only after its task ran, so a worker killed
# mid-task leaves it to be delivered again (tasks are idempotent).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# How long the worker's timer thread may sleep; a warm shutdown waits for it.
CELERY_WORKER_TIMER_PRECISION = 0.25
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# A page that queues work must not hang while the broker is down: connect
# within 2 s and retry a publish twice, briefly; then the action is refused
# (backups/engine/dispatch.py) or, if the broker died in the instant after the check,
# the sweeper ends what was never dispatched.
CELERY_BROKER_CONNECTION_TIMEOUT = float(os.environ.get("CELERY_BROKER_CONNECTION_TIMEOUT", "2"))
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
if not CELERY_BROKER_IS_EMBEDDED:
    CELERY_BROKER_TRANSPORT_OPTIONS.setdefault("socket_connect_timeout", CELERY_BROKER_CONNECTION_TIMEOUT)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"forbidden_in_one_line": {"()": "backup_console.log_filters.ForbiddenInOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # A 403 is one WARNING line, not a traceback (backup_console/log_filters.py).
    "loggers": {"django.request": {"filters": ["forbidden_in_one_line"]}},
}

# --- Alert notifications (backups/engine/notify.py, webhooks.py) ------------
# Email goes through Django's email backend: SMTP when EMAIL_HOST is set,
# else printed to the worker's log (console backend), so a fresh machine
# needs no mail server.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend")
EMAIL_PORT = env_int("EMAIL_PORT", 25, unit="port")
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, unit="seconds")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "backup-console@localhost")
# The console's own address, for the link in a notification (empty: a path only).
CONSOLE_URL = os.environ.get("CONSOLE_URL", "").rstrip("/")
# Webhooks: a receiver gets this many seconds to accept the connection and
# as many to answer; a delivery is tried this many times, the n-th retry
# after RETRY_SECONDS * 2**(n-1); a channel whose deliveries failed this
# many times in a row turns itself off.
ALERT_WEBHOOK_TIMEOUT_SECONDS = env_int("ALERT_WEBHOOK_TIMEOUT_SECONDS", 5, unit="seconds")
ALERT_DELIVERY_ATTEMPTS = env_int("ALERT_DELIVERY_ATTEMPTS", 5, unit="attempts")
ALERT_DELIVERY_RETRY_SECONDS = float(os.environ.get("ALERT_DELIVERY_RETRY_SECONDS", "30"))
ALERT_CHANNEL_DISABLE_AFTER = env_int("ALERT_CHANNEL_DISABLE_AFTER", 5, unit="deliveries")
# Webhook targets on loopback, private or link-local addresses are refused
# (the console must not be a way into internal services) unless this is set
# or DEBUG is on.
ALERT_WEBHOOK_ALLOW_PRIVATE = env_bool("ALERT_WEBHOOK_ALLOW_PRIVATE", False)
# A storage destination with a capacity alerts when its backups use more
# than this share of it (percent, 1-100).
STORAGE_ALERT_PERCENT = min(100, env_int("STORAGE_ALERT_PERCENT", 85, unit="percent"))

# --- Simulated backup machinery (backups/engine/simulation.py) ---------------
# How many simulated seconds pass per real second (demos and tests run fast).
SIM_SPEED = float(os.environ.get("SIM_SPEED", "60"))
# Seed for failure injection; unset means truly random outcomes.
SIM_SEED = os.environ.get("SIM_SEED") or None
SIM_FAILURE_RATE = float(os.environ.get("SIM_FAILURE_RATE", "0.1"))  # share of data backups that fail
SIM_LOG_FAULT_RATE = float(os.environ.get("SIM_LOG_FAULT_RATE", "0.0001"))  # per running log backup per tick
SIM_LOG_TICK_SECONDS = float(os.environ.get("SIM_LOG_TICK_SECONDS", "5"))
SIM_SWEEP_SECONDS = float(os.environ.get("SIM_SWEEP_SECONDS", "30"))
SIM_STALE_SECONDS = float(os.environ.get("SIM_STALE_SECONDS", "60"))  # no heartbeat this long: worker lost

# --- Recovery (backups/engine/intervals.py) --------------------------------------
# A tenant's RPO (now minus its newest recoverable moment) is a warning over
# its policy's log-delay alert threshold and breached over this many minutes
# (or when nothing can be restored at all).
RPO_BREACHED_MINUTES = env_int("RPO_BREACHED_MINUTES", 60, unit="minutes")

# --- Prometheus (backups/views/prometheus.py) --------------------------------
# /metrics answers only a scrape that sends this bearer token; unset (the
# default) turns the endpoint off (404).  Never logged.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# --- System beat entries ------------------------------------------------------
# DatabaseScheduler copies these into django-celery-beat's tables when beat
# starts; each policy's own entry is made there by backups/engine/schedules.py.
CELERY_BEAT_SCHEDULE = {
    # A tick or sweep that waited longer than its period is dropped, not piled up.
    "backups: advance log backups": {
        "task": "backups.tasks.tick_log_backups",
        "schedule": SIM_LOG_TICK_SECONDS,
        "options": {"expires": SIM_LOG_TICK_SECONDS},
    },
    "backups: sweep lost tasks": {
        "task": "backups.tasks.sweep_lost_tasks",
        "schedule": SIM_SWEEP_SECONDS,
        "options": {"expires": SIM_SWEEP_SECONDS},
    },
    "backups: schedule cleanups": {"task": "backups.tasks.schedule_cleanups", "schedule": 60.0, "options": {"expires": 60}},
    # Policies made in the admin or by seed_demo get their beat entry here.
    "backups: sync policy schedules": {
        "task": "backups.tasks.reconcile_policy_schedules",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    # Restore drills: finish those whose restore ended, remove expired scratch tenants.
    "backups: sweep restore drills": {"task": "backups.tasks.sweep_drills", "schedule": 60.0, "options": {"expires": 60}},
    # Alerts of conditions time makes (delays, timeouts, no backup in N days),
    # and a catch-up of those the transitions' hooks evaluate (engine/alerting.py).
    "backups: evaluate alerts": {"task": "backups.tasks.evaluate_alerts", "schedule": 60.0, "options": {"expires": 60}},
}
