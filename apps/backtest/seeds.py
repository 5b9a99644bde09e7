"""Figures over several seeded books: the mean and a 90% interval per figure.

Seed ``S`` with ``N`` seeds runs the books seeded ``S, S+1, ..., S+N-1`` (same window, options
and prices) and reports every figure of ``BacktestResult.figures`` as its mean over the seeds and
an interval: the 5th-95th percentile of the per-seed figures (numpy's linear interpolation) when
there are at least ``PERCENTILE_FROM`` seeds; with fewer, a 90% percentile interval says little,
so the interval is the min-max of the per-seed figures. A figure that is undefined for a seed
(e.g. no calendar year with three composite members: NaN) is left out of that figure's mean and
interval; the count of seeds it was defined for is reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from apps.backtest.metrics import summary_line

__all__ = ["PERCENTILE_FROM", "SeedFigures"]

PERCENTILE_FROM = 20  # seeds from which the interval is the 5th-95th percentile (else min-max)


@dataclass(frozen=True, slots=True)
class SeedFigures:
    """The per-seed figures of one run over several seeds (units: ``BacktestResult.figures``)."""

    accounts: int
    seeds: tuple[int, ...]
    per_seed: tuple[dict[str, float], ...]  # in ``seeds`` order

    @property
    def interval_kind(self) -> str:
        """What the interval is: "5th-95th percentile" or "min-max"."""
        return "5th-95th percentile" if len(self.seeds) >= PERCENTILE_FROM else "min-max"

    def values(self, name: str) -> list[float]:
        """The figure's defined (not NaN) per-seed values."""
        return [f[name] for f in self.per_seed if not math.isnan(f[name])]

    def mean(self, name: str) -> float:
        """Mean over the seeds the figure is defined for (NaN: none)."""
        values = self.values(name)
        return float(np.mean(values)) if values else math.nan

    def interval(self, name: str) -> tuple[float, float]:
        """(low, high): the 5th-95th percentile, or min-max below ``PERCENTILE_FROM`` seeds."""
        values = self.values(name)
        if not values:
            return math.nan, math.nan
        if len(self.seeds) >= PERCENTILE_FROM:
            low, high = np.percentile(values, [5.0, 95.0])
            return float(low), float(high)
        return min(values), max(values)

    def table(self) -> list[str]:
        """One line per figure: ``name mean [low, high] (k of n seeds)``."""
        lines = [
            f"seeds {self.seeds[0]}..{self.seeds[-1]} ({len(self.seeds)}): "
            f"mean [{self.interval_kind}]"
        ]
        for name in self.per_seed[0]:
            low, high = self.interval(name)
            lines.append(
                f"  {name:30} {self.mean(name):14.3f} [{low:.3f}, {high:.3f}]"
                f" ({len(self.values(name))} of {len(self.seeds)} seeds)"
            )
        return lines

    def summary_line(self) -> str:
        """The last line: every field the mean over the seeds, then ``seeds=<n>``."""
        means = {name: self.mean(name) for name in self.per_seed[0]}
        return summary_line(self.accounts, means, seeds=len(self.seeds))
