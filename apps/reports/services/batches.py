"""Report batches: create, fan out to Celery in chunks, render and store each file once.

Idempotent like rebalance runs: a chunk renders only the accounts that have neither a file nor
a failure in the batch, and stores a file under the batch row's lock, so a redelivered chunk
(``acks_late``) or two deliveries at once never store a report twice.
"""

import hashlib
import re
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.access.outbox import outbox_enqueue, outbox_enqueue_many
from apps.access.services import audit_event_record
from apps.accounts.models import Account
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import require_tenant_schema
from apps.reports.errors import ReportsErrorCode
from apps.reports.models import ReportBatch, ReportBatchStatus, ReportFile, ReportKind
from apps.reports.rendering import RenderedPdf
from apps.reports.selectors import report_account_list
from apps.reports.services.client import report_render_client
from apps.reports.services.firm import report_render_dispersion, report_render_taxes_saved

CHUNK_SIZE = 10
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(text: str) -> str:
    return _SAFE.sub("-", text).strip("-")[:60] or "report"


@transaction.atomic
def report_batch_create(
    *,
    kind: ReportKind,
    year: int,
    as_of: date,
    requested_by: Any | None,
    account_ids: list[int] | None = None,
    enqueue: bool = True,
) -> ReportBatch:
    """Record a batch request and, unless ``enqueue`` is False, start it after commit.

    Args:
        kind: client reports (one per account) or a firm report (one file).
        year: the tax year reported.
        as_of: valuation date.
        requested_by: the firm user asking (None for a schedule or command).
        account_ids: client reports only: which accounts (None or empty: every account).
        enqueue: False when the caller renders in its own process (the command, tests).

    Raises:
        ApplicationError: ``NO_ACCOUNTS`` when a client batch covers no account.
    """
    require_tenant_schema()
    ids: list[int] = []
    if kind == ReportKind.CLIENT:
        ids = list(
            report_account_list(account_ids=account_ids or None).values_list("pk", flat=True)
        )
        if not ids:
            raise ApplicationError("the batch covers no account", code=ReportsErrorCode.NO_ACCOUNTS)
    batch = ReportBatch(
        kind=kind,
        year=year,
        as_of=as_of,
        account_ids=ids,
        total_count=len(ids) if kind == ReportKind.CLIENT else 1,
        requested_by=requested_by,
        requested_by_name=requested_by.get_username() if requested_by else "system",
    )
    batch.full_clean()
    batch.save()
    audit_event_record(
        action="reports.batch.create",
        acting_user=requested_by,
        obj=batch,
        payload={"kind": kind, "year": year, "as_of": str(as_of), "accounts": len(ids)},
    )
    if enqueue:  # committed with the batch, sent after (apps.access.outbox)
        outbox_enqueue(task="apps.reports.tasks.report_batch_start", args=[batch.pk])
    return batch


