"""Start a real Celery worker process against the test database and the configured broker."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent


def test_database_url() -> str:
    """A DATABASE_URL for the test database the suite is using (socket or TCP)."""
    conf = connection.settings_dict
    host = conf.get("HOST") or ""
    host_part = quote(host, safe="") if host.startswith("/") else host
    user = quote(conf.get("USER") or "", safe="")
    password = conf.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else f"{user}@"
    port = f":{conf['PORT']}" if conf.get("PORT") else ""
    return f"postgres://{auth}{host_part}{port}/{conf['NAME']}"


@contextmanager
def celery_worker(log_path: Path) -> Iterator[str]:
    """Run ``celery worker`` on a private queue; yield the queue name; stop it afterwards."""
    queue = f"test-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue,
         "--concurrency", "1", "--loglevel", "INFO", "--without-heartbeat",
         "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_for(predicate, *, timeout_s: float = 60.0, every_s: float = 0.2) -> bool:
    """Poll until the predicate is true or the time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every_s)
    return False
