"""Book runs through real Celery worker processes over the real broker, and a worker killed mid-run.

The data is committed (workers are other processes): the ``worker_firm`` book of the conftest.
"""

import os
import signal
import time

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.trading.models import RunAccount, RunAccountStatus, RunChunk, RunStatus
from apps.trading.tasks import rebalance_run_start
from tests.integration.trading.conftest import (
    WORKER_SCHEMA,
    worker_run_check_complete,
    worker_run_get,
    worker_run_new,
)
from tests.processes import celery_worker, killable_celery_worker, wait_for

pytestmark = pytest.mark.worker


def test_book_run_through_a_real_worker(worker_firm, django_db_blocker, tmp_path):
    with django_db_blocker.unblock():
        run = worker_run_new()
        env = {"OPTIMIZER_CHUNK_SIZE": "10"}
        with celery_worker(tmp_path / "worker.log", concurrency=2, extra_env=env) as queue:
            with schema_context(WORKER_SCHEMA):
                rebalance_run_start.apply_async(args=[run.pk], queue=queue)
            assert wait_for(
                lambda: worker_run_get(run.pk).status == RunStatus.COMPLETED, timeout_s=120
            ), (tmp_path / "worker.log").read_text()[-3000:]
        run = worker_run_check_complete(run.pk)
        assert run.failed_accounts == 0
        assert run.solver_ms > 0


def test_worker_killed_mid_run_is_resent_within_the_bound_with_default_settings(
    worker_firm, django_db_blocker, tmp_path
):
    """SIGKILL of a whole worker (its messages stay unacknowledged in Redis until the visibility
    timeout): with the default recovery settings a second worker's beat re-sends the killed
    chunks within the documented bound (STALLED_AFTER + RESUME_EVERY, at most 120 s), and the
    run completes with every account done once."""
    queue = f"test-kill-{os.getpid()}"
    # Small chunks so the kill lands mid-run; the recovery settings are the defaults.
    env = {
        "OPTIMIZER_CHUNK_SIZE": "2",
        "CELERY_DEFAULT_QUEUE": queue,  # beat's dispatchers too: the worker consumes one queue
        "PLATFORM_DAILY_SCAN_LOCAL_HOUR": "99",  # this beat never sends a daily scan
    }
    bound_s = settings.OPTIMIZER_RUN_STALLED_AFTER_S + settings.OPTIMIZER_RUN_RESUME_EVERY_S
    assert bound_s <= 120
    with django_db_blocker.unblock():
        run = worker_run_new()
        with killable_celery_worker(tmp_path / "first.log", queue=queue, extra_env=env) as first:
            with schema_context(WORKER_SCHEMA):
                rebalance_run_start.apply_async(args=[run.pk], queue=queue)
            # Kill mid-run: some accounts done and a chunk claimed, not finished (a loaded
            # machine can sit between two chunks when only the done count is watched).
            assert wait_for(
                lambda: worker_run_get(run.pk).done_accounts >= 4 and _chunks_running(run.pk),
                timeout_s=120,
                every_s=0.02,
            )
            os.killpg(first.pid, signal.SIGKILL)
            killed_on, killed = timezone.now(), time.monotonic()
            first.wait()
        killed_at = worker_run_get(run.pk)
        assert killed_at.status == RunStatus.RUNNING, (
            "the run finished before the kill: slow it down"
        )
        claimed = _chunks_running(run.pk)
        assert claimed, "no chunk was running at the kill"
        log = tmp_path / "second.log"
        beat = tmp_path / "beat-schedule"
        with killable_celery_worker(log, queue=queue, extra_env=env, beat_schedule=beat):
            assert wait_for(
                lambda: worker_run_get(run.pk).status == RunStatus.COMPLETED,
                timeout_s=bound_s + 60,
            ), log.read_text()[-3000:]
            completed_s = time.monotonic() - killed
        with schema_context(WORKER_SCHEMA):
            resent = list(
                RunChunk.objects.filter(run_id=run.pk, chunk__in=claimed).values_list(
                    "resent_at", flat=True
                )
            )
        assert None not in resent, "a killed chunk was not re-sent by the resume"
        resent_s = max((at - killed_on).total_seconds() for at in resent)
        print(
            f"worker SIGKILL with default settings: {len(claimed)} chunk(s) running at the kill, "
            f"re-sent {resent_s:.0f} s after it (bound {bound_s} s), run completed "
            f"{completed_s:.0f} s after it"
        )
        assert resent_s <= bound_s
        worker_run_check_complete(run.pk)


def _chunks_running(run_id: int) -> set[int]:
    """Chunks a worker has claimed (a heartbeat) and not finished."""
    with schema_context(WORKER_SCHEMA):
        return set(
            RunChunk.objects.filter(run_id=run_id, heartbeat_at__isnull=False)
            .exclude(chunk__in=_chunks_done(run_id))
            .values_list("chunk", flat=True)
        )


def _chunks_done(run_id: int) -> set[int]:
    return set(
        RunAccount.objects.filter(run_id=run_id)
        .exclude(status=RunAccountStatus.PENDING)
        .values_list("chunk", flat=True)
    ) - set(
        RunAccount.objects.filter(run_id=run_id, status=RunAccountStatus.PENDING).values_list(
            "chunk", flat=True
        )
    )


def test_database_connections_cut_mid_run_are_retried(worker_firm, django_db_blocker, tmp_path):
    queue = f"test-cut-{os.getpid()}"
    env = {"OPTIMIZER_CHUNK_SIZE": "2"}
    with django_db_blocker.unblock():
        run = worker_run_new()
        with killable_celery_worker(tmp_path / "worker.log", queue=queue, extra_env=env):
            with schema_context(WORKER_SCHEMA):
                rebalance_run_start.apply_async(args=[run.pk], queue=queue)
            assert wait_for(
                lambda: worker_run_get(run.pk).done_accounts >= 4, timeout_s=120, every_s=0.02
            )
            with connection.cursor() as cursor:  # every other session on the test database
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                assert cursor.fetchone()[0] >= 1
            assert wait_for(
                lambda: worker_run_get(run.pk).status == RunStatus.COMPLETED, timeout_s=180
            ), (tmp_path / "worker.log").read_text()[-3000:]
        log = (tmp_path / "worker.log").read_text()
        print(f"cut connections: {log.count('Retry in')} task(s) retried")
        worker_run_check_complete(run.pk)
