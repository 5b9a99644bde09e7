"""Risk-model check: predicted against realized tracking error of active portfolios on real prices.

Usage::

    .venv/bin/python -m apps.backtest.riskcheck --prices P --sectors S [--step 21] [--seed 0]
        [--ablation] [--holdout]

Every ``--step`` trading days inside each window of ``WINDOWS`` (the backtest's; with
``--holdout`` the years between them, ``HOLDOUT_WINDOWS``) the risk model of that day is
built the way the backtest builds it (``simulate.risk_model_on``: trailing 252 daily returns, no
look-ahead) once with ``OLD_SPEC`` (market, sectors, statistical factors, equal weights: the
model before industries, styles and exponential weights) and once with ``RiskModelSpec()``.
Both predict the annualised tracking error σ̂ of two kinds of active portfolio (weights held
fixed over the horizon):

* ``random``: ``RANDOM_PORTFOLIOS`` long/short portfolios of 4 random names, normal weights
  demeaned to sum 0 and scaled to 10% gross;
* ``harvest``: for each name, sell 5% of value of it and spread the proceeds equally over its
  sector peers (over every other name when it is alone in its sector): a harvest deviation.

The realized side is the active return a_s = eᵀ r_s of the next ``HORIZON_DAYS`` trading days.
Two statistics per spec (Barra USE4 methodology notes, "bias statistic"; Menchero, Orr and Wang
2011):

* bias: the standard deviation of z_s = a_s / (σ̂ / √252) pooled over portfolios, dates and days;
  1.0 is a calibrated forecast, above 1 under-predicts risk, below 1 over-predicts it;
* mae_log: the mean over portfolios and dates of |ln(σ̂ / σ)|, σ the realized volatility of the
  horizon (sample standard deviation of a_s × √252); 0 is perfect, it also penalises a model
  that is right on average but ranks portfolios badly.

The last line is ``riskcheck old_bias=<x> new_bias=<x> old_mae_log=<x> new_mae_log=<x>``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from apps.backtest.data import PriceData, load_dataset
from apps.backtest.simulate import RISK_LOOKBACK_DAYS, risk_model_on
from apps.optimizer.core.risk import RiskModelSpec
from apps.optimizer.core.types import FloatArray

HORIZON_DAYS = 63
RANDOM_PORTFOLIOS = 20
RANDOM_NAMES = 4
RANDOM_GROSS = 0.10
HARVEST_WEIGHT = 0.05
WINDOWS = (
    ("1995-99", date(1995, 1, 1), date(1999, 12, 31)),
    ("2000-02", date(2000, 1, 1), date(2002, 12, 31)),
    ("2007-09", date(2007, 1, 1), date(2009, 12, 31)),
    ("2019-21", date(2019, 1, 1), date(2021, 12, 31)),
    ("2022", date(2022, 1, 1), date(2022, 12, 31)),
)
# The years between the backtest's windows (``--holdout``): none of the defaults was chosen on them.
HOLDOUT_WINDOWS = (
    ("1991-94", date(1991, 1, 1), date(1994, 12, 31)),
    ("2003-06", date(2003, 1, 1), date(2006, 12, 31)),
    ("2010-18", date(2010, 1, 1), date(2018, 12, 31)),
)
OLD_SPEC = RiskModelSpec(
    include_industry_factors=False,
    style_factors=(),
    volatility_half_life=None,
    correlation_half_life=None,
)
# One change at a time from the new default, for the table in docs/optimizer.md.
ABLATIONS = {
    "old + industries": RiskModelSpec(style_factors=(), volatility_half_life=None),
    "old + styles": RiskModelSpec(include_industry_factors=False, volatility_half_life=None),
    "old + ewma 90": RiskModelSpec(include_industry_factors=False, style_factors=()),
    "new, no industries": RiskModelSpec(include_industry_factors=False),
    "new, ewma 45": RiskModelSpec(volatility_half_life=45.0),
    "new, ewma 180": RiskModelSpec(volatility_half_life=180.0),
    "new, corr ewma 126": RiskModelSpec(correlation_half_life=126.0),
    "new, no stat factors": RiskModelSpec(statistical_factor_count=0),
}


@dataclass
class Tally:
    """Standardised daily active returns and log ratios predicted/realized of one spec."""

    z: list[FloatArray] = field(default_factory=list)
    log_ratio: list[float] = field(default_factory=list)

    def add(self, predicted: FloatArray, active: FloatArray) -> None:
        """Add portfolios: annualised σ̂ (p) and their daily active returns (h × p)."""
        self.z.append((active / (predicted / np.sqrt(252.0))).ravel())
        realized = active.std(axis=0, ddof=1) * np.sqrt(252.0)
        self.log_ratio.extend(np.abs(np.log(predicted / realized)).tolist())

    def bias(self) -> float:
        """Standard deviation of the standardised active returns (1.0 is calibrated)."""
        return float(np.concatenate(self.z).std(ddof=1))

    def mae_log(self) -> float:
        """Mean absolute log ratio of predicted to realized tracking error."""
        return float(np.mean(self.log_ratio))


def active_portfolios(sectors: tuple[str, ...], rng: np.random.Generator) -> dict[str, FloatArray]:
    """The check's active-weight vectors by kind, one per column (see the module docstring)."""
    n = len(sectors)
    random = np.zeros((n, RANDOM_PORTFOLIOS))
    for j in range(RANDOM_PORTFOLIOS):
        names = rng.choice(n, RANDOM_NAMES, replace=False)
        weights = rng.normal(size=RANDOM_NAMES)
        weights -= weights.mean()
        random[names, j] = RANDOM_GROSS * weights / np.abs(weights).sum()
    harvest = np.zeros((n, n))
    for i in range(n):
        peers = [k for k in range(n) if k != i and sectors[k] == sectors[i]]
        peers = peers or [k for k in range(n) if k != i]
        harvest[i, i] = -HARVEST_WEIGHT
        harvest[peers, i] = HARVEST_WEIGHT / len(peers)
    return {"random": random, "harvest": harvest}


