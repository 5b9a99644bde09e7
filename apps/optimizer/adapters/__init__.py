"""The only bridge between the books of record (Django rows, Decimal) and the optimizer core.

Reads go through other apps' selectors in a few set-based queries per chunk of accounts;
``Decimal`` becomes ``float`` only here (``money.to_float``) and comes back as ``Decimal``
(``money.to_decimal``), shares rounded toward zero, money to cents. In four rooms:

* ``universe``: the run's names, prices and risk model (once per run), the solver settings;
* ``build``: a chunk's rows → each account's core problem (lots through
  ``accounts.lot_arrays``);
* ``results``: a core result → a proposal's rows and figures;
* ``snapshots``: the stored input of a proposal, for replay and audit.

This module names what the rest of the platform uses.
"""

from apps.optimizer.adapters.build import (
    AccountProblem,
    AccountSkip,
    Reservations,
    account_problems_build,
    input_changes,
    input_digest,
)
from apps.optimizer.adapters.results import (
    DROPPED_LISTED,
    ProposalData,
    TradeData,
    proposal_data_from_result,
    transition_plan_json,
)
from apps.optimizer.adapters.snapshots import (
    problem_from_snapshot,
    problem_snapshot,
    snapshot_pack,
    snapshot_unpack,
)
from apps.optimizer.adapters.universe import RunUniverse, run_universe_build, solver_config

__all__ = [
    "DROPPED_LISTED",
    "AccountProblem",
    "AccountSkip",
    "ProposalData",
    "Reservations",
    "RunUniverse",
    "TradeData",
    "account_problems_build",
    "input_changes",
    "input_digest",
    "problem_from_snapshot",
    "problem_snapshot",
    "proposal_data_from_result",
    "run_universe_build",
    "snapshot_pack",
    "snapshot_unpack",
    "solver_config",
    "transition_plan_json",
]
