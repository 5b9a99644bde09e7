"""Firm onboarding and the audited sub-advisory entry: the only cross-firm code (STYLE.md §5.5)."""

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from apps.common.exceptions import (
    ApplicationError,
    ConflictError,
    PermissionDeniedError,
    TenantContextError,
)
from apps.common.tenancy import current_schema
from apps.firms.errors import FirmErrorCode
from apps.firms.models import (
    Domain,
    Firm,
    FirmKind,
    FirmService,
    PlatformAuditEvent,
    StaffEntry,
)

ENTRY_SALT = "platform-staff-entry"


@dataclass(frozen=True)
class FirmCreated:
    """What onboarding made: the firm, its primary host and its first admin's login."""

    firm: Firm
    domain: str
    admin_email: str
    admin_password: str | None


def platform_audit_event_record(
    *,
    action: str,
    acting_user: User | None,
    obj: models.Model | None = None,
    payload: dict[str, Any] | None = None,
) -> PlatformAuditEvent:
    """Write one platform audit row (public schema): the platform admin's changes.

    Args:
        action: dotted verb, e.g. ``"admin.change"``.
        acting_user: the platform staff login who acted.
        obj: the object acted on, if any.
        payload: JSON-safe details (before/after values, never secrets).

    Raises:
        TenantContextError: called in a firm's schema (firms audit into their own trail).
    """
    if current_schema() != get_public_schema_name():
        raise TenantContextError("refused: the platform audit trail is written in 'public'")
    return PlatformAuditEvent.objects.create(
        acting_user=acting_user,
        acting_username=acting_user.get_username() if acting_user is not None else "system",
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        payload=payload or {},
    )


def firm_create(
    *,
    name: str,
    slug: str,
    domain: str | None = None,
    admin_email: str,
    admin_password: str | None = None,
    kind: str = FirmKind.RIA,
    service: str = FirmService.SOFTWARE,
    timezone_name: str = "America/New_York",
) -> FirmCreated:
    """Create a firm: its schema (tenant migrations run), its host and its first firm admin.

    Args:
        name: display name ("Acme Wealth").
        slug: short unique id; also the schema name (``acme``).
        domain: host serving the firm; default ``<slug>.<PLATFORM_FIRM_DOMAIN_SUFFIX>``.
        admin_email: login of the first firm admin (also their username).
        admin_password: their password; ``None`` makes one up and returns it.
        kind: RIA, bank or TAMP.
        service: software only or sub-advisory.
        timezone_name: IANA zone for the firm's business dates.

    Raises:
        ConflictError: the slug, schema or domain is taken.
        ApplicationError: a field is invalid (message says which), or the admin password fails
            the password policy (checked before the schema is made).
    """
    domain = domain or f"{slug}.{settings.PLATFORM_FIRM_DOMAIN_SUFFIX}"
    if Firm.objects.filter(slug=slug).exists() or schema_exists(slug):
        raise ConflictError(f"a firm with slug '{slug}' exists", code=FirmErrorCode.SLUG_TAKEN)
    if Domain.objects.filter(domain=domain).exists() or domain in settings.PLATFORM_PUBLIC_HOSTS:
        raise ConflictError(f"domain '{domain}' is taken", code=FirmErrorCode.DOMAIN_TAKEN)
    if admin_password is not None:  # refused before anything is made
        from apps.access.services import password_check

        password_check(password=admin_password, username=admin_email, email=admin_email)
    firm = Firm(
        name=name,
        slug=slug,
        schema_name=slug,
        kind=kind,
        service=service,
        timezone=timezone_name,
    )
    try:
        firm.full_clean()
        _check_timezone(timezone_name)
    except ValidationError as exc:
        raise ApplicationError(
            f"invalid firm: {exc.messages}", code=FirmErrorCode.INVALID, extra=exc.message_dict
        ) from exc
    # Schema creation runs the tenant migrations; it cannot share one transaction with the rows
    # below on every backend path, so a failure after it drops nothing and is reported instead.
    firm.save(verbosity=0)
    with transaction.atomic():
        Domain.objects.create(domain=domain, tenant=firm, is_primary=True)
    password = admin_password or secrets.token_urlsafe(12)
    with schema_context(firm.schema_name):
        from apps.access.roles import Role
        from apps.access.services import audit_event_record, firm_user_create

        audit_event_record(
            action="firm.create",
            acting_user=None,
            payload={
                "name": name,
                "slug": slug,
                "domain": domain,
                "kind": kind,
                "service": service,
            },
        )
        firm_user_create(email=admin_email, password=password, role=Role.FIRM_ADMIN)
    return FirmCreated(
        firm=firm,
        domain=domain,
        admin_email=admin_email,
        admin_password=None if admin_password else password,
    )


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError({"timezone": [f"unknown time zone '{name}'"]}) from exc


def firm_list_active() -> list[Firm]:
    """Every active firm, for dispatchers and the staff console (public rows only)."""
    return list(Firm.objects.exclude(schema_name="public").filter(is_active=True))


