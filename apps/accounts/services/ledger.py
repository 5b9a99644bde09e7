"""The ledger: derive lots, realized gains, wash-sale matches and cash by replaying it.

The tax-lot engine (``apps.taxlots``) is the only place the tax rules live. A household's ledger
is replayed whole after every change, inside the change's transaction: lots and realized gains
can never disagree with a replay, and a change that would make the history invalid (a sell of
more than is held, a lot that does not exist) is refused with every problem listed.

Lot relief of a sale that names no lots is the custodian's standing method for the account
(``Account.lot_method``: FIFO, LIFO or HIFO), as it was *when the sale was booked*: imports and
fills record it on the entry (``lot_method_record``), so changing an account's method later
applies to later sales and never rewrites booked history (docs/tax-rules.md, "Lot relief").
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from apps.accounts.attention import account_positions_store
from apps.accounts.errors import AccountsErrorCode
from apps.accounts.models import (
    Household,
    RealizedGain,
    Registration,
    TaxLot,
    Transaction,
    TransactionKind,
    WashSaleMatch,
)
from apps.accounts.selectors import substantially_identical_symbol_sets
from apps.common.exceptions import ApplicationError
from apps.common.money import ZERO
from apps.common.tenancy import firm_today, require_tenant_schema
from apps.taxlots import engine

_ACCOUNT_TYPES = {
    Registration.TAXABLE: engine.AccountType.TAXABLE,
    Registration.TRADITIONAL_IRA: engine.AccountType.TRADITIONAL_IRA,
    Registration.ROTH_IRA: engine.AccountType.ROTH_IRA,
}
# Cash effect of each entry kind (+1 adds the amount to cash, -1 takes it away).
_CASH_SIGN = {
    TransactionKind.BUY: -1,
    TransactionKind.SELL: 1,
    TransactionKind.DEPOSIT: 1,
    TransactionKind.WITHDRAWAL: -1,
    TransactionKind.DIVIDEND: 1,
    TransactionKind.FEE: -1,
}


class LedgerInconsistentError(ApplicationError):
    """The ledger cannot be replayed: every problem, by account and external id."""


@dataclass(frozen=True)
class LedgerSummary:
    """What a rebuild stored for one household."""

    lots: int
    realized: int
    wash_matches: int


def engine_id(*, account_id: int, external_id: str) -> str:
    """The household-unique id the engine uses for an entry (external ids are per account)."""
    return f"{account_id}:{external_id}"


def lot_method_record(*, entries: Iterable[Transaction]) -> None:
    """Record the account's lot method on unsaved sells that name no lots and no method.

    Called by the services that book sales (imports, fills) before the entries are replayed
    and saved: the custodian relieves such a sale by the method in force on the account then.
    """
    for entry in entries:
        if entry.kind == TransactionKind.SELL and not entry.lot_picks and not entry.lot_method:
            entry.lot_method = entry.account.lot_method


def _trade_of(entry: Transaction, account_methods: dict[int, str]) -> engine.Trade:
    """The engine's trade of an entry.

    A sell without lot picks is relieved by its recorded method, else (an entry written
    without one, outside the booking services) by its account's current method.
    """
    picks = None
    if entry.kind == TransactionKind.SELL and entry.lot_picks:
        picks = tuple(
            engine.LotPick(
                lot_id=engine_id(account_id=entry.account_id, external_id=str(pick["lot_id"])),
                quantity=Decimal(str(pick["shares"])),
            )
            for pick in entry.lot_picks
        )
    assert entry.shares is not None  # a DB constraint for buys and sells  # noqa: S101  # nosec B101
    return engine.Trade(
        id=engine_id(account_id=entry.account_id, external_id=entry.external_id),
        date=entry.trade_on,
        account=str(entry.account_id),
        symbol=entry.symbol,
        side=engine.Side.BUY if entry.kind == TransactionKind.BUY else engine.Side.SELL,
        quantity=entry.shares,
        amount=entry.amount,
        lots=picks,
        lot_method=engine.LotMethod(entry.lot_method or account_methods[entry.account_id])
        if entry.kind == TransactionKind.SELL and picks is None
        else None,
        buy_group=entry.buy_group or None,
        holding_period_start=entry.holding_period_start_on,
        wash_adjustment=entry.wash_adjustment_amount,
    )


def cash_effect(entry: Transaction) -> Decimal:
    """What the entry does to the account's cash, USD (+ in, - out).

    An opening lot (a position transferred in) moved no cash, as in ``_cash_by_account``.
    """
    if entry.is_opening_lot:
        return ZERO
    return _CASH_SIGN[TransactionKind(entry.kind)] * entry.amount


def engine_account_type(registration: str) -> engine.AccountType:
    """The engine's account type of a registration."""
    return _ACCOUNT_TYPES[Registration(registration)]


def engine_trades(*, entries: Iterable[Transaction]) -> list[engine.Trade]:
    """The engine's trades of buy and sell entries (their accounts loaded), in the order given.

    A sell without lot picks or a recorded method is relieved by its account's current method,
    as in a household replay.
    """
    trades = [e for e in entries if e.kind in (TransactionKind.BUY, TransactionKind.SELL)]
    methods = {e.account_id: e.account.lot_method for e in trades}
    return [_trade_of(e, methods) for e in trades]


