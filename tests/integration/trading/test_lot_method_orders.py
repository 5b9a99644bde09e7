"""An account whose sells carry no lot instructions: proposal, orders, trade file, fills, ledger.

The account's custodian relieves each sale FIFO (``lot_selection = method``): the proposal sells
the lots FIFO relieves, the orders carry no lot instructions, the trade file names the method,
and after the fills the ledger's realized gains are the proposal's.
"""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from apps.access.roles import Role
from apps.accounts.models import Account, Household, RealizedGain, Transaction
from apps.accounts.services.ledger import ledger_rebuild
from apps.models.services import model_assign
from apps.optimizer import adapters
from apps.trading.models import (
    OrderAllocation,
    Proposal,
    ProposalStatus,
    ProposedTrade,
    RunMode,
    RunScope,
)
from apps.trading.services.fills import fills_import
from apps.trading.services.orders import orders_create_from_approved
from apps.trading.services.review import proposals_decide
from apps.trading.services.runs import (
    rebalance_chunk_execute,
    rebalance_run_create,
    rebalance_run_start,
)
from apps.trading.services.trade_files import (
    trade_file_content,
    trade_file_generate,
    trade_file_render,
)
from tests.integration.accounts.conftest import entry
from tests.integration.trading.conftest import AS_OF, SECTORS, model_in_force


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def fifo_book(priced_universe, firms):
    """One FIFO account: AAA in a cheap 2020 lot and a larger, costlier 2023 lot."""
    admin = firms["a"].users[Role.FIRM_ADMIN]
    model = model_in_force(admin, "CORE8", {s: Decimal("0.12") for s in SECTORS})
    household = Household.objects.create(external_id="H-FIFO", name="FIFO household")
    account = Account.objects.create(
        household=household,
        custodian="schwab",
        number="F1",
        name="FIFO joint",
        registration="taxable",
        lot_method="FIFO",
        lot_selection="method",
    )
    price = priced_universe["AAA"]
    entry(account, "dep", "deposit", date(2020, 1, 2), amount="13000")
    entry(account, "b-old", "buy", date(2020, 1, 2), "AAA", "100", "1000.00")  # 10 a share
    new_cost = (200 * price * Decimal("0.9")).quantize(Decimal("0.01"))  # a 10% gain today
    entry(account, "b-new", "buy", date(2023, 1, 3), "AAA", "200", str(new_cost))
    ledger_rebuild(household=household)
    model_assign(account=account, model=model, acting_user=admin)
    return {"account": account, "model": model, "trader": firms["a"].users[Role.TRADER]}


def _approved_run(book):
    run = rebalance_run_create(
        scope=RunScope.MODEL,
        scope_ids=[book["model"].pk],
        mode=RunMode.FULL_REBALANCE,
        as_of=AS_OF,
        requested_by=book["trader"],
    )
    for chunk in rebalance_run_start(run_id=run.pk):
        rebalance_chunk_execute(run_id=run.pk, chunk=chunk)
    proposal = Proposal.objects.get(run=run, account=book["account"])
    assert proposal.status == ProposalStatus.PENDING_APPROVAL
    proposals_decide(proposal_ids=[proposal.pk], approve=True, acting_user=book["trader"])
    return proposal


