"""Reads of firm users and the audit trail."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from apps.access.models import AuditEvent


def firm_user_list() -> QuerySet[Any]:
    """Every login of this firm with its role, ordered by username."""
    return get_user_model().objects.select_related("membership").order_by("username")


def audit_event_list(*, action_prefix: str = "") -> QuerySet[AuditEvent]:
    """Audit rows, newest first, optionally filtered by the start of the action name."""
    events = AuditEvent.objects.all()
    if action_prefix:
        events = events.filter(action__startswith=action_prefix)
    return events
