"""Proposal life cycle: one live proposal per account, stale proposals, pre-trade checks.

The demo story of issue #15 (three runs, "approve all", block orders) must order each account
once; a proposal whose account changed is refused; a proposal whose trades would oversell a lot,
overspend cash, buy a restricted name, create a wash sale or trade a fraction in a whole-share
account is held back with its reasons while the rest of the batch goes on.
"""

import itertools
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from apps.access.models import AuditEvent
from apps.access.roles import Role
from apps.accounts.models import Account
from apps.accounts.services.ledger import ledger_rebuild
from apps.common.exceptions import ApplicationError
from apps.trading.models import (
    OrderAllocation,
    Proposal,
    ProposalStatus,
    ProposedTrade,
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
from tests.integration.accounts.conftest import entry
from tests.integration.trading.conftest import AS_OF


@pytest.fixture
def trader(firms):
    return firms["a"].users[Role.TRADER]


def run_now(*, scope: RunScope, ids: list[int], user) -> int:
    """A run executed in this process; its id."""
    run = rebalance_run_create(
        scope=scope, scope_ids=ids, mode=RunMode.FULL_REBALANCE, as_of=AS_OF, requested_by=user
    )
    for chunk in rebalance_run_start(run_id=run.pk, enqueue=False):
        rebalance_chunk_execute(run_id=run.pk, chunk=chunk)
    return run.pk


def live(account: Account) -> list[Proposal]:
    return list(
        Proposal.objects.filter(
            account=account,
            status__in=(
                ProposalStatus.PENDING_APPROVAL,
                ProposalStatus.APPROVED,
                ProposalStatus.HELD,
            ),
        )
    )


def test_three_runs_then_approve_all_orders_each_account_once(run_book, trader):
    model = run_book["model"]
    runs = [run_now(scope=RunScope.MODEL, ids=[model.pk], user=trader) for _ in range(3)]

    for account in (run_book["legacy"], run_book["cash_only"]):
        (current,) = live(account)
        assert current.run_id == runs[-1]
        for run_id, next_id in itertools.pairwise(runs):
            older = Proposal.objects.get(account=account, run_id=run_id)
            assert older.status == ProposalStatus.SUPERSEDED
            assert older.status_reason == f"superseded by run #{next_id}"

    # "Select all" on a page showing everything: the superseded ones are refused, nothing moves.
    everything = list(Proposal.objects.values_list("pk", flat=True))
    with pytest.raises(ApplicationError, match="superseded"):
        proposals_decide(proposal_ids=everything, approve=True, acting_user=trader)
    assert not Proposal.objects.filter(status=ProposalStatus.APPROVED).exists()

    pending = list(
        Proposal.objects.filter(status=ProposalStatus.PENDING_APPROVAL).values_list("pk", flat=True)
    )
    assert len(pending) == 2
    decisions = proposals_decide(proposal_ids=pending, approve=True, acting_user=trader)
    assert (decisions.decided, decisions.unchanged, decisions.stale) == (2, 0, {})
    again = proposals_decide(proposal_ids=pending, approve=True, acting_user=trader)
    assert (again.decided, again.unchanged) == (0, 2)  # a double click changes nothing

    batch = orders_create_from_approved(acting_user=trader)
    assert batch.held == {} and batch.stale == {}
    assert orders_create_from_approved(acting_user=trader).orders == []  # second click
    allocated = OrderAllocation.objects.values_list("proposed_trade__proposal__run_id", flat=True)
    assert set(allocated) == {runs[-1]}
    trades = ProposedTrade.objects.filter(proposal__run_id=runs[-1]).count()
    assert OrderAllocation.objects.count() == trades
    lots = OrderAllocation.objects.exclude(lot_key="").values_list("account_id", "lot_key")
    assert len(list(lots)) == len(set(lots))  # no lot sold twice


def test_an_older_run_stored_after_a_newer_one_is_superseded_at_birth(run_book, trader):
    legacy = run_book["legacy"]
    older = rebalance_run_create(
        scope=RunScope.ACCOUNT,
        scope_ids=[legacy.pk],
        mode=RunMode.FULL_REBALANCE,
        as_of=AS_OF,
        requested_by=trader,
        enqueue=False,
    )
    chunks = rebalance_run_start(run_id=older.pk, enqueue=False)
    newer = run_now(scope=RunScope.ACCOUNT, ids=[legacy.pk], user=trader)
    for chunk in chunks:  # the older run's worker was slow
        rebalance_chunk_execute(run_id=older.pk, chunk=chunk)

    (current,) = live(legacy)
    assert current.run_id == newer
    late = Proposal.objects.get(run=older, account=legacy)
    assert late.status == ProposalStatus.SUPERSEDED
    assert late.status_reason == f"superseded by run #{newer}, computed later"


def test_the_database_refuses_a_second_live_proposal(run_book, trader):
    legacy = run_book["legacy"]
    first = run_now(scope=RunScope.ACCOUNT, ids=[legacy.pk], user=trader)
    second = run_now(scope=RunScope.ACCOUNT, ids=[legacy.pk], user=trader)
    old = Proposal.objects.get(run_id=first, account=legacy)
    with pytest.raises(IntegrityError), transaction.atomic():
        Proposal.objects.filter(pk=old.pk).update(status=ProposalStatus.APPROVED)
    assert Proposal.objects.get(run_id=second, account=legacy).status == (
        ProposalStatus.PENDING_APPROVAL
    )


def test_approving_a_proposal_whose_account_changed_is_refused_with_the_reason(run_book, trader):
    legacy, cash_only = run_book["legacy"], run_book["cash_only"]
    run_now(scope=RunScope.MODEL, ids=[run_book["model"].pk], user=trader)
    entry(legacy, "dep-2", "deposit", AS_OF, amount="5000")  # cash arrived after the solve
    ledger_rebuild(household=legacy.household)

    pending = [p.pk for p in live(legacy) + live(cash_only)]
    decisions = proposals_decide(proposal_ids=pending, approve=True, acting_user=trader)

    stale = Proposal.objects.get(account=legacy, status=ProposalStatus.STALE)
    assert decisions.decided == 1 and list(decisions.stale) == [stale.pk]
    assert "(cash)" in stale.status_reason and "re-run it" in stale.status_reason
    assert Proposal.objects.get(account=cash_only).status == ProposalStatus.APPROVED
    assert AuditEvent.objects.filter(action="proposal.stale", object_id=str(stale.pk)).exists()
    with pytest.raises(ApplicationError, match="stale"):
        proposals_decide(proposal_ids=[stale.pk], approve=True, acting_user=trader)
    # The one-click re-run: a new run of the account gives a live, current proposal.
    run_now(scope=RunScope.ACCOUNT, ids=[legacy.pk], user=trader)
    (fresh,) = live(legacy)
    assert proposals_decide(proposal_ids=[fresh.pk], approve=True, acting_user=trader).decided == 1


def test_an_approved_proposal_whose_holdings_changed_is_not_ordered(run_book, trader):
    legacy = run_book["legacy"]
    run_now(scope=RunScope.ACCOUNT, ids=[legacy.pk], user=trader)
    (proposal,) = live(legacy)
    proposals_decide(proposal_ids=[proposal.pk], approve=True, acting_user=trader)
    entry(legacy, "s-eee", "sell", AS_OF, "EEE", "10", "500")  # sold by hand at the custodian
    ledger_rebuild(household=legacy.household)

    batch = orders_create_from_approved(acting_user=trader)

    assert batch.orders == [] and list(batch.stale) == [proposal.pk]
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.STALE
    assert "holdings" in proposal.status_reason and "cash" in proposal.status_reason


def _approved_with(account: Account, trader, *trades: dict) -> Proposal:
    """The account's current proposal, approved, with hand-written trades instead of its own."""
    run_now(scope=RunScope.ACCOUNT, ids=[account.pk], user=trader)
    (proposal,) = live(account)
    proposal.trades.all().delete()
    for trade in trades:
        ProposedTrade.objects.create(proposal=proposal, explanation="test", **trade)
    proposals_decide(proposal_ids=[proposal.pk], approve=True, acting_user=trader)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.APPROVED
    return proposal


def _sell(lot_key: str, symbol: str, shares: str, price: str, gain: str) -> dict:
    amount = Decimal(shares) * Decimal(price)
    return {
        "side": "sell",
        "symbol": symbol,
        "lot_key": lot_key,
        "shares": Decimal(shares),
        "price": Decimal(price),
        "amount": amount,
        "realized_gain_amount": Decimal(gain),
        "term": "long",
        "reason": "reduce_risk",
    }


def _buy(symbol: str, shares: str, price: str) -> dict:
    return {
        "side": "buy",
        "symbol": symbol,
        "shares": Decimal(shares),
        "price": Decimal(price),
        "amount": Decimal(shares) * Decimal(price),
        "reason": "fill_underweight",
    }


def test_a_lot_in_an_open_order_is_not_sold_again(run_book, trader, priced_universe):
    legacy = run_book["legacy"]
    aaa = str(priced_universe["AAA"])
    _approved_with(legacy, trader, _sell("b-aaa", "AAA", "300", aaa, "1000"))
    (first,) = orders_create_from_approved(acting_user=trader).orders

    # The next run sees the reservation: it may not sell more than the 100 shares left.
    run_now(scope=RunScope.ACCOUNT, ids=[legacy.pk], user=trader)
    (proposal,) = live(legacy)
    sold = sum(t.shares for t in proposal.trades.filter(lot_key="b-aaa"))
    assert sold <= 100
    # A proposal that would sell the reserved shares again is held back with the reason.
    second = _approved_with(legacy, trader, _sell("b-aaa", "AAA", "200", aaa, "1000"))
    batch = orders_create_from_approved(acting_user=trader)
    assert batch.orders == []
    (reasons,) = batch.held.values()
    assert reasons == [
        "sells 200 shares of lot b-aaa, which holds 400 (300 already in open orders)"
    ]
    second.refresh_from_db()
    assert second.status == ProposalStatus.HELD
    assert first.allocations.get().lot_key == "b-aaa"
    # The database itself refuses a second open sell of the lot, whatever the code does.
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderAllocation.objects.create(
            order=first,
            account=legacy,
            proposed_trade=second.trades.get(),
            shares=Decimal(1),
            lot_key="b-aaa",
        )


def test_each_pre_trade_check_holds_back_its_proposal_and_the_rest_goes_on(
    run_book, trader, priced_universe
):
    from apps.restrictions.services import restriction_add

    legacy, cash_only = run_book["legacy"], run_book["cash_only"]
    eee, fff = str(priced_universe["EEE"]), str(priced_universe["FFF"])
    restriction_add(
        account=cash_only,
        kind="never_buy",
        value="GGG",
        starts_on=AS_OF.replace(month=1),
        reason="client request",
        acting_user=trader,
    )
    # The legacy account sells EEE at a loss; the new-money account of the same household
    # buys EEE (a wash sale), a restricted name, a fraction, and more than its cash.
    loss = _approved_with(legacy, trader, _sell("b-eee", "EEE", "100", eee, "-2000"))
    greedy = _approved_with(
        cash_only,
        trader,
        _buy("EEE", "10", eee),
        _buy("GGG", "1", str(priced_universe["GGG"])),
        _buy("FFF", "2.5", fff),
        _buy("HHH", "100000", str(priced_universe["HHH"])),
    )

    batch = orders_create_from_approved(acting_user=trader)

    assert {o.symbol for o in batch.orders} == {"EEE"}  # the loss sale goes on
    assert set(batch.held) == {greedy.pk}
    reasons = "; ".join(batch.held[greedy.pk])
    assert "buys EEE while proposal #" in reasons and "sells it at a loss" in reasons
    assert "buys GGG, which the account may not buy" in reasons
    assert "buys 2.5 shares of FFF in a whole-share account" in reasons
    assert "below the reserve of 0.00" in reasons
    greedy.refresh_from_db()
    assert greedy.status == ProposalStatus.HELD and greedy.status_reason == reasons
    loss.refresh_from_db()
    assert loss.status == ProposalStatus.ORDERED


def test_the_pre_trade_check_holds_a_buy_of_a_security_identical_to_a_loss_sale(
    run_book, trader, priced_universe, firms
):
    """A group the firm adds after the run binds at order creation (IRC §1091(a))."""
    from apps.accounts.services.identical import identical_group_create

    legacy, cash_only = run_book["legacy"], run_book["cash_only"]
    eee, fff = str(priced_universe["EEE"]), str(priced_universe["FFF"])
    loss = _approved_with(legacy, trader, _sell("b-eee", "EEE", "100", eee, "-2000"))
    replacement = _approved_with(cash_only, trader, _buy("FFF", "10", fff))
    identical_group_create(
        symbols=["EEE", "FFF"],
        reason="test: one utility in two listings",
        source="test",
        acting_user=firms["a"].users[Role.FIRM_ADMIN],
    )

    batch = orders_create_from_approved(acting_user=trader)

    assert {o.symbol for o in batch.orders} == {"EEE"}
    assert batch.held == {
        replacement.pk: [
            f"buys FFF while proposal #{loss.pk} (account {legacy.pk}) ordered in this batch "
            "sells EEE at a loss (wash sale, IRC §1091)"
        ]
    }


def test_a_stale_proposal_is_listed_and_re_run_in_one_click(firms, run_book, trader):
    from tests.conftest import api_client, login_client

    legacy = run_book["legacy"]
    run_now(scope=RunScope.ACCOUNT, ids=[legacy.pk], user=trader)
    (proposal,) = live(legacy)
    entry(legacy, "dep-3", "deposit", AS_OF, amount="250")
    ledger_rebuild(household=legacy.household)
    client = login_client(firms["a"], Role.TRADER)
    response = client.post(
        "/approvals/", {"proposal_ids": [proposal.pk], "decision": "approve", "note": ""}
    )
    assert response.status_code == 302
    page = client.get("/approvals/")
    assert [p.pk for p in page.context["stale"]] == [proposal.pk]
    assert "the account changed since run" in page.content.decode()
    detail = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert "Re-run this account now" in detail

    assert (
        api_client(firms["a"], Role.VIEWER)
        .post(f"/api/v1/proposals/{proposal.pk}/rerun/")
        .status_code
        == 403
    )
    created = api_client(firms["a"], Role.TRADER).post(f"/api/v1/proposals/{proposal.pk}/rerun/")
    assert created.status_code == 202
    assert (created.json()["scope"], created.json()["scope_ids"]) == ("account", [legacy.pk])
    response = client.post(f"/proposals/{proposal.pk}/rerun/")
    assert response.status_code == 302 and response.url.startswith("/runs/")
    # Once the account has a newer proposal (here a run as of the test prices' date: the
    # re-runs above are as of today, past the prices), the stale one leaves the list.
    run_now(scope=RunScope.ACCOUNT, ids=[legacy.pk], user=trader)
    assert client.get("/approvals/").context["stale"] == []
    assert len(live(legacy)) == 1


def test_the_next_run_keeps_the_household_out_of_names_in_flight(run_book, trader, priced_universe):
    legacy, cash_only = run_book["legacy"], run_book["cash_only"]
    run_now(scope=RunScope.ACCOUNT, ids=[cash_only.pk], user=trader)
    (before,) = live(cash_only)
    assert before.trades.filter(side="buy", symbol="EEE").exists()  # the model wants EEE
    eee = str(priced_universe["EEE"])
    _approved_with(legacy, trader, _sell("b-eee", "EEE", "100", eee, "-2000"))
    orders_create_from_approved(acting_user=trader)  # the loss sale is in flight

    run_now(scope=RunScope.ACCOUNT, ids=[cash_only.pk], user=trader)

    (after,) = live(cash_only)
    assert not after.trades.filter(side="buy", symbol="EEE").exists()
    assert after.trades.filter(side="buy").exists()


def test_a_cancelled_order_frees_its_lot_and_cash(firms, run_book, trader, priced_universe):
    from apps.trading.models import OrderStatus
    from apps.trading.services.orders import order_cancel
    from tests.conftest import api_client

    legacy = run_book["legacy"]
    aaa = str(priced_universe["AAA"])
    sold = _approved_with(legacy, trader, _sell("b-aaa", "AAA", "300", aaa, "1000"))
    (order,) = orders_create_from_approved(acting_user=trader).orders
    allocation = order.allocations.get()

    viewer = api_client(firms["a"], Role.VIEWER)
    assert viewer.post(f"/api/v1/orders/{order.pk}/cancel/").status_code == 403
    response = api_client(firms["a"], Role.TRADER).post(f"/api/v1/orders/{order.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    with pytest.raises(ApplicationError, match="nothing left to cancel"):
        order_cancel(order=order, acting_user=trader)

    allocation.refresh_from_db()
    sold.refresh_from_db()
    assert allocation.is_open is False
    assert (sold.status, order.__class__.objects.get(pk=order.pk).status) == (
        ProposalStatus.CANCELLED,
        OrderStatus.CANCELLED,
    )
    assert AuditEvent.objects.filter(action="order.cancel", object_id=str(order.pk)).exists()
    # The lot is whole again for the next proposal: 300 shares of it may be ordered again.
    _approved_with(legacy, trader, _sell("b-aaa", "AAA", "300", aaa, "1000"))
    batch = orders_create_from_approved(acting_user=trader)
    assert batch.held == {} and len(batch.orders) == 1


def test_sales_that_pay_for_buys_in_flight_cannot_be_cancelled_first(
    run_book, trader, priced_universe
):
    from apps.trading.models import Order
    from apps.trading.services.orders import order_cancel

    legacy = run_book["legacy"]
    aaa, bbb = str(priced_universe["AAA"]), str(priced_universe["BBB"])
    sale, purchase = _sell("b-aaa", "AAA", "300", aaa, "1000"), _buy("BBB", "50", bbb)
    _approved_with(legacy, trader, sale, purchase)
    orders_create_from_approved(acting_user=trader)
    sell, buy = Order.objects.get(side="sell"), Order.objects.get(side="buy")

    with pytest.raises(ApplicationError, match=f"pay for buys in order\\(s\\) #{buy.pk}"):
        order_cancel(order=sell, acting_user=trader)
    assert sell.allocations.get().is_open  # nothing changed
    order_cancel(order=buy, acting_user=trader)  # the buys first, then the sales
    order_cancel(order=sell, acting_user=trader)
    assert not OrderAllocation.objects.filter(is_open=True).exists()
