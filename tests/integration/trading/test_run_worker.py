"""Book runs through real Celery worker processes over the real broker, and a worker killed mid-run.

The data is committed (workers are other processes): the ``worker_firm`` book of the conftest.
"""

import os
import signal
import time

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from apps.trading.models import RunStatus
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


def test_worker_killed_mid_run_loses_and_duplicates_nothing(
    worker_firm, django_db_blocker, tmp_path
):
    queue = f"test-kill-{os.getpid()}"
    env = {"OPTIMIZER_CHUNK_SIZE": "2"}
    with django_db_blocker.unblock():
        run = worker_run_new()
        with killable_celery_worker(tmp_path / "first.log", queue=queue, extra_env=env) as first:
            with schema_context(WORKER_SCHEMA):
                rebalance_run_start.apply_async(args=[run.pk], queue=queue)
            assert wait_for(
                lambda: worker_run_get(run.pk).done_accounts >= 4, timeout_s=120, every_s=0.02
            )
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        killed_at = worker_run_get(run.pk)
        assert killed_at.status == RunStatus.RUNNING, (
            "the run finished before the kill: slow it down"
        )
        time.sleep(1)
        restart_env = {**env, "CELERY_VISIBILITY_TIMEOUT_S": "2"}
        with killable_celery_worker(tmp_path / "second.log", queue=queue, extra_env=restart_env):
            assert wait_for(
                lambda: worker_run_get(run.pk).status == RunStatus.COMPLETED, timeout_s=180
            ), (tmp_path / "second.log").read_text()[-3000:]
        worker_run_check_complete(run.pk)


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
