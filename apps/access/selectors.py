"""Reads of firm users, API tokens and the audit trail."""

import hashlib
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from apps.access.models import ApiToken, AuditEvent


def firm_user_list() -> QuerySet[Any]:
    """Every login of this firm with its role, ordered by username."""
    return get_user_model().objects.select_related("membership").order_by("username")


def audit_event_list(*, action_prefix: str = "") -> QuerySet[AuditEvent]:
    """Audit rows, newest first, optionally filtered by the start of the action name."""
    events = AuditEvent.objects.all()
    if action_prefix:
        events = events.filter(action__startswith=action_prefix)
    return events


def api_token_hash(key: str) -> str:
    """How a token's key is stored: sha256, hex (keys are 256 random bits: no slow hash needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def password_fingerprint(user: User) -> str:
    """sha256 of the user's password hash: a token issued under it dies when it changes."""
    return hashlib.sha256(user.password.encode()).hexdigest()


def api_token_list_for_user(*, user: User) -> QuerySet[ApiToken]:
    """The user's own API tokens, newest first (every state: active, expired, revoked)."""
    return ApiToken.objects.filter(user=user)


def api_token_get_usable(*, key: str) -> ApiToken | None:
    """The token a key names, if it still works, else None.

    It works while unrevoked and unexpired, its user active and the user's password the one it
    was issued under.
    """
    token = (
        ApiToken.objects.select_related("user")
        .filter(
            key_hash=api_token_hash(key), revoked_at__isnull=True, expires_at__gt=timezone.now()
        )
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.password_fingerprint != password_fingerprint(token.user):
        return None
    return token
