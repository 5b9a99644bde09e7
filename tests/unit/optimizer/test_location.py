"""Derived asset location (``core.location``) and the joint household solve it feeds."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import integrate, stats

from apps.optimizer.core.errors import ProblemShapeError
from apps.optimizer.core.location import (
    derived_location_cost_rates,
    expected_loss_rates,
    name_volatilities,
)
from apps.optimizer.core.solve import solve_household, solve_rebalance
from apps.optimizer.core.types import (
    AccountInput,
    HouseholdProblem,
    RebalanceProblem,
    Registration,
    RiskModel,
    SolverConfig,
    TaxLot,
    TaxProfile,
    TradeReason,
    TradeSide,
    Universe,
    WashSaleLocks,
)
from tests.unit.optimizer.builders import AS_OF, lot, universe

DERIVED = SolverConfig(asset_location="derived", expected_gain_rate=0.07)
CALM, VOLATILE = 0.15, 0.45  # total volatility a year of the two kinds of names


def _risk_model(u: Universe, vols: list[float]) -> RiskModel:
    """One market factor (variance 0.01) plus specific risk making each name's volatility."""
    market = 0.01
    return RiskModel(
        symbols=u.symbols,
        factor_names=("market",),
        loadings=np.ones((u.size, 1)),
        factor_covariance=np.array([[market]]),
        specific_variance=np.array([v * v - market for v in vols]),
    )


def _in(account_id: str, lots: list[TaxLot]) -> tuple[TaxLot, ...]:
    return tuple(replace(x, lot_id=f"{account_id}-{x.lot_id}", account_id=account_id) for x in lots)


def _household(
    *,
    taxable_lots: list[TaxLot] = (),  # type: ignore[assignment]
    ira_lots: list[TaxLot] = (),  # type: ignore[assignment]
    taxable_cash: float = 50_000.0,
    ira_cash: float = 50_000.0,
    vols: tuple[float, ...] = (VOLATILE, VOLATILE, CALM, CALM),
    yields: np.ndarray | None = None,
    locks: WashSaleLocks | None = None,
) -> HouseholdProblem:
    n = len(vols)
    u = universe([100.0] * n, ["S"] * n)
    taxable = AccountInput(
        "taxable", _in("taxable", list(taxable_lots)), taxable_cash, TaxProfile(0.408, 0.238)
    )
    ira = AccountInput(
        "ira",
        _in("ira", list(ira_lots)),
        ira_cash,
        TaxProfile(0.0, 0.0, registration=Registration.TAX_DEFERRED),
    )
    return HouseholdProblem(
        as_of=AS_OF,
        universe=u,
        target_weights=np.full(n, 0.98 / n),
        cash_target_weight=0.02,
        accounts=(taxable, ira),
        risk_model=_risk_model(u, list(vols)),
        wash_sale_locks=locks or WashSaleLocks(),
        taxable_yield_rates=yields,
    )


def _held(result, problem: HouseholdProblem, account_id: str) -> np.ndarray:
    """Value per name held in an account after the trades."""
    u = problem.universe
    account = next(a for a in problem.accounts if a.account_id == account_id)
    out = np.zeros(u.size)
    for x in account.lots:
        out[x.symbol_index] += x.shares * u.prices[x.symbol_index]
    for t in result.trades:
        if t.account_id == account_id:
            out[u.symbols.index(t.symbol)] += t.amount if t.side is TradeSide.BUY else -t.amount
    return out


def test_expected_loss_is_the_mean_negative_part_of_a_normal_return():
    sigma, horizon, drift = np.array([0.1, 0.3, 0.6]), 1.5, 0.07
    got = expected_loss_rates(sigma, horizon, drift)
    for s, value in zip(sigma, got, strict=True):
        law = stats.norm(loc=drift * horizon, scale=s * np.sqrt(horizon))
        want, _ = integrate.quad(lambda r, law=law: -r * law.pdf(r), -np.inf, 0.0)
        assert value == pytest.approx(want, rel=1e-7)
    # No drift: σ√H/√(2π); no volatility: the loss is the drift's, if negative.
    calm = expected_loss_rates(np.array([0.2]), 1.0, 0.0)
    assert calm[0] == pytest.approx(0.2 / np.sqrt(2 * np.pi))
    still = expected_loss_rates(np.array([0.0, 0.0]), 2.0, -0.05)
    assert still.tolist() == pytest.approx([0.1, 0.1])


def test_name_volatilities_read_the_whole_risk_model():
    problem = _household()
    assert name_volatilities(problem.risk_model) == pytest.approx([VOLATILE, VOLATILE, CALM, CALM])


def test_volatile_name_preferred_in_taxable_calm_one_in_the_ira():
    problem = _household()
    values = np.array([50_000.0, 50_000.0])
    loss_rates = np.array([0.238, 0.0])  # what a harvested dollar saves: the IRA harvests nothing
    cost = derived_location_cost_rates(problem, DERIVED, loss_rates, values)
    taxable, ira = cost
    assert taxable[0] < taxable[2] and ira[2] < ira[0]  # volatile → taxable, calm → IRA
    assert np.all(taxable < 0.0)  # every name has some option value, the volatile most
    assert values @ cost == pytest.approx(np.zeros(4), abs=1e-9)  # spread by value: no cost
    # Units: half the option value of a volatile name over a year at the 23.8% loss rate.
    option = expected_loss_rates(np.array([VOLATILE]), 1.0, 0.07)[0]
    assert taxable[0] == pytest.approx(-0.5 * 0.238 * option)
    # A household of one taxable account has nowhere else to put anything.
    alone = replace(problem, accounts=problem.accounts[:1])
    assert derived_location_cost_rates(alone, DERIVED, loss_rates[:1], values[:1]) == (
        pytest.approx(np.zeros((1, 4)))
    )


