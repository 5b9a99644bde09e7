"""The multi-year transition planner (``core.transition``) on a concentrated legacy account."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import partial

import numpy as np
import pytest

from apps.optimizer.core.problem import compile_universe
from apps.optimizer.core.solve import solve_rebalance
from apps.optimizer.core.synthetic import make_universe
from apps.optimizer.core.transition import PlanYear, TransitionPlan, plan_transition
from apps.optimizer.core.types import (
    Constraints,
    RebalanceProblem,
    SolverConfig,
    TaxLot,
    TaxProfile,
)

AS_OF = date(2026, 12, 5)
TOLERANCE = 0.012
CONFIG = SolverConfig()


def _legacy() -> RebalanceProblem:
    """Three names held at ~90% of value: old long-term lots at 30% of value as basis, and
    young short-term lots (bought 2026-06-01, long-term from 2027-06-02) at 80%."""
    synthetic = make_universe(40, seed=3)
    universe = synthetic.universe
    lots = []
    for k, i in enumerate((0, 5, 9)):
        price = float(universe.prices[i])
        shares = float(round(300_000 / price))
        lots.append(TaxLot(f"L{k}", i, shares, shares * price * 0.3, date(2015, 3, 1)))
        young = float(round(shares / 5))
        lots.append(TaxLot(f"S{k}", i, young, young * price * 0.8, date(2026, 6, 1)))
    return RebalanceProblem(
        as_of=AS_OF,
        universe=universe,
        target_weights=np.full(universe.size, 0.99 / universe.size),
        cash_target_weight=0.01,
        lots=tuple(lots),
        cash_amount=20_000.0,
        tax_profile=TaxProfile(short_term_rate=0.408, long_term_rate=0.238),
        risk_model=synthetic.risk_model,
        constraints=Constraints(min_trade_amount=100.0),
    )


def _plan(
    years: int,
    problem: RebalanceProblem | None = None,
    *,
    annual_profile: TaxProfile | None = None,
    realized_this_year_amount: float = 0.0,
) -> TransitionPlan:
    """The plan of ``problem``; its later years have ``annual_profile`` (default: its own)."""
    problem = problem or _legacy()
    compiled = compile_universe(problem.universe, problem.risk_model, CONFIG)
    return plan_transition(
        problem,
        years=years,
        solve=partial(solve_rebalance, config=CONFIG, compiled=compiled),
        risk_aversion=CONFIG.risk_aversion,
        tolerance_rate=TOLERANCE,
        discount_rate=0.05,
        annual_profile=annual_profile or problem.tax_profile,
        realized_this_year_amount=realized_this_year_amount,
    )


@pytest.fixture(scope="module")
def plans() -> dict[int, TransitionPlan]:
    return {n: _plan(n) for n in (1, 3, 5)}


@pytest.mark.parametrize("years", [1, 3, 5])
def test_the_plan_reaches_the_model_in_its_last_year(
    plans: dict[int, TransitionPlan], years: int
) -> None:
    plan = plans[years]
    assert [y.year for y in plan.years] == list(range(2026, 2026 + years))
    assert plan.reaches_model
    assert plan.years[-1].tracking_error_rate <= TOLERANCE
    assert plan.years[-1].gains_budget_amount is None  # the last year takes what is left
    # At unchanged prices every year moves closer to the model.
    errors = [y.tracking_error_rate for y in plan.years]
    assert errors == sorted(errors, reverse=True)
    assert plan.starting_tracking_error_rate > errors[0]


@pytest.mark.parametrize("years", [3, 5])
def test_earlier_years_realize_no_more_than_their_share(
    plans: dict[int, TransitionPlan], years: int
) -> None:
    plan = plans[years]
    budgets = [y.gains_budget_amount for y in plan.years[:-1]]
    assert all(b is not None and b > 0 for b in budgets)
    assert sum(b for b in budgets if b is not None) < plan.full_move_gain_amount
    for year in plan.years[:-1]:
        assert year.gains_budget_amount is not None
        realized = year.short_term_gain_amount + year.long_term_gain_amount
        assert realized <= year.gains_budget_amount + 1.0  # a dollar of rounding


def test_the_chosen_schedule_is_the_cheapest_of_those_compared(
    plans: dict[int, TransitionPlan],
) -> None:
    plan = plans[3]
    assert {a.shape for a in plan.alternatives} == {"front-loaded", "even", "back-loaded"}
    cheapest = min(plan.alternatives, key=lambda a: a.total_cost_amount)
    assert plan.shape == cheapest.shape
    assert plan.this_year_budget_amount == plan.years[0].gains_budget_amount


def test_five_years_pay_less_tax_than_one(plans: dict[int, TransitionPlan]) -> None:
    """Waiting lets the young lots turn long-term (2027-06-02) before they are sold."""
    one = sum(y.estimated_tax_amount for y in plans[1].years)
    five = sum(y.estimated_tax_amount for y in plans[5].years)
    assert five < one
    assert plans[1].years[0].short_term_gain_amount > 0.0
    assert all(y.short_term_gain_amount == 0.0 for y in plans[5].years[1:])


def test_gains_realized_earlier_this_year_count_against_this_years_share() -> None:
    fresh = _plan(3)
    spent = _plan(3, realized_this_year_amount=100_000.0)
    assert fresh.this_year_budget_amount is not None
    assert spent.this_year_budget_amount is not None
    assert spent.this_year_budget_amount < fresh.this_year_budget_amount
    assert spent.realized_this_year_amount == 100_000.0


def test_the_accounts_own_budget_caps_every_year() -> None:
    problem = _legacy()
    capped = replace(problem, tax_profile=replace(problem.tax_profile, gains_budget_amount=50_000))
    plan = _plan(3, capped)  # this year's budget left is the whole year's
    for year in plan.years:
        assert year.short_term_gain_amount + year.long_term_gain_amount <= 50_000.0 + 1.0
    assert not plan.reaches_model  # three years of 50,000 cannot move 550,000 of gains
    assert "above the tolerance" in plan.summary()


@pytest.mark.parametrize(
    ("field", "figure"),
    [
        ("long_term_gains_budget_amount", "long_term_gain_amount"),
        ("tax_budget_amount", "estimated_tax_amount"),
        ("gains_budget_amount", "net_gain_amount"),
    ],
)
def test_later_years_have_the_accounts_whole_year_budgets(field: str, figure: str) -> None:
    """This year's budget is spent; each later year has the whole annual budget, not the rest."""
    problem = _legacy()
    spent = replace(problem, tax_profile=replace(problem.tax_profile, **{field: 0.0}))
    annual = replace(problem.tax_profile, **{field: 40_000.0})

    plan = _plan(3, spent, annual_profile=annual)

    def amount(year: PlanYear) -> float:
        if figure == "net_gain_amount":
            return year.short_term_gain_amount + year.long_term_gain_amount
        return float(getattr(year, figure))

    first, *later = plan.years
    assert amount(first) <= 1.0  # a dollar of rounding
    assert all(amount(year) <= 40_000.0 + 1.0 for year in later)
    assert sum(amount(year) for year in later) > 10_000.0


