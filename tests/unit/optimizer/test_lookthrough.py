"""Issue 23: funds seen through their holdings, and why an overweight fund is kept."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from apps.optimizer.core.errors import ProblemShapeError
from apps.optimizer.core.holds import _partner_clause
from apps.optimizer.core.lookthrough import (
    FUND_RESIDUAL_VARIANCE_FLOOR,
    SHARED_NAME_SPECIFIC_FLOOR,
    build_look_through_risk_model,
    fund_residual_variances,
    look_through,
    look_through_risk_model,
)
from apps.optimizer.core.problem import compile_universe
from apps.optimizer.core.risk import build_risk_model
from apps.optimizer.core.solve import solve_rebalance
from apps.optimizer.core.types import RiskModel, SolverConfig, TradeSide, Universe
from tests.unit.optimizer.builders import lot, problem

STOCKS = tuple(f"S{i}" for i in range(16))
SECTORS = tuple("A" if i % 2 == 0 else "B" for i in range(16))


def base_model() -> RiskModel:
    rng = np.random.default_rng(7)
    names = ("market", "sector:A", "sector:B", "style:beta")
    membership = np.array([[1.0, s == "A", s == "B", rng.normal()] for s in SECTORS], dtype=float)
    factor = rng.normal(size=(4, 4)) * 0.05
    return RiskModel(
        symbols=STOCKS,
        factor_names=names,
        loadings=membership,
        factor_covariance=factor @ factor.T + np.eye(4) * 0.001,
        specific_variance=rng.uniform(0.02, 0.09, size=16),
    )


def covariance(model: RiskModel) -> np.ndarray:
    b = model.loadings
    return b @ model.factor_covariance @ b.T + np.diag(model.specific_variance)


def equal(symbols: range) -> dict[str, float]:
    return {f"S{i}": 1.0 / len(symbols) for i in symbols}


LCF = equal(range(8))  # a "large-cap" basket
TMF = equal(range(10))  # a "total market" basket: 80% of it is LCF's
XF = equal(range(8, 16))  # no overlap with LCF


def test_look_through_covariance_is_the_holdings_covariance_plus_the_fund_residual() -> None:
    base = base_model()
    symbols = ("LCF", "TMF", "S0", "S12")
    lt = look_through(symbols, STOCKS, {"LCF": LCF, "TMF": TMF})
    residual = {"LCF": 0.0004, "TMF": 0.0}
    model = look_through_risk_model(base, lt, residual)
    expected = lt.matrix @ covariance(base) @ lt.matrix.T
    expected += np.diag([0.0004, FUND_RESIDUAL_VARIANCE_FLOOR, 0.0, 0.0])
    # S0 is held directly and by both funds: its specific risk is its name factor's.
    expected[2, 2] += SHARED_NAME_SPECIFIC_FLOOR
    np.testing.assert_allclose(covariance(model), expected, rtol=1e-12, atol=1e-15)
    # A fund's exposures are the weighted exposures of its holdings.
    k = len(base.factor_names)
    np.testing.assert_allclose(model.loadings[0, :k], np.mean(base.loadings[:8], axis=0))
    assert model.loadings[0, 1] == pytest.approx(0.5)  # half of LCF is sector A
    assert "name:S0" in model.factor_names and "name:S12" not in model.factor_names


def test_two_funds_overlapping_by_80_percent_are_highly_correlated() -> None:
    base = base_model()
    lt = look_through(("LCF", "TMF", "XF"), STOCKS, {"LCF": LCF, "TMF": TMF, "XF": XF})
    sigma = covariance(look_through_risk_model(base, lt, {}))
    vol = np.sqrt(np.diag(sigma))
    corr = sigma / np.outer(vol, vol)
    assert corr[0, 1] > corr[0, 2]
    assert corr[0, 1] > 0.9


def test_a_name_that_is_neither_fund_nor_modelled_or_bad_weights_are_refused() -> None:
    with pytest.raises(ProblemShapeError, match="neither"):
        look_through(("ZZZ",), STOCKS, {})
    with pytest.raises(ProblemShapeError, match="sum to <= 1"):
        look_through(("F",), STOCKS, {"F": {"S0": 0.7, "S1": 0.7}})


def test_a_fund_residual_is_measured_from_its_own_returns() -> None:
    rng = np.random.default_rng(3)
    days = 300
    base_prices = np.cumprod(1.0 + rng.normal(0, 0.01, size=(days, 4)), axis=0) * 100.0
    weights = np.array([[0.25, 0.25, 0.25, 0.25]])
    # A basket held at constant weights (the holdings' weights every day).
    returns = base_prices[1:] / base_prices[:-1] - 1.0
    basket = np.concatenate([[1.0], np.cumprod(1.0 + returns @ weights[0])])[:, None]
    exact = fund_residual_variances(basket * 10.0, base_prices, weights)
    assert exact[0] < 1e-6  # a fund priced as its basket has (almost) no residual
    noise = np.cumprod(1.0 + rng.normal(0, 0.002, size=days))[:, None]
    noisy = fund_residual_variances(basket * noise, base_prices, weights)
    assert noisy[0] == pytest.approx(0.002**2 * 252, rel=0.35)


def test_build_look_through_risk_model_uses_fund_prices_for_the_residual_only() -> None:
    rng = np.random.default_rng(5)
    days = 260
    stocks = ("S0", "S1", "S2", "S3", "S4", "S5")
    prices = np.cumprod(1.0 + rng.normal(0, 0.01, size=(days, 6)), axis=0) * 50.0
    holdings = {"F": {"S0": 0.5, "S1": 0.5}}
    returns = prices[1:] / prices[:-1] - 1.0
    fund = np.concatenate([[20.0], 20.0 * np.cumprod(1.0 + returns[:, :2] @ [0.5, 0.5])])
    model = build_look_through_risk_model(
        symbols=("F", "S2", "S3"),
        holdings=holdings,
        price_symbols=(*stocks, "F"),
        sectors=dict.fromkeys(stocks, "X"),
        industries=dict.fromkeys(stocks, "X-ind"),
        price_history=np.column_stack([prices, fund]),
    )
    base = build_risk_model(
        symbols=stocks,
        sectors=("X",) * 6,
        industries=("X-ind",) * 6,
        price_history=prices,
    )
    assert model.symbols == ("F", "S2", "S3")
    w = np.array([0.5, 0.5, 0.0, 0.0, 0.0, 0.0])
    # Priced as its basket: no residual to measure, so the floor; S0 and S1 are held by F only.
    d = base.specific_variance
    assert model.specific_variance[0] == pytest.approx(
        0.25 * (d[0] + d[1]) + FUND_RESIDUAL_VARIANCE_FLOOR
    )
    assert model.specific_variance[1] == pytest.approx(d[2])
    # Its variance is its basket's (signs of statistical factors may differ: compare Σ).
    assert covariance(model)[0, 0] == pytest.approx(
        w @ covariance(base) @ w + FUND_RESIDUAL_VARIANCE_FLOOR
    )


def funds_problem(other: dict[str, float]) -> object:
    """LCF held 70% with a large long-term gain, the other fund 30% at cost; targets 50/50.

    The overweight's tax (20% of value at an 80% gain rate, taxed at 20%) is 3.2% of value.
    """
    base = base_model()
    symbols = ("LCF", "OTHER")
    lt = look_through(symbols, STOCKS, {"LCF": LCF, "OTHER": other})
    u = Universe(
        symbols=symbols,
        prices=np.array([100.0, 100.0]),
        sectors=("Funds", "Funds"),
        industries=("Funds", "Funds"),
    )
    lots = [lot("lcf", 0, 7000.0, 20.0, 3000), lot("other", 1, 3000.0, 100.0, 3000)]
    p = problem(u, lots, [0.5, 0.5], cash=0.0, cash_target=0.0)
    # The account's tracking error target: 1% a year.
    return replace(p, risk_model=look_through_risk_model(base, lt, {}), tracking_error_target=0.01)


def test_an_overweight_fund_with_a_big_gain_is_kept_when_an_overlapping_fund_stands_in() -> None:
    config = SolverConfig()
    overlapping = solve_rebalance(funds_problem(TMF), config)
    sold = sum(t.amount for t in overlapping.trades if t.symbol == "LCF")
    assert sold < 0.02 * 1_000_000  # the overweight stays: TMF's 80% overlap carries it
    assert overlapping.kept_notes and overlapping.kept_notes[0].startswith("LCF is kept")
    assert "correlation with OTHER" in overlapping.kept_notes[0]
    # The same overweight against a fund it does not overlap is real risk: it is sold.
    disjoint = solve_rebalance(funds_problem(XF), config)
    sold_disjoint = sum(
        t.amount for t in disjoint.trades if t.symbol == "LCF" and t.side is TradeSide.SELL
    )
    assert sold_disjoint > 5 * max(sold, 1.0)
    assert disjoint.after.active_risk_rate < disjoint.before.active_risk_rate / 2


def test_a_harvested_fund_is_replaced_by_a_correlated_fund_on_another_index() -> None:
    """TMF at a 30% loss; TMFX tracks the same index (one group); LCF overlaps TMF by 80%."""
    base = base_model()
    symbols = ("TMF", "TMFX", "LCF", "XF")
    holdings = {"TMF": TMF, "TMFX": TMF, "LCF": LCF, "XF": XF}
    u = Universe(
        symbols=symbols,
        prices=np.array([70.0, 70.0, 100.0, 100.0]),
        sectors=("Funds",) * 4,
        industries=("Funds",) * 4,
    )
    lots = [
        lot("tmf", 0, 5000.0, 100.0, 200),  # bought at 100, now 70: a short-term loss
        lot("lcf", 2, 3000.0, 100.0, 800),
        lot("xf", 3, 3000.0, 100.0, 800),
    ]
    p = problem(u, lots, [0.5, 0.0, 0.25, 0.25], cash=0.0, cash_target=0.0)
    p = replace(
        p,
        risk_model=look_through_risk_model(base, look_through(symbols, STOCKS, holdings), {}),
        substantially_identical=(frozenset({"TMF", "TMFX"}),),
    )
    result = solve_rebalance(p, SolverConfig())
    sold = [t for t in result.trades if t.side is TradeSide.SELL and t.symbol == "TMF"]
    assert sold and all(t.realized_gain_amount < 0 for t in sold)
    bought = {t.symbol: t for t in result.trades if t.side is TradeSide.BUY}
    assert "TMFX" not in bought and "TMF" not in bought  # one group: a wash sale (§1091)
    assert "LCF" in bought and bought["LCF"].why.startswith("to replace TMF, sold at a loss")


def test_a_kept_overweight_the_trades_already_cover_names_no_partner() -> None:
    """LCF 20% over, TMF 24% under, TMF's other names S8, S9 held 2% each directly: moving LCF
    into TMF would raise the tracking error, so no partner is named."""
    symbols = ("LCF", "TMF", "S8", "S9")
    holdings = {"LCF": LCF, "TMF": TMF}
    u = Universe(
        symbols=symbols,
        prices=np.full(4, 100.0),
        sectors=("Funds", "Funds", "B", "A"),
        industries=("Funds", "Funds", "B-ind", "A-ind"),
    )
    model = look_through_risk_model(base_model(), look_through(symbols, STOCKS, holdings), {})
    compiled = compile_universe(u, model, SolverConfig())
    covered = np.array([0.2, -0.24, 0.02, 0.02])
    uncovered = np.array([0.2, -0.2, 0.0, 0.0])
    assert compiled.active_risk(covered) < compiled.active_risk(uncovered) / 2
    clause = _partner_clause(compiled, symbols, covered, 0, compiled.active_risk(covered))
    assert clause.startswith("; the trades cover its exposure (tracking error after them: ")
    clause = _partner_clause(compiled, symbols, uncovered, 0, compiled.active_risk(uncovered))
    assert clause.startswith("; its 0.9") and "correlation with TMF, 20.0% under" in clause
