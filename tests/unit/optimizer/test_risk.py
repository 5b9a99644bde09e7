"""Risk model builder: shapes, membership factors, shrinkage, flooring and the cache."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from apps.optimizer.core.errors import ProblemShapeError
from apps.optimizer.core.risk import (
    RiskModelCache,
    RiskModelSpec,
    build_risk_model,
    history_digest,
    shrinkage_intensity,
)
from apps.optimizer.core.synthetic import make_universe


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


def test_industry_factors_are_optional(synthetic):
    u = synthetic.universe
    model = build_risk_model(
        symbols=u.symbols,
        sectors=u.sectors,
        industries=u.industries,
        price_history=synthetic.price_history,
        spec=RiskModelSpec(include_industry_factors=True, statistical_factor_count=2),
    )
    industries = sorted(set(u.industries))
    assert sum(name.startswith("industry:") for name in model.factor_names) == len(industries)
    assert np.all(np.linalg.eigvalsh(model.factor_covariance) > 0.0)


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


def test_cache_is_keyed_by_universe_date_and_history(synthetic):
    u = synthetic.universe
    cache = RiskModelCache(max_entries=2)
    kwargs = {
        "symbols": u.symbols,
        "sectors": u.sectors,
        "industries": u.industries,
        "price_history": synthetic.price_history,
    }
    first = cache.get_or_build(as_of=date(2024, 6, 28), **kwargs)
    assert cache.get_or_build(as_of=date(2024, 6, 28), **kwargs) is first
    assert (cache.hits, cache.misses) == (1, 1)
    changed = synthetic.price_history.copy()
    changed[-1, 0] *= 1.01
    assert history_digest(changed) != history_digest(synthetic.price_history)
    assert (
        cache.get_or_build(as_of=date(2024, 6, 28), **{**kwargs, "price_history": changed})
        is (not first)
        or cache.misses == 2
    )
    cache.get_or_build(as_of=date(2024, 7, 1), **kwargs)
    assert len(cache) == 2 and cache.misses == 3
