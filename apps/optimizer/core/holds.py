"""Why a position is kept over its target: the tax selling it would cost against the risk it adds.

A trade explains itself; a position *not* traded needs a sentence too when it stays well over
its target. For each name still over its target by ``KEPT_NOTE_MIN_WEIGHT`` or more after the
final trades, the note states, from the final holdings:

* the gains and tax of selling the overweight from its cheapest lots (least tax per dollar
  first, the objective's own rates), and
* the tracking error the overweight adds: the household's tracking error after the trades
  against the one with the overweight moved into a correlated underweight name (correlation
  at least ``PARTNER_MIN_CORRELATION`` under the risk model, look-through for funds), named
  with its correlation: an overweight large-cap fund standing in for an underweight
  total-market fund says so. When no such move would lower the tracking error (the trades
  already cover the name's exposure, e.g. with the stocks the other fund holds), the note
  says that instead.

No note when selling would cost no tax (then the risk term alone decided).
"""

from __future__ import annotations

import numpy as np

from apps.optimizer.core.prepare import PreparedProblem
from apps.optimizer.core.problem import CompiledUniverse
from apps.optimizer.core.types import FloatArray

KEPT_NOTE_MIN_WEIGHT = 0.01  # an overweight of 1% of household value or more
PARTNER_MIN_CORRELATION = 0.5
PARTNER_CANDIDATES = 5  # the most correlated underweight names tried as the partner


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


def _partner_clause(
    compiled: CompiledUniverse,
    symbols: tuple[str, ...],
    active: FloatArray,
    i: int,
    risk_after: float,
) -> str:
    """What the overweight of name ``i`` adds to the tracking error, beside its best partner.

    The partner is, among the ``PARTNER_CANDIDATES`` underweight names most correlated with
    ``i`` (correlation at least ``PARTNER_MIN_CORRELATION``), the one into which moving the
    overweight would lower the tracking error most; when no such move lowers it, the trades
    already cover the name's exposure and the clause says so.
    """
    correlation = compiled.correlations(i)
    under = np.flatnonzero((active < 0.0) & (correlation >= PARTNER_MIN_CORRELATION))
    best: tuple[float, int] | None = None
    for j in under[np.argsort(-correlation[under])][:PARTNER_CANDIDATES].tolist():
        moved = min(float(active[i]), float(-active[j]))
        alternative = active.copy()
        alternative[i] -= moved
        alternative[j] += moved
        risk = compiled.active_risk(alternative)
        if risk < risk_after and (best is None or risk < best[0]):
            best = (risk, j)
    if best is None:
        return f"; the trades cover its exposure (tracking error after them: {risk_after:.2%})"
    risk, j = best
    return (
        f"; its {correlation[j]:.2f} correlation with {symbols[j]}, {-active[j]:.1%} under its "
        f"target, keeps the exposure: the overweight adds {risk_after - risk:.2%} of tracking "
        f"error ({risk:.2%} → {risk_after:.2%})"
    )


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
        text += _partner_clause(compiled, symbols, active, i, risk_after)
        notes.append((float(active[i]), text))
    return tuple(text for _, text in sorted(notes, key=lambda x: -x[0]))
