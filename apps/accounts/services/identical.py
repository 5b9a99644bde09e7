"""The firm's groups of substantially identical securities.

Every change is audited and the ledgers it touches are replayed (lots and realized gains always
equal a replay).
A loss sale and a purchase of substantially identical stock within 30 days is a wash sale (IRC
§1091(a); Reg. 1.1091-1(a); IRS Publication 550, "Wash Sales"). Which securities are substantially
identical is a question of facts and circumstances (Pub 550): the security master's share classes
of one issuer and the funds tracking one index are grouped by default; the firm adds what it
judges identical with its reason and source, and may record that it does not treat a fund as
identical to its index peers (``IdenticalIndexOptOut``).
"""

from collections.abc import Iterable, Sequence

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count

from apps.access.services import audit_event_record
from apps.accounts.errors import AccountsErrorCode
from apps.accounts.models import (
    Household,
    IdenticalGroup,
    IdenticalGroupMember,
    IdenticalIndexOptOut,
    Transaction,
    TransactionKind,
)
from apps.accounts.selectors import substantially_identical_symbol_sets
from apps.accounts.services.ledger import ledger_rebuild
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import require_tenant_schema
from apps.common.validation import full_clean_or_error
from apps.securities.models import FUND_KINDS
from apps.securities.selectors import security_map_get


def identical_group_members_check(symbols: Iterable[str], *, group_id: int | None) -> list[str]:
    """The symbols upper-cased, deduplicated and sorted, checked.

    Two or more, known to the security master, in no other group of the firm than ``group_id``
    (None: a new group). Reads only (forms check with it too).

    Raises:
        ApplicationError: fewer than two symbols, an unknown one, or one in another group.
    """
    members = sorted({s.strip().upper() for s in symbols if s.strip()})
    if len(members) < 2:
        raise ApplicationError(
            "a group of substantially identical securities needs two or more symbols",
            code=AccountsErrorCode.INVALID,
            extra={"symbols": members},
        )
    unknown = sorted(set(members) - set(security_map_get(symbols=members)))
    if unknown:
        raise ApplicationError(
            f"unknown symbols: {', '.join(unknown)}",
            code=AccountsErrorCode.UNKNOWN_SYMBOL,
            extra={"symbols": unknown},
        )
    taken = (
        IdenticalGroupMember.objects.filter(symbol__in=members)
        .exclude(group_id=group_id)
        .order_by("symbol")
        .values_list("symbol", "group_id")
    )
    if taken:
        listed = ", ".join(f"{symbol} (group #{gid})" for symbol, gid in taken)
        raise ApplicationError(
            f"already in another group: {listed}; edit that group instead",
            code=AccountsErrorCode.SYMBOL_IN_ANOTHER_GROUP,
            extra={"symbols": dict(taken)},
        )
    return members


def _members_store(group: IdenticalGroup, members: Sequence[str]) -> None:
    try:
        with transaction.atomic():  # a savepoint: a concurrent claim of a symbol fails cleanly
            IdenticalGroupMember.objects.bulk_create(
                IdenticalGroupMember(group=group, symbol=symbol) for symbol in members
            )
    except IntegrityError as exc:
        raise ApplicationError(
            "a symbol was just added to another group; reload and try again",
            code=AccountsErrorCode.SYMBOL_IN_ANOTHER_GROUP,
        ) from exc


def _ledgers_replay(*, changed: set[str], before: tuple[frozenset[str], ...]) -> int:
    """Rebuild the ledgers whose wash-sale matching the change can alter; how many.

    Those of households that traded two or more symbols of one effective group (before or
    after the change) containing a changed symbol.
    """
    after = substantially_identical_symbol_sets()
    touched = [group for group in before + after if group & changed]
    households: set[int] = set()
    for group in touched:
        households.update(
            Transaction.objects.filter(
                symbol__in=group, kind__in=(TransactionKind.BUY, TransactionKind.SELL)
            )
            .values("account__household_id")
            .annotate(symbols=Count("symbol", distinct=True))
            .filter(symbols__gt=1)
            .values_list("account__household_id", flat=True)
        )
    for household in Household.objects.filter(pk__in=households).order_by("pk"):
        ledger_rebuild(household=household)
    return len(households)


@transaction.atomic
def identical_group_create(
    *, symbols: Sequence[str], reason: str, source: str, acting_user: User | None
) -> IdenticalGroup:
    """Add a firm group of substantially identical securities (audited).

    The ledgers whose wash-sale matching it changes are replayed.

    Raises:
        ApplicationError: fewer than two symbols, an unknown symbol, a symbol in another group
            of the firm, or a blank reason or source.
    """
    require_tenant_schema()
    before = substantially_identical_symbol_sets()
    group = IdenticalGroup(reason=reason.strip(), source=source.strip(), created_by=acting_user)
    full_clean_or_error(group, code=AccountsErrorCode.INVALID)
    members = identical_group_members_check(symbols, group_id=None)
    group.save()
    _members_store(group, members)
    replayed = _ledgers_replay(changed=set(members), before=before)
    audit_event_record(
        action="identical_group.create",
        acting_user=acting_user,
        obj=group,
        payload={
            "symbols": members,
            "reason": group.reason,
            "source": group.source,
            "ledgers_replayed": replayed,
        },
    )
    return group


