"""Thin Celery tasks of the trading app: optimizer queue, acks_late, idempotent services.

A lost database connection (a restarted or failed-over server, ``pg_terminate_backend``) is
retried with backoff: the services are idempotent, so a retry finishes the work and never
duplicates it.
"""

from collections.abc import Sequence
from typing import Any, TypedDict

from django.db import InterfaceError, OperationalError

from config.celery import app


class RetryOptions(TypedDict):
    """``app.task`` options: retry a lost database connection with backoff."""

    autoretry_for: Sequence[type[BaseException]]
    retry_backoff: int
    retry_backoff_max: int
    retry_jitter: bool
    max_retries: int


RETRY: RetryOptions = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 8,
}


@app.task(acks_late=True, ignore_result=True, soft_time_limit=240, time_limit=300, **RETRY)
def rebalance_run_start(run_id: int) -> None:
    """Resolve a run's scope and universe and enqueue its chunks (firm's schema only)."""
    from apps.common.tenancy import require_tenant_schema
    from apps.trading.services.runs import rebalance_run_start as start

    require_tenant_schema()
    start(run_id=run_id)


def _rebalance_chunk_execute_failure(
    self: Any,
    exc: BaseException,
    task_id: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    einfo: Any,
) -> None:
    """After the last retry (or an unexpected error) the chunk's pending accounts fail, with why."""
    from django.db import close_old_connections

    from apps.common.tenancy import require_tenant_schema
    from apps.trading.services.runs import rebalance_chunk_fail

    close_old_connections()  # the error may have left the connection unusable
    require_tenant_schema()
    run_id, chunk = args
    rebalance_chunk_fail(run_id=run_id, chunk=chunk, reason=f"{type(exc).__name__}: {exc}")


@app.task(
    acks_late=True,
    ignore_result=True,
    soft_time_limit=240,
    time_limit=300,
    on_failure=_rebalance_chunk_execute_failure,
    **RETRY,
)
def rebalance_chunk_execute(run_id: int, chunk: int) -> None:
    """Optimize one chunk of a run's accounts and store the proposals (firm's schema only)."""
    from apps.common.tenancy import require_tenant_schema
    from apps.trading.services.runs import rebalance_chunk_execute as execute

    require_tenant_schema()
    execute(run_id=run_id, chunk=chunk)


@app.task(acks_late=True, ignore_result=True, soft_time_limit=240, time_limit=300, **RETRY)
def daily_scan(as_of: str) -> None:
    """Scan the firm's book as of an ISO date (sent per firm by the beat dispatcher)."""
    from datetime import date

    from apps.common.tenancy import require_tenant_schema
    from apps.trading.services.scan import daily_scan_run

    require_tenant_schema()
    daily_scan_run(as_of=date.fromisoformat(as_of))


@app.task(ignore_result=True, **RETRY)
def rebalance_runs_resume() -> None:
    """Re-send the work of this firm's stalled runs (sent per firm by the beat dispatcher)."""
    from django.conf import settings

    from apps.common.tenancy import require_tenant_schema
    from apps.trading.services.runs import rebalance_runs_resume as resume

    require_tenant_schema()
    resume(stalled_after_s=settings.OPTIMIZER_RUN_STALLED_AFTER_S)
