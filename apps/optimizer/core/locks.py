"""Household wash-sale locks and harvest pairs derived from recent trades (rules: apps.taxlots)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from apps.optimizer.core.types import HarvestPair, TradeSide, WashSaleLocks
from apps.taxlots.rules import WASH_SALE_WINDOW_DAYS, wash_sale_window


@dataclass(frozen=True, slots=True)
class RecentTrade:
    """A trade in any account of the household (IRAs included) before ``as_of``."""

    symbol: str
    traded_on: date
    side: TradeSide
    is_loss: bool  # sells only: realised a loss
    account_id: str = ""


def identical_symbols(groups: Iterable[frozenset[str]]) -> dict[str, frozenset[str]]:
    """Each grouped symbol's substantially identical group (itself included).

    A symbol outside every group is identical only to itself (``identical_to``).
    """
    return {symbol: group for group in groups for symbol in group}


def identical_to(symbol: str, index: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The symbols substantially identical to ``symbol`` (itself included), per ``index``."""
    return index.get(symbol) or frozenset((symbol,))


def wash_sale_locks_from_history(
    as_of: date,
    trades: Iterable[RecentTrade],
    *,
    days: int = WASH_SALE_WINDOW_DAYS,
    groups: Iterable[frozenset[str]] = (),
) -> WashSaleLocks:
    """Locks in force on ``as_of`` from recent household trades.

    A loss sale locks purchases of its symbol while ``as_of`` is inside its wash-sale window; a
    purchase locks loss sales of its symbol while ``as_of`` is inside the purchase's window
    (the window is symmetric, so a loss sale today would have that purchase in its window).
    A lock covers every symbol substantially identical to the traded one (IRC §1091(a):
    "substantially identical stock or securities"; ``groups``).

    Args:
        as_of: The rebalance date.
        trades: Recent trades of every account of the household.
        days: Window half-width in calendar days.
        groups: Groups of substantially identical symbols (no symbol in two groups).

    Returns:
        The locks.
    """
    index = identical_symbols(groups)
    no_buy: set[str] = set()
    no_loss_sale: set[str] = set()
    for trade in trades:
        if trade.traded_on > as_of:
            continue
        first, last = wash_sale_window(trade.traded_on, days)
        if not first <= as_of <= last:
            continue
        if trade.side is TradeSide.SELL and trade.is_loss:
            no_buy |= identical_to(trade.symbol, index)
        elif trade.side is TradeSide.BUY:
            no_loss_sale |= identical_to(trade.symbol, index)
    return WashSaleLocks(
        no_buy_symbols=frozenset(no_buy), no_loss_sale_symbols=frozenset(no_loss_sale)
    )


def harvest_pairs_from_history(
    trades: Iterable[RecentTrade], *, sectors: Mapping[str, str], held: Iterable[str]
) -> tuple[HarvestPair, ...]:
    """The household's open harvest pairs (the latest per replacement still held).

    A pair is a name sold at a loss and a name of its sector bought the same day.

    Args:
        trades: Recent trades of every account of the household (as far back as pairs are
            followed; a pair is worth following for a few wash-sale windows).
        sectors: Sector of each symbol traded.
        held: Symbols the household holds today.
    """
    holding = set(held)
    losses: dict[date, set[str]] = {}
    buys: dict[date, set[str]] = {}
    for trade in trades:
        if trade.side is TradeSide.SELL and trade.is_loss:
            losses.setdefault(trade.traded_on, set()).add(trade.symbol)
        elif trade.side is TradeSide.BUY:
            buys.setdefault(trade.traded_on, set()).add(trade.symbol)
    latest: dict[str, HarvestPair] = {}
    for day in sorted(losses):
        for replacement in sorted(buys.get(day, set()) & holding):
            partners = sorted(
                x
                for x in losses[day]
                if x != replacement and sectors.get(x) == sectors.get(replacement)
            )
            if partners:
                latest[replacement] = HarvestPair(partners[0], replacement, day)
    return tuple(latest[r] for r in sorted(latest))