def household_replay(
    *, household: Household, extra: Iterable[Transaction] = ()
) -> tuple[engine.ReplayResult, dict[str, Transaction]]:
    """Replay the household's ledger (plus unsaved ``extra`` entries) through the engine.

    Returns:
        The engine's result and the entries by engine id.

    Raises:
        LedgerInconsistentError: the history cannot be replayed (every problem listed).
    """
    accounts = list(household.accounts.all())
    entries = list(
        Transaction.objects.filter(
            account__household=household, kind__in=(TransactionKind.BUY, TransactionKind.SELL)
        ).order_by("trade_on", "sequence", "id")
    )
    extra_trades = [e for e in extra if e.kind in (TransactionKind.BUY, TransactionKind.SELL)]
    entries = sorted(entries + extra_trades, key=lambda e: (e.trade_on, e.sequence, e.pk or 0))
    by_id = {engine_id(account_id=e.account_id, external_id=e.external_id): e for e in entries}
    specs = [
        engine.AccountSpec(id=str(a.pk), type=_ACCOUNT_TYPES[Registration(a.registration)])
        for a in accounts
    ]
    # Wash sales match across substantially identical securities (IRC §1091(a)): the security
    # master's share classes of one issuer and the firm's own groups.
    params = engine.ReplayParams(substantially_identical=substantially_identical_symbol_sets())
    methods = {a.pk: a.lot_method for a in accounts}
    try:
        result = engine.replay(specs, [_trade_of(e, methods) for e in entries], params)
    except engine.ReplayError as exc:
        raise LedgerInconsistentError(
            f"the ledger of household {household.external_id} cannot be replayed",
            code=AccountsErrorCode.LEDGER_INCONSISTENT,
            extra={"problems": exc.lines()},
        ) from exc
    return result, by_id


@transaction.atomic
def ledger_rebuild(*, household: Household) -> LedgerSummary:
    """Replace the household's lots, realized gains, wash matches and cash by a fresh replay.

    Idempotent: rebuilding twice stores the same rows.

    Raises:
        LedgerInconsistentError: the ledger cannot be replayed; nothing is changed.
    """
    require_tenant_schema()
    result, by_id = household_replay(household=household)
    accounts = {a.pk: a for a in household.accounts.select_for_update()}
    TaxLot.objects.filter(account__household=household).delete()
    RealizedGain.objects.filter(account__household=household).delete()
    WashSaleMatch.objects.filter(household=household).delete()

    unknown_basis = {i for i, e in by_id.items() if e.is_basis_unknown}
    TaxLot.objects.bulk_create(
        TaxLot(
            account_id=int(row.account),
            lot_key=by_id[row.lot_id].external_id,
            symbol=row.symbol,
            shares=row.quantity,
            cost_basis_amount=row.cost_basis_unadjusted,
            adjusted_basis_amount=row.adjusted_basis,
            wash_adjustment_amount=row.wash_adjustment,
            acquired_on=row.acquired_date,
            holding_period_start_on=row.holding_period_start,
            has_basis=row.lot_id not in unknown_basis,
        )
        for row in result.lots_open
    )
    RealizedGain.objects.bulk_create(
        RealizedGain(
            account_id=int(row.account),
            sell=by_id[row.sell_id],
            lot_key=by_id[row.lot_id].external_id,
            symbol=row.symbol,
            shares=row.quantity,
            acquired_on=row.acquired_date,
            holding_period_start_on=row.holding_period_start,
            sold_on=by_id[row.sell_id].trade_on,
            proceeds_amount=row.proceeds,
            basis_amount=row.cost_basis,
            gain_amount=row.gain_loss,
            disallowed_amount=row.wash_sale_disallowed,
            reportable_gain_amount=row.reportable_gain_loss,
            term=row.term.value,
            # Form 8949 instructions, column (f): code W for a wash-sale loss disallowed.
            form8949_code="W" if row.wash_sale_disallowed else "",
        )
        for row in result.realized
    )
    WashSaleMatch.objects.bulk_create(
        WashSaleMatch(
            household=household,
            loss_sell=by_id[m.loss_sell_id],
            loss_lot_key=by_id[m.loss_lot_id].external_id,
            replacement_lot_key=by_id[m.replacement_lot_id].external_id,
            replacement_account_id=by_id[m.replacement_lot_id].account_id,
            shares=m.quantity,
            disallowed_amount=m.disallowed_loss,
            is_permanent=m.kind == engine.WashKind.PERMANENT,
            replacement_holding_period_start_on=m.replacement_holding_period_start,
        )
        for m in result.wash_matches
    )
    cash = _cash_by_account(household)
    for account in accounts.values():
        account.cash_amount = cash.get(account.pk, ZERO)
        account.save(update_fields=["cash_amount"])
    # The pages read stored positions: the new lots and cash are valued now, with them.
    account_positions_store(as_of=firm_today(), account_ids=list(accounts))
    return LedgerSummary(
        lots=len(result.lots_open),
        realized=len(result.realized),
        wash_matches=len(result.wash_matches),
    )


def _cash_by_account(household: Household) -> dict[int, Decimal]:
    """Cash from the ledger, per account: flows in minus flows out (opening lots moved none)."""
    totals = (
        Transaction.objects.filter(account__household=household, is_opening_lot=False)
        .values_list("account_id", "kind")
        .annotate(total=Sum("amount"))
    )
    cash: dict[int, Decimal] = {}
    for account_id, kind, total in totals:
        cash[account_id] = cash.get(account_id, ZERO) + _CASH_SIGN[TransactionKind(kind)] * total
    return cash
