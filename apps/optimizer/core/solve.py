"""The one entry point of the core: prepare → build → solve → round → result, per household.

``solve_household`` (and ``solve_rebalance``, a household of one) calls the stages in order:
``prepare.prepare_problem`` (arrays, side rule, states), ``problem.solve_continuous`` (the sparse
QP and its solvers, elastic when infeasible), ``rounding.round_and_repair`` (whole shares,
repairs, re-check) and ``result.build_result`` (trades, reasons, metrics); then holds the
problem's tracking error target by raising the risk aversion. The stages import none of this
module: the core has no import loop.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from apps.optimizer.core.errors import ProblemShapeError, RebalanceInfeasible, SolverFailed
from apps.optimizer.core.prepare import PreparedProblem, budget_relaxation_text, prepare_problem
from apps.optimizer.core.problem import (
    CompiledUniverse,
    compile_universe,
    risk_model_digest,
    solve_continuous,
)
from apps.optimizer.core.result import build_result
from apps.optimizer.core.rounding import round_and_repair
from apps.optimizer.core.solution import STATUS_INFEASIBLE, RowLabel
from apps.optimizer.core.types import (
    HouseholdProblem,
    RebalanceProblem,
    RebalanceResult,
    SolverConfig,
)


def _relaxation_text(label: RowLabel, amount: float, prepared: PreparedProblem) -> str:
    value = prepared.value_amount
    if label.kind == "budget":
        return budget_relaxation_text(label.name, amount * value)
    if label.kind == "turnover":
        return f"turnover_cap exceeded by {amount:.4%} of value"
    return f"{label.kind}[{label.name}] exceeded by {amount:.4%} of value"


def solve_household(
    problem: HouseholdProblem,
    config: SolverConfig | None = None,
    compiled: CompiledUniverse | None = None,
) -> RebalanceResult:
    """Rebalance a household (several accounts solved jointly) tax-aware.

    Args:
        problem: The household problem.
        config: Solver configuration; defaults to ``SolverConfig()``.
        compiled: A compiled universe for ``problem.universe`` and ``problem.risk_model`` (pass
            it when solving many accounts against the same universe).

    Returns:
        The rounded, re-checked trades with metrics, taxes and the tax-naive counterfactual.

    Raises:
        RebalanceInfeasible: When even the elastic problem is infeasible.
        SolverFailed: When every configured solver failed.
    """
    config = config or SolverConfig()
    start = time.perf_counter()
    result = _solve_at_scale(problem, config, compiled, start)
    target = problem.tracking_error_target
    if target is None or result.after.active_risk_rate <= target * (1.0 + TE_TOLERANCE):
        return result
    # Raise the risk aversion until the tracking error target holds: the variance falls about
    # as 1/λ² near the optimum, so scale λ by (TE/target)², at least ×1.5, at most ×100 a step.
    scale = missed = problem.risk_aversion_scale  # ``missed``: the last scale above the target
    first = result.after.active_risk_rate
    for _ in range(config.tracking_error_step_limit):
        te = result.after.active_risk_rate
        if te <= target * (1.0 + TE_TOLERANCE):
            break
        missed = scale
        scale *= min(max((te / target) ** 2, 1.5), 100.0)
        better = _solve_at_scale(replace(problem, risk_aversion_scale=scale), config, None, start)
        if better.after.active_risk_rate >= te * (1.0 - TE_TOLERANCE):
            break  # the rest is not the risk aversion's to remove (bands, budgets, locks)
        result = better
    if result.after.active_risk_rate < target * OVERSHOT and scale > missed:
        # The last step overshot (well under the target): one geometric step back, kept when
        # it still holds the target (less risk aversion, less tax paid for the target).
        between = _solve_at_scale(
            replace(problem, risk_aversion_scale=(scale * missed) ** 0.5), config, None, start
        )
        if between.after.active_risk_rate <= target * (1.0 + TE_TOLERANCE):
            result = between
    now = result.after.active_risk_rate
    if result.risk_aversion_used == config.risk_aversion * problem.risk_aversion_scale:
        note = (
            f"the tracking error stays at {now:.2%}, above the {target:.2%} target: a higher "
            "risk aversion did not lower it (bands, budgets, wash-sale locks or whole shares "
            "hold it there)"
        )
    else:
        note = (
            f"risk aversion raised to {result.risk_aversion_used:g} to bring the tracking error "
            f"from {first:.2%} toward the {target:.2%} target (now {now:.2%})"
        )
    return replace(result, tracking_error_note=note)


TE_TOLERANCE = 0.02  # a tracking error within 2% of its target meets it
OVERSHOT = 0.7  # a step that lands under 70% of the target overshot it


def _solve_at_scale(
    problem: HouseholdProblem,
    config: SolverConfig,
    compiled: CompiledUniverse | None,
    start: float,
) -> RebalanceResult:
    """One solve at the problem's risk aversion scale (``solve_household`` without the target)."""
    if problem.risk_aversion_scale != 1.0:
        config = replace(config, risk_aversion=config.risk_aversion * problem.risk_aversion_scale)
        compiled = None  # compiled for the run's risk aversion: this problem needs its own
    if compiled is None:
        compiled = compile_universe(problem.universe, problem.risk_model, config)
    elif (
        compiled.symbols != problem.universe.symbols
        or compiled.risk_aversion != config.risk_aversion
        or compiled.risk_model_digest != risk_model_digest(problem.risk_model)
    ):
        raise ProblemShapeError("compiled universe does not match the problem or config")
    prepared = prepare_problem(problem, config)
    try:
        solution = solve_continuous(prepared, compiled, config)
        needs_elastic = solution.status == STATUS_INFEASIBLE
    except SolverFailed:
        # A budget with no room pins its lots at zero and leaves the feasible set no interior;
        # interior-point solvers may then stop at their limits. The elastic form has one (its
        # slacks cost far more than any trade gains, so it only relaxes what must give way).
        if not np.isfinite(prepared.budget_limit_weights).any():
            raise
        needs_elastic = True
    relaxed: tuple[str, ...] = ()
    if needs_elastic:
        solution = solve_continuous(prepared, compiled, config, is_elastic=True)
        if solution.status == STATUS_INFEASIBLE:
            raise RebalanceInfeasible(
                "no trades satisfy the cash floor and the restrictions even with soft bands, "
                "budget and turnover; lower the cash reserve or withdrawals, or lift never-sell "
                "restrictions",
                relax=("cash_reserve_amount", "withdrawals_due_amount", "never_sell"),
            )
        relaxed = tuple(
            _relaxation_text(label, amount, prepared) for label, amount in solution.relaxed
        )
    rounded = round_and_repair(problem, prepared, solution, config)
    result = build_result(
        problem=problem,
        prepared=prepared,
        compiled=compiled,
        config=config,
        solution=solution,
        rounded=rounded,
        relaxed=relaxed,
        started_at=start,
    )
    return replace(result, risk_aversion_used=config.risk_aversion)


def solve_rebalance(
    problem: RebalanceProblem,
    config: SolverConfig | None = None,
    compiled: CompiledUniverse | None = None,
) -> RebalanceResult:
    """Rebalance one account tax-aware (a household of one).

    Args:
        problem: The account problem.
        config: Solver configuration; defaults to ``SolverConfig()``.
        compiled: Optional compiled universe reused across accounts.

    Returns:
        The rebalance result.
    """
    return solve_household(problem.as_household(), config, compiled)
