"""A system check: the optimizer's settings make a valid ``SolverConfig`` (refused at start-up).

``OPTIMIZER_SOLVER_CONFIG`` comes from environment variables (docs/operations.md); a value the
core refuses (an unknown ``OPTIMIZER_TAX_VALUATION``, a negative rate) would otherwise fail
every run. ``manage.py check`` (and every command, the web and worker processes) reports it.
"""

from typing import Any

from django.core import checks


def solver_config_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """An error when ``settings.OPTIMIZER_SOLVER_CONFIG`` is not a valid ``SolverConfig``."""
    from apps.optimizer.adapters import solver_config

    try:
        solver_config()
    except (TypeError, ValueError) as exc:  # the core's ProblemShapeError is a ValueError
        return [
            checks.Error(
                f"OPTIMIZER_SOLVER_CONFIG is not valid: {exc}",
                hint="see docs/operations.md, 'Optimizer settings'",
                id="optimizer.E001",
            )
        ]
    return []
