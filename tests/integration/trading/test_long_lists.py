"""A run's proposals, the approvals queue and open orders page through long lists."""

from decimal import Decimal

from apps.access.roles import Role
from apps.accounts.models import Account, Household
from apps.trading.models import Order, Proposal, ProposalStatus, RebalanceRun
from tests.conftest import login_client
from tests.integration.trading.conftest import AS_OF

PROPOSALS = 120


def _run_with_pending_proposals() -> RebalanceRun:
    household = Household.objects.create(external_id="H-LONG", name="Long household")
    accounts = Account.objects.bulk_create(
        Account(
            household=household,
            custodian="schwab",
            number=f"L{i:03d}",
            name=f"Client {(i * 37) % PROPOSALS:03d}",  # name order differs from id order
            registration="taxable",
        )
        for i in range(PROPOSALS)
    )
    run = RebalanceRun.objects.create(scope="book", as_of=AS_OF, status="completed")
    Proposal.objects.bulk_create(
        Proposal(run=run, account=a, status=ProposalStatus.PENDING_APPROVAL) for a in accounts
    )
    return run


def test_run_page_lists_every_proposal_a_page_at_a_time_by_account_name(firms, firm_a):
    run = _run_with_pending_proposals()
    client = login_client(firm_a, Role.VIEWER)
    names = []
    for number in (1, 2, 3):
        page = client.get(f"/runs/{run.pk}/?page={number}").context["proposals"]
        assert page.paginator.count == PROPOSALS
        names += [p.account.name for p in page]
    assert len(names) == PROPOSALS
    assert names == sorted(names)
    assert "Page 1 of 3 (120 proposals)" in client.get(f"/runs/{run.pk}/").content.decode()


def test_approvals_pages_and_approves_from_a_later_page(firms, firm_a):
    _run_with_pending_proposals()
    client = login_client(firm_a, Role.TRADER)
    first = client.get("/approvals/").context["pending"]
    second = client.get("/approvals/?page=2").context["pending"]
    assert (len(first), len(second)) == (100, 20)
    assert not {p.pk for p in first} & {p.pk for p in second}
    chosen = second[0].pk
    response = client.post(
        "/approvals/?page=2", {"proposal_ids": [chosen], "decision": "approve", "note": ""}
    )
    assert response.status_code == 302
    # The decision reached the chosen proposal (and only it); being hand-made, with no run
    # universe to check its account against, it is refused as stale rather than approved.
    decided = Proposal.objects.get(pk=chosen)
    assert decided.status == ProposalStatus.STALE
    assert "kept no universe" in decided.status_reason
    assert Proposal.objects.filter(status=ProposalStatus.PENDING_APPROVAL).count() == 119


def test_orders_page_lists_orders_25_a_page_newest_first_filtered_by_status(firms, firm_a):
    orders = [
        Order.objects.create(custodian="schwab", symbol=f"S{i:02d}", side="buy", total_shares=1)
        for i in range(30)
    ]
    Order.objects.create(
        custodian="schwab",
        symbol="DONE",
        side="buy",
        total_shares=1,
        status="filled",
        filled_shares=Decimal(1),
    )
    client = login_client(firm_a, Role.VIEWER)
    first = client.get("/orders/?status=active").context["orders"]
    second = client.get("/orders/?status=active&page=2").context["orders"]
    assert first.paginator.count == 30  # open orders only
    assert [o.pk for o in [*first, *second]] == [o.pk for o in reversed(orders)]
    assert [o.symbol for o in client.get("/orders/?status=filled").context["orders"]] == ["DONE"]
    assert client.get("/orders/").context["orders"].paginator.count == 31
