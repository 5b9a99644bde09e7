"""Typed errors raised by the optimizer core.

Every message says what to relax so that an operator (or the adapter) can act on it without
reading solver logs.
"""

from __future__ import annotations


class OptimizerError(Exception):
    """Base class of every error the optimizer core raises."""


class ProblemShapeError(OptimizerError, ValueError):
    """An input array or collection does not have the shape, sign or range the core expects."""


# The names are the project's public contract (DESIGN.md §3, STYLE.md §3), hence no Error suffix.
class RebalanceInfeasible(OptimizerError):  # noqa: N818
    """No trade list satisfies the hard constraints, even with soft bands and budget.

    Attributes:
        relax: Short names of the constraints the caller could relax, most likely first.
    """

    def __init__(self, message: str, *, relax: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.relax = relax


class SolverFailed(OptimizerError):  # noqa: N818
    """Every configured solver failed (numerical trouble, iteration limit, missing solver).

    Attributes:
        solver_status: The last solver's own status text.
    """

    def __init__(self, message: str, *, solver_status: str = "") -> None:
        super().__init__(message)
        self.solver_status = solver_status
