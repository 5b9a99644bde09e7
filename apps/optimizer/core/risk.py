"""Factor risk model builder: pure functions of a price-history matrix.

Model (annualised): Σ = B F Bᵀ + diag(d) with factors, in order (docs/optimizer.md, "Risk
model", has the formulas, the sources and the measurement behind the defaults):

1. ``market``: every name loads 1; its return is the equal-weighted mean return.
2. ``sector:<name>``: membership 0/1; return = sector mean − market mean.
3. ``industry:<name>``: membership 0/1; return = industry mean − sector mean. Only industries
   that lie in one sector, have at least ``min_industry_members`` names and are not the whole
   of their sector (whose factor would be identically zero) get a factor.
4. ``style:<name>``: cross-sectional z-scores estimated from the prices alone: ``beta`` (to the
   market factor), ``momentum`` (12-1 month return), ``volatility`` (residual volatility after
   beta). There is no size factor: size needs shares outstanding, which prices do not give.
   Style returns come from each day's cross-sectional regression, jointly with the membership
   factors (Frisch–Waugh–Lovell: the residuals of returns and of exposures after membership).
5. ``stat:<j>``: the leading principal components of the residual returns (what the factors
   above leave unexplained); loadings are the right singular vectors scaled by √n.

Membership loadings make ``Bᵀe`` the exact sector/industry active weights of an active-weight
vector ``e``, so the risk term fills sector valleys when a name is harvested.

Factor covariance: volatilities from exponentially weighted factor returns (half-life
``volatility_half_life``), correlations from weights with ``correlation_half_life`` shrunk toward
zero by the estimated optimal intensity (Schäfer & Strimmer 2005, the Ledoit–Wolf idea with a
diagonal target): C = (1 − δ) R + δ I, δ = Σ_{i≠j} Var̂(s_ij) / Σ_{i≠j} s_ij², clipped to
[0, 1]; F = D C D. Specific variances are the exponentially weighted residual variances after
all factors (half-life ``volatility_half_life``), floored (``specific_variance_floor``). With
both half-lives ``None`` every day weighs the same and F = (1 − δ) S + δ diag(S).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from apps.optimizer.core.errors import ProblemShapeError
from apps.optimizer.core.types import FloatArray, RiskModel

TRADING_DAYS_PER_YEAR = 252
# Momentum is the return over the last 12 months but the latest one (trading days), which is
# left out for its short-term reversal (Jegadeesh & Titman 1993; Carhart 1997; Barra USE4's
# RSTR lags 21 days).
MOMENTUM_WINDOW_DAYS = 252
MOMENTUM_LAG_DAYS = 21
STYLE_FACTORS = ("beta", "momentum", "volatility")
_Z_CLIP = 3.0  # z-scores are winsorised at ±3 standard deviations (Barra USE4 practice)


@dataclass(frozen=True, slots=True)
class RiskModelSpec:
    """Parameters of the builder; half-lives in trading days.

    ``None`` as a half-life weighs every day of the history the same.
    """

    statistical_factor_count: int = 3
    include_industry_factors: bool = True
    min_industry_members: int = 2
    style_factors: tuple[str, ...] = STYLE_FACTORS
    # Factor volatilities, specific variances and the beta/volatility exposures: 90 days
    # (Barra USE4 uses 84 for factor volatility and specific risk; RiskMetrics' daily λ = 0.94
    # is an 11-day half-life, tuned for a one-day horizon, ours is a quarter).
    volatility_half_life: float | None = 90.0
    # Factor correlations: equal weights over the history (USE4 uses a 504-day half-life, longer
    # than the 252-day window the backtest passes).
    correlation_half_life: float | None = None
    periods_per_year: int = TRADING_DAYS_PER_YEAR
    specific_variance_floor: float = 0.0025  # (5% annual volatility)²
    min_periods: int = 20

    def __post_init__(self) -> None:
        if self.statistical_factor_count < 0 or self.periods_per_year <= 0:
            raise ProblemShapeError("statistical_factor_count >= 0 and periods_per_year > 0")
        if self.specific_variance_floor <= 0.0:
            raise ProblemShapeError("specific_variance_floor must be > 0")
        if self.min_periods < 2:
            raise ProblemShapeError("min_periods must be >= 2")
        if self.min_industry_members < 1:
            raise ProblemShapeError("min_industry_members must be >= 1")
        unknown = set(self.style_factors) - set(STYLE_FACTORS)
        if unknown or len(set(self.style_factors)) != len(self.style_factors):
            raise ProblemShapeError(f"style_factors: distinct names among {STYLE_FACTORS}")
        for half_life in (self.volatility_half_life, self.correlation_half_life):
            if half_life is not None and not half_life > 0.0:
                raise ProblemShapeError("half-lives must be > 0 (or None for equal weights)")


def ewma_weights(periods: int, half_life: float | None) -> FloatArray:
    """Weights of ``periods`` observations, oldest first, halving every ``half_life``; sum 1.

    Args:
        periods: Number of observations.
        half_life: Half-life in observations; ``None`` gives equal weights.

    Returns:
        The weights, the newest last.
    """
    if half_life is None:
        return np.full(periods, 1.0 / periods)
    weights: FloatArray = 0.5 ** (np.arange(periods - 1, -1, -1, dtype=np.float64) / half_life)
    normalised: FloatArray = weights / weights.sum()
    return normalised


def _membership(labels: tuple[str, ...]) -> tuple[list[str], FloatArray]:
    names = sorted(set(labels))
    index = {name: j for j, name in enumerate(names)}
    matrix = np.zeros((len(labels), len(names)))
    matrix[np.arange(len(labels)), [index[label] for label in labels]] = 1.0
    return names, matrix


def _industry_membership(
    sectors: tuple[str, ...], industries: tuple[str, ...], min_members: int
) -> tuple[list[str], FloatArray]:
    """Industries that earn a factor (see the module docstring) and their 0/1 membership."""
    sector_size = Counter(sectors)
    size = Counter(industries)
    home: dict[str, set[str]] = {}
    for sector, industry in zip(sectors, industries, strict=True):
        home.setdefault(industry, set()).add(sector)
    names = sorted(
        industry
        for industry, in_sectors in home.items()
        if len(in_sectors) == 1
        and min_members <= size[industry] < sector_size[next(iter(in_sectors))]
    )
    index = {name: j for j, name in enumerate(names)}
    matrix = np.zeros((len(industries), len(names)))
    for i, industry in enumerate(industries):
        if industry in index:
            matrix[i, index[industry]] = 1.0
    return names, matrix


_FACTOR_VARIANCE_FLOOR = 1e-12  # annualised variance: a volatility of 1e-6


def _group_means(returns: FloatArray, membership: FloatArray) -> FloatArray:
    counts = membership.sum(axis=0)
    means: FloatArray = (returns @ membership) / counts
    return means


def zscore(raw: FloatArray) -> FloatArray | None:
    """Cross-sectional z-scores winsorised at ±3 and re-standardised (``None`` if constant)."""
    spread = float(raw.std())
    if not spread > 1e-12 * max(1.0, float(np.abs(raw).max())):
        return None
    clipped = np.clip((raw - raw.mean()) / spread, -_Z_CLIP, _Z_CLIP)
    standard: FloatArray = (clipped - clipped.mean()) / clipped.std()
    return standard


def style_exposures(
    returns: FloatArray, weights: FloatArray, styles: tuple[str, ...]
) -> tuple[list[str], FloatArray]:
    """Z-scored style exposures of each name from its daily returns.

    Args:
        returns: T × n simple daily returns, oldest first (not demeaned).
        weights: Weight of each day for beta and volatility (``ewma_weights``).
        styles: Which of ``STYLE_FACTORS`` to compute, in this order.

    Returns:
        The styles kept (a constant exposure carries no information and is dropped) and their
        n × q z-scores.
    """
    periods, n = returns.shape
    market = returns.mean(axis=1)
    market = market - weights @ market
    centered = returns - weights @ returns
    market_variance = float(weights @ (market * market))
    beta = (weights * market) @ centered / market_variance if market_variance > 0 else np.zeros(n)
    raw: dict[str, FloatArray] = {"beta": beta}
    residual = centered - market[:, None] * beta
    raw["volatility"] = np.sqrt(weights @ (residual * residual))
    if periods >= 2 * MOMENTUM_LAG_DAYS:
        window = returns[max(0, periods - MOMENTUM_WINDOW_DAYS) : periods - MOMENTUM_LAG_DAYS]
        raw["momentum"] = np.log1p(window).sum(axis=0)
    names: list[str] = []
    columns: list[FloatArray] = []
    for style in styles:
        z = zscore(raw[style]) if style in raw else None
        if z is not None:
            names.append(style)
            columns.append(z)
    return names, np.column_stack(columns) if columns else np.zeros((n, 0))


def shrinkage_intensity(centered: FloatArray, weights: FloatArray | None = None) -> float:
    """Estimated optimal intensity for shrinking a (weighted) covariance toward its diagonal.

    Args:
        centered: T × k observations with (weighted) column means removed.
        weights: Weight of each observation, summing to 1; ``None`` for equal weights.

    Returns:
        δ in [0, 1] (1 when there is nothing to estimate from).
    """
    periods, k = centered.shape
    if k < 2 or periods < 2:
        return 1.0
    w = np.full(periods, 1.0 / periods) if weights is None else weights
    sample = (centered * w[:, None]).T @ centered
    products = centered[:, :, None] * centered[:, None, :]
    # Var̂ of a weighted mean of independent products: Σ_t w_t² (x_ti x_tj − s_ij)².
    variance_of_entries = np.einsum("t,tij->ij", w * w, (products - sample) ** 2)
    off = ~np.eye(k, dtype=bool)
    denominator = float((sample[off] ** 2).sum())
    if denominator <= 0.0:
        return 1.0
    return float(np.clip(variance_of_entries[off].sum() / denominator, 0.0, 1.0))


def _weighted_variance(values: FloatArray, weights: FloatArray) -> FloatArray:
    centered = values - weights @ values
    variance: FloatArray = weights @ (centered * centered)
    return variance


def _factor_covariance(
    factor_returns: FloatArray, volatility_weights: FloatArray, correlation_weights: FloatArray
) -> FloatArray:
    """Per-period F = D C D: shrunk correlations C and volatilities D from their own weights."""
    centered = factor_returns - correlation_weights @ factor_returns
    sample = (centered * correlation_weights[:, None]).T @ centered
    delta = shrinkage_intensity(centered, correlation_weights)
    scale = np.sqrt(np.diag(sample))
    scale = np.where(scale > 0.0, scale, 1.0)
    correlation = (1.0 - delta) * sample / np.outer(scale, scale)
    np.fill_diagonal(correlation, 1.0)
    volatility = np.sqrt(_weighted_variance(factor_returns, volatility_weights))
    covariance: FloatArray = correlation * np.outer(volatility, volatility)
    return covariance


def _daily_returns(
    price_history: FloatArray,
    n: int,
    sectors: tuple[str, ...],
    industries: tuple[str, ...],
    spec: RiskModelSpec,
) -> FloatArray:
    """T × n simple daily returns of a checked (T + 1) × n price history, oldest first.

    Raises:
        ProblemShapeError: On misaligned inputs, non-positive prices or too short a history.
    """
    prices = np.asarray(price_history, dtype=np.float64)
    if prices.ndim != 2 or prices.shape[1] != n or len(sectors) != n or len(industries) != n:
        raise ProblemShapeError("price_history must be (T + 1) × n and labels must align")
    if prices.shape[0] - 1 < spec.min_periods:
        raise ProblemShapeError(f"need at least {spec.min_periods} returns per name")
    if not np.all(np.isfinite(prices)) or np.any(prices <= 0.0):
        raise ProblemShapeError("price_history must be finite and > 0")
    returns: FloatArray = prices[1:] / prices[:-1] - 1.0
    return returns


@dataclass(frozen=True, slots=True)
class _GroupFactors:
    """The market, sector and industry factors: 0/1 loadings (n × factors) and their names."""

    names: list[str]  # "market", "sector:<name>"…, "industry:<name>"…
    loadings: FloatArray  # market column, sector columns, industry columns
    sector_members: FloatArray  # n × sectors
    industry_names: list[str]
    industry_members: FloatArray  # n × industries with a factor


def _group_factors(
    sectors: tuple[str, ...], industries: tuple[str, ...], spec: RiskModelSpec
) -> _GroupFactors:
    """The membership factors of the names (module docstring, items 1 to 3)."""
    n = len(sectors)
    sector_names, sector_members = _membership(sectors)
    loadings = [np.ones((n, 1)), sector_members]
    names = ["market", *(f"sector:{s}" for s in sector_names)]
    industry_names: list[str] = []
    industry_members = np.zeros((n, 0))
    if spec.include_industry_factors:
        industry_names, industry_members = _industry_membership(
            sectors, industries, spec.min_industry_members
        )
        loadings.append(industry_members)
        names.extend(f"industry:{i}" for i in industry_names)
    return _GroupFactors(
        names=names,
        loadings=np.hstack(loadings),
        sector_members=sector_members,
        industry_names=industry_names,
        industry_members=industry_members,
    )


def _style_returns(
    returns: FloatArray,
    exposures: FloatArray,
    sectors: tuple[str, ...],
    industries: tuple[str, ...],
    groups: _GroupFactors,
) -> FloatArray:
    """T × q daily style factor returns, jointly with the membership factors.

    The cross-sectional regression r_t = M f_t + X s_t + u_t is solved for s_t by
    Frisch–Waugh–Lovell: regress the membership residuals of r_t on those of X. The columns of
    M span the dummies of the finest groups (each industry with a factor, and the rest of each
    sector), so a residual is the deviation from its group's mean.
    """
    with_factor = set(groups.industry_names)
    _, finest = _membership(
        tuple(
            f"industry:{i}" if i in with_factor else f"sector:{s}"
            for s, i in zip(sectors, industries, strict=True)
        )
    )
    exposure_residual = exposures - (_group_means(exposures.T, finest) @ finest.T).T
    return_residual = returns - _group_means(returns, finest) @ finest.T
    solution = np.linalg.lstsq(exposure_residual, return_residual.T, rcond=1e-10)[0]
    style_returns: FloatArray = solution.T.astype(np.float64, copy=False)
    return style_returns


def _group_factor_returns(after_styles: FloatArray, groups: _GroupFactors) -> FloatArray:
    """T × factors daily returns of the market, sector and industry factors (``groups``' order).

    Market: the mean return; sector: its mean less the market's; industry: its mean less its
    sector's.
    """
    market = after_styles.mean(axis=1, keepdims=True)
    sector_means = _group_means(after_styles, groups.sector_members)
    columns = [market, sector_means - market]
    industry_members = groups.industry_members
    if industry_members.shape[1]:
        parent = (industry_members.T @ groups.sector_members).argmax(axis=1)
        columns.append(_group_means(after_styles, industry_members) - sector_means[:, parent])
    out: FloatArray = np.hstack(columns)
    return out


def build_risk_model(
    *,
    symbols: tuple[str, ...],
    sectors: tuple[str, ...],
    industries: tuple[str, ...],
    price_history: FloatArray,
    spec: RiskModelSpec | None = None,
) -> RiskModel:
    """Estimate an annualised factor risk model from daily prices.

    Args:
        symbols: Names, fixing the row order of the model.
        sectors: Sector of each name.
        industries: Industry of each name.
        price_history: (T + 1) × n prices, oldest first, every entry > 0 (forward-fill gaps
            before calling).
        spec: Builder parameters; defaults to ``RiskModelSpec()``.

    Returns:
        The risk model (loadings n × k, factor covariance k × k, specific variance n).

    Raises:
        ProblemShapeError: On misaligned inputs, non-positive prices or too short a history.
    """
    spec = spec or RiskModelSpec()
    n = len(symbols)
    raw_returns = _daily_returns(price_history, n, sectors, industries, spec)
    returns = raw_returns - raw_returns.mean(axis=0)
    periods = returns.shape[0]
    volatility_weights = ewma_weights(periods, spec.volatility_half_life)
    correlation_weights = ewma_weights(periods, spec.correlation_half_life)
    groups = _group_factors(sectors, industries, spec)
    style_names, exposures = style_exposures(raw_returns, volatility_weights, spec.style_factors)
    style_returns = np.zeros((periods, 0))
    if style_names:
        style_returns = _style_returns(returns, exposures, sectors, industries, groups)
    after_styles = returns - style_returns @ exposures.T
    group_returns = _group_factor_returns(after_styles, groups)
    residual = after_styles - group_returns @ groups.loadings.T
    columns = [group_returns, style_returns]
    loadings = [groups.loadings, exposures]
    names = [*groups.names, *(f"style:{s}" for s in style_names)]
    stat_count = min(spec.statistical_factor_count, n, periods)
    if stat_count > 0:  # the leading principal components of the residual returns
        left, singular, right_t = np.linalg.svd(residual, full_matrices=False)
        stat_loadings = right_t[:stat_count].T * np.sqrt(n)
        stat_returns = left[:, :stat_count] * singular[:stat_count] / np.sqrt(n)
        columns.append(stat_returns)
        loadings.append(stat_loadings)
        names.extend(f"stat:{j + 1}" for j in range(stat_count))
        residual = residual - stat_returns @ stat_loadings.T
    covariance = _factor_covariance(np.hstack(columns), volatility_weights, correlation_weights)
    # A factor can have no variation at all: a zero eigenvalue, which rounding can make -1e-18
    # and a Cholesky factor refuse. A floor far below any real variance keeps F positive definite.
    factor_covariance = (
        0.5 * (covariance + covariance.T) * spec.periods_per_year
        + np.eye(covariance.shape[0]) * _FACTOR_VARIANCE_FLOOR
    )
    specific = _weighted_variance(residual, volatility_weights) * spec.periods_per_year
    return RiskModel(
        symbols=symbols,
        factor_names=tuple(names),
        loadings=np.hstack(loadings),
        factor_covariance=factor_covariance,
        specific_variance=np.maximum(specific, spec.specific_variance_floor),
    )
