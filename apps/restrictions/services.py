"""Restrictions, outside holdings and substitutes: every change audited (STYLE.md §2)."""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from apps.access.services import audit_event_record, object_fields_update
from apps.accounts.models import Account, Household
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import require_tenant_schema
from apps.common.validation import full_clean_or_error
from apps.restrictions.errors import RestrictionsErrorCode
from apps.restrictions.models import (
    OutsideHolding,
    Restriction,
    RestrictionKind,
    RestrictionScope,
    ScreenSettings,
    Substitute,
)
from apps.securities.reference_data import ESG_TAGS
from apps.securities.selectors import security_list, security_map_get

EXPOSURE_KINDS = ("symbol", "sector", "industry")


def _validated(obj: Any) -> None:
    full_clean_or_error(obj, code=RestrictionsErrorCode.INVALID)


def _unknown(what: str, value: str) -> ApplicationError:
    return ApplicationError(
        f"unknown {what}: {value}",
        code=RestrictionsErrorCode.UNKNOWN_VALUE,
        extra={what: value},
    )


def _canonical_symbol(value: str) -> str:
    symbol = value.strip().upper()
    if symbol not in security_map_get(symbols=[symbol]):
        raise _unknown("symbol", symbol)
    return symbol


def _canonical_classification(field: str, value: str) -> str:
    """The sector or industry as the security master spells it."""
    found = (
        security_list(filters={field: value.strip(), "is_active": None})
        .values_list(field, flat=True)
        .first()
    )
    if not found:
        raise _unknown(field, value.strip())
    return str(found)


def restriction_value_normalize(*, kind: str, value: str) -> str:
    """Check a restriction's value against the security master and return its canonical form.

    Raises:
        ApplicationError: ``UNKNOWN_VALUE`` for an unknown symbol, sector, industry or tag.
    """
    if kind in (RestrictionKind.NEVER_BUY, RestrictionKind.NEVER_SELL):
        return _canonical_symbol(value)
    if kind == RestrictionKind.EXCLUDE_SECTOR:
        return _canonical_classification("sector", value)
    if kind == RestrictionKind.EXCLUDE_INDUSTRY:
        return _canonical_classification("industry", value)
    if kind == RestrictionKind.EXCLUDE_ESG:
        tag = value.strip().lower().replace(" ", "_")
        if tag not in ESG_TAGS:
            raise _unknown("esg_tag", value)
        return tag
    raise ApplicationError(f"unknown kind {kind}", code=RestrictionsErrorCode.INVALID)


@transaction.atomic
def restriction_add(
    *,
    kind: RestrictionKind | str,
    value: str,
    starts_on: date,
    acting_user: User | None,
    account: Account | None = None,
    household: Household | None = None,
    ends_on: date | None = None,
    reason: str = "",
) -> Restriction:
    """Add a restriction to an account, a household, or (neither given) the whole firm.

    Raises:
        ApplicationError: both scopes given, an unknown value, or ``ends_on`` before
            ``starts_on``.
    """
    require_tenant_schema()
    if account is not None and household is not None:
        raise ApplicationError(
            "a restriction covers an account or a household, not both",
            code=RestrictionsErrorCode.INVALID,
        )
    scope = (
        RestrictionScope.ACCOUNT
        if account is not None
        else RestrictionScope.HOUSEHOLD
        if household is not None
        else RestrictionScope.FIRM
    )
    kind = RestrictionKind(kind)
    restriction = Restriction(
        scope=scope,
        account=account,
        household=household,
        kind=kind,
        value=restriction_value_normalize(kind=kind, value=value),
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
        created_by=acting_user,
    )
    _validated(restriction)
    restriction.save()
    audit_event_record(
        action="restriction.add",
        acting_user=acting_user,
        obj=restriction,
        payload={
            "scope": scope.value,
            "account_id": account.pk if account is not None else None,
            "household_id": household.pk if household is not None else None,
            "kind": kind.value,
            "value": restriction.value,
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat() if ends_on else None,
            "reason": reason,
        },
    )
    return restriction


@transaction.atomic
def restriction_end(*, restriction: Restriction, ends_on: date, acting_user: User) -> Restriction:
    """End a restriction: it is no longer in force from ``ends_on`` (the row stays).

    Raises:
        ApplicationError: it already ended on or before that date, or ``ends_on`` precedes its
            start.
    """
    require_tenant_schema()
    restriction = Restriction.objects.select_for_update().get(pk=restriction.pk)
    if restriction.ends_on is not None and restriction.ends_on <= ends_on:
        raise ApplicationError(
            f"already ended on {restriction.ends_on}", code=RestrictionsErrorCode.ALREADY_ENDED
        )
    before = restriction.ends_on
    restriction.ends_on = ends_on
    _validated(restriction)
    restriction.save(update_fields=["ends_on"])
    audit_event_record(
        action="restriction.end",
        acting_user=acting_user,
        obj=restriction,
        payload={
            "before": before.isoformat() if before else None,
            "after": ends_on.isoformat(),
            "kind": restriction.kind,
            "value": restriction.value,
        },
    )
    return restriction


