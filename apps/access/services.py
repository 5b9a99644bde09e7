"""Firm users, roles and the audit trail (tenant schema only)."""

import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from apps.access.models import ApiToken, ApiTokenRevokeReason, AuditEvent, Membership
from apps.access.outbox import outbox_enqueue
from apps.access.roles import ASSIGNABLE_ROLES, Role
from apps.access.selectors import api_token_hash, password_fingerprint
from apps.common.csv_out import SafeCsvWriter
from apps.common.exceptions import (
    ApplicationError,
    CommonErrorCode,
    ConflictError,
    PermissionDeniedError,
)
from apps.common.tenancy import require_tenant_schema
from apps.common.validation import full_clean_or_error


def audit_event_record(
    *,
    action: str,
    acting_user: User | None,
    obj: models.Model | None = None,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit row in the current firm's schema.

    Args:
        action: dotted verb, e.g. ``"user.create"``.
        acting_user: the firm user who acted (None for the system, e.g. a schedule).
        obj: the object acted on, if any.
        payload: JSON-safe details (before/after values).
    """
    require_tenant_schema()
    return AuditEvent.objects.create(
        acting_user=acting_user,
        acting_username=acting_user.get_username() if acting_user is not None else "system",
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        payload=payload or {},
    )


def password_check(*, password: str, username: str, email: str) -> None:
    """The password policy (``AUTH_PASSWORD_VALIDATORS``) for a login's new password.

    Raises:
        ApplicationError: the password fails a validator (every failure in the message).
    """
    try:
        validate_password(password, get_user_model()(username=username, email=email))
    except ValidationError as exc:
        raise ApplicationError(
            f"password refused: {' '.join(exc.messages)}",
            code=CommonErrorCode.INVALID,
            extra={"password": exc.messages},
        ) from exc


@transaction.atomic
def firm_user_create(
    *,
    email: str,
    password: str | None,
    role: Role,
    acting_user: User | None = None,
    username: str | None = None,
) -> Any:
    """Create a login in the current firm with a role.

    Args:
        email: the user's email; also the username unless one is given.
        password: raw password; None leaves the password unusable (e.g. platform staff).
        role: the user's role in this firm.
        acting_user: who created the user (None during onboarding).
        username: explicit username (platform staff get ``platform+<name>``).

    Raises:
        ConflictError: the username exists in this firm.
        ApplicationError: the email or role is invalid, or the password fails the policy.
    """
    require_tenant_schema()
    user_model = get_user_model()
    username = username or email
    if user_model.objects.filter(username=username).exists():
        raise ConflictError(f"user '{username}' exists", code=CommonErrorCode.CONFLICT)
    user = user_model(
        username=username,
        email=email,
        is_staff=role == Role.FIRM_ADMIN,
        is_superuser=role == Role.FIRM_ADMIN,
    )
    if password is None:
        user.set_unusable_password()
    else:
        password_check(password=password, username=username, email=email)
        user.set_password(password)
    try:
        user.full_clean()
    except ValidationError as exc:
        raise ApplicationError(
            f"invalid user: {'; '.join(exc.messages)}",
            code=CommonErrorCode.INVALID,
            extra=exc.message_dict,
        ) from exc
    user.save()
    Membership.objects.create(user=user, role=role)
    audit_event_record(
        action="user.create", acting_user=acting_user, obj=user, payload={"role": str(role)}
    )
    return user


@transaction.atomic
def firm_user_set_role(*, user: User, role: Role, acting_user: User) -> Any:
    """Change a firm user's role (audited with before/after).

    Raises:
        ApplicationError: the role is not one a firm admin may give (``ASSIGNABLE_ROLES``).
    """
    require_tenant_schema()
    if role not in ASSIGNABLE_ROLES:
        raise ApplicationError(
            f"the role '{role}' is given only through the sub-advisory entry",
            code=CommonErrorCode.FORBIDDEN,
        )
    membership, _ = Membership.objects.select_for_update().get_or_create(
        user=user, defaults={"role": role}
    )
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    user.is_staff = user.is_superuser = role == Role.FIRM_ADMIN
    user.save(update_fields=["is_staff", "is_superuser"])
    audit_event_record(
        action="user.set_role",
        acting_user=acting_user,
        obj=user,
        payload={"before": before, "after": str(role)},
    )
    return user


@transaction.atomic
def platform_staff_user_get_or_create(*, staff_username: str, entry_id: int | None) -> Any:
    """The firm-side login that represents a platform staff member acting as sub-advisor.

    Audited every time (``entry_id`` is the console entry, None when staff act from the public
    console, e.g. starting a book run); the user has no password.
    """
    require_tenant_schema()
    user_model = get_user_model()
    username = f"platform+{staff_username}"
    user = user_model.objects.filter(username=username).first()
    if user is None:
        user = firm_user_create(
            email="", password=None, role=Role.PLATFORM_STAFF, username=username
        )
    audit_event_record(
        action="platform_staff.enter",
        acting_user=user,
        obj=user,
        payload={"staff_username": staff_username, "entry_id": entry_id},
    )
    return user


AUDIT_CSV_COLUMNS = (
    "created_at",
    "acting_username",
    "action",
    "object_type",
    "object_id",
    "payload",
)


def audit_export_csv(*, action_prefix: str, acting_user_id: int | None) -> str:
    """Write the firm's audit trail (optionally filtered) to a CSV file in the firm's storage.

    Args:
        action_prefix: keep only actions starting with this ("" for all).
        acting_user_id: who asked for the export (None for the system).

    Returns:
        The storage name of the file, under the firm's schema prefix (``audit/…csv``).
    """
    import io
    import json

    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from apps.access.selectors import audit_event_list

    schema = require_tenant_schema()
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)
    writer.writerow(AUDIT_CSV_COLUMNS)
    rows = 0
    for event in audit_event_list(action_prefix=action_prefix).iterator():
        writer.writerow(
            (
                event.created_at.isoformat(),
                event.acting_username,
                event.action,
                event.object_type,
                event.object_id,
                json.dumps(event.payload, sort_keys=True),
            )
        )
        rows += 1
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    name = default_storage.save(f"audit/audit-{stamp}.csv", ContentFile(buffer.getvalue()))
    acting_user = (
        None
        if acting_user_id is None
        else get_user_model().objects.filter(pk=acting_user_id).first()
    )
    audit_event_record(
        action="audit.export",
        acting_user=acting_user,
        payload={"file": name, "rows": rows, "action_prefix": action_prefix, "schema": schema},
    )
    return name


@transaction.atomic
def object_fields_update(
    *,
    obj: models.Model,
    changes: Mapping[str, Any],
    allowed: Sequence[str],
    action: str,
    acting_user: User | None,
    code: StrEnum,
) -> Any:
    """Change some fields of a row under a lock; validate; audit every before/after value.

    Only fields that really change are saved and audited (no audit row when nothing changes).

    Raises:
        ApplicationError: an unknown field or an invalid value (nothing is saved).
    """
    require_tenant_schema()
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ApplicationError(f"unknown fields {sorted(unknown)}", code=code)
    row = type(obj).objects.select_for_update().get(pk=obj.pk)  # type: ignore[attr-defined]
    before = {field: getattr(row, field) for field in changes}
    for field, value in changes.items():
        setattr(row, field, value)
    full_clean_or_error(row, code=code)
    changed = [f for f in changes if before[f] != getattr(row, f)]
    if changed:
        row.save(update_fields=changed)
        audit_event_record(
            action=action,
            acting_user=acting_user,
            obj=row,
            payload={f: {"before": str(before[f]), "after": str(getattr(row, f))} for f in changed},
        )
    return row


def audit_export_request(*, action_prefix: str, acting_user_id: int | None) -> None:
    """Ask for a CSV export of the audit trail: sent to a worker through the outbox.

    Args:
        action_prefix: keep only actions starting with this ("" for all).
        acting_user_id: who asked for the export (None for the system).
    """
    with transaction.atomic():
        outbox_enqueue(
            task="apps.access.tasks.audit_export_csv", args=[action_prefix, acting_user_id]
        )


@transaction.atomic
def api_token_create(
    *, user: User, name: str, lifetime_days: int | None = None, acting_user: User
) -> tuple[ApiToken, str]:
    """Issue a named API token to a firm user; the key is returned here and never again.

    Args:
        user: the token's user (an active firm user with a role; platform staff never: they act
            for a firm only through the audited entry).
        name: what the token is for ("nightly export").
        lifetime_days: days until it expires; default ``API_TOKEN_LIFETIME_DAYS``, at most
            ``API_TOKEN_MAX_LIFETIME_DAYS``.
        acting_user: who asked (the user, from the page or the token endpoint).

    Returns:
        The token row and its key.

    Raises:
        ApplicationError: an invalid name or lifetime, or a user who may not hold tokens.
    """
    from apps.access.permissions import user_role

    require_tenant_schema()
    role = user_role(user)
    if role is None or role == Role.PLATFORM_STAFF:
        raise PermissionDeniedError(
            "only the firm's own users hold API tokens", code=CommonErrorCode.FORBIDDEN
        )
    lifetime = settings.API_TOKEN_LIFETIME_DAYS if lifetime_days is None else lifetime_days
    if not 1 <= lifetime <= settings.API_TOKEN_MAX_LIFETIME_DAYS:
        raise ApplicationError(
            f"a token lives 1 to {settings.API_TOKEN_MAX_LIFETIME_DAYS} days",
            code=CommonErrorCode.INVALID,
            extra={"lifetime_days": lifetime},
        )
    key = secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name.strip(),
        key_prefix=key[:8],
        key_hash=api_token_hash(key),
        password_fingerprint=password_fingerprint(user),
        expires_at=timezone.now() + timedelta(days=lifetime),
    )
    full_clean_or_error(token, code=CommonErrorCode.INVALID)
    token.save()
    audit_event_record(
        action="api_token.create",
        acting_user=acting_user,
        obj=token,
        payload={
            "name": token.name,
            "user": user.get_username(),
            "expires_at": str(token.expires_at),
        },
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, acting_user: User) -> ApiToken:
    """Revoke one token now (its user's choice); revoking a dead token changes nothing."""
    require_tenant_schema()
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.revoked_reason = ApiTokenRevokeReason.BY_USER
        token.save(update_fields=["revoked_at", "revoked_reason"])
        audit_event_record(
            action="api_token.revoke",
            acting_user=acting_user,
            obj=token,
            payload={"name": token.name},
        )
    return token


def api_tokens_revoke_for_user(*, user: User, reason: ApiTokenRevokeReason) -> int:
    """Revoke every live token of a user whose password changed or who was deactivated.

    Called whatever changed the user (pages, admin, password reset, ``set_password`` + save):
    ``apps.access.signals``. Returns how many were revoked (audited when any).
    """
    require_tenant_schema()
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )
    if revoked:
        audit_event_record(
            action="api_token.revoke_all",
            acting_user=None,
            obj=user,
            payload={"reason": str(reason), "tokens": revoked},
        )
    return revoked


def api_token_touch(*, token: ApiToken) -> None:
    """Record that a token was used (at most once a minute, to spare a write per request)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
