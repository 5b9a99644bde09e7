"""Risk model builder: shapes, membership factors, shrinkage, flooring and the cache."""

from __future__ import annotations

import numpy as np
import pytest

from apps.optimizer.core.errors import ProblemShapeError
from apps.optimizer.core.risk import (
    MOMENTUM_LAG_DAYS,
    RiskModelSpec,
    build_risk_model,
    ewma_weights,
    shrinkage_intensity,
)
from apps.optimizer.core.synthetic import make_universe


def _random_walk(n: int, days: int, *, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0, 0.01, (days, 1)) + rng.normal(0.0, 0.015, (days, n))
    return 50.0 * np.vstack([np.ones(n), np.cumprod(1.0 + returns, axis=0)])


def _build(history: np.ndarray, spec: RiskModelSpec | None = None):
    n = history.shape[1]
    sectors = tuple(f"S{i % 3}" for i in range(n))
    return build_risk_model(
        symbols=tuple(f"N{i}" for i in range(n)),
        sectors=sectors,
        industries=sectors,
        price_history=history,
        spec=spec,
    )


def _style(model, name: str) -> np.ndarray:
    return model.loadings[:, model.factor_names.index(f"style:{name}")]


@pytest.fixture(scope="module")
def synthetic():
    return make_universe(60, seed=4)


def test_model_has_market_sector_and_statistical_factors(synthetic):
    model = synthetic.risk_model
    u = synthetic.universe
    sectors = sorted(set(u.sectors))
    assert model.factor_names[0] == "market"
    assert model.factor_names[1 : 1 + len(sectors)] == tuple(f"sector:{s}" for s in sectors)
    assert model.factor_names[-3:] == ("stat:1", "stat:2", "stat:3")
    assert model.loadings.shape == (60, len(model.factor_names))
    assert np.all(np.linalg.eigvalsh(model.factor_covariance) > 0.0)
    assert np.all(model.specific_variance >= RiskModelSpec().specific_variance_floor)
    # Membership loadings: Bᵀe holds each sector's active weight exactly.
    e = np.random.default_rng(0).normal(0.0, 0.01, 60)
    exposures = model.loadings.T @ e
    for j, s in enumerate(sectors):
        members = np.array([x == s for x in u.sectors])
        assert exposures[1 + j] == pytest.approx(e[members].sum())


def test_annualised_volatility_is_plausible(synthetic):
    model = synthetic.risk_model
    one_name = np.zeros(60)
    one_name[0] = 1.0
    volatility = np.sqrt(model.active_variance(one_name))
    assert 0.1 < volatility < 0.6  # simulated: ~1.8%/day total ≈ 28%/year


def test_industry_factors_follow_the_rule_and_give_industry_active_weights():
    # Sector A holds industries a1 (2 names) and a2 (1 name); sector B is all b1 (whose factor
    # would be identically zero); sector C has one name.
    sectors = ("A", "A", "A", "B", "B", "C")
    industries = ("a1", "a1", "a2", "b1", "b1", "c1")
    symbols = tuple(f"N{i}" for i in range(6))
    history = _random_walk(6, 120, seed=2)

    def industry_names(spec):
        model = build_risk_model(
            symbols=symbols,
            sectors=sectors,
            industries=industries,
            price_history=history,
            spec=spec,
        )
        return model, [n for n in model.factor_names if n.startswith("industry:")]

    model, names = industry_names(RiskModelSpec())
    assert names == ["industry:a1"]
    assert industry_names(RiskModelSpec(min_industry_members=1))[1] == [
        "industry:a1",
        "industry:a2",
    ]
    assert industry_names(RiskModelSpec(include_industry_factors=False))[1] == []
    e = np.array([0.03, -0.01, 0.02, -0.05, 0.04, -0.03])
    exposures = dict(zip(model.factor_names, model.loadings.T @ e, strict=True))
    assert exposures["industry:a1"] == pytest.approx(0.02)
    assert exposures["sector:A"] == pytest.approx(0.04)
    assert exposures["sector:B"] == pytest.approx(-0.01)


def test_shrinkage_intensity_is_a_fraction_and_high_for_noise():
    rng = np.random.default_rng(1)
    noise = rng.normal(size=(30, 8))
    noise -= noise.mean(axis=0)
    correlated = rng.normal(size=(500, 1)) @ np.ones((1, 8)) + 0.1 * rng.normal(size=(500, 8))
    correlated -= correlated.mean(axis=0)
    assert 0.0 <= shrinkage_intensity(correlated) < shrinkage_intensity(noise) <= 1.0


