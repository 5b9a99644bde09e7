"""A proposal's figures, computed from its stored trades: one definition for runs and previews.

Every figure shown for a proposal (turnover, realized gains, losses harvested, estimated tax,
cash, tracking error and drift after) is a function of the trades as stored (``TradeData``
rows or ``ProposedTrade`` rows,
Decimal: shares as the core chose them, amounts and gains to cents) and of the account's input
(the problem, for holdings, cash, rates, targets and the risk model). The book run
(``trading.services.runs``) and the preview (``trading.services.preview``) both store or show
``proposal_figures``; a test recomputes it from the stored rows and snapshot of every proposal.

Definitions (account currency; rates and weights are fractions):

* turnover = Σ |amount| over the stored trades, both sides;
* realized short/long = Σ ``realized_gain_amount`` of the stored sells by ``term``, taxable
  accounts only (an IRA realizes nothing taxable); losses harvested = −Σ of their negative gains;
* estimated tax = short × short-term rate + long × long-term rate (``problem.tax_profile``,
  federal + state), to cents; losses lower it (linear estimate, no cross-year netting);
* cash after = cash before + Σ sells − Σ buys of the stored amounts. Transaction-cost estimates
  are NOT included: they model spread and impact, not a cash flow we can state (the core's cash
  floor includes them, so a funded floor holds here too);
* cash required = reserve + withdrawals due within the run's horizon; short = max(0, required −
  cash after);
* tracking error / max drift after: holdings after the stored trades at the problem's prices,
  active weights against the targets, the problem's risk model (floats only inside).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Protocol

import numpy as np

from apps.common.money import (
    SHARE_QUANTUM,
    ZERO,
    round_money,
    round_shares_down,
    to_decimal,
    to_float,
)
from apps.optimizer.core import types as core

SELL = core.TradeSide.SELL.value
BUY = core.TradeSide.BUY.value


class StoredTrade(Protocol):
    """What the figures read of a stored trade (``adapters.TradeData``, a ``ProposedTrade``)."""

    @property
    def side(self) -> str:
        """``"sell"`` or ``"buy"``."""

    @property
    def symbol(self) -> str:
        """The security."""

    @property
    def shares(self) -> Decimal:
        """Shares traded, as stored."""

    @property
    def amount(self) -> Decimal:
        """Shares × price, account currency, to cents."""

    @property
    def realized_gain_amount(self) -> Decimal | None:
        """Sells: proceeds − basis of the shares sold, to cents; buys: None."""

    @property
    def term(self) -> str:
        """Sells: ``"short"`` or ``"long"``; buys: empty."""


_GRID_NOISE = Decimal("1e-9")


def stored_shares(shares: float) -> Decimal:
    """The core's share count as stored: exactly the core's number, on the 1e-6 grid.

    The core already rounded (whole shares, the share step, or a whole lot with its fraction);
    its float is that number up to binary noise (2.9999999999999996 for 3), so it is taken to
    the nearest step, never truncated a second time. Off the grid (a test lot with more
    decimals) it rounds toward zero, so a sale never exceeds the lot.
    """
    if shares.is_integer():  # whole shares: most rows of most accounts
        return Decimal(int(shares))
    exact = to_decimal(shares)
    stepped = exact.quantize(SHARE_QUANTUM, rounding=ROUND_HALF_EVEN)
    if abs(stepped - exact) <= _GRID_NOISE:
        return stepped
    return round_shares_down(exact, whole=False)


def shares_text(shares: Decimal) -> str:
    """A stored share count as explanations print it (``core.result.shares_text`` agrees)."""
    text = f"{shares:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class ProposalFigures:
    """The figures of one proposal (see the module docstring for each definition)."""

    turnover_amount: Decimal
    short_term_gain_amount: Decimal
    long_term_gain_amount: Decimal
    losses_harvested_amount: Decimal
    estimated_tax_amount: Decimal
    cash_before_amount: Decimal
    cash_after_amount: Decimal
    cash_reserve_amount: Decimal
    withdrawals_due_amount: Decimal
    cash_required_amount: Decimal
    cash_short_amount: Decimal  # >= 0
    value_amount: Decimal  # holdings at the problem's prices plus cash, before (and after)
    before: dict[str, Any]  # active_risk_rate, max_drift_weight, cash_weight, value_amount
    after: dict[str, Any]

    def metrics(self) -> dict[str, Any]:
        """The figures as the proposal's metrics JSON stores them (money as strings)."""
        value = self.value_amount
        return {
            "before": self.before,
            "after": self.after,
            "turnover_amount": _text(self.turnover_amount),
            "turnover_weight": float(round(self.turnover_amount / value, 6)) if value else 0.0,
            "short_term_gain_amount": _text(self.short_term_gain_amount),
            "long_term_gain_amount": _text(self.long_term_gain_amount),
            "losses_harvested_amount": _text(self.losses_harvested_amount),
            "estimated_tax_amount": _text(self.estimated_tax_amount),
            "cash_before_amount": _text(self.cash_before_amount),
            "cash_after_amount": _text(self.cash_after_amount),
            "cash_reserve_amount": _text(self.cash_reserve_amount),
            "withdrawals_due_amount": _text(self.withdrawals_due_amount),
            "cash_required_amount": _text(self.cash_required_amount),
            "cash_short_amount": _text(self.cash_short_amount),
        }


