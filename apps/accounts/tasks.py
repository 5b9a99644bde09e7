"""Thin Celery tasks of the accounts app."""

from config.celery import app


@app.task(acks_late=True, ignore_result=True, soft_time_limit=1500, time_limit=1600)
def account_positions_refresh(as_of: str) -> None:
    """Store the positions of the accounts whose stored one is stale (firm's schema only).

    Enqueued by a page that found stale rows (``attention.positions_refresh_if_stale``); it
    releases the page's lock when done, so the next stale page enqueues the next refresh.
    """
    from datetime import date

    from django.core.cache import cache

    from apps.accounts.attention import (
        POSITIONS_REFRESH_LOCK,
        account_positions_store,
        stale_account_ids,
    )
    from apps.common.tenancy import require_tenant_schema

    require_tenant_schema()
    day = date.fromisoformat(as_of)
    try:
        account_positions_store(as_of=day, account_ids=stale_account_ids(as_of=day))
    finally:
        cache.delete(POSITIONS_REFRESH_LOCK)
