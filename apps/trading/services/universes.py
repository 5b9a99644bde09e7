"""Compiled run universes (prices, risk model, solver blocks), cached per worker process."""

from collections import OrderedDict

from apps.common.tenancy import current_schema
from apps.optimizer import adapters
from apps.trading.models import RebalanceRun

# Compiled universes of recent runs in this worker process, keyed by (schema, run id).
_UNIVERSES: "OrderedDict[tuple[str, int], adapters.RunUniverse]" = OrderedDict()
_UNIVERSE_CACHE_SIZE = 4


def run_universe_remember(run: RebalanceRun, universe: adapters.RunUniverse) -> None:
    """Keep a universe just built for the run (its chunks in this process reuse it)."""
    _UNIVERSES[(current_schema(), run.pk)] = universe
    _trim()


def _trim() -> None:
    while len(_UNIVERSES) > _UNIVERSE_CACHE_SIZE:
        _UNIVERSES.popitem(last=False)


def run_universe_get(run: RebalanceRun) -> adapters.RunUniverse:
    """The run's universe, compiled (cached per worker process; rebuilt from its snapshot)."""
    key = (current_schema(), run.pk)
    universe = _UNIVERSES.get(key)
    if universe is None:
        universe = adapters.RunUniverse.from_snapshot(run.universe_snapshot)
        _UNIVERSES[key] = universe
        _trim()
    return universe