FIGURE_KEYS = (  # the metrics keys ``ProposalFigures.metrics`` writes
    "before",
    "after",
    "turnover_amount",
    "turnover_weight",
    "short_term_gain_amount",
    "long_term_gain_amount",
    "losses_harvested_amount",
    "estimated_tax_amount",
    "cash_before_amount",
    "cash_after_amount",
    "cash_reserve_amount",
    "withdrawals_due_amount",
    "cash_required_amount",
    "cash_short_amount",
)


def _text(amount: Decimal) -> str:
    return str(abs(amount) if amount == 0 else amount)  # never "-0.00"


def _money(amount: float) -> Decimal:
    return round_money(to_decimal(amount))


_INDEX: dict[int, tuple[core.Universe, dict[str, int]]] = {}


def _symbol_index(universe: core.Universe) -> dict[str, int]:
    """Position of each symbol in the universe (once per run's universe)."""
    cached = _INDEX.get(id(universe))
    if cached is not None and cached[0] is universe:
        return cached[1]
    index = {symbol: i for i, symbol in enumerate(universe.symbols)}
    _INDEX.clear()
    _INDEX[id(universe)] = (universe, index)
    return index


def _portfolio(
    problem: core.RebalanceProblem, weights: Any, cash_amount: float, value: float
) -> dict[str, Any]:
    active = weights - problem.target_weights
    variance = problem.risk_model.active_variance(active)
    return {
        "active_risk_rate": round(float(np.sqrt(max(variance, 0.0))), 6),
        "max_drift_weight": round(float(np.abs(active).max()) if len(active) else 0.0, 6),
        "cash_weight": round(cash_amount / value, 6) if value > 0 else 0.0,
        "value_amount": _text(_money(value)),
    }


def proposal_figures(
    *, problem: core.RebalanceProblem, trades: Sequence[StoredTrade]
) -> ProposalFigures:
    """The figures of the stored ``trades`` of an account whose input is ``problem``.

    Args:
        problem: The account's problem (or its stored snapshot, ``problem_from_snapshot``):
            lots, cash, prices, targets, risk model, tax profile, reserve and withdrawals due.
        trades: The stored trades (shares, amounts and gains as stored).

    Returns:
        The figures; money in account currency to cents, rates and weights as fractions.
    """
    sells = buys = short = long_ = losses = ZERO
    for trade in trades:
        if trade.side == SELL:
            sells += trade.amount
            gain = trade.realized_gain_amount or ZERO
            if trade.term == "long":
                long_ += gain
            else:
                short += gain
            if gain < 0:
                losses -= gain
        else:
            buys += trade.amount
    profile = problem.tax_profile
    if not profile.is_taxable:
        short = long_ = losses = ZERO
    tax = round_money(
        short * to_decimal(profile.short_term_rate) + long_ * to_decimal(profile.long_term_rate)
    )
    cash_before = _money(problem.cash_amount)
    cash_after = cash_before + sells - buys
    reserve = _money(problem.cash_reserve_amount)
    due = _money(problem.withdrawals_due_amount)
    required = reserve + due

    # Holdings before and after, at the problem's prices (floats only from here on).
    universe = problem.universe
    prices = universe.prices
    lots = core.lot_table(problem.lots)
    held = np.bincount(
        lots.symbol_index, weights=lots.shares * prices[lots.symbol_index], minlength=universe.size
    )
    value = float(held.sum()) + to_float(cash_before)
    index = _symbol_index(universe)
    symbol = np.fromiter((index[t.symbol] for t in trades), dtype=np.int64, count=len(trades))
    signed = np.fromiter(
        (to_float(t.shares) if t.side == BUY else -to_float(t.shares) for t in trades),
        dtype=np.float64,
        count=len(trades),
    )
    moved = np.bincount(symbol, weights=signed * prices[symbol], minlength=universe.size)
    safe = value if value > 0 else 1.0
    return ProposalFigures(
        turnover_amount=sells + buys,
        short_term_gain_amount=short,
        long_term_gain_amount=long_,
        losses_harvested_amount=losses,
        estimated_tax_amount=tax,
        cash_before_amount=cash_before,
        cash_after_amount=cash_after,
        cash_reserve_amount=reserve,
        withdrawals_due_amount=due,
        cash_required_amount=required,
        cash_short_amount=max(required - cash_after, ZERO),
        value_amount=_money(value),
        before=_portfolio(problem, held / safe, to_float(cash_before), value),
        after=_portfolio(problem, (held + moved) / safe, to_float(cash_after), value),
    )
