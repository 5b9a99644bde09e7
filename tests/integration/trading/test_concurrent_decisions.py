"""Two database connections at once: approvals, order creation and run stores never double up.

Committed data (the module's worker firm), one thread per connection, started together at a
barrier: what two traders' browsers, a retried API call or two workers do.
"""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections
from django_tenants.utils import schema_context, tenant_context

from apps.accounts.models import Account
from apps.firms.models import Firm
from apps.trading.models import (
    OrderAllocation,
    Proposal,
    ProposalStatus,
    RunMode,
    RunScope,
)
from apps.trading.services.orders import orders_create_from_approved
from apps.trading.services.review import proposals_decide
from apps.trading.services.runs import (
    rebalance_chunk_execute,
    rebalance_run_create,
    rebalance_run_start,
)
from tests.integration.trading.conftest import AS_OF, WORKER_SCHEMA


def _together(firm: Firm, *actions: Callable[[], Any]) -> list[Any]:
    """Run each action in its own thread and database connection, released at once."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)
    errors: list[BaseException] = []

    def work(i: int, action: Callable[[], Any]) -> None:
        try:
            with tenant_context(firm):  # a real firm, as a request or a task has
                barrier.wait(timeout=30)
                results[i] = action()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def _account_run(account_id: int) -> tuple[int, list[int]]:
    run = rebalance_run_create(
        scope=RunScope.ACCOUNT,
        scope_ids=[account_id],
        mode=RunMode.FULL_REBALANCE,
        as_of=AS_OF,
        requested_by=None,
        enqueue=False,
    )
    return run.pk, rebalance_run_start(run_id=run.pk, enqueue=False)


def _an_account_with_trades(django_db_blocker, firm) -> int:
    # A real firm (runs are checked against the firm's today), as a request or a task has.
    with django_db_blocker.unblock(), tenant_context(firm):
        for account_id in Account.objects.order_by("pk").values_list("pk", flat=True):
            run_id, chunks = _account_run(account_id)
            for chunk in chunks:
                rebalance_chunk_execute(run_id=run_id, chunk=chunk)
            proposal = Proposal.objects.filter(run_id=run_id).first()
            if proposal and proposal.status == ProposalStatus.PENDING_APPROVAL:
                return account_id
    raise AssertionError("no account of the worker book has trades")


def test_two_approvals_and_two_order_clicks_at_once_order_once(worker_firm, django_db_blocker):
    account_id = _an_account_with_trades(django_db_blocker, worker_firm)
    with django_db_blocker.unblock(), schema_context(WORKER_SCHEMA):
        proposal = Proposal.objects.get(
            account_id=account_id, status=ProposalStatus.PENDING_APPROVAL
        )
        trades = set(proposal.trades.values_list("pk", flat=True))

        def approve() -> Any:
            return proposals_decide(proposal_ids=[proposal.pk], approve=True, acting_user=None)

        decisions = _together(worker_firm, approve, approve)
        batches = _together(
            worker_firm,
            lambda: orders_create_from_approved(acting_user=None),
            lambda: orders_create_from_approved(acting_user=None),
        )

        assert sorted((d.decided, d.unchanged) for d in decisions) == [(0, 1), (1, 0)]
        assert sorted(len(b.orders) > 0 for b in batches) == [False, True]
        allocated = list(
            OrderAllocation.objects.filter(proposed_trade__proposal=proposal).values_list(
                "proposed_trade_id", flat=True
            )
        )
        assert sorted(allocated) == sorted(trades)
        proposal.refresh_from_db()
        assert proposal.status == ProposalStatus.ORDERED


def test_two_runs_of_one_account_stored_at_once_leave_one_live_proposal(
    worker_firm, django_db_blocker
):
    account_id = _an_account_with_trades(django_db_blocker, worker_firm)
    with django_db_blocker.unblock(), tenant_context(worker_firm):
        first, second = _account_run(account_id), _account_run(account_id)

        def execute(run: tuple[int, list[int]]) -> Callable[[], None]:
            return lambda: [rebalance_chunk_execute(run_id=run[0], chunk=c) for c in run[1]]

        _together(worker_firm, execute(first), execute(second))

        live = Proposal.objects.filter(
            account_id=account_id,
            status__in=(ProposalStatus.PENDING_APPROVAL, ProposalStatus.APPROVED),
        )
        assert list(live.values_list("run_id", flat=True)) == [second[0]]
        assert Proposal.objects.get(run_id=first[0]).status == ProposalStatus.SUPERSEDED