def test_builder_rejects_bad_inputs(synthetic):
    u = synthetic.universe
    with pytest.raises(ProblemShapeError):
        build_risk_model(
            symbols=u.symbols,
            sectors=u.sectors,
            industries=u.industries,
            price_history=synthetic.price_history[:5],
        )
    bad = synthetic.price_history.copy()
    bad[3, 2] = -1.0
    with pytest.raises(ProblemShapeError):
        build_risk_model(
            symbols=u.symbols, sectors=u.sectors, industries=u.industries, price_history=bad
        )


def test_ewma_weights_sum_to_one_halve_each_half_life_and_flatten_as_it_grows():
    weights = ewma_weights(252, 90.0)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[-1] / weights[-91] == pytest.approx(2.0)
    assert np.all(np.diff(weights) > 0.0)  # the newest day weighs most
    assert np.allclose(ewma_weights(252, 1e12), np.full(252, 1 / 252), rtol=1e-9)
    assert np.array_equal(ewma_weights(10, None), np.full(10, 0.1))


def test_an_infinite_half_life_reproduces_the_equal_weighted_model():
    history = _random_walk(24, 252, seed=7)
    plain = _build(history, RiskModelSpec(volatility_half_life=None, correlation_half_life=None))
    long = _build(history, RiskModelSpec(volatility_half_life=1e12, correlation_half_life=1e12))
    assert plain.factor_names == long.factor_names
    assert np.allclose(long.factor_covariance, plain.factor_covariance, rtol=1e-8, atol=1e-12)
    assert np.allclose(long.specific_variance, plain.specific_variance, rtol=1e-8)
    short = _build(history, RiskModelSpec(volatility_half_life=20.0))
    assert not np.allclose(short.specific_variance, plain.specific_variance, rtol=1e-3)


def test_weighted_shrinkage_with_equal_weights_is_the_plain_one():
    centered = np.random.default_rng(3).normal(size=(60, 5))
    centered -= centered.mean(axis=0)
    assert shrinkage_intensity(centered, np.full(60, 1 / 60)) == pytest.approx(
        shrinkage_intensity(centered)
    )


def test_style_exposures_are_z_scores():
    model = _build(_random_walk(40, 252, seed=5))
    styles = [n for n in model.factor_names if n.startswith("style:")]
    assert styles == ["style:beta", "style:momentum", "style:volatility"]
    for name in styles:
        column = model.loadings[:, model.factor_names.index(name)]
        assert column.mean() == pytest.approx(0.0, abs=1e-12)
        assert column.std() == pytest.approx(1.0)


def test_a_name_twice_the_market_has_the_highest_beta():
    rng = np.random.default_rng(11)
    market = rng.normal(0.0, 0.01, (252, 1))
    returns = market + rng.normal(0.0, 0.01, (252, 30))
    returns[:, 0] = 2.0 * market[:, 0] + rng.normal(0.0, 0.002, 252)
    history = np.vstack([np.ones(30), np.cumprod(1.0 + returns, axis=0)])
    beta = _style(_build(history), "beta")
    assert int(np.argmax(beta)) == 0


def test_momentum_is_the_twelve_month_return_without_the_last_month():
    rng = np.random.default_rng(12)
    returns = rng.normal(0.0, 0.005, (252, 20))
    returns[: 252 - MOMENTUM_LAG_DAYS, 3] += 0.004  # up for eleven months
    returns[252 - MOMENTUM_LAG_DAYS :, 7] += 0.05  # up in the last month only
    momentum = _style(
        _build(np.vstack([np.ones(20), np.cumprod(1.0 + returns, axis=0)])), "momentum"
    )
    assert int(np.argmax(momentum)) == 3
    assert momentum[7] < momentum[3]


def test_a_spread_free_universe_has_no_styles_and_floored_specific_variance():
    # Every name moves identically: nothing is specific and every style exposure is constant.
    path = _random_walk(1, 252, seed=9)
    model = _build(np.repeat(path, 9, axis=1))
    assert not any(n.startswith("style:") for n in model.factor_names)
    assert np.array_equal(
        model.specific_variance, np.full(9, RiskModelSpec().specific_variance_floor)
    )


def test_the_builder_is_deterministic():
    history = _random_walk(30, 252, seed=13)
    first, second = _build(history), _build(history.copy())
    assert first.factor_names == second.factor_names
    assert np.array_equal(first.loadings, second.loadings)
    assert np.array_equal(first.factor_covariance, second.factor_covariance)
    assert np.array_equal(first.specific_variance, second.specific_variance)


def test_spec_refuses_unknown_styles_and_non_positive_half_lives():
    with pytest.raises(ProblemShapeError):
        RiskModelSpec(style_factors=("size",))
    with pytest.raises(ProblemShapeError):
        RiskModelSpec(style_factors=("beta", "beta"))
    with pytest.raises(ProblemShapeError):
        RiskModelSpec(volatility_half_life=0.0)
    with pytest.raises(ProblemShapeError):
        RiskModelSpec(min_industry_members=0)
