"""Thin Celery tasks of the access app (STYLE.md §4)."""

from config.celery import app


@app.task(ignore_result=True)
def audit_export_csv(action_prefix: str, acting_user_id: int | None) -> None:
    """Export the firm's audit trail to CSV in the firm's storage (runs in the firm's schema)."""
    from apps.access.services import audit_export_csv as export
    from apps.common.tenancy import require_tenant_schema

    require_tenant_schema()
    export(action_prefix=action_prefix, acting_user_id=acting_user_id)


@app.task(ignore_result=True)
def outbox_send() -> None:
    """Send this firm's pending outbox messages (sent per firm by the beat dispatcher)."""
    from apps.access.outbox import outbox_send as send
    from apps.common.tenancy import require_tenant_schema

    require_tenant_schema()
    send()
