"""Household wash-sale locks derived from the last 30 days of trades (rules from apps.taxlots)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from apps.optimizer.core.types import TradeSide, WashSaleLocks
from apps.taxlots.rules import WASH_SALE_WINDOW_DAYS, wash_sale_window


@dataclass(frozen=True, slots=True)
class RecentTrade:
    """A trade in any account of the household (IRAs included) before ``as_of``."""

    symbol: str
    traded_on: date
    side: TradeSide
    is_loss: bool  # sells only: realised a loss
    account_id: str = ""


def wash_sale_locks_from_history(
    as_of: date, trades: Iterable[RecentTrade], *, days: int = WASH_SALE_WINDOW_DAYS
) -> WashSaleLocks:
    """Locks in force on ``as_of`` from recent household trades.

    A loss sale locks purchases of its symbol while ``as_of`` is inside its wash-sale window; a
    purchase locks loss sales of its symbol while ``as_of`` is inside the purchase's window
    (the window is symmetric, so a loss sale today would have that purchase in its window).

    Args:
        as_of: The rebalance date.
        trades: Recent trades of every account of the household.
        days: Window half-width in calendar days.

    Returns:
        The locks.
    """
    no_buy: set[str] = set()
    no_loss_sale: set[str] = set()
    for trade in trades:
        if trade.traded_on > as_of:
            continue
        first, last = wash_sale_window(trade.traded_on, days)
        if not first <= as_of <= last:
            continue
        if trade.side is TradeSide.SELL and trade.is_loss:
            no_buy.add(trade.symbol)
        elif trade.side is TradeSide.BUY:
            no_loss_sale.add(trade.symbol)
    return WashSaleLocks(
        no_buy_symbols=frozenset(no_buy), no_loss_sale_symbols=frozenset(no_loss_sale)
    )
