"""Block orders: approved proposals aggregated per (custodian, symbol, side), with allocations.

Idempotent by construction: approved proposals are claimed under ``select_for_update``, each
proposed trade is allocated once (``OrderAllocation.proposed_trade`` is one-to-one) and the
proposals turn ``ordered`` in the same transaction. A worker killed mid-run leaves nothing
behind (the transaction rolls back); the next run finds the same proposals still approved.
"""

from collections import defaultdict
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db import transaction

from apps.access.services import audit_event_record
from apps.common.bulk import id_batches
from apps.common.money import ZERO
from apps.common.tenancy import require_tenant_schema
from apps.trading.models import (
    Order,
    OrderAllocation,
    OrderStatus,
    Proposal,
    ProposalStatus,
    ProposedTrade,
    TradeSide,
)


class OrdersErrorCode(StrEnum):
    """Why an order, trade file or fills operation was refused."""

    INVALID = "orders_invalid"
    NOTHING_TO_SEND = "trade_file_nothing_to_send"
    LOT_NOT_OPEN = "trade_file_lot_not_open"
    FILLS_REJECTED = "fills_rejected"


def _lot_instructions(trade: ProposedTrade) -> list[dict[str, str]]:
    """Specific identification for a sell: the proposal's lot and shares (as ``lot_picks``)."""
    if trade.side != TradeSide.SELL or not trade.lot_key:
        return []
    return [{"lot_id": trade.lot_key, "shares": str(trade.shares)}]


@transaction.atomic
def orders_create_from_approved(*, acting_user: Any | None) -> list[Order]:
    """Turn every approved proposal into block orders with one allocation per proposed trade.

    Orders are grouped per (account custodian, symbol, side); a sell allocation carries its
    lot instructions (the proposal's lot, specific identification). The proposals become
    ``ordered``. Each order is audited (``order.create``) with its allocations.

    Returns:
        The new orders (empty when no approved proposal waits).
    """
    require_tenant_schema()
    proposals = list(
        Proposal.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(status=ProposalStatus.APPROVED)
        .order_by("pk")
    )
    if not proposals:
        return []
    by_id = {p.pk: p for p in proposals}
    trades = [
        trade
        for part in id_batches(list(by_id))  # in proposal order, as the proposals are
        for trade in ProposedTrade.objects.filter(
            proposal_id__in=part, allocation__isnull=True
        ).order_by("proposal_id", "side", "symbol", "lot_key", "pk")
    ]
    groups: dict[tuple[str, str, str], list[ProposedTrade]] = defaultdict(list)
    for trade in trades:
        account = by_id[trade.proposal_id].account
        groups[(account.custodian, trade.symbol, trade.side)].append(trade)

    orders: list[Order] = []
    for (custodian, symbol, side), members in sorted(groups.items()):
        total = sum((t.shares for t in members), ZERO)
        order = Order(
            custodian=custodian,
            symbol=symbol,
            side=side,
            total_shares=total,
            status=OrderStatus.OPEN,
            created_by=acting_user,
        )
        order.full_clean()
        order.save()
        allocations = [
            OrderAllocation(
                order=order,
                account=by_id[t.proposal_id].account,
                proposed_trade=t,
                shares=t.shares,
                lot_instructions=_lot_instructions(t),
            )
            for t in members
        ]
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
                        "lots": a.lot_instructions,
                    }
                    for a in allocations
                ],
            },
        )
        orders.append(order)

    for proposal in proposals:
        proposal.status = ProposalStatus.ORDERED
    Proposal.objects.bulk_update(proposals, ["status"])
    for proposal in proposals:
        audit_event_record(
            action="proposal.order",
            acting_user=acting_user,
            obj=proposal,
            payload={"account_id": proposal.account_id, "run_id": proposal.run_id},
        )
    return orders


def order_status_for(*, total_shares: Decimal, filled_shares: Decimal, current: str) -> str:
    """An order's status from its fills (open/sent stay as they are until the first fill)."""
    if filled_shares >= total_shares:
        return OrderStatus.FILLED
    if filled_shares > 0:
        return OrderStatus.PARTIALLY_FILLED
    return current
