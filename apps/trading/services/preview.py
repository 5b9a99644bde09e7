"""Preview one account's rebalance now (nothing stored), and submit it as a one-account run."""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import User

from apps.accounts.models import Account
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import require_tenant_schema
from apps.optimizer import adapters
from apps.optimizer.core.errors import OptimizerError
from apps.optimizer.core.solve import solve_rebalance
from apps.trading.errors import TradingErrorCode
from apps.trading.models import Proposal, RunAccount, RunMode, RunScope
from apps.trading.orders.selectors import reservations_for
from apps.trading.selectors import run_universe_symbols
from apps.trading.services.runs import (
    rebalance_chunk_execute,
    rebalance_run_create,
    rebalance_run_start,
    run_as_of_check,
)


@dataclass(frozen=True)
class Preview:
    """What a rebalance would do today; ``problem`` says why there is none (skip or failure)."""

    data: adapters.ProposalData | None
    problem: str


def account_preview(*, account: Account, as_of: date, mode: RunMode) -> Preview:
    """Optimize the account as a run would, without storing anything.

    An as-of the run would refuse (``run_as_of_check``) gives its reason, not an optimizer error.
    """
    require_tenant_schema()
    try:
        run_as_of_check(as_of=as_of, account_ids=[account.pk])
    except ApplicationError as exc:
        return Preview(None, exc.message)
    symbols = run_universe_symbols(account_ids=[account.pk], as_of=as_of)
    if not symbols:
        return Preview(None, "the account holds nothing and its model has no target")
    try:
        # The risk model refuses too few prices (stale data, a new name): a problem, not a 500.
        universe = adapters.run_universe_build(symbols=symbols, as_of=as_of)
        problems, skips = adapters.account_problems_build(
            account_ids=[account.pk],
            as_of=as_of,
            mode=mode,
            run_universe=universe,
            reserved=reservations_for(account_ids=[account.pk], as_of=as_of),
        )
        if skips:
            return Preview(None, skips[0].reason)
        result = solve_rebalance(problems[0].problem, adapters.solver_config(), universe.compiled)
    except OptimizerError as exc:
        return Preview(None, str(exc))
    data = adapters.proposal_data_from_result(
        built=problems[0], result=result, is_fractional=account.is_fractional_shares
    )
    return Preview(data, "")


def account_preview_submit(
    *, account: Account, as_of: date, mode: RunMode, acting_user: User
) -> Proposal:
    """Submit the design: a one-account run optimized now; its proposal goes to review.

    Raises:
        ApplicationError: the account was skipped or the optimizer failed (reason given).
    """
    require_tenant_schema()
    run = rebalance_run_create(
        scope=RunScope.ACCOUNT,
        scope_ids=[account.pk],
        mode=mode,
        as_of=as_of,
        requested_by=acting_user,
        enqueue=False,
    )
    for chunk in rebalance_run_start(run_id=run.pk, enqueue=False):
        rebalance_chunk_execute(run_id=run.pk, chunk=chunk)
    proposal = Proposal.objects.filter(run=run, account=account).first()
    if proposal is None:
        reason = RunAccount.objects.get(run=run, account=account).reason
        raise ApplicationError(f"not submitted: {reason}", code=TradingErrorCode.INVALID)
    return proposal