def test_the_last_year_raises_risk_aversion_only_when_needed() -> None:
    plan = _plan(1)
    assert plan.this_year_risk_aversion_scale >= 1.0
    strict = plan_transition(
        _legacy(),
        years=1,
        solve=partial(
            solve_rebalance,
            config=CONFIG,
            compiled=compile_universe(_legacy().universe, _legacy().risk_model, CONFIG),
        ),
        risk_aversion=CONFIG.risk_aversion,
        tolerance_rate=0.002,
        discount_rate=0.05,
        annual_profile=_legacy().tax_profile,
    )
    assert strict.this_year_risk_aversion_scale > plan.this_year_risk_aversion_scale
    assert strict.years[0].tracking_error_rate < plan.years[0].tracking_error_rate


def test_the_last_year_pauses_harvesting_when_losers_keep_it_off_the_model() -> None:
    """Underweight names with lots 40% under water are harvest-side (never bought that day):
    no risk aversion closes that gap, pausing harvesting does."""
    problem = _legacy()
    prices = problem.universe.prices
    losers = tuple(
        TaxLot(f"X{i}", i, 10.0, 10.0 * float(prices[i]) / 0.6, date(2025, 1, 2))
        for i in range(20, 30)
    )
    problem = replace(problem, lots=tuple(problem.lots) + losers)
    compiled = compile_universe(problem.universe, problem.risk_model, CONFIG)
    solve = partial(solve_rebalance, config=CONFIG, compiled=compiled)
    plan = plan_transition(
        problem,
        years=1,
        solve=solve,
        risk_aversion=CONFIG.risk_aversion,
        tolerance_rate=0.002,
        discount_rate=0.05,
        annual_profile=problem.tax_profile,
    )
    last = plan.years[-1]
    # The core raised the risk aversion toward the tolerance first; not enough: paused.
    assert last.is_harvesting_paused and last.risk_aversion_scale > 1.0
    harvesting = solve(replace(problem, risk_aversion_scale=last.risk_aversion_scale))
    assert last.tracking_error_rate < harvesting.after.active_risk_rate
    assert "with harvesting paused" in plan.summary()
    followed = plan.this_year_problem(problem)
    assert followed.tax_profile.harvest_threshold_rate is None
    assert followed.risk_aversion_scale == last.risk_aversion_scale
