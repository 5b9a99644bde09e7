"""Thin Celery tasks of the trading app: optimizer queue, acks_late, idempotent services."""

from config.celery import app


@app.task(acks_late=True, ignore_result=True, soft_time_limit=240, time_limit=300)
def rebalance_run_start(run_id: int) -> None:
    """Resolve a run's scope and universe and enqueue its chunks (firm's schema only)."""
    from apps.common.tenancy import require_tenant_schema
    from apps.trading.services.runs import rebalance_run_start as start

    require_tenant_schema()
    start(run_id=run_id)


@app.task(acks_late=True, ignore_result=True, soft_time_limit=240, time_limit=300)
def rebalance_chunk_execute(run_id: int, chunk: int) -> None:
    """Optimize one chunk of a run's accounts and store the proposals (firm's schema only)."""
    from apps.common.tenancy import require_tenant_schema
    from apps.trading.services.runs import rebalance_chunk_execute as execute

    require_tenant_schema()
    execute(run_id=run_id, chunk=chunk)


@app.task(acks_late=True, ignore_result=True, soft_time_limit=240, time_limit=300)
def daily_scan(as_of: str) -> None:
    """Scan the firm's book as of an ISO date (sent per firm by the beat dispatcher)."""
    from datetime import date

    from apps.common.tenancy import require_tenant_schema
    from apps.trading.services.scan import daily_scan_run

    require_tenant_schema()
    daily_scan_run(as_of=date.fromisoformat(as_of))
