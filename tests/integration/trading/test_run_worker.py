"""Book runs through real Celery worker processes over the real broker, and a worker killed mid-run.

The data is committed (workers are other processes) in a firm created for this module and
dropped at the end.
"""

import os
import signal
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django_tenants.utils import schema_context

from apps.firms.models import Firm
from apps.firms.services import firm_create
from apps.trading.models import Proposal, RebalanceRun, RunAccount, RunAccountStatus, RunStatus
from apps.trading.tasks import rebalance_run_start
from tests.processes import celery_worker, killable_celery_worker, wait_for

pytestmark = pytest.mark.worker
AS_OF = date(2024, 6, 28)
SYMBOLS = [f"WK{i:02d}" for i in range(12)]


def _seed_prices() -> None:
    from apps.securities.models import Price, Security

    rng = np.random.default_rng(11)
    days = [
        AS_OF - timedelta(days=d) for d in range(120) if (AS_OF - timedelta(days=d)).weekday() < 5
    ]
    for i, symbol in enumerate(SYMBOLS):
        security = Security.objects.create(
            symbol=symbol,
            name=f"Worker test {symbol}",
            sector=("Energy", "Utilities", "Materials")[i % 3],
        )
        path = 40 * np.exp(np.cumsum(rng.normal(0, 0.02, len(days))))
        Price.objects.bulk_create(
            Price(security=security, priced_on=d, close_price=Decimal(f"{p:.2f}"), source="test")
            for d, p in zip(days, path, strict=True)
        )


@pytest.fixture(scope="module")
def worker_firm(django_db_setup, django_db_blocker) -> Iterator[Firm]:
    """A committed firm with a synthetic book of 80 households on a 10-name model."""
    from apps.securities.models import Price, Security
    from apps.trading.services.synthetic_book import synthetic_book_create

    with django_db_blocker.unblock():
        _seed_prices()
        firm = firm_create(
            name="Worker Test Wealth",
            slug="firm_w",
            domain="firm-w.localhost",
            admin_email="admin@firm-w.test",
            admin_password="Worker-pass-123",
        ).firm
        with schema_context("firm_w"):
            synthetic_book_create(households=80, names=10, as_of=AS_OF, seed=5)
        connection.set_schema_to_public()
    yield firm
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        firm.delete(force_drop=True)
        Price.objects.filter(security__symbol__in=SYMBOLS).delete()
        Security.objects.filter(symbol__in=SYMBOLS).delete()


def _new_run() -> RebalanceRun:
    with schema_context("firm_w"):
        return RebalanceRun.objects.create(scope="book", as_of=AS_OF)


def _run(run_id: int) -> RebalanceRun:
    with schema_context("firm_w"):
        return RebalanceRun.objects.get(pk=run_id)


def _check_complete_without_duplicates(run_id: int) -> RebalanceRun:
    with schema_context("firm_w"):
        run = RebalanceRun.objects.get(pk=run_id)
        assert run.status == RunStatus.COMPLETED
        assert run.total_accounts == RunAccount.objects.filter(run=run).count() == 100
        assert not RunAccount.objects.filter(run=run, status=RunAccountStatus.PENDING).exists()
        assert run.done_accounts + run.failed_accounts + run.skipped_accounts == run.total_accounts
        proposals = Proposal.objects.filter(run=run)
        assert proposals.count() == run.done_accounts
        assert proposals.values("account").distinct().count() == proposals.count()
        return run


def test_book_run_through_a_real_worker(worker_firm, django_db_blocker, tmp_path):
    with django_db_blocker.unblock():
        run = _new_run()
        env = {"OPTIMIZER_CHUNK_SIZE": "10"}
        with celery_worker(tmp_path / "worker.log", concurrency=2, extra_env=env) as queue:
            with schema_context("firm_w"):
                rebalance_run_start.apply_async(args=[run.pk], queue=queue)
            assert wait_for(lambda: _run(run.pk).status == RunStatus.COMPLETED, timeout_s=120), (
                tmp_path / "worker.log"
            ).read_text()[-3000:]
        run = _check_complete_without_duplicates(run.pk)
        assert run.failed_accounts == 0
        assert run.solver_ms > 0


def test_worker_killed_mid_run_loses_and_duplicates_nothing(
    worker_firm, django_db_blocker, tmp_path
):
    queue = f"test-kill-{os.getpid()}"
    env = {"OPTIMIZER_CHUNK_SIZE": "2"}
    with django_db_blocker.unblock():
        run = _new_run()
        with killable_celery_worker(tmp_path / "first.log", queue=queue, extra_env=env) as first:
            with schema_context("firm_w"):
                rebalance_run_start.apply_async(args=[run.pk], queue=queue)
            assert wait_for(lambda: _run(run.pk).done_accounts >= 4, timeout_s=120, every_s=0.02)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        killed_at = _run(run.pk)
        assert killed_at.status == RunStatus.RUNNING, (
            "the run finished before the kill: slow it down"
        )
        time.sleep(1)
        restart_env = {**env, "CELERY_VISIBILITY_TIMEOUT_S": "2"}
        with killable_celery_worker(tmp_path / "second.log", queue=queue, extra_env=restart_env):
            assert wait_for(lambda: _run(run.pk).status == RunStatus.COMPLETED, timeout_s=180), (
                tmp_path / "second.log"
            ).read_text()[-3000:]
        _check_complete_without_duplicates(run.pk)


def test_database_connections_cut_mid_run_are_retried(worker_firm, django_db_blocker, tmp_path):
    queue = f"test-cut-{os.getpid()}"
    env = {"OPTIMIZER_CHUNK_SIZE": "2"}
    with django_db_blocker.unblock():
        run = _new_run()
        with killable_celery_worker(tmp_path / "worker.log", queue=queue, extra_env=env):
            with schema_context("firm_w"):
                rebalance_run_start.apply_async(args=[run.pk], queue=queue)
            assert wait_for(lambda: _run(run.pk).done_accounts >= 4, timeout_s=120, every_s=0.02)
            with connection.cursor() as cursor:  # every other session on the test database
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                assert cursor.fetchone()[0] >= 1
            assert wait_for(lambda: _run(run.pk).status == RunStatus.COMPLETED, timeout_s=180), (
                tmp_path / "worker.log"
            ).read_text()[-3000:]
        log = (tmp_path / "worker.log").read_text()
        print(f"cut connections: {log.count('Retry in')} task(s) retried")
        _check_complete_without_duplicates(run.pk)