def check_days(data: PriceData, start: date, end: date, step: int) -> list[int]:
    """Every ``step``-th trading day in the window with a full history and horizon (maybe none)."""
    if end < data.dates[0] or start > data.dates[-1]:
        return []
    first = max(data.index_on_or_after(start), RISK_LOOKBACK_DAYS)
    last = min(data.index_on_or_before(end), len(data.dates) - 1 - HORIZON_DAYS)
    return list(range(first, last + 1, step))


def run_check(
    data: PriceData,
    specs: dict[str, RiskModelSpec],
    step: int,
    seed: int,
    windows: tuple[tuple[str, date, date], ...] = WINDOWS,
) -> dict[tuple[str, str, str], Tally]:
    """Tallies keyed by (window, kind, spec) with ("all", "all", spec) pooling everything."""
    tallies: dict[tuple[str, str, str], Tally] = {}
    for window, start, end in windows:
        for t in check_days(data, start, end, step):
            portfolios = active_portfolios(data.sectors, np.random.default_rng([seed, t]))
            future = data.closes[t + 1 : t + 1 + HORIZON_DAYS] / data.closes[t : t + HORIZON_DAYS]
            for label, spec in specs.items():
                model = risk_model_on(data, t, spec)
                for kind, weights in portfolios.items():
                    predicted = np.sqrt([model.active_variance(e) for e in weights.T])
                    active = (future - 1.0) @ weights
                    for key in (
                        (window, kind, label),
                        (window, "all", label),
                        ("all", "all", label),
                    ):
                        tallies.setdefault(key, Tally()).add(predicted, active)
    return tallies


def main(argv: Sequence[str] | None = None, write: Callable[[str], object] = print) -> int:
    """Run the check and print per-window figures; the last line is the summary."""
    parser = argparse.ArgumentParser(prog="python -m apps.backtest.riskcheck")
    parser.add_argument("--prices", required=True, help="PRICES.csv: date + one close per symbol")
    parser.add_argument("--sectors", required=True, help="SECTORS.json (with industries)")
    parser.add_argument("--step", type=int, default=21, help="trading days between check dates")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random portfolios")
    parser.add_argument("--ablation", action="store_true", help="also one change at a time")
    parser.add_argument("--holdout", action="store_true", help="the years between the windows")
    args = parser.parse_args(argv)
    if args.step < 1:
        parser.error("--step must be >= 1")
    data = load_dataset(args.prices, args.sectors)
    specs = {"old": OLD_SPEC, "new": RiskModelSpec(), **(ABLATIONS if args.ablation else {})}
    windows = HOLDOUT_WINDOWS if args.holdout else WINDOWS
    tallies = run_check(data, specs, args.step, args.seed, windows)
    if not tallies:
        parser.error(f"no check day: a window needs {RISK_LOOKBACK_DAYS} days before it")
    write(f"{'window':8} {'kind':8} {'spec':22} {'bias':>6} {'mae_log':>8} {'n':>7}")
    for (window, kind, label), tally in tallies.items():
        count = len(tally.log_ratio)
        write(
            f"{window:8} {kind:8} {label:22} {tally.bias():6.3f} {tally.mae_log():8.3f} {count:7d}"
        )
    old, new = tallies[("all", "all", "old")], tallies[("all", "all", "new")]
    write(
        f"riskcheck old_bias={old.bias():.3f} new_bias={new.bias():.3f} "
        f"old_mae_log={old.mae_log():.3f} new_mae_log={new.mae_log():.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
