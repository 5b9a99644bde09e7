"""Thin Celery tasks of the reports app: default queue, acks_late, idempotent services."""

from config.celery import app


@app.task(acks_late=True, ignore_result=True, soft_time_limit=240, time_limit=300)
def report_batch_start(batch_id: int) -> None:
    """Start a report batch and enqueue its chunks (firm's schema only)."""
    from apps.common.tenancy import require_tenant_schema
    from apps.reports.services.batches import report_batch_start as start

    require_tenant_schema()
    start(batch_id=batch_id)


@app.task(acks_late=True, ignore_result=True, soft_time_limit=540, time_limit=600)
def report_batch_chunk_execute(batch_id: int, chunk: int) -> None:
    """Render and store one chunk of a batch's reports (firm's schema only)."""
    from apps.common.tenancy import require_tenant_schema
    from apps.reports.services.batches import report_batch_chunk_execute as execute

    require_tenant_schema()
    execute(batch_id=batch_id, chunk=chunk)
