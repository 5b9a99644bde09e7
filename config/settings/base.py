"""Settings shared by every environment; values come from environment variables (STYLE.md §9).

With no ``DATABASE_URL`` / ``CELERY_BROKER_URL`` the project uses its embedded PostgreSQL and Redis
(``config.devstack``, started by ``./dev``); with them set it uses real servers.
"""

from datetime import timedelta

import django_stubs_ext
from celery.schedules import crontab

from config.env import BASE_DIR, env

# Generic Django classes (admin.TabularInline[Child, Parent], ...) subscriptable at runtime.
django_stubs_ext.monkeypatch()

# Published in this repository: production refuses it (config/settings/production.py).
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-never-used-in-production"  # noqa: S105  # nosec B105
SECRET_KEY = env("DJANGO_SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", ".localhost"])

# The platform itself answers on these hosts (home, staff login, onboarding); every other host
# must be a firm's domain, else 404 (tenancy fails closed).
PLATFORM_PUBLIC_HOSTS = env.list("PLATFORM_PUBLIC_HOSTS", default=["localhost", "127.0.0.1"])
# The parent domain under which firms get a host by default (acme -> acme.localhost).
PLATFORM_FIRM_DOMAIN_SUFFIX = env("PLATFORM_FIRM_DOMAIN_SUFFIX", default="localhost")


def _database_url() -> str:
    url = env("DATABASE_URL", default="")
    if url:
        return str(url)
    from config import devstack

    return devstack.database_url()


def _broker_url() -> str:
    url = env("CELERY_BROKER_URL", default="")
    if url:
        return str(url)
    from config import devstack

    return devstack.broker_url()


def _postgres_bin_dir() -> str:
    """The embedded server's own client programs (pg_dump must be as new as the server)."""
    from config import devstack

    return str(devstack.pg_bin_dir())


# Where firm backups find pg_dump, pg_restore and psql; empty: on the PATH (production's default).
POSTGRES_BIN_DIR = env("POSTGRES_BIN_DIR", default="") or _postgres_bin_dir()

DATABASES = {"default": env.db_url_config(_database_url())}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=0)
# psycopg 3 binds parameters on the server: large bulk writes (proposals, lots) skip Python-side
# quoting of every value.
DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
# django-tenants wraps this backend: Django's, declaring server-side binding's parameter limit so
# that bulk writes and deletes are batched (config/postgresql/base.py).
ORIGINAL_BACKEND = "config.postgresql"
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

SHARED_APPS = [
    "django_tenants",
    "apps.firms",
    "apps.securities",
    "apps.optimizer",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Sign-in lockouts live in the cache (keys carry the schema), not in axes' tables.
    "axes",
    # TOTP devices belong to logins, which live per schema: in both lists, like auth.
    "django_otp",
    "django_otp.plugins.otp_totp",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "apps.access",
    "apps.accounts",
    "apps.models",
    "apps.restrictions",
    "apps.trading",
    "apps.reports",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "firms.Firm"
TENANT_DOMAIN_MODEL = "firms.Domain"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenants"
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    "apps.firms.middleware.FirmHostMiddleware",
    "apps.common.middleware.InputGuardMiddleware",  # no NUL, no non-ASCII digits (limits)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.common.headers.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.access.totp.TotpEnrolmentMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a sign-in refused by the lockout (any door) into a 429 (apps.access.login).
    "axes.middleware.AxesMiddleware",
]

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
                "apps.access.context_processors.firm_context",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The lockout is checked first on every authentication, whatever the door (django-axes).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Session and CSRF cookies stay host-only: never a parent domain (STYLE.md §5.2).
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media"))
MEDIA_URL = "media/"
# Every stored file sits under MEDIA_ROOT/<schema>/ (STYLE.md §5.6); downloads go through views.
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
STORAGES = {
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous API call is answered 401 with a WWW-Authenticate header.
        "apps.access.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.access.permissions.IsFirmMember"],
    "DEFAULT_PAGINATION_CLASS": "apps.common.pagination.ApiPagination",
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
    "EXCEPTION_HANDLER": "apps.common.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "apps.common.api.ApiSchema",
}
SPECTACULAR_SETTINGS = {
    # Swagger UI from our own static files (drf-spectacular-sidecar): fits CSP 'self'.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "TITLE": "Sub-advisory rebalancing platform API",
    "DESCRIPTION": "Per-firm API: each firm is served on its own host; tokens are per firm user.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs page are for the firm's own users, like every other door.
    "SERVE_PERMISSIONS": ["apps.access.permissions.IsFirmMember"],
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "apps.trading.models.RunStatus",
        "ProposalStatusEnum": "apps.trading.models.ProposalStatus",
        "OrderStatusEnum": "apps.trading.models.OrderStatus",
        "ReportBatchStatusEnum": "apps.reports.models.ReportBatchStatus",
        "TransactionKindEnum": "apps.accounts.models.TransactionKind",
        "RestrictionKindEnum": "apps.restrictions.models.RestrictionKind",
        "RestrictionScopeEnum": "apps.restrictions.models.RestrictionScope",
        "SecurityKindEnum": "apps.securities.models.SecurityKind",
        "ReportKindEnum": "apps.reports.models.ReportKind",
        "RunScopeEnum": "apps.trading.models.RunScope",
    },
}

