"""Per-account settings in the core: harvesting on/off and its threshold, budgets by character
and in tax dollars (``TaxProfile``)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from apps.optimizer.core.prepare import prepare_problem
from apps.optimizer.core.solve import solve_household, solve_rebalance
from apps.optimizer.core.types import (
    AccountInput,
    Constraints,
    HouseholdProblem,
    RebalanceMode,
    RebalanceProblem,
    RebalanceResult,
    SolverConfig,
    TaxProfile,
    Trade,
    TradeReason,
    TradeSide,
)
from tests.unit.optimizer.builders import lot, problem, universe

CONFIG = SolverConfig(min_trade_position_rate=0.0)
RATES = (0.4, 0.2)  # short-term, long-term


def _sells(result: RebalanceResult) -> list[Trade]:
    return [t for t in result.trades if t.side is TradeSide.SELL]


def _with_profile(p: RebalanceProblem, **changes: object) -> RebalanceProblem:
    return replace(p, tax_profile=replace(p.tax_profile, **changes))


def _one_gain_lot(age_days: int, **profile: object) -> RebalanceProblem:
    """1,000 shares at 100 with a 50 basis (gain 50 a share) in a name whose target is zero."""
    u = universe([100.0, 100.0], ["A", "B"])
    p = problem(u, [lot("g", 0, 1_000.0, 50.0, age_days)], [0.0, 0.99], cash=0.0, rates=RATES)
    return _with_profile(p, **profile)


def test_a_tax_budget_lets_more_long_term_gain_than_short_term_gain_be_realized():
    """2,000 USD of tax: 10,000 of long-term gain at 20%, 5,000 of short-term gain at 40%."""
    long_term = solve_rebalance(_one_gain_lot(800, tax_budget_amount=2_000.0), CONFIG)
    short_term = solve_rebalance(_one_gain_lot(100, tax_budget_amount=2_000.0), CONFIG)
    assert long_term.taxes.long_term_gain_amount == pytest.approx(10_000.0, abs=60.0)
    assert short_term.taxes.short_term_gain_amount == pytest.approx(5_000.0, abs=60.0)
    for result in (long_term, short_term):
        assert result.taxes.estimated_tax_amount <= 2_000.0 + 0.01
        assert not result.violations and not result.relaxed
    # Converted at the higher rate (the old rule) the long-term lot would stop at 5,000.
    assert long_term.taxes.long_term_gain_amount > 1.9 * short_term.taxes.short_term_gain_amount


def test_a_short_term_cap_stops_short_term_gains_while_long_term_gains_continue():
    u = universe([100.0] * 4, ["A", "A", "B", "B"])
    lots = [lot("st", 0, 300.0, 60.0, 100), lot("lt", 1, 300.0, 60.0, 800)]
    base = problem(u, lots, [0.0, 0.0, 0.49, 0.49], cash=1_000.0, rates=RATES)
    free = solve_rebalance(base, CONFIG)
    capped = solve_rebalance(_with_profile(base, short_term_gains_budget_amount=0.0), CONFIG)
    assert free.taxes.short_term_gain_amount > 1_000.0  # without the cap it sells short-term
    assert capped.taxes.short_term_gain_amount <= 0.01
    assert capped.taxes.long_term_gain_amount == pytest.approx(
        free.taxes.long_term_gain_amount, rel=0.05
    )
    assert capped.taxes.long_term_gain_amount > 1_000.0
    assert not capped.violations


def test_a_long_term_cap_holds_net_long_term_gain():
    u = universe([100.0] * 4, ["A", "A", "B", "B"])
    lots = [lot("st", 0, 300.0, 60.0, 100), lot("lt", 1, 300.0, 60.0, 800)]
    base = problem(u, lots, [0.0, 0.0, 0.49, 0.49], cash=1_000.0, rates=RATES)
    capped = solve_rebalance(_with_profile(base, long_term_gains_budget_amount=1_500.0), CONFIG)
    assert capped.taxes.long_term_gain_amount <= 1_500.0 + 0.01
    assert capped.taxes.long_term_gain_amount > 1_400.0  # the cap binds, not more
    assert capped.taxes.short_term_gain_amount > 1_000.0
    assert not capped.violations


def _loss_book() -> RebalanceProblem:
    """Every lot deep under water, names at target: sales would only be for the tax loss."""
    prices = [50.0, 60.0, 70.0, 80.0, 55.0, 65.0] * 2
    u = universe(prices, ["A"] * 6 + ["B"] * 6)
    lots = [lot(f"L{i}", i, 150.0, 100.0, 90) for i in (0, 1, 2, 6, 7, 8)]
    return problem(u, lots, [0.99 / 12] * 12, cash=1_000.0, rates=RATES)


def test_harvesting_off_means_no_sale_for_the_tax_loss():
    on = solve_rebalance(_loss_book(), CONFIG)
    assert {t.reason for t in _sells(on)} == {TradeReason.HARVEST}  # the case harvests
    off_problem = _with_profile(_loss_book(), harvest_threshold_rate=None)
    assert not prepare_problem(off_problem.as_household(), CONFIG).name_is_harvest_side.any()
    off = solve_rebalance(off_problem, CONFIG)
    assert not [t for t in _sells(off) if t.realized_gain_amount < 0.0]
    assert not off.violations
    harvest_only = solve_rebalance(replace(off_problem, mode=RebalanceMode.HARVEST_ONLY), CONFIG)
    assert not _sells(harvest_only)


def test_harvesting_off_still_sells_a_loss_for_risk_and_says_so():
    """A never-buy name far over its (zero) target is sold for risk, its loss lot first."""
    u = universe([50.0, 100.0], ["A", "B"])
    lots = [lot("loss", 0, 200.0, 100.0, 90), lot("gain", 0, 200.0, 20.0, 800)]
    p = problem(
        u,
        lots,
        [0.0, 0.99],
        cash=500.0,
        rates=RATES,
        constraints=Constraints(never_buy_symbols=frozenset({"N0"})),
    )
    on = solve_rebalance(p, CONFIG)
    off = solve_rebalance(_with_profile(p, harvest_threshold_rate=None), CONFIG)
    on_loss = [t for t in _sells(on) if t.lot_id == "loss"]
    off_loss = [t for t in _sells(off) if t.lot_id == "loss"]
    assert on_loss and on_loss[0].reason is TradeReason.HARVEST
    assert off_loss and off_loss[0].shares == 200.0
    assert off_loss[0].reason is TradeReason.REDUCE_RISK
    assert "harvest" not in off_loss[0].explanation


def _threshold_book() -> RebalanceProblem:
    """N0's lot is 10% under water, N1's 40%, N2 has a gain."""
    u = universe([90.0, 60.0, 120.0, 100.0], ["A", "A", "B", "B"])
    lots = [lot("a", 0, 50.0, 100.0, 90), lot("b", 1, 50.0, 100.0, 90)]
    lots.append(lot("c", 2, 50.0, 100.0, 90))
    return problem(u, lots, [0.2, 0.2, 0.2, 0.2], cash=5_000.0, rates=RATES)


@pytest.mark.parametrize(
    ("threshold", "harvest_side"),
    [(0.05, ["N0", "N1"]), (0.30, ["N1"]), (0.50, []), (None, [])],
)
def test_the_accounts_threshold_decides_which_names_are_harvest_side(threshold, harvest_side):
    p = _with_profile(_threshold_book(), harvest_threshold_rate=threshold)
    prepared = prepare_problem(p.as_household(), CONFIG)
    symbols = p.universe.symbols
    assert [symbols[i] for i in prepared.name_is_harvest_side.nonzero()[0]] == harvest_side
    result = solve_rebalance(p, CONFIG)
    bought = {t.symbol for t in result.trades if t.side is TradeSide.BUY}
    assert not bought & set(harvest_side)  # no buys of a harvest-side name
    harvested = {t.symbol for t in _sells(result) if t.reason is TradeReason.HARVEST}
    assert harvested <= set(harvest_side)


def test_each_lot_uses_its_own_accounts_threshold_in_a_household():
    """N0 is 10% under water in both accounts: only the 5%-threshold account makes it
    harvest-side, and only that account sells it."""
    base = _threshold_book()
    u = base.universe

    def account(name: str, threshold: float) -> AccountInput:
        return AccountInput(
            account_id=name,
            lots=(replace(lot(f"{name}-a", 0, 50.0, 100.0, 90), account_id=name),),
            cash_amount=5_000.0,
            tax_profile=TaxProfile(*RATES, harvest_threshold_rate=threshold),
        )

    def household(*accounts: AccountInput) -> HouseholdProblem:
        return HouseholdProblem(
            as_of=base.as_of,
            universe=u,
            target_weights=base.target_weights,
            cash_target_weight=base.cash_target_weight,
            accounts=accounts,
            risk_model=base.risk_model,
        )

    strict = household(account("strict", 0.30))
    assert not prepare_problem(strict, CONFIG).name_is_harvest_side.any()
    both = household(account("strict", 0.30), account("eager", 0.05))
    assert prepare_problem(both, CONFIG).name_is_harvest_side.tolist() == [
        True,
        False,
        False,
        False,
    ]
    result = solve_household(both, CONFIG)
    harvested = {t.account_id for t in _sells(result) if t.reason is TradeReason.HARVEST}
    assert harvested == {"eager"}


def test_forced_sales_over_a_tax_budget_are_reported_in_tax_dollars():
    u = universe([100.0] * 3, ["A", "A", "B"])
    lots = [lot("screened", 0, 100.0, 20.0, 800), lot("g", 1, 300.0, 40.0, 800)]
    p = problem(
        u,
        lots,
        [0.0, 0.49, 0.49],
        cash=100.0,
        rates=RATES,
        constraints=Constraints(must_sell_symbols=frozenset({"N0"})),
    )
    result = solve_rebalance(_with_profile(p, tax_budget_amount=1_000.0), CONFIG)
    # 8,000 of long-term gain forced at 20% is 1,600 of tax: 600 over the tax budget.
    assert result.forced == (
        f"account {p.account_id}: forced sales exceed the tax budget by 600.00 of tax",
    )
    assert result.taxes.forced_over_budget_amount == 0.0  # no gains budget was exceeded
    voluntary = [t for t in _sells(result) if t.lot_id != "screened"]
    assert sum(t.realized_gain_amount for t in voluntary) <= 0.01
    assert not result.violations


def test_an_infeasible_character_budget_is_relaxed_and_named():
    """A cash floor that only short-term gain lots can fund breaks a zero short-term cap."""
    u = universe([100.0, 100.0], ["A", "B"])
    p = problem(
        u,
        [lot("st", 0, 100.0, 50.0, 100)],
        [0.5, 0.5],
        cash=0.0,
        rates=RATES,
        withdrawals=3_000.0,
        constraints=Constraints(is_fractional_shares=True),
    )
    result = solve_rebalance(_with_profile(p, short_term_gains_budget_amount=0.0), CONFIG)
    assert any(
        r.startswith("short_term_gains_budget[account 0] exceeded by") for r in result.relaxed
    )
    assert not result.violations
