"""Seeded synthetic universes and accounts for the benchmark and the unit tests.

Generator (every draw comes from ``numpy.random.default_rng(seed)``):

* Universe: ``n`` names in 11 sectors (3 industries each); 261 daily prices from a factor
  process (market 1%/day, sector 0.6%/day, three latent styles 0.4%/day, idiosyncratic
  1.2%/day); current prices are the last row (between 10 and 400 per share).
* Risk model: ``build_risk_model`` on that history with the default spec: market, 11 sectors,
  the industries of 2 or more names (33 at 500 names, 18 at 50; the process has no industry
  returns, so they model noise, at the size a real universe's industries have), 3 styles and 3
  statistical factors: 51 factors at 500 names.
* Account: target weights ~ lognormal "cap weights" scaled to 1 − 1% cash; about 90% of names are
  held at drifted weights (target × lognormal(0, 0.35)); each held name has 1–8 lots bought up
  to 5 years before ``as_of`` at the current price × exp(N(−0.08 × age in years, 0.3)), so lots
  mix gains and losses (older lots mostly gains); 0.5–3% cash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from apps.optimizer.core.risk import RiskModelSpec, build_risk_model
from apps.optimizer.core.types import (
    Constraints,
    FloatArray,
    RebalanceProblem,
    RiskModel,
    TaxLot,
    TaxProfile,
    Universe,
    WashSaleLocks,
)

SECTOR_COUNT = 11
INDUSTRIES_PER_SECTOR = 3
HISTORY_DAYS = 260


@dataclass(frozen=True, slots=True)
class SyntheticUniverse:
    """A universe with its price history and risk model."""

    universe: Universe
    price_history: FloatArray
    risk_model: RiskModel


def make_universe(n: int, *, seed: int = 0, statistical_factors: int = 3) -> SyntheticUniverse:
    """Generate a universe of ``n`` names with its factor risk model (see module docstring).

    Args:
        n: Number of names.
        seed: Random seed.
        statistical_factors: Statistical factors of the risk model.

    Returns:
        The synthetic universe.
    """
    rng = np.random.default_rng(seed)
    sector_of = np.arange(n) % SECTOR_COUNT
    industry_of = sector_of * INDUSTRIES_PER_SECTOR + rng.integers(0, INDUSTRIES_PER_SECTOR, n)
    symbols = tuple(f"S{i:04d}" for i in range(n))
    sectors = tuple(f"Sector{s:02d}" for s in sector_of)
    industries = tuple(f"Industry{j:02d}" for j in industry_of)
    days = HISTORY_DAYS
    market = rng.normal(0.0003, 0.01, (days, 1))
    sector = rng.normal(0.0, 0.006, (days, SECTOR_COUNT))[:, sector_of]
    styles = rng.normal(0.0, 0.004, (days, 3)) @ rng.normal(0.0, 1.0, (3, n))
    idio = rng.normal(0.0, 0.012, (days, n))
    returns = market + sector + styles + idio
    start = np.exp(rng.uniform(np.log(10.0), np.log(400.0), n))
    history = np.vstack([start, start * np.cumprod(1.0 + returns, axis=0)])
    prices = history[-1]
    universe = Universe(symbols=symbols, prices=prices, sectors=sectors, industries=industries)
    risk_model = build_risk_model(
        symbols=symbols,
        sectors=sectors,
        industries=industries,
        price_history=history,
        spec=RiskModelSpec(statistical_factor_count=statistical_factors),
    )
    return SyntheticUniverse(universe=universe, price_history=history, risk_model=risk_model)


def _drifted_lots(
    rng: np.random.Generator,
    universe: Universe,
    drifted: FloatArray,
    held: npt.NDArray[np.bool_],
    *,
    value: float,
    as_of: date,
    account_id: str,
) -> list[TaxLot]:
    """1–8 lots per held name, worth its drifted weight of ``value`` (see module docstring)."""
    prices = universe.prices
    lots: list[TaxLot] = []
    for i in np.flatnonzero(held):
        count = int(rng.integers(1, 9))
        shares_total = drifted[i] * value / prices[i]
        split = rng.dirichlet(np.ones(count))
        for j in range(count):
            age_days = int(rng.integers(1, 5 * 365))
            ratio = np.exp(rng.normal(-0.08 * age_days / 365.0, 0.3))
            shares = float(shares_total * split[j])
            if shares <= 1e-6:
                continue
            lots.append(
                TaxLot(
                    lot_id=f"{account_id}-L{i:04d}-{j}",
                    symbol_index=int(i),
                    shares=shares,
                    basis_amount=float(shares * prices[i] * ratio),
                    holding_period_start=as_of - timedelta(days=age_days),
                    account_id=account_id,
                )
            )
    return lots


@dataclass(frozen=True, slots=True)
class _Restrictions:
    """A synthetic account's restrictions, wash-sale locks and cash reserve (USD)."""

    constraints: Constraints
    locks: WashSaleLocks
    reserve_amount: float