# Celery (STYLE.md §4): JSON only, time limits, results never stored (client data stays out).
CELERY_BROKER_URL = _broker_url()
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A worker that loses the broker lets its running tasks finish (they need only PostgreSQL); their
# acks are lost and Redis redelivers them after the visibility timeout, as no-ops. (Celery 6 will
# cancel them by default: the work would be thrown away and wait for the redelivery.)
# Each task reads its firm afresh (a firm deactivated or renamed takes effect at once).
CELERY_TASK_TENANT_CACHE_SECONDS = 0
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_DEFAULT_QUEUE", default="default")
OPTIMIZER_QUEUE = env("OPTIMIZER_QUEUE", default="optimizer")
CELERY_TASK_ROUTES = {"apps.trading.tasks.*": {"queue": OPTIMIZER_QUEUE}}
# Redis redelivers a message whose worker died (acks_late) after this many seconds. Longer than
# the longest task's time limit (a report chunk's 600 s), so a task still running is never
# delivered twice; the fast recovery of a lost chunk is the resume below (docs/operations.md,
# "Recovery"); apps.trading.checks enforces both.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_S", default=660)
}

CACHES = {"default": env.cache("DJANGO_CACHE_URL", default="locmemcache://")}
CACHES["default"]["KEY_FUNCTION"] = "django_tenants.cache.make_key"
CACHES["default"]["REVERSE_KEY_FUNCTION"] = "django_tenants.cache.reverse_key"

# Sign-in policy (django-axes, apps.access.login), the same on every door: firm and staff
# sign-in pages, both admin sites, the token endpoint. After LOGIN_MAX_FAILURES failures for one
# username, or from one client address, within LOGIN_LOCKOUT_S (counted again from each failure),
# every door answers 429 for that username or address. Counts live in the default cache under the
# schema's prefix (a firm's counts never touch another firm's): production needs a shared cache.
PLATFORM_TRUSTED_PROXY_COUNT = env.int("PLATFORM_TRUSTED_PROXY_COUNT", default=0)
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_MAX_FAILURES", default=5)
AXES_COOLOFF_TIME = timedelta(seconds=env.int("LOGIN_LOCKOUT_S", default=900))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "apps.access.login.client_address"
AXES_USERNAME_CALLABLE = "apps.access.login.attempted_username"
AXES_LOCKOUT_CALLABLE = "apps.access.login.lockout_response"
AXES_ENABLE_ADMIN = False  # the default admin site is not served (apps.access.admin_sites)

# TOTP (apps.access.totp): optional for everyone; with this on, platform staff and firm admins
# must enrol an authenticator before anything else.
PLATFORM_TOTP_REQUIRED = env.bool("PLATFORM_TOTP_REQUIRED", default=False)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Rebalancing platform")

# API tokens (apps.access.services): named, hashed at rest, shown once, expire after this many days
# unless asked for fewer (at most API_TOKEN_MAX_LIFETIME_DAYS).
API_TOKEN_LIFETIME_DAYS = env.int("API_TOKEN_LIFETIME_DAYS", default=30)
API_TOKEN_MAX_LIFETIME_DAYS = env.int("API_TOKEN_MAX_LIFETIME_DAYS", default=365)

# demo_seed creates published logins: production turns it off.
DEMO_SEED_ALLOWED = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "tenant_context": {"()": "django_tenants.log.TenantContextFilter"},
        "client_errors_without_traceback": {
            "()": "config.log_filters.ClientErrorsWithoutTraceback"
        },
    },
    "formatters": {
        "tenant_context": {
            "format": "[%(schema_name)s:%(domain_url)s] %(levelname)s %(name)s: %(message)s"
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["tenant_context"],
            "formatter": "tenant_context",
        }
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own handlers (its DEBUG console, runserver's request lines) would print every
        # record a second time beside the root handler: each record is printed once, there.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
        "django.request": {"filters": ["client_errors_without_traceback"]},
        "django.db.backends": {"level": "WARNING"},
    },
}

# Taxes saved (docs/taxes-saved.md): a tax deferred against the tax-naive shadow is still owed;
# it is valued as paid after this many years, discounted at this yearly rate. The optimizer's
# shadow prices value deferral the same way (one source for both, below).
TAXES_SAVED_DISCOUNT_RATE = env.str("TAXES_SAVED_DISCOUNT_RATE", default="0.05")
TAXES_SAVED_HORIZON_YEARS = env.int("TAXES_SAVED_HORIZON_YEARS", default=10)

