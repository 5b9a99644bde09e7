"""Block orders: approved proposals aggregated per (custodian, symbol, side), with allocations.

Idempotent by construction: approved proposals are claimed under ``select_for_update``, each
proposed trade is allocated once (``OrderAllocation.proposed_trade`` is one-to-one) and the
proposals turn ``ordered`` in the same transaction. A worker killed mid-run leaves nothing
behind (the transaction rolls back); the next run finds the same proposals still approved.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Sum

from apps.access.services import audit_event_record
from apps.accounts.models import Account, TaxLot
from apps.common.bulk import id_batches
from apps.common.exceptions import ApplicationError
from apps.common.money import ZERO
from apps.common.tenancy import require_tenant_schema
from apps.securities.selectors import fund_trading_terms_get
from apps.trading.models import (
    Order,
    OrderAllocation,
    OrderQuantityType,
    OrderStatus,
    Proposal,
    ProposalStatus,
    ProposedTrade,
    TradeSide,
)
from apps.trading.services.pretrade import PretradeBook, proposals_currency

# An amount order is filled when its fills' amounts reach its amount within a cent: a fill
# reported as shares and NAV books shares × NAV rounded to cents.
AMOUNT_FILL_TOLERANCE = Decimal("0.01")


class OrdersErrorCode(StrEnum):
    """Why an order, trade file or fills operation was refused."""

    INVALID = "orders_invalid"
    NOTHING_TO_SEND = "trade_file_nothing_to_send"
    LOT_NOT_OPEN = "trade_file_lot_not_open"
    FILLS_REJECTED = "fills_rejected"


def _lot_instructions(trade: ProposedTrade, account: Account) -> list[dict[str, str]]:
    """Specific identification for a sell: the proposal's lot and shares (as ``lot_picks``).

    None for an account that does not use specified lots: its custodian relieves the sale by
    the account's lot method (the proposal's lot is the one that method relieves).
    """
    if trade.side != TradeSide.SELL or not trade.lot_key or not account.uses_specified_lots:
        return []
    return [{"lot_id": trade.lot_key, "shares": str(trade.shares)}]


@dataclass(frozen=True)
class OrderBatch:
    """What order creation did: the new orders, and the proposals it kept back, with why."""

    orders: list[Order]
    held: dict[int, list[str]]  # proposal id -> the pre-trade checks it failed
    stale: dict[int, str]  # proposal id -> what changed in its account


@transaction.atomic
def orders_create_from_approved(*, acting_user: User | None) -> OrderBatch:
    """Turn approved proposals into block orders, one allocation per proposed trade.

    Each approved proposal passes two gates first (``pretrade``): its account must be as it was
    computed (else it turns ``stale``) and its trades, on top of every open order and of the
    proposals ordered before it in this batch, must pass the pre-trade checks (else it turns
    ``held`` with the reasons); the rest of the block goes on. Orders are grouped per (account
    custodian, symbol, side); a sell allocation carries its lot instructions (specific
    identification), or, in an account that does not use specified lots, the account's lot
    method. Ordered proposals become ``ordered``. Each order is audited.

    Idempotent: approved proposals are claimed under ``select_for_update``, a proposed trade is
    allocated once (one-to-one), and a lot is in at most one open sell (a unique index), so a
    double click, a second browser or a redelivered task orders nothing twice.
    """
    require_tenant_schema()
    proposals = list(
        Proposal.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(status=ProposalStatus.APPROVED)
        .order_by("pk")
    )
    if not proposals:
        return OrderBatch([], {}, {})
    by_id = {p.pk: p for p in proposals}
    trades_of: dict[int, list[ProposedTrade]] = defaultdict(list)
    for part in id_batches(list(by_id)):  # in proposal order, as the proposals are
        for trade in ProposedTrade.objects.filter(
            proposal_id__in=part, allocation__isnull=True
        ).order_by("proposal_id", "side", "symbol", "lot_key", "pk"):
            trades_of[trade.proposal_id].append(trade)

    currency = proposals_currency(proposals)
    book = PretradeBook.read(p.account_id for p in proposals)
    stale: dict[int, str] = {}
    held: dict[int, list[str]] = {}
    ordered: list[Proposal] = []
    for proposal in proposals:
        current = currency[proposal.pk]
        if current.problem is None:
            stale[proposal.pk] = current.stale_reason
            continue
        reasons = book.check(
            proposal=proposal, trades=trades_of[proposal.pk], problem=current.problem
        )
        if reasons:
            held[proposal.pk] = reasons
            continue
        book.accept(proposal=proposal, trades=trades_of[proposal.pk])
        ordered.append(proposal)

    groups: dict[tuple[str, str, str], list[ProposedTrade]] = defaultdict(list)
    for proposal in ordered:
        for trade in trades_of[proposal.pk]:
            groups[(proposal.account.custodian, trade.symbol, trade.side)].append(trade)
    terms = fund_trading_terms_get(symbols={symbol for _, symbol, _ in groups})
    dollar_traded = {symbol for symbol, t in terms.items() if t.is_dollar_traded}
    quantities = _quantity_types(ordered, trades_of, dollar_traded)
    orders = [
        _order_create(custodian, symbol, side, members, by_id, acting_user, quantities)
        for (custodian, symbol, side), members in sorted(groups.items())
    ]
    _proposals_mark(ordered, held, stale, acting_user)
    return OrderBatch(orders, held, stale)


def _quantity_types(
    ordered: list[Proposal],
    trades_of: dict[int, list[ProposedTrade]],
    dollar_traded: set[str],
) -> dict[int, str]:
    """How each proposed trade of a dollar-traded fund goes out (by proposed trade id).

    Mutual and money-market funds trade in dollars at NAV: a buy by amount; a sell by amount
    too, unless the proposal sells the account's whole position of the fund (every share
    held, none in an open order): then by shares, "sell all", so no fraction is left behind
    by the NAV's rounding. A sale of a whole lot that is not the whole position goes by shares
    as well: at a lower NAV its amount would relieve more shares than the lot holds. Trades of
    other securities are absent (by shares).
    """
    sold: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    for proposal in ordered:
        for trade in trades_of[proposal.pk]:
            if trade.symbol in dollar_traded and trade.side == TradeSide.SELL:
                sold[(proposal.account_id, trade.symbol)] += trade.shares
    held: dict[tuple[int, str], Decimal] = {}
    lots: dict[tuple[int, str], Decimal] = {}
    if sold:
        lots = {
            (row["account_id"], row["lot_key"]): row["shares"]
            for row in TaxLot.objects.filter(
                account_id__in={a for a, _ in sold}, symbol__in={s for _, s in sold}
            )
            .values("account_id", "lot_key")
            .annotate(shares=Sum("shares"))
        }
        rows = (
            TaxLot.objects.filter(
                account_id__in={a for a, _ in sold}, symbol__in={s for _, s in sold}
            )
            .values("account_id", "symbol")
            .annotate(shares=Sum("shares"))
        )
        held = {(row["account_id"], row["symbol"]): row["shares"] for row in rows}
        in_flight = OrderAllocation.objects.filter(
            account_id__in={a for a, _ in sold},
            order__symbol__in={s for _, s in sold},
            order__side=TradeSide.SELL,
            is_open=True,
        ).values_list("account_id", "order__symbol")
        for key in in_flight:
            held.pop(key, None)  # part of the position is already being sold: not "all"
    out: dict[int, str] = {}
    for proposal in ordered:
        for trade in trades_of[proposal.pk]:
            if trade.symbol not in dollar_traded:
                continue
            key = (proposal.account_id, trade.symbol)
            is_sell = trade.side == TradeSide.SELL
            if is_sell and held.get(key) == sold[key]:
                out[trade.pk] = OrderQuantityType.ALL
            elif is_sell and lots.get((proposal.account_id, trade.lot_key)) == trade.shares:
                out[trade.pk] = OrderQuantityType.SHARES
            else:
                out[trade.pk] = OrderQuantityType.AMOUNT
    return out


def _order_create(
    custodian: str,
    symbol: str,
    side: str,
    members: list[ProposedTrade],
    by_id: dict[int, Proposal],
    acting_user: User | None,
    quantities: dict[int, str],
) -> Order:
    total = sum((t.shares for t in members), ZERO)
    order = Order(
        custodian=custodian,
        symbol=symbol,
        side=side,
        total_shares=total,
        is_dollar_traded=any(t.pk in quantities for t in members),
        status=OrderStatus.OPEN,
        created_by=acting_user,
    )
    order.full_clean()
    order.save()
    allocations = []
    for t in members:
        account = by_id[t.proposal_id].account
        instructions = _lot_instructions(t, account)
        is_sell = t.side == TradeSide.SELL
        quantity = quantities.get(t.pk, OrderQuantityType.SHARES)
        allocations.append(
            OrderAllocation(
                order=order,
                account=account,
                proposed_trade=t,
                shares=t.shares,
                quantity_type=quantity,
                # The proposal's amount: its shares at the proposal's price, to the cent.
                order_amount=t.amount if quantity == OrderQuantityType.AMOUNT else None,
                lot_key=t.lot_key if is_sell else "",
                lot_instructions=instructions,
                lot_method=account.lot_method if is_sell and not instructions else "",
            )
        )
    OrderAllocation.objects.bulk_create(allocations)
    audit_event_record(
        action="order.create",
        acting_user=acting_user,
        obj=order,
        payload={
            "custodian": custodian,
            "symbol": symbol,
            "side": side,
            "total_shares": str(total),
            "allocations": [
                {
                    "account_id": a.account_id,
                    "proposed_trade_id": a.proposed_trade_id,
                    "shares": str(a.shares),
                    "quantity_type": a.quantity_type,
                    "order_amount": None if a.order_amount is None else str(a.order_amount),
                    "lots": a.lot_instructions,
                    "lot_method": a.lot_method,
                }
                for a in allocations
            ],
        },
    )
    return order


def _proposals_mark(
    ordered: list[Proposal],
    held: dict[int, list[str]],
    stale: dict[int, str],
    acting_user: User | None,
) -> None:
    """Ordered, held and stale proposals take their status, each audited."""
    for proposal in ordered:
        proposal.status, proposal.status_reason = ProposalStatus.ORDERED, ""
    Proposal.objects.bulk_update(ordered, ["status", "status_reason"])
    for proposal in ordered:
        audit_event_record(
            action="proposal.order",
            acting_user=acting_user,
            obj=proposal,
            payload={"account_id": proposal.account_id, "run_id": proposal.run_id},
        )
    for status, reasons, action in (
        (ProposalStatus.HELD, {k: "; ".join(v) for k, v in held.items()}, "proposal.hold"),
        (ProposalStatus.STALE, stale, "proposal.stale"),
    ):
        kept = list(Proposal.objects.filter(pk__in=list(reasons)))
        for proposal in kept:
            proposal.status, proposal.status_reason = status, reasons[proposal.pk]
            audit_event_record(
                action=action,
                acting_user=acting_user,
                obj=proposal,
                payload={"account_id": proposal.account_id, "reason": reasons[proposal.pk]},
            )
        Proposal.objects.bulk_update(kept, ["status", "status_reason"])


@transaction.atomic
def order_cancel(*, order: Order, acting_user: User | None, note: str = "") -> Order:
    """Cancel what is left of a block order: its open allocations stop reserving shares and cash.

    An open order (not yet in a trade file) is simply withdrawn; a sent one is cancelled for
    its unfilled rest once the custodian confirms (fills booked before stay booked). A sell
    order whose proposals have buys open or filled is refused: those buys spend its proceeds. Each
    ordered proposal none of whose allocations is still open becomes ``filled`` when every one
    was filled, else ``cancelled``. Audited (``order.cancel``).

    Raises:
        ApplicationError: the order is already filled or cancelled, or its sales pay for buys
            that are open or filled.
    """
    require_tenant_schema()
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status in (OrderStatus.FILLED, OrderStatus.CANCELLED):
        raise ApplicationError(
            f"order {order.pk} is {order.status}: nothing left to cancel",
            code=OrdersErrorCode.INVALID,
        )
    released = list(OrderAllocation.objects.select_for_update().filter(order=order, is_open=True))
    if order.side == TradeSide.SELL:
        # A proposal's buys are paid for by its sells: cancelling the sells while its buys are
        # in flight or done would take the account's cash below where the proposal left it.
        funded = sorted(
            set(
                OrderAllocation.objects.filter(
                    proposed_trade__proposal__in=ProposedTrade.objects.filter(
                        allocation__in=released
                    ).values("proposal_id"),
                    proposed_trade__side=TradeSide.BUY,
                )
                .filter(Q(is_open=True) | Q(filled_shares__gt=0))
                .values_list("order_id", flat=True)
            )
        )
        if funded:
            raise ApplicationError(
                f"order {order.pk}'s sales pay for buys in order(s) "
                f"{', '.join(f'#{pk}' for pk in funded)}, open or filled: cancel those buys "
                "first (filled buys need these sales)",
                code=OrdersErrorCode.INVALID,
                extra={"buy_orders": funded},
            )
    OrderAllocation.objects.filter(pk__in=[a.pk for a in released]).update(is_open=False)
    order.status = OrderStatus.CANCELLED
    order.save(update_fields=["status"])
    proposals_close(allocation_ids=[a.pk for a in released])
    audit_event_record(
        action="order.cancel",
        acting_user=acting_user,
        obj=order,
        payload={
            "note": note[:300],
            "released": [
                {
                    "allocation_id": a.pk,
                    "account_id": a.account_id,
                    "shares": str(a.remaining_shares),
                }
                for a in released
            ],
        },
    )
    return order


def proposals_close(*, allocation_ids: list[int]) -> None:
    """Ordered proposals of these allocations with none still open: filled, or cancelled."""
    still_open = OrderAllocation.objects.filter(
        proposed_trade__proposal=OuterRef("pk"), is_open=True
    )
    unfilled = OrderAllocation.objects.filter(proposed_trade__proposal=OuterRef("pk")).filter(
        Q(
            quantity_type=OrderQuantityType.AMOUNT,
            fill_amount__lt=F("order_amount") - AMOUNT_FILL_TOLERANCE,
        )
        | (~Q(quantity_type=OrderQuantityType.AMOUNT) & Q(filled_shares__lt=F("shares")))
    )
    closed = Proposal.objects.filter(
        status=ProposalStatus.ORDERED,
        pk__in=ProposedTrade.objects.filter(allocation__in=allocation_ids).values("proposal_id"),
    ).exclude(Exists(still_open))
    closed.filter(Exists(unfilled)).update(status=ProposalStatus.CANCELLED)
    closed.update(status=ProposalStatus.FILLED)


def order_status_for(*, total_shares: Decimal, filled_shares: Decimal, current: str) -> str:
    """An order's status from its fills (open/sent stay as they are until the first fill)."""
    if filled_shares >= total_shares:
        return OrderStatus.FILLED
    if filled_shares > 0:
        return OrderStatus.PARTIALLY_FILLED
    return current