def _restrictions(rng: np.random.Generator, universe: Universe, value: float) -> _Restrictions:
    """One never-buy, never-sell and must-sell name, two wash-sale locks, bands and a reserve."""
    picks = rng.choice(universe.size, size=6, replace=False)
    symbols = universe.symbols
    return _Restrictions(
        constraints=Constraints(
            never_buy_symbols=frozenset({symbols[picks[0]]}),
            never_sell_symbols=frozenset({symbols[picks[1]]}),
            must_sell_symbols=frozenset({symbols[picks[2]]}),
            sector_band_weight=0.03,
            min_trade_amount=25.0,
            turnover_cap_weight=None,
        ),
        locks=WashSaleLocks(
            no_buy_symbols=frozenset({symbols[picks[3]]}),
            no_loss_sale_symbols=frozenset({symbols[picks[4]]}),
        ),
        reserve_amount=0.002 * value,
    )


def make_account(
    synthetic: SyntheticUniverse,
    *,
    seed: int,
    as_of: date = date(2024, 6, 28),
    value_amount: float | None = None,
    with_restrictions: bool = True,
    account_id: str = "account",
) -> RebalanceProblem:
    """Generate one account against a synthetic universe (see module docstring).

    Args:
        synthetic: The universe.
        seed: Random seed of this account.
        as_of: Rebalance date.
        value_amount: Approximate account value (default: 600 per name, the median position of
            a direct index of ~300k).
        with_restrictions: Add never-buy/never-sell/must-sell names, wash-sale locks, bands,
            a cash reserve and a minimum trade.
        account_id: Account id stamped on the lots.

    Returns:
        The account problem.
    """
    rng = np.random.default_rng(seed)
    universe = synthetic.universe
    n = universe.size
    value = value_amount if value_amount is not None else 600.0 * n
    cap = np.exp(rng.normal(0.0, 1.0, n))
    cash_target = 0.01
    targets = cap / cap.sum() * (1.0 - cash_target)
    held = rng.random(n) < 0.9
    cash_rate = rng.uniform(0.005, 0.03)
    drifted = targets * np.exp(rng.normal(0.0, 0.35, n)) * held
    drifted *= (1.0 - cash_rate) / drifted.sum()
    lots = _drifted_lots(
        rng, universe, drifted, held, value=value, as_of=as_of, account_id=account_id
    )
    restrictions = (
        _restrictions(rng, universe, value)
        if with_restrictions
        else _Restrictions(Constraints(), WashSaleLocks(), 0.0)
    )
    return RebalanceProblem(
        as_of=as_of,
        universe=universe,
        target_weights=targets,
        cash_target_weight=cash_target,
        lots=tuple(lots),
        cash_amount=cash_rate * value,
        tax_profile=TaxProfile(
            short_term_rate=0.408, long_term_rate=0.238, gains_budget_amount=0.01 * value
        ),
        risk_model=synthetic.risk_model,
        constraints=restrictions.constraints,
        wash_sale_locks=restrictions.locks,
        cash_reserve_amount=restrictions.reserve_amount,
        account_id=account_id,
    )
