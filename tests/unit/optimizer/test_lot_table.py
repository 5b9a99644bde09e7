"""LotTable: the columnar form of an account's lots gives exactly the results of TaxLot tuples."""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta

import numpy as np
import pytest

from apps.optimizer.core.errors import ProblemShapeError
from apps.optimizer.core.prepare import holding_periods
from apps.optimizer.core.problem import compile_universe
from apps.optimizer.core.serialization import problem_from_json, problem_to_json
from apps.optimizer.core.solve import solve_household, solve_rebalance
from apps.optimizer.core.synthetic import make_account, make_universe
from apps.optimizer.core.types import (
    AccountInput,
    HouseholdProblem,
    LotTable,
    SolverConfig,
    TaxLot,
    TaxProfile,
)
from apps.taxlots.rules import is_long_term, long_term_start
from tests.unit.optimizer.builders import AS_OF, lot, problem, universe


def _table(lots: tuple[TaxLot, ...]) -> LotTable:
    return LotTable.from_lots(lots, account_id="acct")


def _summary(result):
    trades = [(t.side, t.symbol, t.lot_id, t.shares, t.amount, t.reason) for t in result.trades]
    return trades, result.objective, result.taxes, result.naive, result.violations


@pytest.mark.parametrize(("names", "seed"), [(50, 3), (50, 4), (120, 5)])
def test_lot_table_solves_exactly_like_lot_tuples(names: int, seed: int) -> None:
    config = SolverConfig()
    synthetic = make_universe(names, seed=seed)
    compiled = compile_universe(synthetic.universe, synthetic.risk_model, config)
    as_tuples = make_account(synthetic, seed=seed * 11, account_id="A")
    as_table = dataclasses.replace(as_tuples, lots=_table(as_tuples.lots))
    assert _summary(solve_rebalance(as_tuples, config, compiled)) == _summary(
        solve_rebalance(as_table, config, compiled)
    )


def test_household_mixes_tables_and_tuples() -> None:
    u = universe([100.0, 50.0, 20.0], ["A", "A", "B"])
    base = problem(
        u,
        [lot("a1", 0, 10.0, 120.0, 400), lot("a2", 1, 40.0, 30.0, 20)],
        [0.3, 0.3, 0.3],
        cash=500.0,
    )
    other = (lot("b1", 2, 100.0, 25.0, 800), lot("b2", 0, 5.0, 90.0, 10))
    profile = TaxProfile(short_term_rate=0.4, long_term_rate=0.2)
    accounts = [
        AccountInput(account_id="one", lots=base.lots, cash_amount=500.0, tax_profile=profile),
        AccountInput(account_id="two", lots=other, cash_amount=100.0, tax_profile=profile),
    ]
    household = HouseholdProblem(
        as_of=AS_OF,
        universe=u,
        target_weights=base.target_weights,
        cash_target_weight=base.cash_target_weight,
        accounts=tuple(accounts),
        risk_model=base.risk_model,
    )
    tables = dataclasses.replace(
        household,
        accounts=(
            dataclasses.replace(accounts[0], lots=_table(base.lots)),
            accounts[1],
        ),
    )
    assert _summary(solve_household(household)) == _summary(solve_household(tables))


def test_iterating_a_table_gives_its_lots_back() -> None:
    lots = (lot("x", 1, 3.5, 10.0, 30), lot("y", 0, 2.0, 0.0, 9000))
    table = _table(lots)
    assert len(table) == 2
    assert list(table) == list(lots)  # same values, account id included


def test_json_round_trip_keeps_a_table() -> None:
    u = universe([100.0, 50.0], ["A", "B"])
    original = problem(
        u, [lot("a", 0, 1.0, 90.0, 10), lot("b", 1, 3.0, 70.0, 500)], [0.4, 0.4], cash=10.0
    )
    with_table = dataclasses.replace(original, lots=_table(original.lots))
    replayed, _ = problem_from_json(problem_to_json(with_table))
    assert isinstance(replayed.lots, LotTable)
    assert replayed.lots.symbol_index.dtype == np.int64
    assert list(replayed.lots) == list(original.lots)
    assert _summary(solve_rebalance(replayed)) == _summary(solve_rebalance(original))
    legacy, _ = problem_from_json(problem_to_json(original))  # tuples stay tuples
    assert isinstance(legacy.lots, tuple)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"shares": np.array([0.0])}, "shares must be > 0"),
        ({"basis_amount": np.array([-1.0])}, "basis_amount must be >= 0"),
        ({"symbol_index": np.array([-1])}, "symbol_index must be >= 0"),
        ({"symbol_index": np.array([0.5])}, "must hold integers"),
        ({"shares": np.array([1.0, 2.0])}, "shape"),
        ({"holding_period_start_days": np.array([0])}, "ordinal"),
    ],
)
def test_table_checks_its_columns(change: dict[str, object], message: str) -> None:
    columns: dict[str, object] = {
        "lot_ids": ("x",),
        "symbol_index": np.array([0]),
        "shares": np.array([1.0]),
        "basis_amount": np.array([10.0]),
        "holding_period_start_days": np.array([AS_OF.toordinal()]),
    }
    with pytest.raises(ProblemShapeError, match=message):
        LotTable(**{**columns, **change})  # type: ignore[arg-type]


def test_lot_outside_the_universe_is_refused() -> None:
    u = universe([100.0], ["A"])
    ok = problem(u, [lot("a", 0, 1.0, 90.0, 10)], [0.5], cash=10.0)
    table = LotTable(("a",), np.array([3]), np.array([1.0]), np.array([90.0]), np.array([1]))
    with pytest.raises(ProblemShapeError, match="outside the universe"):
        dataclasses.replace(ok, lots=table).as_household()


def test_duplicate_lot_ids_are_refused() -> None:
    table = LotTable(
        ("a", "a"), np.array([0, 0]), np.ones(2), np.ones(2), np.full(2, AS_OF.toordinal())
    )
    with pytest.raises(ProblemShapeError, match="unique"):
        AccountInput(
            account_id="x",
            lots=table,
            cash_amount=0.0,
            tax_profile=TaxProfile(short_term_rate=0.4, long_term_rate=0.2),
        )


def test_holding_periods_follow_the_tax_rules() -> None:
    rng = random.Random(5)
    start = date(2019, 1, 1)
    days = [start + timedelta(days=rng.randrange(0, 2200)) for _ in range(3000)]
    days += [date(2020, 2, 29), date(2023, 2, 28), date(2023, 3, 31)]
    for sold_on, months in ((date(2024, 2, 29), 12), (date(2024, 6, 28), 12), (AS_OF, 6)):
        ordinals = np.array([d.toordinal() for d in days], dtype=np.int64)
        is_long, long_from = holding_periods(ordinals, sold_on, months)
        assert is_long.tolist() == [is_long_term(d, sold_on, months) for d in days]
        assert long_from.tolist() == [long_term_start(d, months).toordinal() for d in days]
    # Dates outside the days seen so far extend the per-process table.
    far = np.array([date(1990, 5, 31).toordinal(), date(2031, 8, 31).toordinal()])
    _, long_from = holding_periods(far, AS_OF, 12)
    assert long_from.tolist() == [
        long_term_start(date(1990, 5, 31), 12).toordinal(),
        long_term_start(date(2031, 8, 31), 12).toordinal(),
    ]