def exposure_key_normalize(key: str) -> str:
    """Canonical exposure key: ``INTC`` -> ``symbol:INTC``, ``sector:energy`` -> ``sector:Energy``.

    Sectors and industries take the security master's spelling.

    Raises:
        ApplicationError: an unknown kind, symbol, sector or industry.
    """
    kind, sep, value = key.strip().partition(":")
    if not sep:
        kind, value = "symbol", key
    kind = kind.strip().lower()
    if kind == "symbol":
        return f"symbol:{_canonical_symbol(value)}"
    if kind in ("sector", "industry"):
        return f"{kind}:{_canonical_classification(kind, value)}"
    raise ApplicationError(
        f"exposure {key!r}: use a symbol, symbol:<SYMBOL>, sector:<sector> or industry:<industry>",
        code=RestrictionsErrorCode.INVALID,
    )


@transaction.atomic
def outside_holding_set(
    *,
    exposure_key: str,
    acting_user: User | None,
    account: Account | None = None,
    household: Household | None = None,
    amount: Decimal | None = None,
    weight: Decimal | None = None,
    reason: str = "",
) -> OutsideHolding:
    """Record (or replace) an exposure held away, for an account or a household.

    Args:
        exposure_key: a symbol, ``symbol:X``, ``sector:<sector>`` or ``industry:<industry>``.
        acting_user: who made the change (audited).
        account: the account (or give ``household``).
        household: the household (its accounts all offset it, in proportion to their value).
        amount: the value held away, USD (or give ``weight``).
        weight: the value held away as a fraction of the account's (household's) value.
        reason: e.g. "employer stock", "rental property".

    Raises:
        ApplicationError: not exactly one scope, not exactly one of amount and weight, or an
            unknown exposure.
    """
    require_tenant_schema()
    if (account is None) == (household is None):
        raise ApplicationError(
            "an outside holding belongs to an account or a household",
            code=RestrictionsErrorCode.INVALID,
        )
    if (amount is None) == (weight is None):
        raise ApplicationError(
            "give an amount or a weight, not both", code=RestrictionsErrorCode.INVALID
        )
    key = exposure_key_normalize(exposure_key)
    holding = (
        OutsideHolding.objects.select_for_update()
        .filter(account=account, household=household, exposure_key=key)
        .first()
    )
    before = str(holding) if holding is not None else None
    if holding is None:
        holding = OutsideHolding(account=account, household=household, exposure_key=key)
    holding.amount, holding.weight, holding.reason = amount, weight, reason
    holding.created_by = holding.created_by or acting_user
    _validated(holding)
    if holding.amount is not None and holding.amount < 0:
        raise ApplicationError("amount must not be negative", code=RestrictionsErrorCode.INVALID)
    if holding.weight is not None and not Decimal(0) <= holding.weight <= Decimal(1):
        raise ApplicationError("weight is a fraction 0..1", code=RestrictionsErrorCode.INVALID)
    holding.save()
    audit_event_record(
        action="outside_holding.set",
        acting_user=acting_user,
        obj=holding,
        payload={
            "scope": holding.scope,
            "account_id": account.pk if account is not None else None,
            "household_id": household.pk if household is not None else None,
            "before": before,
            "after": str(holding),
            "reason": reason,
        },
    )
    return holding


@transaction.atomic
def outside_holding_remove(*, holding: OutsideHolding, acting_user: User) -> None:
    """Delete an outside holding (the audit row keeps what it was)."""
    require_tenant_schema()
    audit_event_record(
        action="outside_holding.remove",
        acting_user=acting_user,
        obj=holding,
        payload={"was": str(holding), "scope": holding.scope},
    )
    holding.delete()


@transaction.atomic
def substitute_set(
    *, symbol: str, alternatives: Sequence[str], acting_user: User
) -> list[Substitute]:
    """Replace a security's ordered substitutes (firm-wide); an empty list removes them.

    Raises:
        ApplicationError: an unknown symbol, the symbol itself, or a repeated alternative.
    """
    require_tenant_schema()
    symbol = _canonical_symbol(symbol)
    wanted = [alt.strip().upper() for alt in alternatives if alt.strip()]
    if symbol in wanted:
        raise ApplicationError(
            f"{symbol} cannot substitute for itself", code=RestrictionsErrorCode.INVALID
        )
    if len(set(wanted)) != len(wanted):
        raise ApplicationError("an alternative is repeated", code=RestrictionsErrorCode.INVALID)
    known = security_map_get(symbols=wanted)
    missing = [alt for alt in wanted if alt not in known]
    if missing:
        raise _unknown("symbol", ", ".join(missing))
    before = list(
        Substitute.objects.filter(symbol=symbol)
        .order_by("rank")
        .values_list("alternative", flat=True)
    )
    Substitute.objects.filter(symbol=symbol).delete()
    rows = Substitute.objects.bulk_create(
        [Substitute(symbol=symbol, alternative=alt, rank=i) for i, alt in enumerate(wanted, 1)]
    )
    audit_event_record(
        action="substitute.set",
        acting_user=acting_user,
        payload={"symbol": symbol, "before": before, "after": wanted},
    )
    return rows


def screen_settings_get() -> ScreenSettings:
    """The firm's screening policy (created with defaults on first use)."""
    require_tenant_schema()
    settings, _ = ScreenSettings.objects.get_or_create(pk=1)
    return settings


@transaction.atomic
def screen_settings_update(*, fund_screen_policy: str, acting_user: User | None) -> ScreenSettings:
    """Set what a screen does to a fund holding screened names: flag or exclude (audited)."""
    return object_fields_update(  # type: ignore[no-any-return]
        obj=screen_settings_get(),
        changes={"fund_screen_policy": fund_screen_policy},
        allowed=("fund_screen_policy",),
        action="screen_settings.update",
        acting_user=acting_user,
        code=RestrictionsErrorCode.INVALID,
    )