# Optimizer: values reach the core only through SolverConfig (apps.optimizer.adapters), which
# refuses a bad value (docs/operations.md, "Optimizer settings").
OPTIMIZER_SOLVER_CONFIG = {
    "solver": env("OPTIMIZER_SOLVER", default="PIQP"),
    "risk_aversion": env.float("OPTIMIZER_RISK_AVERSION", default=100.0),
    "transaction_cost_bps": env.float("OPTIMIZER_TRANSACTION_COST_BPS", default=5.0),
    # Taxes at each account's shadow prices (apps.taxlots.shadow: the year so far, the
    # carryforward, deferral) or at the statutory rates ("statutory").
    "tax_valuation": env("OPTIMIZER_TAX_VALUATION", default="shadow"),
    "deferral_discount_rate": float(TAXES_SAVED_DISCOUNT_RATE),
    "realization_horizon_years": float(TAXES_SAVED_HORIZON_YEARS),
    # A buy's cost for the 30-day loss-sale lock it starts (IRC §1091(a)); 0 turns it off.
    "wash_lock_cost_weight": env.float("OPTIMIZER_WASH_LOCK_COST_WEIGHT", default=1.0),
    # Gains a portfolio produces a year (a fraction of value): how soon a carried loss is used
    # (docs/optimizer.md; the long-run nominal equity return).
    "expected_gain_rate": env.float("OPTIMIZER_EXPECTED_GAIN_RATE", default=0.07),
}
OPTIMIZER_RISK_HISTORY_DAYS = env.int("OPTIMIZER_RISK_HISTORY_DAYS", default=730)
OPTIMIZER_MAX_PRICE_AGE_DAYS = env.int("OPTIMIZER_MAX_PRICE_AGE_DAYS", default=5)
OPTIMIZER_CASH_HORIZON_DAYS = env.int("OPTIMIZER_CASH_HORIZON_DAYS", default=30)
# Transition plans discount later years' tax to today at this yearly rate (deferral's value).
OPTIMIZER_TRANSITION_DISCOUNT_RATE = env.float("OPTIMIZER_TRANSITION_DISCOUNT_RATE", default=0.05)
# The dashboard replays taxes saved itself for books up to this many taxable managed accounts
# (about 30 ms each); larger books read it in the firm taxes-saved report.
DASHBOARD_TAXES_SAVED_MAX_ACCOUNTS = env.int("DASHBOARD_TAXES_SAVED_MAX_ACCOUNTS", default=300)
# Custodians that take no lot instructions with a sell: their accounts' sales are relieved by
# the account's lot method (apps.accounts.custodians.takes_specified_lots).
CUSTODIANS_WITHOUT_SPECIFIED_LOTS = env.list("CUSTODIANS_WITHOUT_SPECIFIED_LOTS", default=[])
OPTIMIZER_CHUNK_SIZE = env.int("OPTIMIZER_CHUNK_SIZE", default=100)  # ~40 ms fixed per chunk

# The daily scan: an hourly beat dispatcher sends each firm's scan at this local hour.
PLATFORM_DAILY_SCAN_LOCAL_HOUR = env.int("PLATFORM_DAILY_SCAN_LOCAL_HOUR", default=6)
PLATFORM_DISPATCH_JITTER_S = env.float("PLATFORM_DISPATCH_JITTER_S", default=60.0)
# Recovery of lost chunks (a worker killed, a broker restarted without persistence): a chunk task
# beats every OPTIMIZER_CHUNK_HEARTBEAT_S while it works; a chunk with pending accounts and no
# sign of life for OPTIMIZER_RUN_STALLED_AFTER_S is sent again by the resume, which beat runs every
# OPTIMIZER_RUN_RESUME_EVERY_S. A lost chunk is re-sent within STALLED_AFTER + RESUME_EVERY
# (90 s by default); apps.trading.checks refuses values that break these bounds.
OPTIMIZER_CHUNK_HEARTBEAT_S = env.int("OPTIMIZER_CHUNK_HEARTBEAT_S", default=10)
OPTIMIZER_RUN_STALLED_AFTER_S = env.int("OPTIMIZER_RUN_STALLED_AFTER_S", default=60)
OPTIMIZER_RUN_RESUME_EVERY_S = env.int("OPTIMIZER_RUN_RESUME_EVERY_S", default=30)
# Tasks committed to the outbox (apps.access.outbox) are sent at commit; what a broker outage
# kept back is swept this often.
PLATFORM_OUTBOX_SWEEP_EVERY_S = env.int("PLATFORM_OUTBOX_SWEEP_EVERY_S", default=30)
CELERY_BEAT_SCHEDULE = {
    "daily-scan-dispatch": {
        "task": "apps.firms.tasks.daily_scan_dispatch",
        "schedule": crontab(minute=0),
    },
    "runs-resume-dispatch": {
        "task": "apps.firms.tasks.runs_resume_dispatch",
        "schedule": timedelta(seconds=OPTIMIZER_RUN_RESUME_EVERY_S),
    },
    "outbox-dispatch": {
        "task": "apps.firms.tasks.outbox_dispatch",
        "schedule": timedelta(seconds=PLATFORM_OUTBOX_SWEEP_EVERY_S),
    },
}

# Sub-advisory entry tokens (public host -> firm host) live this many seconds.
PLATFORM_STAFF_ENTRY_MAX_AGE_S = 60
