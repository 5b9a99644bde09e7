"""Reads of block orders, allocations, trade files and fills imports (current firm's schema)."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Case, DecimalField, F, Prefetch, QuerySet, Value, When

from apps.accounts.models import Account, Registration, Transaction, TransactionKind
from apps.common.money import ZERO, round_money
from apps.optimizer.adapters import Reservations
from apps.optimizer.core.locks import RecentTrade
from apps.optimizer.core.types import TradeSide
from apps.trading.models import (
    FillImport,
    Order,
    OrderAllocation,
    OrderStatus,
    Proposal,
    ProposalStatus,
    TradeFile,
)


def order_list(
    *,
    status: str = "",
    custodian: str = "",
    symbol: str = "",
    side: str = "",
    created_from: date | None = None,
    created_to: date | None = None,
) -> QuerySet[Order]:
    """Block orders, newest first, with their allocations and accounts' numbers prefetched.

    Filters: status, custodian, symbol, side, and the creation date (UTC) from/to, inclusive.

    An order can have thousands of allocations: of each account only its number is read.
    """
    allocations = (
        OrderAllocation.objects.select_related("account")
        .only(*(f.name for f in OrderAllocation._meta.concrete_fields), "account__number")
        .order_by("pk")
    )
    orders = Order.objects.select_related("trade_file").prefetch_related(
        Prefetch("allocations", queryset=allocations)
    )
    if status:
        orders = orders.filter(status=status)
    if custodian:
        orders = orders.filter(custodian=custodian)
    if symbol:
        orders = orders.filter(symbol=symbol.upper())
    if side:
        orders = orders.filter(side=side)
    if created_from is not None:
        orders = orders.filter(created_at__date__gte=created_from)
    if created_to is not None:
        orders = orders.filter(created_at__date__lte=created_to)
    return orders


FILL_ENTRY_PREFIX = "fill:"  # services.fills books each fill as ledger entry fill:<allocation>:<n>


def fill_list(
    *,
    side: str = "",
    symbol: str = "",
    custodian: str = "",
    traded_from: date | None = None,
    traded_to: date | None = None,
) -> QuerySet[Transaction]:
    """Fills booked from custodians' files (ledger buys and sells), with their account.

    Each carries ``bought_amount``/``sold_amount``: its amount (USD) on its side, 0 on the
    other, so a list can add up buys and sells apart.
    """
    fills = (
        Transaction.objects.filter(external_id__startswith=FILL_ENTRY_PREFIX)
        .select_related("account")
        .annotate(
            bought_amount=Case(
                When(kind=TransactionKind.BUY, then=F("amount")),
                default=Value(ZERO),
                output_field=DecimalField(max_digits=20, decimal_places=2),
            ),
            sold_amount=Case(
                When(kind=TransactionKind.SELL, then=F("amount")),
                default=Value(ZERO),
                output_field=DecimalField(max_digits=20, decimal_places=2),
            ),
        )
    )
    if side:
        fills = fills.filter(kind=side)
    if symbol:
        fills = fills.filter(symbol=symbol.upper())
    if custodian:
        fills = fills.filter(account__custodian=custodian)
    if traded_from is not None:
        fills = fills.filter(trade_on__gte=traded_from)
    if traded_to is not None:
        fills = fills.filter(trade_on__lte=traded_to)
    return fills


def allocation_list_for_order(*, order: Order) -> QuerySet[OrderAllocation]:
    """An order's allocations with their accounts, in id order."""
    return OrderAllocation.objects.filter(order=order).select_related("account").order_by("pk")


def trade_file_list() -> QuerySet[TradeFile]:
    """Generated trade files, newest first."""
    return TradeFile.objects.select_related("created_by")


def fill_import_list() -> QuerySet[FillImport]:
    """Applied fills files, newest first."""
    return FillImport.objects.select_related("applied_by")