@transaction.atomic
def identical_group_update(
    *,
    group: IdenticalGroup,
    symbols: Sequence[str],
    reason: str,
    source: str,
    acting_user: User | None,
) -> IdenticalGroup:
    """Replace a firm group's symbols, reason and source (audited, before and after).

    The ledgers whose wash-sale matching it changes are replayed.

    Raises:
        ApplicationError: as ``identical_group_create``.
    """
    require_tenant_schema()
    group = IdenticalGroup.objects.select_for_update().get(pk=group.pk)
    before = substantially_identical_symbol_sets()
    old = {
        "symbols": sorted(group.members.values_list("symbol", flat=True)),
        "reason": group.reason,
        "source": group.source,
    }
    group.reason, group.source = reason.strip(), source.strip()
    full_clean_or_error(group, code=AccountsErrorCode.INVALID)
    members = identical_group_members_check(symbols, group_id=group.pk)
    group.save(update_fields=["reason", "source", "updated_at"])
    group.members.all().delete()
    _members_store(group, members)
    replayed = _ledgers_replay(changed=set(members) ^ set(old["symbols"]), before=before)
    audit_event_record(
        action="identical_group.update",
        acting_user=acting_user,
        obj=group,
        payload={
            "before": old,
            "after": {"symbols": members, "reason": group.reason, "source": group.source},
            "ledgers_replayed": replayed,
        },
    )
    return group


@transaction.atomic
def identical_group_delete(*, group: IdenticalGroup, acting_user: User | None) -> None:
    """Remove a firm group (audited with what it held); replay the ledgers it changes.

    The security master's share-class groups are not firm groups and stay in force.
    """
    require_tenant_schema()
    group = IdenticalGroup.objects.select_for_update().get(pk=group.pk)
    before = substantially_identical_symbol_sets()
    members = sorted(group.members.values_list("symbol", flat=True))
    audit = {"symbols": members, "reason": group.reason, "source": group.source}
    audit_event_record(
        action="identical_group.delete", acting_user=acting_user, obj=group, payload=audit
    )
    group.delete()
    _ledgers_replay(changed=set(members), before=before)


@transaction.atomic
def identical_index_opt_out_create(
    *, symbol: str, reason: str, source: str, acting_user: User | None
) -> IdenticalIndexOptOut:
    """Record that the firm does not treat a fund as identical to its index peers (audited).

    The fund leaves its index's default group (IRC §1091(a); IRS Publication 550: substantially
    identical is a question of facts and circumstances); the ledgers whose wash-sale matching
    that changes are replayed.

    Raises:
        ApplicationError: an unknown symbol, one that is not a fund tracking an index, one
            already recorded, or a blank reason or source.
    """
    require_tenant_schema()
    symbol, tracked_index = identical_index_opt_out_check(symbol)
    before = substantially_identical_symbol_sets()
    opt_out = IdenticalIndexOptOut(
        symbol=symbol, reason=reason.strip(), source=source.strip(), created_by=acting_user
    )
    full_clean_or_error(opt_out, code=AccountsErrorCode.INVALID)
    opt_out.save()
    replayed = _ledgers_replay(changed={symbol}, before=before)
    audit_event_record(
        action="identical_index_opt_out.create",
        acting_user=acting_user,
        obj=opt_out,
        payload={
            "symbol": symbol,
            "tracked_index": tracked_index,
            "reason": opt_out.reason,
            "source": opt_out.source,
            "ledgers_replayed": replayed,
        },
    )
    return opt_out


def identical_index_opt_out_check(symbol: str) -> tuple[str, str]:
    """The symbol upper-cased and its index, checked; reads only (the admin form checks too).

    Raises:
        ApplicationError: an unknown symbol, one that is not a fund tracking an index, or one
            already recorded.
    """
    symbol = symbol.strip().upper()
    security = security_map_get(symbols=[symbol]).get(symbol)
    if security is None:
        raise ApplicationError(
            f"unknown symbol: {symbol}",
            code=AccountsErrorCode.UNKNOWN_SYMBOL,
            extra={"symbol": symbol},
        )
    if security.kind not in FUND_KINDS or not security.tracked_index:
        raise ApplicationError(
            f"{symbol} is not a fund tracking an index: it is in no index group",
            code=AccountsErrorCode.INVALID,
            extra={"symbol": symbol},
        )
    if IdenticalIndexOptOut.objects.filter(symbol=symbol).exists():
        raise ApplicationError(
            f"{symbol} is already recorded as not identical to its index peers",
            code=AccountsErrorCode.INVALID,
            extra={"symbol": symbol},
        )
    return symbol, security.tracked_index


@transaction.atomic
def identical_index_opt_out_delete(
    *, opt_out: IdenticalIndexOptOut, acting_user: User | None
) -> None:
    """Remove an opt-out (audited): the fund rejoins its index's group; ledgers replayed."""
    require_tenant_schema()
    opt_out = IdenticalIndexOptOut.objects.select_for_update().get(pk=opt_out.pk)
    before = substantially_identical_symbol_sets()
    payload = {"symbol": opt_out.symbol, "reason": opt_out.reason, "source": opt_out.source}
    audit_event_record(
        action="identical_index_opt_out.delete",
        acting_user=acting_user,
        obj=opt_out,
        payload=payload,
    )
    opt_out.delete()
    _ledgers_replay(changed={payload["symbol"]}, before=before)