def _require_staff_for(firm: Firm, staff_user: User) -> None:
    """Only active platform staff act for a firm, and only for a sub-advised one."""
    if not (staff_user.is_active and staff_user.is_staff):
        raise PermissionDeniedError("platform staff only", code=FirmErrorCode.NOT_STAFF)
    if firm.service != FirmService.SUB_ADVISORY:
        raise PermissionDeniedError(
            f"{firm.name} is a software-only firm: the platform does not act for it",
            code=FirmErrorCode.NOT_SUB_ADVISED,
        )


@transaction.atomic
def staff_entry_request(*, firm: Firm, staff_user: User, reason: str) -> str:
    """Record that platform staff asked to enter a firm; return a one-use signed entry token.

    Raises:
        PermissionDeniedError: the user is not platform staff or the firm is not sub-advised.
    """
    _require_staff_for(firm, staff_user)
    if not reason.strip():
        raise ApplicationError("say why you enter the firm", code=FirmErrorCode.INVALID)
    entry = StaffEntry.objects.create(
        firm=firm,
        staff_user=staff_user,
        staff_username=staff_user.get_username(),
        reason=reason.strip(),
    )
    return signing.dumps(
        {"entry": entry.pk, "schema": firm.schema_name, "staff": staff_user.get_username()},
        salt=ENTRY_SALT,
    )


@transaction.atomic
def staff_entry_consume(*, token: str, schema_name: str) -> StaffEntry:
    """Validate and consume an entry token on the firm's own host.

    Args:
        token: the signed token from ``staff_entry_request``.
        schema_name: the schema the request was routed to (from the host name).

    Raises:
        PermissionDeniedError: bad, expired, reused or other-firm token.
    """
    try:
        data = signing.loads(
            token, salt=ENTRY_SALT, max_age=settings.PLATFORM_STAFF_ENTRY_MAX_AGE_S
        )
    except signing.BadSignature as exc:
        raise PermissionDeniedError(
            "entry link is invalid or expired", code=FirmErrorCode.BAD_ENTRY
        ) from exc
    if data.get("schema") != schema_name:
        raise PermissionDeniedError("entry link is for another firm", code=FirmErrorCode.BAD_ENTRY)
    entry = (
        # No join to auth_user here: in a firm's schema that name resolves to the firm's users.
        StaffEntry.objects.select_for_update()
        .filter(pk=data.get("entry"), firm__schema_name=schema_name)
        .first()
    )
    if entry is None or entry.used_at is not None:
        raise PermissionDeniedError("entry link was already used", code=FirmErrorCode.BAD_ENTRY)
    entry.used_at = timezone.now()
    entry.save(update_fields=["used_at"])
    return entry


@dataclass(frozen=True)
class SubAdvisoryRow:
    """One sub-advised firm as the staff console shows it (counts read in the firm's schema)."""

    firm: Firm
    domain: str
    accounts: int
    runs_active: int
    last_run: dict[str, Any] | None
    pending_approvals: int
    flagged: int


def subadvisory_overview() -> list[SubAdvisoryRow]:
    """Every active sub-advised firm's book: runs, approvals waiting, exceptions (firm by firm)."""
    from django_tenants.utils import tenant_context

    from apps.accounts.models import Account
    from apps.trading.models import ProposalStatus, RunStatus
    from apps.trading.progress import run_progress
    from apps.trading.selectors import exception_queue, run_list

    rows = []
    for firm in firm_list_active():
        if firm.service != FirmService.SUB_ADVISORY:
            continue
        domain = firm.get_primary_domain()
        with tenant_context(firm):
            last = run_list().first()
            pending = exception_queue()
            rows.append(
                SubAdvisoryRow(
                    firm=firm,
                    domain=domain.domain if domain else "",
                    accounts=Account.objects.count(),
                    runs_active=run_list()
                    .filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING))
                    .count(),
                    last_run=None
                    if last is None
                    else {"id": last.pk, "as_of": last.as_of, "progress": run_progress(last)},
                    pending_approvals=pending.count(),
                    flagged=pending.filter(status=ProposalStatus.PENDING_APPROVAL)
                    .exclude(flags=[])
                    .count(),
                )
            )
    return rows


def staff_book_run_start(*, firm: Firm, staff_user: User) -> int:
    """Platform staff start a whole-book run for a sub-advised firm from the public console.

    The run is requested by the staff member's firm-side login (``platform+<name>``) and
    audited in the firm's schema like any run. Returns the run id.

    Raises:
        PermissionDeniedError: not platform staff, or the firm is not sub-advised.
    """
    from django_tenants.utils import tenant_context

    _require_staff_for(firm, staff_user)
    with tenant_context(firm):
        from apps.access.services import platform_staff_user_get_or_create
        from apps.common.tenancy import firm_today
        from apps.trading.models import RunMode, RunScope
        from apps.trading.services.runs import rebalance_run_create

        acting = platform_staff_user_get_or_create(
            staff_username=staff_user.get_username(), entry_id=None
        )
        run = rebalance_run_create(
            scope=RunScope.BOOK,
            scope_ids=[],
            mode=RunMode.FULL_REBALANCE,
            as_of=firm_today(firm),
            requested_by=acting,
        )
        return int(run.pk)
