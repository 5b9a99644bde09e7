"""Production settings refuse what must never run in production: errors, not warnings.

Each case imports ``config.settings.production`` in a fresh interpreter with the environment a
deployment would give it.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
STRONG_KEY = "k" * 30 + "0123456789abcdefghijKLMNOP"
BASE_ENV = {
    "DJANGO_SECRET_KEY": STRONG_KEY,
    "DATABASE_URL": "postgres://u:p@db.invalid:5432/platform",
    "CELERY_BROKER_URL": "redis://redis.invalid:6379/0",
    "DJANGO_ALLOWED_HOSTS": ".example.com",
}
PRINT = (
    "import config.settings.production as s;"
    " print(s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION'],"
    " s.CACHES['default']['KEY_FUNCTION'], s.DEMO_SEED_ALLOWED)"
)


def _load(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    env.pop("DATABASE_URL", None)
    env.update(BASE_ENV)
    env.update(overrides)
    env = {k: v for k, v in env.items() if v}
    return subprocess.run(  # this interpreter, fixed arguments
        [sys.executable, "-c", PRINT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    "key",
    [
        "dev-only-insecure-key-never-used-in-production",  # published in base.py
        "django-insecure-" + "x1y2z3" * 10,  # startproject's
        "short-key",
        "a" * 60,
    ],
)
def test_a_published_or_weak_secret_key_is_refused(key):
    result = _load(DJANGO_SECRET_KEY=key)
    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY" in result.stderr


def test_the_cache_defaults_to_the_redis_broker_and_demo_seed_is_off():
    result = _load()
    assert result.returncode == 0, result.stderr
    backend, location, key_function, demo = result.stdout.split()
    assert backend == "django.core.cache.backends.redis.RedisCache"
    assert location == "redis://redis.invalid:6379/0"
    assert key_function == "django_tenants.cache.make_key"  # counts stay per schema
    assert demo == "False"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"CELERY_BROKER_URL": "amqp://u:p@mq.invalid:5672//"}, "DJANGO_CACHE_URL must name"),
        ({"DJANGO_CACHE_URL": "locmemcache://"}, "per-process cache"),
    ],
)
def test_a_per_process_cache_is_refused(overrides, message):
    result = _load(**overrides)
    assert result.returncode != 0
    assert message in result.stderr


def test_a_shared_cache_url_is_kept():
    result = _load(
        CELERY_BROKER_URL="amqp://u:p@mq.invalid:5672//",
        DJANGO_CACHE_URL="redis://cache.invalid:6379/1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1] == "redis://cache.invalid:6379/1"


def test_production_backups_find_postgres_clients_on_the_path_or_a_setting() -> None:
    show = "import config.settings.production as s; print(repr(s.POSTGRES_BIN_DIR))"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    env.pop("DATABASE_URL", None)
    env.pop("POSTGRES_BIN_DIR", None)
    env.update(BASE_ENV)
    for extra, expected in (({}, "''"), ({"POSTGRES_BIN_DIR": "/usr/lib/postgresql/15/bin"}, None)):
        result = subprocess.run(  # this interpreter, fixed arguments
            [sys.executable, "-c", show],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        printed = result.stdout.strip().splitlines()[-1]
        assert printed == (expected or repr(extra["POSTGRES_BIN_DIR"]))  # never the dev wheel


def test_a_missing_postgres_client_is_a_clear_error(settings, monkeypatch) -> None:
    from apps.common.exceptions import ApplicationError
    from apps.firms import backup
    from apps.firms.errors import FirmErrorCode

    settings.POSTGRES_BIN_DIR = ""
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ApplicationError, match="not on the PATH"):
        backup._pg_program("pg_dump", code=FirmErrorCode.BACKUP_FAILED)
    settings.POSTGRES_BIN_DIR = "/opt/pg/bin"
    assert backup._pg_program("pg_dump", code=FirmErrorCode.BACKUP_FAILED) == "/opt/pg/bin/pg_dump"
