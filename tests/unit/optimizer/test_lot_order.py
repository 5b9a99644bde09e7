"""Accounts whose custodian relieves sales in its own order (``Constraints.lot_order``).

A name held in a cheap old lot and an expensive new lot: with specified lots the optimizer
sells the expensive lot (the smaller gain); a FIFO custodian relieves the old lot first, so the
proposal sells the old lot and reports its larger gain and tax.
"""

from __future__ import annotations

import dataclasses

import pytest

from apps.optimizer.core.errors import ProblemShapeError
from apps.optimizer.core.problem import solve_rebalance
from apps.optimizer.core.types import Constraints, RebalanceResult, TradeSide
from tests.unit.optimizer.builders import lot, problem, universe

U = universe([100.0, 50.0], ["A", "B"])
# N0 at 100: "old" cost 20 a share (gain 80), "new" cost 95 (gain 5); both long-term.
LOTS = [lot("old", 0, 10, 20.0, 1000), lot("new", 0, 10, 95.0, 500), lot("b", 1, 10, 50.0, 900)]
TARGETS = [0.25, 0.5]  # N0 is 50% of 4,000: about 10 shares of it are sold


def _solve(lot_order: str | None, **extra: object) -> RebalanceResult:
    base = problem(U, LOTS, TARGETS, cash=1500.0, **extra)  # type: ignore[arg-type]
    constraints = dataclasses.replace(base.constraints, lot_order=lot_order)
    return solve_rebalance(dataclasses.replace(base, constraints=constraints))


def _sold(result: RebalanceResult) -> dict[str, float]:
    return {t.lot_id or "": t.shares for t in result.trades if t.side is TradeSide.SELL}


def test_specified_lots_sell_the_expensive_lot():
    result = _solve(None)

    sold = _sold(result)
    assert set(sold) == {"new"}
    assert result.taxes.long_term_gain_amount == pytest.approx(5.0 * sold["new"])


def test_fifo_sells_the_old_lot_and_reports_its_gain_and_tax():
    specified, fifo = _solve(None), _solve("FIFO")

    sold = _sold(fifo)
    assert set(sold) == {"old"}
    assert sold["old"] == sum(_sold(specified).values())  # the same share count of the name
    assert fifo.taxes.long_term_gain_amount == pytest.approx(80.0 * sold["old"])
    assert fifo.taxes.estimated_tax_amount == pytest.approx(0.2 * 80.0 * sold["old"])
    assert fifo.taxes.estimated_tax_amount > specified.taxes.estimated_tax_amount
    (trade,) = [t for t in fifo.trades if t.side is TradeSide.SELL]
    assert trade.realized_gain_amount == pytest.approx(80.0 * sold["old"])
    assert f"from lot old (long-term gain of {80.0 * sold['old']:,.2f})" in trade.explanation
    assert not fifo.violations


@pytest.mark.parametrize("lot_order", ["LIFO", "HIFO"])
def test_lifo_and_hifo_relieve_the_new_expensive_lot_first(lot_order):
    assert set(_sold(_solve(lot_order))) == {"new"}


def test_a_sale_past_the_first_lot_relieves_it_whole_then_the_next():
    base = problem(U, LOTS, [0.0, 0.5], cash=1500.0)  # N0 is sold out, or nearly

    relieved = solve_rebalance(dataclasses.replace(base, constraints=Constraints(lot_order="FIFO")))

    sold = _sold(relieved)
    assert sold["old"] == 10.0
    assert 0.0 < sold["new"] <= 10.0
    assert not relieved.violations


def test_the_gains_budget_holds_on_the_lots_the_custodian_relieves():
    result = _solve("FIFO", budget=400.0)

    sold = _sold(result)
    assert set(sold) == {"old"}
    assert 0 < sold["old"] <= 5  # 80 a share: at most 400 of gain
    assert result.taxes.long_term_gain_amount <= 400.0 + 0.01
    assert not result.violations


def test_a_lot_behind_a_never_sell_lot_is_not_sold():
    never = Constraints(never_sell_lot_ids=frozenset({"old"}))
    base = problem(U, LOTS, TARGETS, cash=1500.0, constraints=never)

    specified = solve_rebalance(base)
    fifo = solve_rebalance(
        dataclasses.replace(base, constraints=dataclasses.replace(never, lot_order="FIFO"))
    )

    assert set(_sold(specified)) == {"new"}
    assert _sold(fifo) == {}  # the custodian would relieve the never-sell lot first


def test_lot_order_is_one_of_the_custodian_methods():
    with pytest.raises(ProblemShapeError, match="lot_order"):
        Constraints(lot_order="AVERAGE")
