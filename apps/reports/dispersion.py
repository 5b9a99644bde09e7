"""Dispersion statistics across accounts on one model: pure numpy on plain arrays.

Floats here are statistics (returns, weights, tracking error), never money (STYLE.md §7).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

TRADING_DAYS = 252


@dataclass(frozen=True, slots=True)
class Spread:
    """A cross-section of accounts: count, quantiles, spread (max - min) and standard deviation."""

    count: int
    low: float
    q1: float
    median: float
    q3: float
    high: float
    stdev: float

    @property
    def range(self) -> float:
        """Max minus min."""
        return self.high - self.low


def spread(values: Sequence[float]) -> Spread | None:
    """Quantiles of the values (None when there are none)."""
    if not values:
        return None
    data = np.asarray(values, dtype=np.float64)
    q = np.quantile(data, [0.0, 0.25, 0.5, 0.75, 1.0])
    return Spread(
        count=len(data),
        low=float(q[0]),
        q1=float(q[1]),
        median=float(q[2]),
        q3=float(q[3]),
        high=float(q[4]),
        stdev=float(data.std(ddof=1)) if len(data) > 1 else 0.0,
    )


def period_return(closes: npt.NDArray[np.float64], weights: npt.NDArray[np.float64]) -> float:
    """Buy-and-hold return of fixed starting weights (cash earns nothing) over the closes.

    Args:
        closes: dates x names closes, no NaN.
        weights: the weights of each name at the start (cash is 1 - sum).
    """
    if closes.shape[0] < 2:
        return 0.0
    growth = closes[-1] / closes[0]
    return float(weights @ (growth - 1.0))


def tracking_error(
    closes: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64],
    model_weights: npt.NDArray[np.float64],
) -> float:
    """Annualised realised tracking error of constant weights against the model's weights."""
    if closes.shape[0] < 3:
        return 0.0
    daily = closes[1:] / closes[:-1] - 1.0
    active = daily @ (weights - model_weights)
    return float(active.std(ddof=1) * np.sqrt(TRADING_DAYS))


def active_weight_spread(
    account_weights: Sequence[Mapping[str, float]], targets: Mapping[str, float]
) -> tuple[float, float]:
    """Cross-account spread of active weights.

    Returns:
        (mean over names of the cross-account standard deviation of the weight,
        mean over accounts of the sum of |active weight| / 2, the share that differs from the
        model).
    """
    if not account_weights:
        return 0.0, 0.0
    names = sorted(set(targets).union(*account_weights))
    matrix = np.array([[w.get(n, 0.0) for n in names] for w in account_weights])
    target = np.array([targets.get(n, 0.0) for n in names])
    cross = matrix.std(axis=0, ddof=1) if len(matrix) > 1 else np.zeros(len(names))
    active_share = np.abs(matrix - target).sum(axis=1) / 2
    return float(cross.mean()) if len(names) else 0.0, float(active_share.mean())
