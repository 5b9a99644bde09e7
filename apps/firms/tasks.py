"""Per-firm periodic jobs: the dispatcher enqueues each firm's task in that firm's schema.

One firm's failure (a send refused, its schema gone) is logged and never stops the others.
"""

import logging
import random

from django.conf import settings
from django_tenants.utils import tenant_context

from apps.common.tenancy import firm_today
from apps.firms.services import firm_list_active
from config.celery import app

logger = logging.getLogger(__name__)


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


def _send_to_each_firm(task: str) -> int:
    """Send ``task`` to every active firm, each in its own try; return how many were sent."""
    sent = 0
    for firm in firm_list_active():
        try:
            with tenant_context(firm):
                app.send_task(task)
        except Exception:  # one firm's failure must not stop the others' recovery
            logger.exception("%s not sent to firm %s", task, firm.schema_name)
        else:
            sent += 1
    return sent


@app.task(ignore_result=True)
def runs_resume_dispatch() -> int:
    """Every ``OPTIMIZER_RUN_RESUME_EVERY_S`` (beat): each firm re-sends its stalled chunks.

    Returns:
        How many firms were sent the resume.
    """
    return _send_to_each_firm("apps.trading.tasks.rebalance_runs_resume")


@app.task(ignore_result=True)
def outbox_dispatch() -> int:
    """Every ``PLATFORM_OUTBOX_SWEEP_EVERY_S`` (beat): each firm sends its pending outbox.

    Returns:
        How many firms were sent the sweep.
    """
    return _send_to_each_firm("apps.access.tasks.outbox_send")
