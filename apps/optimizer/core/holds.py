"""Why a position is kept over its target: the tax selling it would cost against the risk it adds.

A trade explains itself; a position *not* traded needs a sentence too when it stays well over
its target. For each name still over its target by ``KEPT_NOTE_MIN_WEIGHT`` or more after the
final trades, the note states, from the final holdings:

* the gains and tax of selling the overweight from its cheapest lots (least tax per dollar
  first, the objective's own rates), and
* the tracking error the overweight adds: the household's tracking error after the trades
  against the one with the overweight moved into the underweight name most correlated with
  it (the risk model's correlation, look-through for funds), which is named with its
  correlation when that is at least ``PARTNER_MIN_CORRELATION``: an overweight large-cap fund
  standing in for an underweight total-market fund says so.

No note when selling would cost no tax (then the risk term alone decided).
"""

from __future__ import annotations

import numpy as np

from apps.optimizer.core.prepare import PreparedProblem
from apps.optimizer.core.problem import CompiledUniverse
from apps.optimizer.core.types import FloatArray

KEPT_NOTE_MIN_WEIGHT = 0.01  # an overweight of 1% of household value or more
PARTNER_MIN_CORRELATION = 0.5


def _cheapest_sale(
    prepared: PreparedProblem, remaining_value: FloatArray, i: int, amount: float
) -> tuple[float, float]:
    """Gains and tax of selling ``amount`` of name ``i`` from its least-taxed lots first."""
    lots = np.flatnonzero((prepared.lot_symbol == i) & (remaining_value > 0.0))
    per_dollar = prepared.lot_tax_rate[lots] * prepared.lot_gain_rate[lots]
    gain = tax = 0.0
    left = amount
    for j, rate in sorted(zip(lots.tolist(), per_dollar.tolist(), strict=True), key=lambda x: x[1]):
        sold = min(left, float(remaining_value[j]))
        gain += sold * float(prepared.lot_gain_rate[j])
        tax += sold * rate
        left -= sold
        if left <= 0.0:
            break
    return gain, tax


def kept_overweight_notes(
    *,
    symbols: tuple[str, ...],
    prices: FloatArray,
    prepared: PreparedProblem,
    compiled: CompiledUniverse,
    weights_after: FloatArray,
    lot_sell_shares: FloatArray,
) -> tuple[str, ...]:
    """One sentence per name kept over its target for tax (module docstring).

    Args:
        symbols: Universe names.
        prices: Per share, universe order.
        prepared: The prepared problem (lots, rates, targets, household value).
        compiled: The risk model's blocks.
        weights_after: Household weights after the final trades (fractions of value).
        lot_sell_shares: Final shares sold per lot.

    Returns:
        The notes, largest overweight first.
    """
    target, value = prepared.target_weights, prepared.value_amount
    active = weights_after - target
    remaining_value = (prepared.lot_shares - lot_sell_shares) * prices[prepared.lot_symbol]
    notes: list[tuple[float, str]] = []
    risk_after = compiled.active_risk(active)
    for i in np.flatnonzero(active >= KEPT_NOTE_MIN_WEIGHT).tolist():
        gain, tax = _cheapest_sale(prepared, remaining_value, i, float(active[i]) * value)
        if tax <= 0.0:
            continue
        text = (
            f"{symbols[i]} is kept {active[i]:.1%} over its target: selling that would realize "
            f"{gain:,.2f} of gains ({tax:,.2f} of tax)"
        )
        under = np.flatnonzero(active < 0.0)
        correlation = compiled.correlations(i)
        if len(under) and correlation[under].max() >= PARTNER_MIN_CORRELATION:
            j = int(under[np.argmax(correlation[under])])
            moved = min(float(active[i]), float(-active[j]))
            alternative = active.copy()
            alternative[i] -= moved
            alternative[j] += moved
            risk_alternative = compiled.active_risk(alternative)
            text += (
                f"; its {correlation[j]:.2f} correlation with {symbols[j]}, "
                f"{-active[j]:.1%} under its target, keeps the exposure: the overweight adds "
                f"{risk_after - risk_alternative:.2%} of tracking error "
                f"({risk_alternative:.2%} → {risk_after:.2%})"
            )
        notes.append((float(active[i]), text))
    return tuple(text for _, text in sorted(notes, key=lambda x: -x[0]))
