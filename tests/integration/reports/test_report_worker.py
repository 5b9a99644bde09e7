"""A real Celery worker renders a client batch in firm A's schema, with only A's data."""

import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django_tenants.utils import schema_context, tenant_context

from apps.accounts.models import Account, Household
from apps.reports.models import ReportBatch, ReportBatchStatus, ReportFile, ReportKind
from apps.reports.services.batches import report_batch_create
from apps.reports.tasks import report_batch_start
from tests.integration.reports.conftest import pdf_text
from tests.processes import celery_worker, wait_for

pytestmark = pytest.mark.worker


def test_batch_task_without_schema_is_refused(firms, db):
    from apps.common.exceptions import TenantContextError

    result = report_batch_start.apply(args=[1])
    assert isinstance(result.result, TenantContextError)


@pytest.fixture
def committed_accounts(firms, django_db_blocker):
    """Two cash accounts in firm A and one in firm B (committed: the worker is another process)."""
    tag = uuid.uuid4().hex[:8]
    names = {"a": [f"Alpha Client {tag} {i}" for i in range(2)], "b": [f"Bravo Client {tag}"]}
    with django_db_blocker.unblock():
        for key, account_names in names.items():
            with schema_context(firms[key].schema):
                household = Household.objects.create(external_id=f"W-{tag}", name=f"W {tag}")
                for i, name in enumerate(account_names):
                    Account.objects.create(
                        household=household,
                        custodian="schwab",
                        number=f"W-{tag}-{i}",
                        name=name,
                        registration="taxable",
                        cash_amount=Decimal("25000"),
                    )
    yield names
    with django_db_blocker.unblock():
        for key in ("a", "b"):
            with schema_context(firms[key].schema):
                accounts = Account.objects.filter(number__startswith=f"W-{tag}")
                for report_file in ReportFile.objects.filter(account__in=accounts):
                    path = Path(settings.MEDIA_ROOT) / firms[key].schema / report_file.storage_name
                    path.unlink(missing_ok=True)
                ReportBatch.objects.filter(files__account__in=accounts).delete()
                accounts.delete()
                Household.objects.filter(external_id=f"W-{tag}").delete()


def test_real_worker_renders_a_batch_in_firm_a_only(
    firms, committed_accounts, django_db_blocker, tmp_path
):
    queue = f"test-{uuid.uuid4().hex[:10]}"
    with django_db_blocker.unblock():
        with tenant_context(firms["a"].firm):
            ids = list(
                Account.objects.filter(name__in=committed_accounts["a"])
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            batch = report_batch_create(
                kind=ReportKind.CLIENT,
                year=2024,
                as_of=date(2024, 6, 28),
                account_ids=ids,
                requested_by=None,
                enqueue=False,
            )

        def current() -> ReportBatch:
            with schema_context(firms["a"].schema):
                return ReportBatch.objects.get(pk=batch.pk)

        # The worker's default queue is the private test queue, so the chunks it enqueues
        # come back to it; the start message is sent from firm A's schema (header stamped).
        with celery_worker(
            tmp_path / "worker.log", queue=queue, extra_env={"CELERY_DEFAULT_QUEUE": queue}
        ):
            with tenant_context(firms["a"].firm):
                report_batch_start.apply_async(args=[batch.pk], queue=queue)
            assert wait_for(lambda: current().status == ReportBatchStatus.COMPLETED, timeout_s=120)

        done = current()
        assert (done.total_count, done.done_count, done.failed_count, done.percent) == (
            2,
            2,
            0,
            100,
        )
        with schema_context(firms["a"].schema):
            files = list(ReportFile.objects.filter(batch=done).order_by("account_id"))
        assert [f.account_id for f in files] == ids
        for report_file, name in zip(files, committed_accounts["a"], strict=True):
            path = Path(settings.MEDIA_ROOT) / "firm_a" / report_file.storage_name
            text = pdf_text(path.read_bytes(), tmp_path)
            assert name in text
            assert "Firm A Wealth" in text
            assert "Firm B" not in text
            assert committed_accounts["b"][0] not in text
        for report_file in files:  # stored under firm A's schema prefix only
            assert not (Path(settings.MEDIA_ROOT) / "firm_b" / report_file.storage_name).exists()
