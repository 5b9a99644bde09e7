"""Benchmark: tax-aware rebalancing time per account, fast path vs a naive cvxpy baseline.

Usage:
    .venv/bin/python bench/optimizer.py --names 500 --accounts 60
    .venv/bin/python bench/optimizer.py --names 50 --accounts 300

Synthetic data (seeded, see ``apps/optimizer/core/synthetic.py``): one universe of ``--names``
names in 11 sectors with the default risk model (docs/optimizer.md; 51 factors at 500 names:
market, 11 sectors, 33 industries, 3 styles, 3 statistical) built from 260 days of simulated
prices; ``--accounts`` accounts with 1-8 lots per held name, lot ages up to 5 years, mixed gains
and losses, a never-buy, a never-sell and a must-sell name, wash-sale locks, 3% sector bands, a
cash reserve, a minimum trade and a gains budget.

Per account, both paths run the same pipeline (prepare -> solve -> round -> re-check -> result):

* ours:  the universe is compiled once (reported separately), then a sparse QP is assembled
         from the compiled blocks and solved by PIQP directly;
* naive: a new cvxpy Problem per account solved with Clarabel.

Each path is warmed up on one account that is not timed; each runs in its own loop over all
accounts. The script checks that the continuous
objectives agree and counts constraint violations on the final (rounded) trades of our path;
the last line is the summary.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.optimizer.core.prepare import prepare_problem
from apps.optimizer.core.problem import compile_universe, solve_with_cvxpy, solve_with_piqp
from apps.optimizer.core.result import build_result
from apps.optimizer.core.rounding import round_and_repair
from apps.optimizer.core.solve import solve_rebalance
from apps.optimizer.core.synthetic import make_account, make_universe
from apps.optimizer.core.types import SolverConfig


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    config = SolverConfig()
    naive_config = SolverConfig(solver="CLARABEL", fallback_solver=None)
    start = time.perf_counter()
    synthetic = make_universe(args.names, seed=args.seed)
    risk_ms = (time.perf_counter() - start) * 1e3
    start = time.perf_counter()
    compiled = compile_universe(synthetic.universe, synthetic.risk_model, config)
    compile_ms = (time.perf_counter() - start) * 1e3
    problems = [
        make_account(synthetic, seed=args.seed * 100_003 + a, account_id=f"A{a}")
        for a in range(args.accounts + 1)
    ]
    warmup, problems = problems[0], problems[1:]
    solve_rebalance(warmup, config, compiled)
    solve_rebalance(warmup, naive_config, compiled)

    ours_ms: list[float] = []
    solver_ms: list[float] = []
    naive_ms: list[float] = []
    violations = 0
    relaxed = 0
    objective_gap_bp: list[float] = []
    stages: dict[str, list[float]] = {"prepare": [], "solve": [], "round": [], "result": []}
    lots: list[int] = []
    trades: list[int] = []
    gc.collect()
    for problem in problems:
        start = time.perf_counter()
        result = solve_rebalance(problem, config, compiled)
        ours_ms.append((time.perf_counter() - start) * 1e3)
        solver_ms.append(result.solve_time_ms)
        violations += len(result.violations)
        relaxed += bool(result.relaxed)
        lots.append(len(problem.lots))
        trades.append(len(result.trades))
    # The naive path runs in its own loop so its garbage (cvxpy expression trees) is not
    # collected inside our timings.
    gc.collect()
    for problem in problems:
        start = time.perf_counter()
        solve_rebalance(problem, naive_config, compiled)
        naive_ms.append((time.perf_counter() - start) * 1e3)
    for problem in problems:
        # Objective agreement of the two solvers on the same (non-elastic) program, in bp of V,
        # and a per-stage breakdown of our path (re-run, so it is not part of the timing above).
        household = problem.as_household()
        mark = time.perf_counter()
        prepared = prepare_problem(household, config)
        stages["prepare"].append((time.perf_counter() - mark) * 1e3)
        mark = time.perf_counter()
        fast = solve_with_piqp(prepared, compiled, config)
        stages["solve"].append((time.perf_counter() - mark) * 1e3)
        mark = time.perf_counter()
        rounded = round_and_repair(household, prepared, fast, config)
        stages["round"].append((time.perf_counter() - mark) * 1e3)
        mark = time.perf_counter()
        build_result(
            problem=household,
            prepared=prepared,
            compiled=compiled,
            config=config,
            solution=fast,
            rounded=rounded,
            relaxed=(),
            started_at=mark,
        )
        stages["result"].append((time.perf_counter() - mark) * 1e3)
        slow = solve_with_cvxpy(prepared, compiled, config)
        if fast.status == slow.status == "optimal":
            objective_gap_bp.append(abs(fast.objective - slow.objective) * 1e4)

    median = statistics.median(ours_ms)
    naive_median = statistics.median(naive_ms)
    print(
        f"universe: names={args.names} factors={compiled.factor_count} "
        f"risk_model_build_ms={risk_ms:.1f} compile_ms={compile_ms:.2f}"
    )
    print(
        f"accounts: n={len(problems)} lots_median={statistics.median(lots):.0f} "
        f"trades_median={statistics.median(trades):.0f} elastic_resolves={relaxed}"
    )
    print(
        f"ours: median_ms={median:.2f} p90_ms={_percentile(ours_ms, 90):.2f} "
        f"solver_median_ms={statistics.median(solver_ms):.2f} "
        f"accounts_per_s={1e3 / statistics.mean(ours_ms):.0f}"
    )
    print(
        "ours by stage (median ms): "
        + " ".join(f"{name}={statistics.median(v):.2f}" for name, v in stages.items())
        + " (solve = QP assembly + PIQP)"
    )
    print(
        f"naive: median_ms={naive_median:.2f} p90_ms={_percentile(naive_ms, 90):.2f} "
        f"(new cvxpy Problem per account, Clarabel)"
    )
    gap = max(objective_gap_bp) if objective_gap_bp else float("nan")
    print(
        f"objective agreement: compared={len(objective_gap_bp)} max_abs_gap_bp={gap:.2e} "
        "(PIQP vs Clarabel, continuous, non-elastic)"
    )
    print(
        f"optimizer names={args.names} accounts={args.accounts} median_ms={median:.2f} "
        f"p90_ms={_percentile(ours_ms, 90):.2f} naive_median_ms={naive_median:.2f} "
        f"speedup={naive_median / median:.2f} violations={violations}"
    )


if __name__ == "__main__":
    main()
