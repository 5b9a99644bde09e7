"""The embedded development stack starts, answers, is idempotent, recovers and stops cleanly.

Runs a private stack in a temporary ``PLATFORM_DEV_DIR`` through the real command line
(``python -m config.devstack``), so it never touches ``.dev/`` nor Django's test database. In CI
this runs as root, which exercises the "PostgreSQL runs as an unprivileged user" path.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

devstack = pytest.importorskip("config.devstack")

REPO_ROOT = Path(__file__).resolve().parents[2]


def _cli(dev_dir: Path, *args: str) -> str:
    env = {**os.environ, "PLATFORM_DEV_DIR": str(dev_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "config.devstack", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"devstack {args}: {result.stdout}\n{result.stderr}"
    return result.stdout


def _processes_mentioning(text: str) -> list[str]:
    """Live processes whose command line or working directory mentions ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if text in cmdline or text in cwd:
            found.append(f"{entry.name}: {cmdline} (cwd {cwd})")
    return found


def _wait_dead(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.05)
    raise AssertionError(f"pid {pid} still alive")


def _check_servers_answer() -> None:
    import environ
    import kombu
    import psycopg
    import redis

    # What Django gets from env.db(): HOST must be the socket directory.
    cfg = environ.Env.db_url_config(devstack.database_url())
    assert cfg["HOST"] == str(devstack.pg_socket_dir())
    assert cfg["NAME"] == "platform"
    with psycopg.connect(
        host=cfg["HOST"], port=cfg["PORT"], user=cfg["USER"], dbname=cfg["NAME"]
    ) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with psycopg.connect(devstack.database_conninfo()) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("platform",)

    client = redis.Redis(unix_socket_path=str(devstack.redis_socket()))
    assert client.ping() is True
    client.close()
    assert redis.Redis.from_url(devstack.redis_url()).ping() is True

    # The Celery broker URL goes through kombu's redis transport.
    with kombu.Connection(devstack.broker_url(), connect_timeout=5) as conn:
        queue = conn.SimpleQueue("devstack-selftest")
        queue.put({"ok": True})
        message = queue.get(timeout=5)
        assert message.payload == {"ok": True}
        message.ack()
        queue.close()


@pytest.fixture
def dev_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # Not tmp_path: pytest keeps /tmp/pytest-of-<user> at mode 0700, which the unprivileged
    # PostgreSQL user (when running as root) could not traverse.
    path = Path(tempfile.mkdtemp(prefix="devstack-test-")) / "dev"
    monkeypatch.setenv("PLATFORM_DEV_DIR", str(path))
    try:
        yield path
    finally:
        subprocess.run(
            [sys.executable, "-m", "config.devstack", "stop"],
            cwd=REPO_ROOT,
            env={**os.environ, "PLATFORM_DEV_DIR": str(path)},
            capture_output=True,
            timeout=120,
            check=False,
        )
        shutil.rmtree(path.parent, ignore_errors=True)


def test_devstack_start_is_idempotent_recovers_and_stops(dev_dir: Path) -> None:
    assert devstack.dev_dir() == dev_dir.resolve()

    _cli(dev_dir, "start")
    pg_pid, redis_pid = devstack.postgres_pid(), devstack.redis_pid()
    assert pg_pid
    assert redis_pid
    _check_servers_answer()

    # A second start is a no-op.
    out = _cli(dev_dir, "start")
    assert "postgres already running" in out
    assert "redis already running" in out
    assert (devstack.postgres_pid(), devstack.redis_pid()) == (pg_pid, redis_pid)

    # After a crash (kill -9) the stale pid files do not block a new start.
    os.kill(pg_pid, signal.SIGKILL)
    os.kill(redis_pid, signal.SIGKILL)
    _wait_dead(pg_pid)
    _wait_dead(redis_pid)
    assert devstack.postgres_pid() is None
    assert devstack.redis_pid() is None
    _cli(dev_dir, "start")
    assert devstack.postgres_pid() not in (None, pg_pid)
    assert devstack.redis_pid() not in (None, redis_pid)
    _check_servers_answer()

    status = _cli(dev_dir, "status")
    assert "postgres: running" in status
    assert "redis:    running" in status

    _cli(dev_dir, "stop")
    assert _processes_mentioning(str(dev_dir)) == []
    assert not (devstack.pg_data_dir() / "postmaster.pid").exists()
    assert not devstack.redis_pidfile().exists()
    assert devstack.postgres_pid() is None
    assert devstack.redis_pid() is None

    # Stopping again is harmless.
    _cli(dev_dir, "stop")
