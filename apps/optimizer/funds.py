"""Fund trading rules shared by the adapter and the pre-trade checks.

A mutual fund's **short-term redemption rule** (its prospectus: a purchase redeemed before a
minimum holding period pays a redemption fee or is refused, e.g. 30 to 90 days) is a lock the
platform respects: a lot of such a fund bought fewer than ``Security.min_holding_days`` days
before the trade date is not sold. This is the fund's own rule, not a tax rule: the tax
holding period (``apps.taxlots``, IRC §1222) is counted from the day after acquisition and
tacked after a wash sale; this one counts calendar days from the purchase itself.
"""

from dataclasses import dataclass
from datetime import date

import numpy as np

from apps.optimizer.core import types as core


@dataclass(frozen=True)
class HoldingLock:
    """A fund lot its fund's minimum holding period keeps from being sold on ``on``."""

    lot_key: str
    symbol: str
    acquired_on: date
    held_days: int  # calendar days since the purchase, on ``on``
    min_holding_days: int

    @property
    def free_on(self) -> date:
        """The first day the lot may be sold."""
        return date.fromordinal(self.acquired_on.toordinal() + self.min_holding_days)

    @property
    def reason(self) -> str:
        """Why the lot is not sold (one clause, no full stop)."""
        return (
            f"{self.symbol} lot of {self.acquired_on.isoformat()} is held {self.held_days} of "
            f"{self.min_holding_days} days (the fund's short-term redemption rule; it may be "
            f"sold from {self.free_on.isoformat()})"
        )


def holding_lock(
    *, lot_key: str, symbol: str, acquired_on: date, min_holding_days: int | None, on: date
) -> HoldingLock | None:
    """The lock on a lot sold on ``on``, or None when it may be sold.

    Locked while fewer than ``min_holding_days`` calendar days have passed since the purchase:
    bought on day 0, it is locked through day N-1 and free on day N.
    """
    if not min_holding_days:
        return None
    held = on.toordinal() - acquired_on.toordinal()
    if held >= min_holding_days:
        return None
    return HoldingLock(lot_key, symbol, acquired_on, held, min_holding_days)


def holding_lock_notes(
    *,
    problem: core.RebalanceProblem,
    result: core.RebalanceResult,
    locks: tuple[HoldingLock, ...],
) -> list[str]:
    """Why sales the account would want were held back by a fund's minimum holding period.

    A locked lot is named when its fund is a sale the account wants: a name it may not keep
    (a restriction or screen), or one still above its target weight after the trades.
    """
    if not locks:
        return []
    universe = problem.universe
    index = {s: i for i, s in enumerate(universe.symbols)}
    table = core.lot_table(problem.lots)
    held = np.zeros(universe.size)
    np.add.at(held, table.symbol_index, table.shares)
    moved = np.zeros(universe.size)
    for trade in result.trades:
        sign = -1.0 if trade.side is core.TradeSide.SELL else 1.0
        moved[index[trade.symbol]] += sign * trade.shares
    after = (held + moved) * universe.prices
    cash = problem.cash_amount + sum(
        t.amount if t.side is core.TradeSide.SELL else -t.amount for t in result.trades
    )
    value = float(after.sum()) + cash
    over = after / max(value, 1e-300) > problem.target_weights + 1e-6
    unwanted = problem.constraints.must_sell_symbols | problem.constraints.never_buy_symbols
    return [
        f"Not sold: {lock.reason}."
        for lock in locks
        if lock.symbol in unwanted or (lock.symbol in index and over[index[lock.symbol]])
    ]
