"""Property-based: any sequence of runs, approvals, rejections, cancelled runs, order creations,
fills, order cancellations and cash movements on a random household keeps trading safe (real
PostgreSQL).

After every step: no lot is in open sells beyond what it holds; no proposed trade is ordered
twice and an ordered proposal has all its trades ordered; an account has at most one live
proposal; cash never goes below the reserve; the household's fills create no wash sale.
Each example runs in a transaction rolled back at its end.
"""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Count, Sum
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from apps.accounts.models import Account, Household, RealizedGain, TaxLot
from apps.accounts.services.ledger import ledger_rebuild
from apps.common.exceptions import ApplicationError
from apps.models.services import model_assign, model_create, model_version_create
from apps.trading.models import (
    LIVE_PROPOSAL_STATUSES,
    Order,
    OrderAllocation,
    OrderStatus,
    Proposal,
    ProposalStatus,
    RunMode,
    RunScope,
)
from apps.trading.services.fills import fills_import
from apps.trading.services.orders import order_cancel, orders_create_from_approved
from apps.trading.services.review import proposals_decide
from apps.trading.services.runs import (
    rebalance_chunk_execute,
    rebalance_run_cancel,
    rebalance_run_create,
    rebalance_run_start,
)
from apps.trading.services.trade_files import trade_file_generate
from tests.integration.accounts.conftest import entry
from tests.integration.trading.conftest import AS_OF, SECTORS

NAMES = sorted(SECTORS)
EXAMPLES = {"count": 0, "steps": 0}

lots = st.lists(
    st.tuples(
        st.sampled_from(NAMES),
        st.integers(1, 900),  # days held before AS_OF
        st.sampled_from(["3", "10", "25", "7.5", "1.25", "0.4"]),  # shares
        st.integers(20, 120),  # unit cost
    ),
    max_size=6,
)
accounts = st.tuples(
    st.sampled_from(["taxable", "taxable", "traditional_ira"]),
    st.integers(0, 40_000),  # cash deposited
    st.sampled_from([0, 500, 2_000]),  # reserve
    st.booleans(),  # fractional shares
    lots,
)
step = st.one_of(
    st.tuples(st.just("run"), st.integers(0, 2)),
    st.tuples(st.just("approve_all"), st.just(0)),
    st.tuples(st.just("approve_everything_shown"), st.just(0)),
    st.tuples(st.just("reject_one"), st.just(0)),
    st.tuples(st.just("order"), st.just(0)),
    st.tuples(st.just("fill"), st.just(0)),
    st.tuples(st.just("deposit"), st.integers(0, 2)),
    st.tuples(st.just("cancelled_run"), st.just(0)),
    st.tuples(st.just("cancel_order"), st.just(0)),
)
# Each plan is a desk's day or two: some actions, and the usual run -> approve -> order -> fill
# cycle woven in at random places, so that most examples reach the custodian and back.
cycle = [("run", 0), ("approve_all", 0), ("order", 0), ("fill", 0)]
steps = st.tuples(st.lists(step, max_size=6), st.lists(st.integers(0, 6), min_size=4, max_size=4))


def _book(spec, admin) -> list[Account]:
    model = model_create(code="PROP8", name="Property 8", acting_user=admin)
    model_version_create(
        model=model,
        effective_on=AS_OF - timedelta(days=200),
        cash_weight=Decimal("0.04"),
        security_weights={s: Decimal("0.12") for s in NAMES},
        acting_user=admin,
    )
    household = Household.objects.create(external_id="H-PROP", name="Property household")
    made = []
    for i, (registration, cash, reserve, fractional, held) in enumerate(spec):
        account = Account.objects.create(
            household=household,
            custodian="schwab",
            number=f"P{i}",
            name=f"Property {i}",
            registration=registration,
            cash_reserve_amount=Decimal(min(reserve, cash)),
            is_fractional_shares=fractional,
        )
        amounts = [(Decimal(q) * cost).quantize(Decimal("0.01")) for _, _, q, cost in held]
        start = AS_OF - timedelta(days=1000)
        entry(account, "dep", "deposit", start, amount=str(cash + sum(amounts)))  # cash left
        for j, ((symbol, days, shares, _), amount) in enumerate(zip(held, amounts, strict=True)):
            entry(account, f"b{j}", "buy", AS_OF - timedelta(days=days), symbol, shares, amount)
        made.append(account)
    ledger_rebuild(household=household)
    for account in made:
        model_assign(account=account, model=model, acting_user=admin)
    return made


def _run(scope_ids: list[int], admin) -> None:
    run = rebalance_run_create(
        scope=RunScope.ACCOUNT,
        scope_ids=scope_ids,
        mode=RunMode.FULL_REBALANCE,
        as_of=AS_OF,
        requested_by=admin,
    )
    for chunk in rebalance_run_start(run_id=run.pk, enqueue=False):
        rebalance_chunk_execute(run_id=run.pk, chunk=chunk)


def _fill_everything_sent(admin) -> None:
    if Order.objects.filter(status=OrderStatus.OPEN).exists():
        trade_file_generate(custodian="schwab", layout="generic", acting_user=admin)
    rows = [
        f"{a.pk},{a.account.number},{a.order.symbol},{a.order.side},"
        f"{a.shares - a.filled_shares},{a.proposed_trade.price},{AS_OF}\n"
        for a in OrderAllocation.objects.filter(
            is_open=True, order__status__in=(OrderStatus.SENT, OrderStatus.PARTIALLY_FILLED)
        ).select_related("account", "order", "proposed_trade")
    ]
    if rows:
        header = "allocation_id,account_number,symbol,side,shares,price,trade_date\n"
        fills_import(content="".join([header, *rows]).encode(), filename="f.csv", acting_user=admin)