def approved_unordered_count() -> int:
    """Approved proposals not yet turned into orders."""
    return Proposal.objects.filter(status=ProposalStatus.APPROVED).count()


def open_order_custodians() -> list[str]:
    """Custodians with open (unsent) orders, sorted."""
    return sorted(
        set(
            Order.objects.filter(status=OrderStatus.OPEN, trade_file__isnull=True).values_list(
                "custodian", flat=True
            )
        )
    )


def buy_price_buffer_rate() -> Decimal:
    """Fraction added to a buy's price when cash is reserved or checked for it.

    The optimizer's transaction-cost allowance (``OPTIMIZER_TRANSACTION_COST_BPS``): the cash
    floor it keeps is the one the pre-trade check applies, so what it proposes passes.
    """
    bps = settings.OPTIMIZER_SOLVER_CONFIG["transaction_cost_bps"]
    return Decimal(str(bps)) / Decimal(10_000)


@dataclass(frozen=True)
class InFlight:
    """The part of an open allocation not yet filled: its shares and cash are reserved."""

    account_id: int
    household_id: int
    symbol: str
    side: str
    lot_key: str
    shares: Decimal  # remaining, > 0
    price: Decimal  # the proposal's price per share
    is_loss: bool  # a sale below basis in a taxable account (a wash-sale trigger)


def in_flight_list(*, household_ids: Iterable[int] | QuerySet[Any]) -> list[InFlight]:
    """Open allocations (not filled nor cancelled) of the households' accounts (one query)."""
    households = household_ids if isinstance(household_ids, QuerySet) else list(household_ids)
    rows = OrderAllocation.objects.filter(
        account__household_id__in=households, is_open=True
    ).values_list(
        "account_id",
        "account__household_id",
        "account__registration",
        "proposed_trade__symbol",
        "proposed_trade__side",
        "lot_key",
        "shares",
        "filled_shares",
        "proposed_trade__price",
        "proposed_trade__realized_gain_amount",
    )
    return [
        InFlight(
            account_id=account_id,
            household_id=household_id,
            symbol=symbol,
            side=side,
            lot_key=lot_key,
            shares=shares - filled,
            price=price,
            is_loss=side == "sell"
            and registration == Registration.TAXABLE
            and gain is not None
            and gain < 0,
        )
        for (
            account_id,
            household_id,
            registration,
            symbol,
            side,
            lot_key,
            shares,
            filled,
            price,
            gain,
        ) in rows
        if shares > filled
    ]


def reservations_for(*, account_ids: Iterable[int], as_of: date) -> Reservations:
    """What open orders hold back for the accounts (one query over their households).

    The accounts' own open sells reserve lot shares and their open buys cash (buffered); every
    open order of their households counts as a trade on ``as_of`` for the wash-sale locks.
    """
    ids = list(account_ids)
    lots: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    cash: dict[int, Decimal] = defaultdict(lambda: ZERO)
    trades: dict[int, set[tuple[str, str, bool, int]]] = defaultdict(set)
    buffer = 1 + buy_price_buffer_rate()
    mine = set(ids)
    households = Account.objects.filter(pk__in=ids).values("household_id")
    for item in in_flight_list(household_ids=households):
        trades[item.household_id].add((item.symbol, item.side, item.is_loss, item.account_id))
        if item.account_id not in mine:
            continue
        if item.side == "sell":
            lots[(item.account_id, item.lot_key)] += item.shares
        else:
            cash[item.account_id] += item.shares * item.price * buffer
    return Reservations(
        lot_shares=dict(lots),
        cash_amount={a: round_money(v) for a, v in cash.items()},
        household_trades={
            household: [
                RecentTrade(
                    symbol=symbol,
                    traded_on=as_of,
                    side=TradeSide(side),
                    is_loss=is_loss,
                    account_id=str(account_id),
                )
                for symbol, side, is_loss, account_id in sorted(members)
            ]
            for household, members in trades.items()
        },
    )
