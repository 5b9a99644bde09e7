"""The broker down when a run is asked for: accepted (202, the command exits 0), stored once, and
started when the broker is back (the transactional outbox, ``apps.access.outbox``).

Real processes: the test owns its Redis (``tests.processes.redis_server``), a ``runserver`` and
the ``rebalance`` command talk to it, and a worker with beat (default settings) runs the runs
once it is back. Before the outbox, the API answered 500 after committing the run, the command
exited with a traceback, and a client's retry made a second run.
"""

import http.client
import json
import os
import secrets
import subprocess
import sys
import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context

from apps.access.models import OutboxMessage, OutboxStatus
from apps.trading.models import RebalanceRun, RunStatus
from apps.trading.services.runs import START_TASK
from tests.integration.trading.conftest import (
    AS_OF,
    WORKER_SCHEMA,
    worker_run_check_complete,
    worker_run_get,
)
from tests.processes import (
    ROOT,
    _child_env,
    killable_celery_worker,
    redis_server,
    wait_for,
    web_server,
)

pytestmark = pytest.mark.worker
HOST = "firm-w.localhost"


def _session() -> str:
    """The session id of the worker firm's admin, signed in (a committed session row)."""
    with schema_context(WORKER_SCHEMA):
        client = Client(HTTP_HOST=HOST)
        client.force_login(get_user_model().objects.get(email="admin@firm-w.test"))
        return str(client.cookies["sessionid"].value)


def _post_run(port: int, session: str, key: str) -> tuple[int, dict]:
    csrf = secrets.token_hex(16)  # 32 characters: the double-submitted cookie and header
    body = json.dumps({"scope": "book", "as_of": str(AS_OF)})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(
            "POST",
            "/api/v1/runs/",
            body=body,
            headers={
                "Host": HOST,
                "Content-Type": "application/json",
                "Cookie": f"sessionid={session}; csrftoken={csrf}",
                "X-CSRFToken": csrf,
                "Idempotency-Key": key,
            },
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def _runs() -> list[RebalanceRun]:
    with schema_context(WORKER_SCHEMA):
        return list(RebalanceRun.objects.order_by("pk"))


def test_runs_asked_for_while_the_broker_is_down_are_accepted_once_and_start_when_it_is_back(
    worker_firm, django_db_blocker, tmp_path
):
    queue = f"test-outbox-{os.getpid()}"
    (tmp_path / "redis").mkdir()
    with (
        django_db_blocker.unblock(),
        redis_server(tmp_path / "redis", is_persistent=False) as redis,
    ):
        env = {
            "CELERY_BROKER_URL": redis.broker_url,
            "OPTIMIZER_QUEUE": queue,
            "CELERY_DEFAULT_QUEUE": queue,
            "OPTIMIZER_CHUNK_SIZE": "10",
            "PLATFORM_DAILY_SCAN_LOCAL_HOUR": "99",  # this beat never sends a daily scan
        }
        before = {run.pk for run in _runs()}
        session = _session()
        with web_server(tmp_path / "web.log", extra_env=env) as port:
            redis.kill()
            first = _post_run(port, session, key="client-order-1")
            retried = _post_run(port, session, key="client-order-1")
        command = subprocess.run(
            [sys.executable, "manage.py", "rebalance", "--firm", WORKER_SCHEMA,
             "--as-of", str(AS_OF)],
            cwd=ROOT, env=_child_env(env), capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert first[0] == 202, first
        assert (retried[0], retried[1]["id"]) == (202, first[1]["id"])
        assert first[1]["status"] == RunStatus.QUEUED
        assert command.returncode == 0, command.stderr[-3000:]
        assert "the broker is unreachable" in command.stdout
        new = [run for run in _runs() if run.pk not in before]
        assert len(new) == 2, "one run for the two requests, one for the command"
        with schema_context(WORKER_SCHEMA):
            held = OutboxMessage.objects.filter(task=START_TASK, status=OutboxStatus.PENDING)
            assert sorted(m.args[0] for m in held) == [run.pk for run in new]
            assert all(m.attempts >= 1 and m.last_error for m in held)
        redis.start()
        back = time.monotonic()
        log = tmp_path / "worker.log"
        beat = tmp_path / "beat-schedule"
        with killable_celery_worker(log, queue=queue, extra_env=env, beat_schedule=beat):
            assert wait_for(
                lambda: all(worker_run_get(r.pk).status == RunStatus.COMPLETED for r in new),
                timeout_s=180,
            ), log.read_text()[-3000:]
            completed_s = time.monotonic() - back
        with schema_context(WORKER_SCHEMA):
            assert not OutboxMessage.objects.filter(status=OutboxStatus.PENDING).exists()
        print(
            f"broker down: 2 runs accepted (202 / exit 0), 1 retry returned the same run; both "
            f"completed {completed_s:.0f} s after the broker came back"
        )
        for run in new:
            worker_run_check_complete(run.pk)