def _step(kind: str, arg: int, made: list[Account], admin) -> None:
    if kind == "run":
        _run([made[arg % len(made)].pk] if arg else [a.pk for a in made], admin)
    elif kind == "approve_all":
        ids = list(
            Proposal.objects.filter(
                status__in=(ProposalStatus.PENDING_APPROVAL, ProposalStatus.HELD)
            ).values_list("pk", flat=True)
        )
        if ids:
            proposals_decide(proposal_ids=ids, approve=True, acting_user=admin)
    elif kind == "approve_everything_shown":  # a stale page: superseded ones among them
        ids = list(Proposal.objects.values_list("pk", flat=True))
        if ids:
            before = dict(Proposal.objects.values_list("pk", "status"))
            try:
                proposals_decide(proposal_ids=ids, approve=True, acting_user=admin)
            except ApplicationError:  # refused whole: nothing changed
                assert dict(Proposal.objects.values_list("pk", "status")) == before
    elif kind == "reject_one":
        first = Proposal.objects.filter(status=ProposalStatus.PENDING_APPROVAL).first()
        if first:
            proposals_decide(proposal_ids=[first.pk], approve=False, acting_user=admin)
    elif kind == "order":
        orders_create_from_approved(acting_user=admin)
    elif kind == "fill":
        _fill_everything_sent(admin)
    elif kind == "deposit":
        account = made[arg % len(made)]
        entry(account, f"d{EXAMPLES['steps']}", "deposit", AS_OF, amount="1000")
        ledger_rebuild(household=account.household)
    elif kind == "cancel_order":
        first = Order.objects.exclude(
            status__in=(OrderStatus.FILLED, OrderStatus.CANCELLED)
        ).first()
        if first:
            before = dict(OrderAllocation.objects.values_list("pk", "is_open"))
            try:
                order_cancel(order=first, acting_user=admin)
            except ApplicationError:  # its sales pay for open or filled buys: nothing changed
                assert dict(OrderAllocation.objects.values_list("pk", "is_open")) == before
    elif kind == "cancelled_run":
        run = rebalance_run_create(
            scope=RunScope.BOOK,
            scope_ids=[],
            mode=RunMode.FULL_REBALANCE,
            as_of=AS_OF,
            requested_by=admin,
        )
        rebalance_run_cancel(run=run, acting_user=admin)


def _check_invariants(made: list[Account]) -> None:
    held = {
        (r["account_id"], r["lot_key"]): r["total"]
        for r in TaxLot.objects.values("account_id", "lot_key").annotate(total=Sum("shares"))
    }
    in_open_sells: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    open_cash: dict[int, Decimal] = defaultdict(Decimal)  # at the proposals' prices
    for a in OrderAllocation.objects.filter(is_open=True).select_related("proposed_trade"):
        remaining = a.shares - a.filled_shares
        if a.lot_key:
            in_open_sells[(a.account_id, a.lot_key)] += remaining
            open_cash[a.account_id] += remaining * a.proposed_trade.price
        else:
            open_cash[a.account_id] -= remaining * a.proposed_trade.price
    for key, shares in in_open_sells.items():
        assert shares <= held.get(key, Decimal(0)), f"lot {key} oversold: {shares}"
    assert not TaxLot.objects.filter(shares__lt=0).exists()

    allocations = OrderAllocation.objects.values("proposed_trade_id").annotate(n=Count("pk"))
    assert all(row["n"] == 1 for row in allocations)
    ordered = (ProposalStatus.ORDERED, ProposalStatus.FILLED, ProposalStatus.CANCELLED)
    for proposal in Proposal.objects.filter(status__in=ordered):
        assert proposal.trades.filter(allocation__isnull=True).count() == 0
    for proposal in Proposal.objects.exclude(status__in=ordered):
        assert not proposal.trades.filter(allocation__isnull=False).exists()

    live = Proposal.objects.filter(status__in=LIVE_PROPOSAL_STATUSES).values("account_id")
    assert all(row["n"] == 1 for row in live.annotate(n=Count("pk")))

    for account in Account.objects.filter(pk__in=[a.pk for a in made]):
        after = account.cash_amount + open_cash[account.pk]  # once the open orders fill
        assert after >= account.cash_reserve_amount, (
            f"{account.number}: cash {account.cash_amount}, open orders {open_cash[account.pk]}, "
            f"reserve {account.cash_reserve_amount}"
        )
    assert not RealizedGain.objects.filter(disallowed_amount__gt=0).exists(), "a wash sale"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=st.lists(accounts, min_size=1, max_size=3), plan=steps)
def test_any_sequence_of_desk_actions_keeps_trading_safe(firm_a, priced_universe, spec, plan):
    from apps.access.roles import Role

    admin = firm_a.users[Role.FIRM_ADMIN]
    actions, places = plan
    original = len(actions)
    for i, place in enumerate(sorted(places)):  # the cycle's order kept: run first, fill last
        actions.insert(min(place, original) + i, cycle[i])
    with transaction.atomic():
        made = _book(spec, admin)
        EXAMPLES["count"] += 1
        for kind, arg in actions:
            EXAMPLES["steps"] += 1
            _step(kind, arg, made, admin)
            _check_invariants(made)
        for status in Proposal.objects.values_list("status", flat=True).distinct():
            event(f"a proposal ended {status}")
        if OrderAllocation.objects.filter(filled_shares__gt=0).exists():
            event("fills booked")
        transaction.set_rollback(True)
