"""Backtest of the tax-aware rebalancer against a tax-naive advisor baseline (issue 9).

A Django-free package (no models): ``run_backtest`` loads PRICES.csv and SECTORS.json, generates
a seeded book of accounts (``book.py``), simulates both policies day by day through the real
tax-lot engine (``simulate.py``, ``policies.py``, ``ledger.py``), computes the figures
(``metrics.py``) and, with ``out_dir``, writes a markdown report with SVG charts (``report.py``).
The command line is ``python -m apps.backtest`` (and ``python manage.py backtest``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from apps.optimizer.core.types import SolverConfig

if TYPE_CHECKING:
    from apps.backtest.metrics import BacktestResult
    from apps.backtest.seeds import SeedFigures

__all__ = [
    "BacktestOptions",
    "BacktestResult",
    "default_solver_config",
    "run_backtest",
    "run_seeds",
]


def default_solver_config(settings: str = "issue18") -> SolverConfig:
    """The optimizer settings of "ours" (``policies.default_solver_config``, documented there)."""
    from apps.backtest.policies import default_solver_config as solver_config

    return solver_config(settings)


@dataclass(frozen=True, slots=True)
class BacktestOptions:
    """Arguments of :func:`run_backtest` besides the files (defaults are the documented run)."""

    start: date
    end: date
    accounts: int = 100
    seed: int = 0
    model: str = "equal"  # "equal" | "cap" | "funds" | "funds-priced" (``funds.py``)
    scan: str = "weekly"  # "weekly" | "daily"
    workers: int = 2
    fee_rate: float = 0.0020  # a year, of value: what the taxes saved are compared against
    solver: SolverConfig = field(default_factory=default_solver_config)
    try_second_side: bool = True
    rebalance_trigger_te: float = 0.01
    # Harvest-only scans value active variance over about a quarter, not a year: a harvest's
    # deviation lasts until the next full rebalance after the 31-day wash-sale window.
    harvest_risk_scale: float = 0.25
    baseline: str = "fifo"  # "fifo" | "hifo" | "yearend-harvest" | "mechanical" (policies.py)
    # Ours' settings besides ``solver`` (``policies.SETTINGS``): the tracking error target and
    # the name band per account are issue 18's; issue 16's had neither.
    settings: str = "issue18"


def run_backtest(
    prices: str | Path,
    sectors: str | Path,
    options: BacktestOptions,
    out_dir: str | Path | None = None,
) -> BacktestResult:
    """Run the backtest and (with ``out_dir``) write its report.

    Args:
        prices: PRICES.csv (``date`` column then one adjusted close per symbol).
        sectors: SECTORS.json (``{symbol: sector}``).
        options: Window, book size, seed, model, scan, processes, fee, solver settings.
        out_dir: Where ``report.md``, the SVG charts and ``summary.json`` go (None: nowhere).

    Returns:
        The figures per policy and per account, with ``summary_line()``.
    """
    from apps.backtest.book import CASH_TARGET_WEIGHT, make_book, model_weights
    from apps.backtest.data import load_dataset
    from apps.backtest.funds import fund_dataset, fund_model_weights
    from apps.backtest.metrics import BacktestResult, compute
    from apps.backtest.policies import NAME_BAND_RATE, SETTINGS, TRACKING_ERROR_TARGET
    from apps.backtest.simulate import SimulationSettings, simulate

    if options.settings not in SETTINGS:
        raise ValueError(f"settings must be one of {SETTINGS}, got {options.settings!r}")
    legacy = options.settings == "issue16"

    data = load_dataset(prices, sectors)
    start = data.index_on_or_after(options.start)
    end = data.index_on_or_before(options.end)
    if end <= start:
        raise ValueError(f"the window {options.start}..{options.end} has fewer than two days")
    if options.model in ("funds", "funds-priced"):
        data = fund_dataset(data, look_through=options.model == "funds")
        targets = fund_model_weights(CASH_TARGET_WEIGHT)
    else:
        targets = model_weights(len(data.symbols), options.model, options.seed)
    book = make_book(
        data, accounts=options.accounts, seed=options.seed, start=start, end=end, targets=targets
    )
    settings = SimulationSettings(
        start=start,
        end=end,
        targets=targets,
        scan=options.scan,
        solver=options.solver,
        try_second_side=options.try_second_side,
        rebalance_trigger_te=options.rebalance_trigger_te,
        harvest_risk_scale=options.harvest_risk_scale,
        workers=options.workers,
        baseline=options.baseline,
        tracking_error_target=None if legacy else TRACKING_ERROR_TARGET,
        name_band_rate=None if legacy else NAME_BAND_RATE,
    )
    runs, wall = simulate(data, book, settings)
    policies, per_account, saved, cohort = compute(
        runs=runs,
        book=book,
        data=data,
        start=start,
        end=end,
        targets=targets,
        fee_rate=options.fee_rate,
    )
    ours_runs = [r for r in runs if r.policy == "ours"]
    solves = sum(r.stats.solves for r in ours_runs)
    notes = [n for r in ours_runs for n in r.stats.notes]
    result = BacktestResult(
        accounts=len(book),
        start=data.dates[start].isoformat(),
        end=data.dates[end].isoformat(),
        source=data.source,
        scan=options.scan,
        model=options.model,
        seed=options.seed,
        runtime_seconds=wall,
        policies=policies,
        per_account=per_account,
        saved_vs_fees=saved,
        cohort_label=cohort,
        solver={
            "solves": float(solves),
            "failures": float(sum(r.stats.failures for r in ours_runs)),
            "second_candidates": float(sum(r.stats.second_candidates for r in ours_runs)),
            "second_chosen": float(sum(r.stats.second_chosen for r in ours_runs)),
            "relaxed": float(sum(r.stats.relaxed for r in ours_runs)),
            "violations": float(sum(r.stats.violations for r in ours_runs)),
            "budget_retries": float(sum(r.stats.budget_retries for r in ours_runs)),
            "raise_cash_retries": float(sum(r.stats.raise_cash_retries for r in ours_runs)),
            "budget_overshoots": float(sum(r.stats.budget_overshoots for r in ours_runs)),
            "mean_ms": sum(r.stats.time_ms for r in ours_runs) / max(solves, 1),
            "shortfall_ours": sum(r.shortfall for r in ours_runs),
            "shortfall_naive": sum(r.shortfall for r in runs if r.policy == "naive"),
            "replays": float(sum(r.replays for r in runs)),
        },
        notes=notes,
    )
    if out_dir is not None:
        from apps.backtest.report import write_report

        write_report(result, Path(out_dir), data=data, book=book)
    return result


def run_seeds(
    prices: str | Path,
    sectors: str | Path,
    options: BacktestOptions,
    seeds: int,
    out_dir: str | Path | None = None,
) -> SeedFigures:
    """Run the books seeded ``options.seed`` .. ``options.seed + seeds - 1`` (``seeds.py``).

    Args:
        prices: PRICES.csv.
        sectors: SECTORS.json.
        options: The run's options; ``seed`` is the first seed.
        seeds: Number of seeds (>= 1).
        out_dir: With one seed the report goes there; with more, to ``<out_dir>/seed-<s>``.

    Returns:
        The per-seed figures (mean, interval and the summary line over the seeds).
    """
    from dataclasses import replace

    from apps.backtest.seeds import SeedFigures

    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    numbers = tuple(range(options.seed, options.seed + seeds))
    per_seed = []
    for seed in numbers:
        out = None if out_dir is None else Path(out_dir) / f"seed-{seed}" if seeds > 1 else out_dir
        result = run_backtest(prices, sectors, replace(options, seed=seed), out)
        per_seed.append(result.figures())
    return SeedFigures(accounts=options.accounts, seeds=numbers, per_seed=tuple(per_seed))


def __getattr__(name: str) -> object:
    # BacktestResult is re-exported lazily, so that ``python -m apps.backtest.data`` does not
    # import the data module twice.
    if name == "BacktestResult":
        from apps.backtest.metrics import BacktestResult

        return BacktestResult
    raise AttributeError(name)
