"""Look-through risk: a fund is the weighted sum of its holdings plus a residual of its own.

With ``L`` the n × m look-through matrix of the universe's names over the underlying names of a
base risk model Σ = B F Bᵀ + diag(d) (a stock's row is a unit vector, a fund's row its holdings'
weights, fractions of the fund), the universe's covariance is

    Σ_lt = L Σ Lᵀ + diag(r)

where ``r`` is each fund's residual variance: what its own returns do beyond its basket's
(fees, cash, sampling, tracking error; zero for a stock). So an overweight large-cap fund stands
in for an underweight total-market fund exactly as far as their holdings overlap, and a fund's
sector exposure is the weighted sector exposure of its holdings.

Σ_lt is kept in factor form so the optimizer's blocks do not change: loadings ``L B``; each
underlying name held by two or more rows of ``L`` (a stock held directly and through a fund, or
by two funds) becomes a factor ``name:<symbol>`` with variance dₛ and loadings ``L[:, s]``, which
carries the specific covariance the rows share; the other underlying names' specific variances
add up on the diagonal, (L²)d. A stock whose specific variance moved to its name factor keeps
``SHARED_NAME_SPECIFIC_FLOOR`` on the diagonal (the model's diagonal must stay positive).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from apps.optimizer.core.errors import ProblemShapeError
from apps.optimizer.core.risk import RiskModelSpec, build_risk_model, ewma_weights
from apps.optimizer.core.types import FloatArray, RiskModel

# Annualised variance left on the diagonal of a stock whose specific risk is carried by its
# name factor: a volatility of 0.01%, far below any real specific risk.
SHARED_NAME_SPECIFIC_FLOOR = 1e-8
# A fund's residual variance is floored at a 0.25% annual tracking error to its basket: index
# funds' tracking differences run from a few basis points to about half a percent a year
# (Morningstar's ETF tracking studies); a basket priced from its own holdings has none to measure.
FUND_RESIDUAL_VARIANCE_FLOOR = 0.0025**2
FUND_SECTOR = "Funds"  # the sector label of a fund (its exposures come from its holdings)


@dataclass(frozen=True, slots=True)
class LookThrough:
    """The look-through matrix of a universe over a base model's names.

    ``matrix`` is n × m (universe rows, base columns); ``funds`` are the universe names with
    holdings. A fund's holdings outside the base model (cash included) are left to its residual.
    """

    symbols: tuple[str, ...]
    base_symbols: tuple[str, ...]
    matrix: FloatArray
    funds: frozenset[str]


def look_through(
    symbols: tuple[str, ...],
    base_symbols: tuple[str, ...],
    holdings: Mapping[str, Mapping[str, float]],
) -> LookThrough:
    """The look-through matrix: a stock's row is itself, a fund's row its holdings' weights.

    Args:
        symbols: The universe, in order.
        base_symbols: The base model's names, in order.
        holdings: Per fund, its holdings' weights (fractions of the fund, > 0, summing to ≤ 1).

    Raises:
        ProblemShapeError: A name that is neither a fund nor in the base model, or bad weights.
    """
    column = {s: j for j, s in enumerate(base_symbols)}
    matrix = np.zeros((len(symbols), len(base_symbols)))
    for i, symbol in enumerate(symbols):
        weights = holdings.get(symbol)
        if weights is None:
            if symbol not in column:
                raise ProblemShapeError(f"{symbol}: neither a fund with holdings nor in the model")
            matrix[i, column[symbol]] = 1.0
            continue
        values = np.array(list(weights.values()), dtype=np.float64)
        if np.any(values <= 0.0) or values.sum() > 1.0 + 1e-6:
            raise ProblemShapeError(f"{symbol}: holdings' weights must be > 0 and sum to <= 1")
        for held, weight in weights.items():
            if held in column:
                matrix[i, column[held]] += weight
    return LookThrough(
        symbols=symbols,
        base_symbols=base_symbols,
        matrix=matrix,
        funds=frozenset(s for s in symbols if s in holdings),
    )


def look_through_risk_model(
    base: RiskModel, lt: LookThrough, residual_variance: Mapping[str, float]
) -> RiskModel:
    """The universe's risk model Σ_lt = L Σ Lᵀ + diag(r) in factor form (module docstring).

    Args:
        base: The model of the underlying names (``lt.base_symbols`` order).
        lt: The look-through matrix.
        residual_variance: Annualised residual variance per fund (floored at
            ``FUND_RESIDUAL_VARIANCE_FLOOR``; a fund absent gets the floor).

    Returns:
        A risk model over ``lt.symbols``.
    """
    if base.symbols != lt.base_symbols:
        raise ProblemShapeError("the look-through matrix must be over the base model's names")
    matrix, d = lt.matrix, base.specific_variance
    shared = np.count_nonzero(matrix, axis=0) >= 2
    specific = (matrix[:, ~shared] ** 2) @ d[~shared]
    residual = np.array(
        [
            max(residual_variance.get(s, 0.0), FUND_RESIDUAL_VARIANCE_FLOOR)
            if s in lt.funds
            else 0.0
            for s in lt.symbols
        ]
    )
    specific = np.maximum(specific + residual, SHARED_NAME_SPECIFIC_FLOOR)
    k = base.factor_covariance.shape[0]
    names = np.flatnonzero(shared)
    covariance = np.zeros((k + len(names), k + len(names)))
    covariance[:k, :k] = base.factor_covariance
    covariance[k:, k:] = np.diag(d[names])
    return RiskModel(
        symbols=lt.symbols,
        factor_names=(*base.factor_names, *(f"name:{base.symbols[j]}" for j in names)),
        loadings=np.hstack([matrix @ base.loadings, matrix[:, names]]),
        factor_covariance=covariance,
        specific_variance=specific,
    )


def fund_residual_variances(
    fund_prices: FloatArray,
    base_prices: FloatArray,
    weights: FloatArray,
    spec: RiskModelSpec | None = None,
) -> FloatArray:
    """Each fund's annualised residual variance: its daily returns beyond its basket's.

    Args:
        fund_prices: (T + 1) × f prices of the funds, oldest first, > 0.
        base_prices: (T + 1) × m prices of the underlying names.
        weights: f × m look-through weights of the funds.
        spec: Half-life and periods per year (``RiskModelSpec``'s).

    Returns:
        f residual variances, exponentially weighted like the base model's specific variances.
    """
    spec = spec or RiskModelSpec()
    fund_returns = fund_prices[1:] / fund_prices[:-1] - 1.0
    basket_returns = (base_prices[1:] / base_prices[:-1] - 1.0) @ weights.T
    residual = fund_returns - basket_returns
    w = ewma_weights(residual.shape[0], spec.volatility_half_life)
    centered = residual - w @ residual
    variance: FloatArray = (w @ (centered * centered)) * spec.periods_per_year
    return variance


def build_look_through_risk_model(
    *,
    symbols: tuple[str, ...],
    holdings: Mapping[str, Mapping[str, float]],
    price_symbols: tuple[str, ...],
    sectors: Mapping[str, str],
    industries: Mapping[str, str],
    price_history: FloatArray,
    spec: RiskModelSpec | None = None,
) -> RiskModel:
    """A risk model over a universe of stocks and funds, funds seen through their holdings.

    The base model is estimated on every priced name that is not a fund (the universe's stocks
    and the funds' holdings); a fund with prices gets its residual from its own returns.

    Args:
        symbols: The universe, in order (stocks and funds).
        holdings: Per fund, its holdings' weights (fractions of the fund).
        price_symbols: The columns of ``price_history``: the universe and the funds' holdings.
        sectors: Sector of each non-fund name.
        industries: Industry of each non-fund name.
        price_history: (T + 1) × len(price_symbols) prices, oldest first, > 0.
        spec: Builder parameters.

    Returns:
        The look-through risk model in ``symbols`` order.
    """
    column = {s: j for j, s in enumerate(price_symbols)}
    base_symbols = tuple(s for s in price_symbols if s not in holdings)
    base_columns = [column[s] for s in base_symbols]
    base = build_risk_model(
        symbols=base_symbols,
        sectors=tuple(sectors[s] for s in base_symbols),
        industries=tuple(industries[s] for s in base_symbols),
        price_history=price_history[:, base_columns],
        spec=spec,
    )
    lt = look_through(symbols, base_symbols, holdings)
    priced_funds = [i for i, s in enumerate(symbols) if s in holdings and s in column]
    residual: dict[str, float] = {}
    if priced_funds:
        variances = fund_residual_variances(
            price_history[:, [column[symbols[i]] for i in priced_funds]],
            price_history[:, base_columns],
            lt.matrix[priced_funds],
            spec,
        )
        residual = {symbols[i]: float(v) for i, v in zip(priced_funds, variances, strict=True)}
    return look_through_risk_model(base, lt, residual)
