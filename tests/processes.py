"""Real processes for tests: a Celery worker and a web server, on the test database."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """A DATABASE_URL for the test database the suite is using (unix socket or TCP)."""
    conf = connection.settings_dict
    host = conf.get("HOST") or ""
    user = quote(conf.get("USER") or "", safe="")
    password = conf.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else f"{user}@"
    port = conf.get("PORT") or ""
    if host.startswith("/"):
        # django-environ reads a socket directory from the path: postgres://u@:port//dir/name
        return f"postgres://{auth}:{port}/{host}/{conf['NAME']}"
    return f"postgres://{auth}{host}{':' + str(port) if port else ''}/{conf['NAME']}"


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        **(extra or {}),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }


@contextmanager
def _process(
    argv: list[str],
    log_path: Path,
    ready: Callable[[], bool],
    extra_env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    log = log_path.open("w")
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=_child_env(extra_env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: a test can kill worker and children
    )
    try:
        deadline = time.monotonic() + 60
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv[2]} did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@contextmanager
def celery_worker(
    log_path: Path,
    *,
    queue: str | None = None,
    concurrency: int = 1,
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run ``celery worker`` on a private queue; yield the queue name; stop it afterwards.

    The worker's optimizer tasks are routed to the same private queue (``OPTIMIZER_QUEUE``).
    """
    queue = queue or f"test-{uuid.uuid4().hex[:10]}"
    env = {"OPTIMIZER_QUEUE": queue, **(extra_env or {})}
    with _process(_worker_argv(queue, concurrency), log_path, _ready(log_path), env):
        yield queue


def _worker_argv(queue: str, concurrency: int) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue,
        "--concurrency", str(concurrency), "--loglevel", "INFO",
        "--without-heartbeat", "--without-mingle", "--without-gossip",
    ]  # fmt: skip


def _ready(log_path: Path) -> Callable[[], bool]:
    return lambda: "ready." in log_path.read_text()


@contextmanager
def killable_celery_worker(
    log_path: Path, *, queue: str, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A 2-process worker on ``queue`` that the test may SIGKILL (whole process group)."""
    env = {"OPTIMIZER_QUEUE": queue, **(extra_env or {})}
    with _process(_worker_argv(queue, 2), log_path, _ready(log_path), env) as process:
        yield process


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def web_server(log_path: Path) -> Iterator[int]:
    """Serve the project (``runserver``, no reloader) on a free loopback port; yield the port."""
    port = _free_port()
    argv = [
        sys.executable,
        "manage.py",
        "runserver",
        f"127.0.0.1:{port}",
        "--noreload",
        "--skip-checks",
        "--insecure",
    ]
    with _process(argv, log_path, lambda: _accepts(port)):
        yield port


def wait_for(predicate, *, timeout_s: float = 60.0, every_s: float = 0.2) -> bool:
    """Poll until the predicate is true or the time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every_s)
    return False