def test_a_fifo_account_sells_fifo_through_to_the_ledger(fifo_book):
    proposal = _approved_run(fifo_book)
    sells = {t.lot_key: t for t in ProposedTrade.objects.filter(proposal=proposal, side="sell")}
    # AAA is ~70% of the account against 12%: the old lot goes whole, then part of the new one.
    assert set(sells) == {"b-old", "b-new"}
    assert sells["b-old"].shares == Decimal("100")
    assert 0 < sells["b-new"].shares <= Decimal("200")
    assert "from lot b-old" in sells["b-old"].explanation

    orders_create_from_approved(acting_user=fifo_book["trader"])
    allocations = list(
        OrderAllocation.objects.select_related("account", "order", "proposed_trade").order_by("pk")
    )
    sold = [a for a in allocations if a.order.side == "sell"]
    assert {(a.lot_key, tuple(a.lot_instructions), a.lot_method) for a in sold} == {
        ("b-old", (), "FIFO"),
        ("b-new", (), "FIFO"),
    }

    schwab = _rows(trade_file_render(allocations=allocations, layout="schwab")[0])
    for row in (r for r in schwab if r["Action"] == "Sell"):
        assert (row["Cost Basis Method"], row["VSP Open Date"], row["VSP Quantity"]) == (
            "FIFO",
            "",
            "",
        )
    sent = trade_file_generate(custodian="schwab", layout="generic", acting_user=None)
    generic = _rows(trade_file_content(trade_file=sent))
    for row in generic:
        is_sell = row["side"] == "sell"
        assert row["lot_instructions"] == ""
        assert row["cost_basis_method"] == ("FIFO" if is_sell else "")

    # Filled at the proposal's prices, sells in reverse (the custodian relieves FIFO anyway).
    lines = ["allocation_id,account_number,symbol,side,shares,price,trade_date"]
    for a in sorted(allocations, key=lambda a: -a.pk):
        trade = a.proposed_trade
        lines.append(f"{a.pk},F1,{a.order.symbol},{a.order.side},{a.shares},{trade.price},{AS_OF}")
    fills_import(content=("\n".join(lines) + "\n").encode(), filename="f.csv", acting_user=None)

    booked = Transaction.objects.filter(account=fifo_book["account"], kind="sell")
    assert {(t.lot_method, tuple(t.lot_picks)) for t in booked} == {("FIFO", ())}
    realized = RealizedGain.objects.filter(account=fifo_book["account"])
    by_lot: dict[str, Decimal] = {}
    for row in realized:
        by_lot[row.lot_key] = by_lot.get(row.lot_key, Decimal(0)) + row.shares
    assert by_lot == {key: trade.shares for key, trade in sells.items()}
    proposed_gain = sum(t.realized_gain_amount for t in sells.values())
    ledger_gain = sum(r.gain_amount for r in realized)
    assert abs(ledger_gain - proposed_gain) <= Decimal("0.02")  # cents of rounding per lot


def test_the_same_account_with_specified_lots_sells_the_new_lot(fifo_book):
    Account.objects.filter(pk=fifo_book["account"].pk).update(lot_selection="specified")

    proposal = _approved_run(fifo_book)

    sells = ProposedTrade.objects.filter(proposal=proposal, side="sell")
    assert "b-new" in {t.lot_key for t in sells}  # the loss lot first: less gain
    orders_create_from_approved(acting_user=fifo_book["trader"])
    for allocation in OrderAllocation.objects.filter(order__side="sell"):
        assert allocation.lot_instructions == [
            {"lot_id": allocation.lot_key, "shares": str(allocation.shares)}
        ]
        assert allocation.lot_method == ""


@pytest.mark.parametrize(
    ("changes", "lot_order"),
    [
        ({}, "FIFO"),
        ({"lot_method": "HIFO"}, "HIFO"),
        ({"lot_selection": "specified"}, None),
        ({"lot_selection": "custodian"}, None),  # Schwab takes specified lots
    ],
)
def test_the_account_settings_set_the_optimizers_lot_order(fifo_book, changes, lot_order):
    account = fifo_book["account"]
    universe = adapters.run_universe_build(symbols=SECTORS, as_of=AS_OF)

    def built() -> adapters.AccountProblem:
        (problem,), _ = adapters.account_problems_build(
            account_ids=[account.pk],
            as_of=AS_OF,
            mode=RunMode.FULL_REBALANCE,
            run_universe=universe,
        )
        return problem

    before = built()
    Account.objects.filter(pk=account.pk).update(**changes)
    after = built()

    assert after.problem.constraints.lot_order == lot_order
    digests = adapters.input_digest(before.problem), adapters.input_digest(after.problem)
    changed = adapters.input_changes(stored=digests[0], now=digests[1])
    assert changed == ([] if lot_order == "FIFO" else ["restrictions and trading settings"])


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