def test_a_taxable_yield_moves_a_name_to_the_ira_and_none_known_changes_nothing():
    values = np.array([50_000.0, 50_000.0])
    loss_rates = np.array([0.238, 0.0])
    none = derived_location_cost_rates(_household(), DERIVED, loss_rates, values)
    zero = derived_location_cost_rates(_household(yields=np.zeros(4)), DERIVED, loss_rates, values)
    assert zero == pytest.approx(none)
    yielding = derived_location_cost_rates(
        _household(yields=np.array([0.0, 0.0, 0.0, 0.05])), DERIVED, loss_rates, values
    )
    # 5% a year taxed at the 40.8% ordinary rate for a year, half of it relative to the IRA.
    assert yielding[1, 3] - none[1, 3] == pytest.approx(-0.5 * 0.05 * 0.408)
    assert yielding[0, 3] > 0.0 > yielding[1, 3]  # the yielding calm name: IRA


def test_joint_solve_puts_volatile_names_in_taxable_and_calm_ones_in_the_ira():
    problem = _household()
    located = solve_household(problem, DERIVED)
    plain = solve_household(problem, replace(DERIVED, asset_location="given"))
    assert not located.violations
    taxable, ira = _held(located, problem, "taxable"), _held(located, problem, "ira")
    assert taxable[:2].sum() > 0.9 * (taxable[:2].sum() + ira[:2].sum())  # volatile: taxable
    assert ira[2:].sum() > 0.9 * (taxable[2:].sum() + ira[2:].sum())  # calm: IRA
    # The household's weights (and so its risk) are the same either way.
    assert located.after.active_risk_rate == pytest.approx(plain.after.active_risk_rate, abs=1e-3)
    plain_taxable = _held(plain, problem, "taxable")
    assert taxable[:2].sum() > plain_taxable[:2].sum() + 10_000.0  # the switch moved them


def test_joint_solve_trims_in_the_ira_instead_of_realising_a_taxable_gain():
    # N0 has doubled in both accounts: the household is overweight and must trim it.
    taxable_lots = [lot("g0", 0, 300.0, 40.0, 900), lot("g1", 1, 150.0, 90.0, 900)]
    ira_lots = [lot("i0", 0, 300.0, 40.0, 900), lot("i2", 2, 150.0, 90.0, 900)]
    problem = _household(
        taxable_lots=taxable_lots, ira_lots=ira_lots, taxable_cash=20_000.0, ira_cash=20_000.0
    )
    result = solve_household(problem, DERIVED)
    assert not result.violations
    sells = [t for t in result.trades if t.side is TradeSide.SELL and t.symbol == "N0"]
    assert sum(t.amount for t in sells if t.account_id == "ira") > 10_000.0
    assert not [t for t in sells if t.account_id == "taxable"]
    assert result.taxes.estimated_tax_amount == pytest.approx(0.0, abs=1e-6)
    # The taxable account on its own (against the model) realises the gain to trim N0.
    alone = solve_rebalance(
        RebalanceProblem(
            as_of=AS_OF,
            universe=problem.universe,
            target_weights=problem.target_weights,
            cash_target_weight=problem.cash_target_weight,
            lots=problem.accounts[0].lots,
            cash_amount=20_000.0,
            tax_profile=problem.accounts[0].tax_profile,
            risk_model=problem.risk_model,
        ),
        DERIVED,
    )
    assert alone.taxes.long_term_gain_amount > 1_000.0


def test_a_taxable_loss_sale_blocks_buying_the_name_in_the_ira_the_same_day():
    # N2 is calm (the IRA is its derived home) and underweight, and under water in the taxable
    # account: it is harvested there, and the IRA may not buy it (IRC §1091(a), Rev. Rul.
    # 2008-5: an IRA purchase would disallow the loss for good).
    taxable_lots = [lot("loss2", 2, 100.0, 160.0, 200)]
    problem = _household(taxable_lots=taxable_lots)
    config = replace(DERIVED, risk_aversion=1.0)  # the loss outweighs N2's missing weight
    result = solve_household(problem, config)
    assert any(
        t.symbol == "N2" and t.account_id == "taxable" and t.reason is TradeReason.HARVEST
        for t in result.trades
    )
    assert not [t for t in result.trades if t.symbol == "N2" and t.side is TradeSide.BUY]
    # A loss sale in the taxable account yesterday (a lock) keeps the IRA from buying it too.
    locked = replace(_household(), wash_sale_locks=WashSaleLocks(no_buy_symbols=frozenset({"N2"})))
    after = solve_household(locked, config)
    assert not [t for t in after.trades if t.symbol == "N2" and t.side is TradeSide.BUY]
    assert [t for t in after.trades if t.symbol == "N3" and t.account_id == "ira"]


def test_settings_are_checked():
    with pytest.raises(ProblemShapeError):
        SolverConfig(asset_location="hand-set")
    with pytest.raises(ProblemShapeError):
        SolverConfig(location_horizon_years=0.0)
    with pytest.raises(ProblemShapeError):
        _household(yields=np.array([0.0, 0.0, 0.0, -0.01]))
    with pytest.raises(ProblemShapeError):
        _household(yields=np.zeros(3))