def report_batch_start(*, batch_id: int, enqueue: bool = True) -> list[int]:
    """Mark the batch running and enqueue (or return) the chunks with work left.

    Returns:
        The chunk numbers with accounts still to render (``[0]`` for a firm report).
    """
    require_tenant_schema()
    with transaction.atomic():
        batch = ReportBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status == ReportBatchStatus.QUEUED:
            batch.status = ReportBatchStatus.RUNNING
            batch.started_at = timezone.now()
            batch.save(update_fields=["status", "started_at"])
        pending = _pending_ids(batch)
        position = {a: i for i, a in enumerate(batch.account_ids)}
        chunks = (
            sorted({position[a] // CHUNK_SIZE for a in pending})
            if batch.kind == ReportKind.CLIENT
            else ([0] if pending else [])
        )
        if not chunks:
            _finish_if_done(batch)
        if enqueue and chunks:
            outbox_enqueue_many(
                task="apps.reports.tasks.report_batch_chunk_execute",
                args_list=[[batch_id, chunk] for chunk in chunks],
            )
    return chunks


def _pending_ids(batch: ReportBatch) -> list[int]:
    """Accounts (or ``[0]`` for the firm file) with neither a file nor a failure yet."""
    if batch.kind != ReportKind.CLIENT:
        done = ReportFile.objects.filter(batch=batch, account__isnull=True).exists()
        return [] if done or "firm" in batch.failures else [0]
    done_ids = set(ReportFile.objects.filter(batch=batch).values_list("account_id", flat=True))
    return [a for a in batch.account_ids if a not in done_ids and str(a) not in batch.failures]


def report_batch_chunk_execute(*, batch_id: int, chunk: int) -> int:
    """Render the chunk's pending reports and store them; return how many were stored.

    One failing account never stops the chunk: the failure is recorded with its reason.
    """
    require_tenant_schema()
    batch = ReportBatch.objects.get(pk=batch_id)
    if batch.status != ReportBatchStatus.RUNNING:
        return 0
    if batch.kind != ReportKind.CLIENT:
        render: Callable[[], RenderedPdf] = (
            (lambda: report_render_taxes_saved(year=batch.year, as_of=batch.as_of))
            if batch.kind == ReportKind.TAXES_SAVED
            else (lambda: report_render_dispersion(year=batch.year, as_of=batch.as_of))
        )
        return _render_one(batch, None, render) if _pending_ids(batch) else 0
    mine = set(batch.account_ids[chunk * CHUNK_SIZE : (chunk + 1) * CHUNK_SIZE])
    stored = 0
    accounts = report_account_list(account_ids=[a for a in _pending_ids(batch) if a in mine])
    for account in accounts:
        stored += _render_one(batch, account, partial(_client_pdf, batch=batch, account=account))
    return stored


def _client_pdf(*, batch: ReportBatch, account: Account) -> RenderedPdf:
    return report_render_client(account=account, year=batch.year, as_of=batch.as_of)


def _filename(batch: ReportBatch, account: Account | None) -> str:
    if account is None:
        return f"{batch.kind.replace('_', '-')}-{batch.year}.pdf"
    return f"client-{_safe(account.custodian)}-{_safe(account.number)}-{batch.year}.pdf"


def _render_one(
    batch: ReportBatch, account: Account | None, render: Callable[[], RenderedPdf]
) -> int:
    key = str(account.pk) if account is not None else "firm"
    try:
        pdf = render()
    except Exception as exc:  # one report's failure is recorded, never raised
        with transaction.atomic():
            locked = ReportBatch.objects.select_for_update().get(pk=batch.pk)
            if key not in locked.failures:
                locked.failures[key] = f"{type(exc).__name__}: {exc}"[:500]
                locked.failed_count += 1
                locked.save(update_fields=["failures", "failed_count"])
            _finish_if_done(locked)
        return 0
    filename = _filename(batch, account)
    name = default_storage.save(
        f"reports/{batch.pk}/{filename}", ContentFile(pdf.content, name=filename)
    )
    with transaction.atomic():
        locked = ReportBatch.objects.select_for_update().get(pk=batch.pk)
        exists = ReportFile.objects.filter(batch=locked, account=account, kind=locked.kind).exists()
        if exists:  # another delivery stored it first
            default_storage.delete(name)
            return 0
        ReportFile.objects.create(
            batch=locked,
            kind=locked.kind,
            account=account,
            storage_name=name,
            filename=filename,
            sha256=hashlib.sha256(pdf.content).hexdigest(),
            size_bytes=len(pdf.content),
            pages=pdf.pages,
            render_ms=pdf.render_ms,
        )
        ReportBatch.objects.filter(pk=locked.pk).update(done_count=F("done_count") + 1)
        locked.refresh_from_db()
        _finish_if_done(locked)
    return 1


def _finish_if_done(batch: ReportBatch) -> None:
    if batch.status == ReportBatchStatus.RUNNING and not _pending_ids(batch):
        batch.status = (
            ReportBatchStatus.FAILED
            if batch.failed_count and not batch.done_count
            else ReportBatchStatus.COMPLETED
        )
        batch.finished_at = timezone.now()
        batch.save(update_fields=["status", "finished_at"])


def report_batch_run_inline(*, batch: ReportBatch) -> ReportBatch:
    """Render a whole batch in this process (the ``reports`` command and tests)."""
    for chunk in report_batch_start(batch_id=batch.pk, enqueue=False):
        report_batch_chunk_execute(batch_id=batch.pk, chunk=chunk)
    batch.refresh_from_db()
    return batch
