"""What the solvers return: the continuous solution, its status and what each slack stands for.

``problem.py`` produces a ``ContinuousSolution`` (fractions of household value V, before
rounding); ``rounding.py`` turns it into share counts and ``result.py`` into trades, so neither
needs the solvers to read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.optimizer.core.types import FloatArray

STATUS_OPTIMAL = "optimal"
STATUS_INACCURATE = "optimal_inaccurate"
STATUS_INFEASIBLE = "infeasible"
STATUS_FAILED = "failed"  # followed by ":" and the solver's own status


@dataclass(frozen=True, slots=True)
class RowLabel:
    """What an inequality row or elastic slack stands for (for reports)."""

    kind: str  # "cash" | "budget" | "turnover" | "sector_band" | "industry_band" | "name_band"
    name: str  # account id, sector or industry name, "" for turnover


@dataclass(frozen=True, slots=True)
class ContinuousSolution:
    """Solver output mapped back to lots and buys (fractions of V, before rounding)."""

    lot_sell_weights: FloatArray  # every lot (forced = lot weight, frozen = 0)
    buy_weights: FloatArray  # per buy variable of the prepared problem
    objective: float
    status: str  # a STATUS_* value
    solver_name: str
    solve_time_ms: float
    relaxed: tuple[tuple[RowLabel, float], ...]  # (what, slack in fractions of V)
