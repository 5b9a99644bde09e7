"""``python -m apps.backtest``: the backtest from the command line.

``--prices P --sectors S --start D --end D --accounts N --seed S [--seeds N] [--out DIR]``:
The same arguments as ``python manage.py backtest``; needs no Django and no database.
With ``--seeds N`` the books seeded S..S+N-1 run one after the other; every figure is printed
as its mean and interval over the seeds (``seeds.py``) and the last line carries the means.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date

from apps.backtest.policies import BASELINES, SETTINGS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments (shared with the Django management command)."""
    parser.add_argument("--prices", required=True, help="PRICES.csv: date + one close per symbol")
    parser.add_argument("--sectors", required=True, help="SECTORS.json: {symbol: sector}")
    parser.add_argument("--start", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--end", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="the (first) book's seed")
    parser.add_argument("--seeds", type=int, default=1, help="books seeded S, S+1, ..., S+N-1")
    parser.add_argument(
        "--baseline",
        choices=BASELINES,
        default="fifo",
        help="the tax-naive advisor's variant (docs/evidence.md)",
    )
    parser.add_argument("--out", default=None, help="report directory (markdown + SVG)")
    parser.add_argument(
        "--model",
        choices=("equal", "cap", "funds", "funds-priced"),
        default="equal",
        help="funds: documented baskets of the prices, seen through their holdings (funds.py)",
    )
    parser.add_argument("--scan", choices=("weekly", "daily"), default="weekly")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fee-rate", type=float, default=0.0020, help="a year, fraction")
    parser.add_argument(
        "--engine",
        dest="engine",
        choices=SETTINGS,
        default=SETTINGS[0],
        help="ours' settings: today's, or issue 16's (docs/evidence.md)",
    )
    parser.add_argument("--risk-aversion", type=float, default=None)
    parser.add_argument(
        "--harvest-risk-scale",
        type=float,
        default=0.25,
        help="risk aversion of harvest-only scans as a fraction of the full rebalance's",
    )


def run(args: argparse.Namespace, write: Callable[[str], object] = print) -> int:
    """Run with parsed arguments; the last line written is the summary line."""
    from dataclasses import replace

    from apps.backtest import BacktestOptions, default_solver_config, run_seeds

    solver = default_solver_config(args.engine)
    if args.risk_aversion is not None:
        solver = replace(solver, risk_aversion=args.risk_aversion)
    options = BacktestOptions(
        start=args.start,
        end=args.end,
        accounts=args.accounts,
        seed=args.seed,
        model=args.model,
        scan=args.scan,
        workers=args.workers,
        fee_rate=args.fee_rate,
        solver=solver,
        harvest_risk_scale=args.harvest_risk_scale,
        baseline=args.baseline,
        settings=args.engine,
    )
    started = time.perf_counter()
    figures = run_seeds(args.prices, args.sectors, options, args.seeds, args.out)
    write(
        f"runtime_seconds={time.perf_counter() - started:.1f} baseline={args.baseline} "
        f"engine={args.engine}"
    )
    if args.out:
        write(f"reports: {args.out}" + ("/seed-<s>" if args.seeds > 1 else "") + "/report.md")
    for line in figures.table():
        write(line)
    write(figures.summary_line())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m apps.backtest``."""
    parser = argparse.ArgumentParser(prog="python -m apps.backtest", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
