"""Benchmark: what a transition plan costs per account, against one plain solve of that account.

Usage:
    .venv/bin/python bench/transition.py --names 500 --accounts 20

Synthetic data (seeded, ``apps/optimizer/core/synthetic.py``): one universe of ``--names`` names
with its 15-factor risk model, compiled once; ``--accounts`` accounts (1-8 lots per held name,
mixed gains and losses, a gains budget). Per account:

* baseline: one ``solve_rebalance`` (what a run does for an ordinary account);
* measured: ``plan_transition`` for N = 1, 3 and 5 years left (the full move, then three
  schedules simulated year by year, the last year's risk aversion raised when needed), which a
  run adds for an account in a transition before its own solve.

Each path is warmed up on one account that is not timed. Lines per N, then the summary:

    transition names=<n> accounts=<n> solve_ms=<x> plan1_ms=<x> plan3_ms=<x> plan5_ms=<x> \
ratio5=<x> peak_rss_mb=<x>
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.optimizer.core.problem import compile_universe
from apps.optimizer.core.solve import solve_rebalance
from apps.optimizer.core.synthetic import make_account, make_universe
from apps.optimizer.core.transition import plan_transition
from apps.optimizer.core.types import RebalanceProblem, SolverConfig

HORIZONS = (1, 3, 5)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=20)
    args = parser.parse_args(argv)
    config = SolverConfig()
    synthetic = make_universe(args.names, seed=1)
    compiled = compile_universe(synthetic.universe, synthetic.risk_model, config)
    solve = partial(solve_rebalance, config=config, compiled=compiled)
    accounts = [make_account(synthetic, seed=100 + k) for k in range(args.accounts + 1)]

    def plan(problem: RebalanceProblem, years: int) -> None:
        plan_transition(
            problem,
            years=years,
            solve=solve,
            risk_aversion=config.risk_aversion,
            tolerance_rate=0.01,
            discount_rate=0.05,
            annual_profile=problem.tax_profile,
        )

    solve(accounts[0])  # warm-up
    plan(accounts[0], 3)
    timed = accounts[1:]
    solve_ms = []
    for problem in timed:
        start = time.perf_counter()
        solve(problem)
        solve_ms.append((time.perf_counter() - start) * 1000)
    plan_ms: dict[int, list[float]] = {n: [] for n in HORIZONS}
    for years in HORIZONS:
        for problem in timed:
            start = time.perf_counter()
            plan(problem, years)
            plan_ms[years].append((time.perf_counter() - start) * 1000)
    base = statistics.median(solve_ms)
    for years in HORIZONS:
        median = statistics.median(plan_ms[years])
        sys.stdout.write(
            f"N={years}: plan median {median:.1f} ms, {median / base:.1f}x one solve "
            f"(max {max(plan_ms[years]):.1f} ms)\n"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    medians = {n: statistics.median(plan_ms[n]) for n in HORIZONS}
    sys.stdout.write(
        f"transition names={args.names} accounts={len(timed)} solve_ms={base:.1f} "
        f"plan1_ms={medians[1]:.1f} plan3_ms={medians[3]:.1f} plan5_ms={medians[5]:.1f} "
        f"ratio5={medians[5] / base:.1f} peak_rss_mb={peak:.0f}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
