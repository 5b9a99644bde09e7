"""Factor risk model builder: pure functions of a price-history matrix, plus a small cache.

Model (annualised): Σ = B F Bᵀ + diag(d) with factors, in order,

1. ``market``: every name loads 1; its return is the equal-weighted mean return.
2. ``sector:<name>``: membership 0/1; return = sector mean − market mean.
3. ``industry:<name>`` (optional): membership 0/1; return = industry mean − sector mean.
4. ``stat:<j>``: the leading principal components of the residual returns (what membership leaves
   unexplained); loadings are the right singular vectors scaled by √n so entries are O(1).

Membership loadings make ``Bᵀe`` the exact sector/industry active weights of an active-weight
vector ``e``, so the risk term fills sector valleys when a name is harvested.

The factor covariance is shrunk toward its diagonal (Schäfer & Strimmer 2005, the Ledoit–Wolf
idea with a diagonal target): F = (1 − δ) S + δ diag(S) with the estimated optimal intensity
δ = Σ_{i≠j} Var̂(s_ij) / Σ_{i≠j} s_ij², clipped to [0, 1]. Specific variances are the residual
variances after the statistical factors, floored (``specific_variance_floor``, annualised).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

import numpy as np

from apps.optimizer.core.errors import ProblemShapeError
from apps.optimizer.core.types import FloatArray, RiskModel

TRADING_DAYS_PER_YEAR = 252


@dataclass(frozen=True, slots=True)
class RiskModelSpec:
    """Parameters of the builder (part of the cache key)."""

    statistical_factor_count: int = 3
    include_industry_factors: bool = False
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


def _membership(labels: tuple[str, ...]) -> tuple[list[str], FloatArray]:
    names = sorted(set(labels))
    index = {name: j for j, name in enumerate(names)}
    matrix = np.zeros((len(labels), len(names)))
    matrix[np.arange(len(labels)), [index[label] for label in labels]] = 1.0
    return names, matrix


_FACTOR_VARIANCE_FLOOR = 1e-12  # annualised variance: a volatility of 1e-6


def _group_means(returns: FloatArray, membership: FloatArray) -> FloatArray:
    counts = membership.sum(axis=0)
    means: FloatArray = (returns @ membership) / counts
    return means


def shrinkage_intensity(centered: FloatArray) -> float:
    """Estimated optimal intensity for shrinking a sample covariance toward its diagonal.

    Args:
        centered: T × k observations with column means removed.

    Returns:
        δ in [0, 1] (1 when there is nothing to estimate from).
    """
    periods, k = centered.shape
    if k < 2 or periods < 2:
        return 1.0
    sample = centered.T @ centered / periods
    products = centered[:, :, None] * centered[:, None, :]
    variance_of_entries = ((products - sample) ** 2).sum(axis=0) / periods**2
    off = ~np.eye(k, dtype=bool)
    denominator = float((sample[off] ** 2).sum())
    if denominator <= 0.0:
        return 1.0
    return float(np.clip(variance_of_entries[off].sum() / denominator, 0.0, 1.0))


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
    prices = np.asarray(price_history, dtype=np.float64)
    if prices.ndim != 2 or prices.shape[1] != n or len(sectors) != n or len(industries) != n:
        raise ProblemShapeError("price_history must be (T + 1) × n and labels must align")
    if prices.shape[0] - 1 < spec.min_periods:
        raise ProblemShapeError(f"need at least {spec.min_periods} returns per name")
    if not np.all(np.isfinite(prices)) or np.any(prices <= 0.0):
        raise ProblemShapeError("price_history must be finite and > 0")
    returns = prices[1:] / prices[:-1] - 1.0
    returns = returns - returns.mean(axis=0)

    sector_names, sector_members = _membership(sectors)
    market = returns.mean(axis=1, keepdims=True)
    sector_means = _group_means(returns, sector_members)
    columns = [market, sector_means - market]
    loadings = [np.ones((n, 1)), sector_members]
    names = ["market", *(f"sector:{s}" for s in sector_names)]
    explained = sector_means @ sector_members.T
    if spec.include_industry_factors:
        # Industry factors are relative to the sector, so membership stays nested.
        industry_names, industry_members = _membership(industries)
        industry_means = _group_means(returns, industry_members)
        industry_sector = industry_members.T @ sector_members  # industry → its sector(s)
        parent = sector_means @ (industry_sector.T / industry_sector.sum(axis=1))
        columns.append(industry_means - parent)
        loadings.append(industry_members)
        names.extend(f"industry:{i}" for i in industry_names)
        explained = industry_means @ industry_members.T
    residual = returns - explained

    stat_count = min(spec.statistical_factor_count, n, residual.shape[0])
    if stat_count > 0:
        left, singular, right_t = np.linalg.svd(residual, full_matrices=False)
        stat_loadings = right_t[:stat_count].T * np.sqrt(n)
        stat_returns = left[:, :stat_count] * singular[:stat_count] / np.sqrt(n)
        columns.append(stat_returns)
        loadings.append(stat_loadings)
        names.extend(f"stat:{j + 1}" for j in range(stat_count))
        residual = residual - stat_returns @ stat_loadings.T

    factor_returns = np.hstack(columns)
    centered = factor_returns - factor_returns.mean(axis=0)
    periods = centered.shape[0]
    sample = centered.T @ centered / periods
    delta = shrinkage_intensity(centered)
    shrunk = (1.0 - delta) * sample + delta * np.diag(np.diag(sample))
    # A factor can have no variation at all (the industry factor of a sector's only industry is
    # its sector minus itself): a zero eigenvalue, which rounding can make -1e-18 and a
    # Cholesky factor refuse. A floor far below any real variance keeps F positive definite.
    factor_covariance = (
        0.5 * (shrunk + shrunk.T) * spec.periods_per_year
        + np.eye(shrunk.shape[0]) * _FACTOR_VARIANCE_FLOOR
    )
    specific = residual.var(axis=0) * spec.periods_per_year
    specific = np.maximum(specific, spec.specific_variance_floor)
    return RiskModel(
        symbols=symbols,
        factor_names=tuple(names),
        loadings=np.hstack(loadings),
        factor_covariance=factor_covariance,
        specific_variance=specific,
    )


def history_digest(price_history: FloatArray) -> str:
    """Content hash of a price-history matrix (shape and float64 bytes)."""
    prices = np.ascontiguousarray(price_history, dtype=np.float64)
    digest = hashlib.sha256(repr(prices.shape).encode())
    digest.update(prices.tobytes())
    return digest.hexdigest()


class RiskModelCache:
    """Least-recently-used cache of built risk models, owned by its caller (no module state).

    Keyed by (universe symbols, sectors, industries, as-of date, history digest, spec).
    """

    def __init__(self, max_entries: int = 8) -> None:
        if max_entries <= 0:
            raise ProblemShapeError("max_entries must be > 0")
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[object, ...], RiskModel] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_build(
        self,
        *,
        symbols: tuple[str, ...],
        sectors: tuple[str, ...],
        industries: tuple[str, ...],
        as_of: date,
        price_history: FloatArray,
        spec: RiskModelSpec | None = None,
    ) -> RiskModel:
        """Return the cached model for these inputs, building it on a miss.

        Args:
            symbols: Universe symbols.
            sectors: Sector per name.
            industries: Industry per name.
            as_of: Date the history ends (part of the key only).
            price_history: (T + 1) × n prices, oldest first.
            spec: Builder parameters.

        Returns:
            The risk model.
        """
        spec = spec or RiskModelSpec()
        key = (symbols, sectors, industries, as_of, history_digest(price_history), spec)
        cached = self._entries.get(key)
        if cached is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return cached
        self.misses += 1
        model = build_risk_model(
            symbols=symbols,
            sectors=sectors,
            industries=industries,
            price_history=price_history,
            spec=spec,
        )
        self._entries[key] = model
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return model
