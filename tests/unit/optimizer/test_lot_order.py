"""Accounts whose custodian relieves sales in its own order (``Constraints.lot_order``).

A name held in a cheap old lot and an expensive new lot: with specified lots the optimizer
sells the expensive lot (the smaller gain); a FIFO custodian relieves the old lot first, so the
proposal sells the old lot and reports its larger gain and tax.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from apps.optimizer.core.errors import ProblemShapeError
from apps.optimizer.core.prepare import prepare_problem
from apps.optimizer.core.problem import ContinuousSolution
from apps.optimizer.core.rounding import RoundedTrades, round_and_repair
from apps.optimizer.core.solve import solve_rebalance
from apps.optimizer.core.types import (
    Constraints,
    RebalanceProblem,
    RebalanceResult,
    SolverConfig,
    TradeSide,
)
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


@pytest.mark.parametrize(
    "budget",
    [
        {"long_term_gains_budget_amount": 400.0},
        {"tax_budget_amount": 80.0},  # 400 of long-term gain at 20%
    ],
)
def test_every_kind_of_budget_holds_on_the_lots_the_custodian_relieves(budget):
    base = problem(U, LOTS, TARGETS, cash=1500.0)
    budgeted = dataclasses.replace(
        base,
        constraints=Constraints(lot_order="FIFO"),
        tax_profile=dataclasses.replace(base.tax_profile, **budget),
    )

    result = solve_rebalance(budgeted)

    sold = _sold(result)
    assert set(sold) == {"old"}
    assert 0 < sold["old"] <= 5  # 80 a share: at most 400 of gain
    assert result.taxes.long_term_gain_amount <= 400.0 + 0.01
    assert result.taxes.estimated_tax_amount <= 80.0 + 0.01
    assert not result.violations and not result.relaxed
    assert sum(_sold(_solve("FIFO")).values()) > sold["old"]  # the budget cut the sale


# Rounding a solve that names lots (the relief order is applied after it): N0 at 100 holds an
# old long-term lot (cost 20: gain 80 a share) relieved first, then a young short-term lot
# (cost 150: loss 50 a share); N1 at 100 a young short-term lot (cost 90: gain 10 a share).
ORDERED = [lot("a", 0, 10, 20.0, 1000), lot("b", 0, 10, 150.0, 100), lot("c", 1, 10, 90.0, 100)]
ROUNDING = SolverConfig(min_trade_position_rate=0.0)


def _rounded(p: RebalanceProblem, sold: dict[str, float]) -> tuple[RoundedTrades, dict[str, float]]:
    """Round a continuous solution that sells ``sold`` (shares by lot) and buys nothing."""
    household = p.as_household()
    prepared = prepare_problem(household, ROUNDING)
    shares = np.array([sold.get(lot_id, 0.0) for lot_id in prepared.lot_ids])
    prices = p.universe.prices[prepared.lot_symbol]
    solution = ContinuousSolution(
        lot_sell_weights=shares * prices / prepared.value_amount,
        buy_weights=np.zeros(len(prepared.buy_symbol)),
        objective=0.0,
        status="optimal",
        solver_name="test",
        solve_time_ms=0.0,
        relaxed=(),
    )
    rounded = round_and_repair(household, prepared, solution, ROUNDING)
    return rounded, dict(zip(prepared.lot_ids, rounded.lot_sell_shares.tolist(), strict=True))


def _ordered(lots: int = 3, **profile: float) -> RebalanceProblem:
    """The first ``lots`` of ORDERED in a FIFO account with no cash and zero targets."""
    p = problem(
        universe([100.0, 100.0], ["A", "B"]),
        ORDERED[:lots],
        [0.0, 0.0],
        cash=0.0,
        constraints=Constraints(lot_order="FIFO"),
    )
    return dataclasses.replace(p, tax_profile=dataclasses.replace(p.tax_profile, **profile))


def test_trimming_for_one_budget_at_the_end_of_the_order_holds_the_others_too():
    """N0's 15 shares relieve a (10) then b (5): net gain 800 − 250 + 50 = 600 over 500.

    Shrinking N0 from its end takes back b's short-term loss before a's gain, which leaves
    N1's short-term gain over the zero short-term cap: N1's sale goes too.
    """
    p = _ordered(gains_budget_amount=500.0, short_term_gains_budget_amount=0.0)

    rounded, sold = _rounded(p, {"b": 15.0, "c": 5.0})  # the solver named the loss lot

    net = sold["a"] * 80.0 - sold["b"] * 50.0 + sold["c"] * 10.0
    short_term = -sold["b"] * 50.0 + sold["c"] * 10.0
    assert net <= 500.0 and short_term <= 0.0
    assert 0.0 < sold["a"] < 10.0 and sold["b"] == 0.0  # the sale ends inside a
    assert not rounded.violations and not rounded.band_notes


@pytest.mark.parametrize(
    ("budget", "a_sold", "note"),
    [
        ({"gains_budget_amount": -200.0}, 0.0, "gains_budget[account 0] exceeded by 200.00: "),
        # a's long-term gain uses none of a short-term budget: its sale stays.
        (
            {"short_term_gains_budget_amount": -200.0},
            5.0,
            "short_term_gains_budget[account 0] exceeded by 200.00: ",
        ),
        ({"tax_budget_amount": -80.0}, 0.0, "tax_budget[account 0] exceeded by 80.00 of tax: "),
    ],
)
def test_a_budget_the_relieved_lots_cannot_hold_is_relaxed_with_the_reason(budget, a_sold, note):
    """Each budget asks for a loss: the solver sold b's, but FIFO relieves a's gain first."""
    rounded, sold = _rounded(_ordered(**budget), {"b": 5.0})

    assert sold == {"a": a_sold, "b": 0.0, "c": 0.0}
    assert rounded.band_notes == (
        note + "the custodian relieves the account's lots FIFO, and the lots it relieves first "
        "cannot hold the budget",
    )
    assert not rounded.violations


def test_the_cash_floor_in_relief_order_is_kept_past_a_budget_and_says_so():
    """Specified lots would raise the 300 from b's loss; FIFO relieves a's gain first."""
    p = dataclasses.replace(_ordered(lots=2, gains_budget_amount=0.0), withdrawals_due_amount=300.0)

    rounded, sold = _rounded(p, {})

    # 300 net of 5 bp of costs needs a fourth share: 4 x 80 of gain.
    assert sold == {"a": 4.0, "b": 0.0}
    assert rounded.band_notes == (
        "gains_budget[account 0] exceeded by 320.00 to keep the cash floor after rounding "
        "(the custodian relieves the account's lots FIFO)",
    )
    assert not rounded.violations


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


def test_a_sale_extended_to_a_whole_lot_never_passes_it_by_float_rounding() -> None:
    """``_extend`` sets the lot's sale to its cap exactly: 1.291031 + (3.33982 - 1.291031) is
    more than 3.33982 in floats, and the re-check's "sells more than held" is exact (a property test
    found it). ``_undo`` gives the earlier sale back, zero exactly."""
    from types import SimpleNamespace

    from apps.optimizer.core.prepare import LOT_FREE
    from apps.optimizer.core.rounding import _extend, _undo

    book = SimpleNamespace(
        sell=np.array([1.291031, 0.0]),
        sell_cap=np.array([3.33982, 3.0]),
        lot_step=np.array([1e-6, 1e-6]),
        prepared=SimpleNamespace(lot_state=np.array([LOT_FREE, LOT_FREE])),
    )
    assert 1.291031 + (3.33982 - 1.291031) > 3.33982  # the float sum the old code made
    added = _extend(book, np.array([0, 1]), 60.0)
    assert book.sell[0] == 3.33982 and book.sell[1] == 3.0
    _undo(book, added)
    assert book.sell[1] == 0.0 and abs(book.sell[0] - 1.291031) < 1e-12
