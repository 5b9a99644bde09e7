"""Redis (the broker) killed and restarted in the middle of a book run: the run completes.

The test owns its Redis server (``tests.processes.redis_server``) and a real worker, with beat,
whose broker is that server. Mid-run the server gets SIGKILL (a crash), stays down, and starts
again on the same socket. What carries the run across the outage:

- the worker and beat reconnect by themselves (``broker_connection_retry``, up to
  ``broker_connection_max_retries`` = 100 attempts, 2 s, 4 s, ... 30 s apart), provided the
  worker survives the loss: with kombu 5.7 as released, one waiting on a BRPOP with a task
  running exited ("Unrecoverable error"; fixed in ``config/celery.py``, proved by the last
  test here);
- the chunks being run keep running (``worker_cancel_long_running_tasks_on_connection_loss``
  is off), store their proposals and fail only to ack, so their messages stay "unacked" and
  come back after the visibility timeout, as no-ops (chunks only work on accounts pending);
- with an append-only file (what production runs, docs/operations.md) the queued chunk messages
  survive the restart and the reconnected worker goes on. Not quite all of them: kombu's Redis
  transport pops a message (BRPOP) and only then records it as unacked from the worker, so a
  message popped at the instant of the crash is lost (this test has seen it happen);
- whatever was lost (everything without persistence) beat's ``runs_resume_dispatch`` has each
  firm re-send the pending chunks silent for ``OPTIMIZER_RUN_STALLED_AFTER_S``, every
  ``OPTIMIZER_RUN_RESUME_EVERY_S`` (the defaults here, 60 s and 30 s, as in production).
"""

import os
import time

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.access.models import AuditEvent
from apps.accounts.models import Account
from apps.trading.models import Proposal, RunStatus
from apps.trading.tasks import rebalance_run_start
from config.celery import app
from tests.integration.trading.conftest import (
    WORKER_SCHEMA,
    worker_run_check_complete,
    worker_run_get,
    worker_run_new,
)
from tests.processes import killable_celery_worker, redis_server, wait_for

pytestmark = pytest.mark.worker
OUTAGE_S = 2.0
CHUNK_TASK = "apps.trading.tasks.rebalance_chunk_execute"


@pytest.mark.parametrize("is_persistent", [True, False], ids=["append-only-file", "no-persistence"])
def test_redis_restarted_mid_run_the_run_completes(
    worker_firm, django_db_blocker, tmp_path, is_persistent
):
    queue = f"test-redis-{os.getpid()}"
    log = tmp_path / "worker.log"
    (tmp_path / "redis").mkdir()
    with (
        django_db_blocker.unblock(),
        redis_server(tmp_path / "redis", is_persistent=is_persistent) as redis,
    ):
        env = {
            "CELERY_BROKER_URL": redis.broker_url,
            "CELERY_DEFAULT_QUEUE": queue,  # beat's dispatcher too: the worker consumes one queue
            "OPTIMIZER_CHUNK_SIZE": "2",
            "PLATFORM_DAILY_SCAN_LOCAL_HOUR": "99",  # this beat never sends a daily scan
        }
        beat = tmp_path / "beat-schedule"
        with killable_celery_worker(log, queue=queue, extra_env=env, beat_schedule=beat):
            run = worker_run_new()
            with schema_context(WORKER_SCHEMA), app.connection_for_write(redis.broker_url) as conn:
                rebalance_run_start.apply_async(args=[run.pk], queue=queue, connection=conn)
            assert wait_for(
                lambda: worker_run_get(run.pk).done_accounts >= 4, timeout_s=60, every_s=0.02
            ), log.read_text()[-3000:]
            redis.kill()
            killed_at = worker_run_get(run.pk)
            killed_on = timezone.now()
            time.sleep(OUTAGE_S)
            redis.start()
            restarted = time.monotonic()
            chunks_kept = redis.queued_task_names(queue).count(CHUNK_TASK)
            bound_s = settings.OPTIMIZER_RUN_STALLED_AFTER_S + settings.OPTIMIZER_RUN_RESUME_EVERY_S
            assert wait_for(
                lambda: worker_run_get(run.pk).status == RunStatus.COMPLETED,
                timeout_s=bound_s + 60,
            ), log.read_text()[-3000:]
            completed_s = time.monotonic() - restarted
        # The worker held at most 2 chunks (4 accounts); the rest were queued in Redis.
        assert killed_at.status == RunStatus.RUNNING
        assert killed_at.remaining_accounts > 4, "the run was nearly done at the kill: slow it"
        assert "Connection to broker lost" in log.read_text()
        run = worker_run_check_complete(run.pk)
        assert run.done_accounts == run.total_accounts
        with schema_context(WORKER_SCHEMA):
            assert sorted(Proposal.objects.filter(run=run).values_list("account", flat=True)) == (
                sorted(Account.objects.values_list("pk", flat=True))
            )
            resumes = AuditEvent.objects.filter(
                action="rebalance_run.resume",
                object_type="trading.RebalanceRun",
                object_id=str(run.pk),
                created_at__gt=killed_on,
            )
            print(
                f"redis restart ({'AOF' if is_persistent else 'no persistence'}): "
                f"{killed_at.remaining_accounts} accounts pending at the kill, {chunks_kept} chunk "
                f"messages in Redis after the restart, {resumes.count()} resume(s) since, run "
                f"completed {completed_s:.1f} s after the restart"
            )
            if is_persistent:  # the queued chunks came back from the file
                assert chunks_kept > 0
            else:  # every queued chunk was lost: the stalled-run resume sent them again
                assert chunks_kept == 0
                assert resumes.exists()


def test_worker_outlives_a_redis_crash_while_running_a_task_with_a_slot_free(
    worker_firm, django_db_blocker, tmp_path
):
    queue = f"test-redis-slot-{os.getpid()}"
    log = tmp_path / "worker.log"
    (tmp_path / "redis").mkdir()
    with (
        django_db_blocker.unblock(),
        redis_server(tmp_path / "redis", is_persistent=False) as redis,
    ):
        # Chunks of 95 and 5 accounts: once the small one is stored, one worker process runs
        # the big one and the other is free, so the worker waits on a BRPOP when Redis dies.
        env = {"CELERY_BROKER_URL": redis.broker_url, "OPTIMIZER_CHUNK_SIZE": "95"}
        with killable_celery_worker(log, queue=queue, extra_env=env) as worker:
            run = worker_run_new()
            with schema_context(WORKER_SCHEMA), app.connection_for_write(redis.broker_url) as conn:
                rebalance_run_start.apply_async(args=[run.pk], queue=queue, connection=conn)
            assert wait_for(
                lambda: worker_run_get(run.pk).done_accounts >= 5, timeout_s=60, every_s=0.02
            ), log.read_text()[-3000:]
            redis.kill()
            killed_at = worker_run_get(run.pk)
            time.sleep(OUTAGE_S)
            redis.start()
            assert wait_for(lambda: log.read_text().count("Connected to") == 2, timeout_s=30), (
                log.read_text()[-3000:]
            )
            assert worker.poll() is None, "the worker exited when Redis went away"
            assert wait_for(
                lambda: worker_run_get(run.pk).status == RunStatus.COMPLETED, timeout_s=60
            )
        assert (killed_at.status, killed_at.done_accounts) == (RunStatus.RUNNING, 5)
        assert "Unrecoverable error" not in log.read_text()
        worker_run_check_complete(run.pk)
