"""Per-firm periodic jobs: the dispatcher enqueues each firm's task in that firm's schema."""

import random

from django.conf import settings
from django_tenants.utils import tenant_context

from apps.common.tenancy import firm_today
from apps.firms.services import firm_list_active
from config.celery import app


def _local_hour(firm: object) -> int:
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    return timezone.now().astimezone(ZoneInfo(str(firm.timezone))).hour  # type: ignore[attr-defined]


@app.task(ignore_result=True)
def daily_scan_dispatch(force: bool = False, queue: str | None = None) -> int:
    """Hourly (beat): send ``daily_scan`` to every active firm whose local hour is the scan hour.

    ``send_task`` inside ``tenant_context`` stamps the firm's schema on the message, so each
    firm's scan runs in that firm's schema only.

    Args:
        force: scan every firm now, whatever its local hour.
        queue: send the scans to this queue instead of the default one.

    Returns:
        How many firms were sent a scan.
    """
    sent = 0
    for firm in firm_list_active():
        if not force and _local_hour(firm) != settings.PLATFORM_DAILY_SCAN_LOCAL_HOUR:
            continue
        with tenant_context(firm):
            app.send_task(
                "apps.trading.tasks.daily_scan",
                args=[firm_today(firm).isoformat()],
                countdown=random.uniform(0, settings.PLATFORM_DISPATCH_JITTER_S),  # noqa: S311 - dispatch jitter, not a secret  # nosec B311
                queue=queue,
            )
        sent += 1
    return sent


@app.task(ignore_result=True)
def runs_resume_dispatch() -> int:
    """Every few minutes (beat): each active firm re-sends the work of its stalled runs."""
    firms = firm_list_active()
    for firm in firms:
        with tenant_context(firm):
            app.send_task("apps.trading.tasks.rebalance_runs_resume")
    return len(firms)
