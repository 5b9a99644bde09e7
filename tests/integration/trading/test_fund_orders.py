"""Funds in trading: orders by dollar amount, fills at NAV, and the minimum holding period lock.

A mutual fund (``FUNDX``, 60 days' minimum holding) is held by the run book's legacy account
(whole shares) in three lots: one old and fractional, one bought 60 days before the run
(free), one bought 59 days before (locked).
"""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
import time_machine
from django.db import IntegrityError, transaction

from apps.access.roles import Role
from apps.accounts.models import TaxLot, Transaction
from apps.accounts.services.ledger import ledger_rebuild
from apps.common.exceptions import ApplicationError
from apps.ingest.problems import FileRejectedError
from apps.optimizer import adapters
from apps.trading.models import (
    Order,
    OrderAllocation,
    OrderQuantityType,
    OrderStatus,
    Proposal,
    ProposalStatus,
    ProposedTrade,
    RunMode,
    RunScope,
)
from apps.trading.services.fills import fills_import
from apps.trading.services.orders import orders_create_from_approved
from apps.trading.services.preview import account_preview
from apps.trading.services.runs import (
    rebalance_chunk_execute,
    rebalance_run_create,
    rebalance_run_start,
)
from apps.trading.services.trade_files import trade_file_generate, trade_file_render
from apps.trading.services.universes import run_universe_get
from tests.integration.accounts.conftest import entry
from tests.integration.trading.conftest import AS_OF, _business_days

FUND = "FUNDX"
NAV = Decimal("12.50")
LOCKED_ON = AS_OF - timedelta(days=59)  # 2024-04-30: day 59 of 60 on the run date
FREE_ON = AS_OF - timedelta(days=60)  # 2024-04-29: day 60, free
FILLS_HEADER = "allocation_id,account_number,symbol,side,shares,price,trade_date,amount\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def trader(firms):
    return firms["a"].users[Role.TRADER]


@pytest.fixture
def fund_book(run_book):
    """FUNDX in the security master with prices; three lots of it in the legacy account."""
    from apps.securities.models import Price, Security

    security = Security.objects.create(
        symbol=FUND, name="Fund X Investor", kind="mutual_fund", min_holding_days=60
    )
    days = _business_days(AS_OF, 300)
    path = np.exp(np.cumsum(np.random.default_rng(3).normal(0.0, 0.01, len(days))))
    path = path / path[-1] * float(NAV)
    Price.objects.bulk_create(
        Price(security=security, priced_on=d, close_price=Decimal(f"{p:.2f}"), source="test")
        for d, p in zip(days, path, strict=True)
    )
    legacy = run_book["legacy"]
    entry(legacy, "dep-fund", "deposit", AS_OF.replace(month=1, day=2), amount="10000")
    entry(legacy, "b-fund-old", "buy", AS_OF.replace(month=1, day=3), FUND, "200.125", "2400")
    entry(legacy, "b-fund-60", "buy", FREE_ON, FUND, "40", "480")
    entry(legacy, "b-fund-59", "buy", LOCKED_ON, FUND, "40", "480")
    ledger_rebuild(household=legacy.household)
    assert not legacy.is_fractional_shares
    return run_book


def _run(account, trader) -> Proposal:
    run = rebalance_run_create(
        scope=RunScope.ACCOUNT,
        scope_ids=[account.pk],
        mode=RunMode.FULL_REBALANCE,
        as_of=AS_OF,
        requested_by=trader,
    )
    for chunk in rebalance_run_start(run_id=run.pk):
        rebalance_chunk_execute(run_id=run.pk, chunk=chunk)
    return Proposal.objects.get(run=run)


def _approved(account, trader, trades: list[dict]) -> Proposal:
    """The account's proposal from a run now, approved, with ``trades`` instead of its own."""
    proposal = _run(account, trader)
    proposal.trades.all().delete()
    Proposal.objects.filter(pk=proposal.pk).update(status=ProposalStatus.APPROVED)
    for trade in trades:
        ProposedTrade.objects.create(
            proposal=proposal, reason="reduce_risk", explanation="test", **trade
        )
    return proposal


def _trade(side: str, symbol: str, shares: str, price: Decimal, lot_key: str = "") -> dict:
    amount = (Decimal(shares) * price).quantize(Decimal("0.01"))
    return {
        "side": side,
        "symbol": symbol,
        "shares": Decimal(shares),
        "price": price,
        "amount": amount,
        "lot_key": lot_key,
    }


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def _fills(rows: list[tuple]) -> bytes:
    return (FILLS_HEADER + "".join(",".join(str(v) for v in r) + "\n" for r in rows)).encode()


# --- the minimum holding period --------------------------------------------------------------


def test_day_59_of_60_is_locked_day_60_free_and_the_proposal_says_why(fund_book, trader):
    legacy = fund_book["legacy"]
    proposal = _run(legacy, trader)

    (built,), _ = adapters.account_problems_build(
        account_ids=[legacy.pk],
        as_of=AS_OF,
        mode=RunMode.FULL_REBALANCE,
        run_universe=run_universe_get(proposal.run),
    )
    assert built.problem.constraints.never_sell_lot_ids == {"b-fund-59"}
    assert FUND in built.problem.constraints.fractional_symbols
    assert not proposal.trades.filter(lot_key="b-fund-59").exists()
    # FUNDX is not in the model: the account would sell it, and is told why this lot stays.
    assert (
        "Not sold: FUNDX lot of 2024-04-30 is held 59 of 60 days (the fund's short-term "
        "redemption rule; it may be sold from 2024-06-29)." in proposal.summary.splitlines()
    )
    assert "b-fund-60" not in proposal.summary
    preview = account_preview(account=legacy, as_of=AS_OF, mode=RunMode.FULL_REBALANCE)
    assert preview.data is not None
    assert any(note.startswith("Not sold: FUNDX lot of 2024-04-30") for note in preview.data.notes)


def test_the_pre_trade_checks_refuse_the_sale_of_a_locked_fund_lot(fund_book, trader):
    legacy = fund_book["legacy"]
    with time_machine.travel(datetime(2024, 6, 28, 16, tzinfo=UTC), tick=False):
        proposal = _approved(
            legacy,
            trader,
            [
                _trade("sell", FUND, "40", NAV, "b-fund-59"),
                _trade("sell", FUND, "40", NAV, "b-fund-60"),
            ],
        )
        batch = orders_create_from_approved(acting_user=trader)

    assert batch.orders == []
    (reasons,) = batch.held.values()
    assert reasons == [
        "sells lot b-fund-59: FUNDX lot of 2024-04-30 is held 59 of 60 days (the fund's "
        "short-term redemption rule; it may be sold from 2024-06-29)"
    ]
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.HELD


# --- orders and trade files ------------------------------------------------------------------


def test_mutual_fund_orders_are_in_dollars_and_a_stocks_in_shares(fund_book, trader):
    legacy = fund_book["legacy"]
    _approved(
        legacy,
        trader,
        [
            _trade("buy", FUND, "12.345", NAV),  # fractional, in a whole-share account
            _trade("sell", "AAA", "10", Decimal("30"), "b-aaa"),
        ],
    )
    orders = {o.symbol: o for o in orders_create_from_approved(acting_user=trader).orders}
    fund = orders[FUND].allocations.get()
    stock = orders["AAA"].allocations.get()
    assert orders[FUND].is_dollar_traded and not orders["AAA"].is_dollar_traded
    assert (fund.quantity_type, fund.order_amount) == (OrderQuantityType.AMOUNT, Decimal("154.31"))
    assert (stock.quantity_type, stock.order_amount) == (OrderQuantityType.SHARES, None)

    allocations = list(OrderAllocation.objects.select_related("account", "order").order_by("pk"))
    generic = {
        r["symbol"]: r
        for r in _rows(trade_file_render(allocations=allocations, layout="generic")[0])
    }
    assert (generic[FUND]["shares"], generic[FUND]["quantity_type"], generic[FUND]["amount"]) == (
        "",
        "amount",
        "154.31",
    )
    assert (
        generic["AAA"]["shares"],
        generic["AAA"]["quantity_type"],
        generic["AAA"]["amount"],
    ) == (
        "10",
        "shares",
        "",
    )
    for layout in ("schwab", "fidelity"):
        rows = {
            r["Symbol"]: r
            for r in _rows(trade_file_render(allocations=allocations, layout=layout)[0])
        }
        assert (rows[FUND]["Quantity"], rows[FUND]["Quantity Type"], rows[FUND]["Amount"]) == (
            "",
            "Dollars",
            "154.31",
        )
        assert (rows["AAA"]["Quantity"], rows["AAA"]["Quantity Type"]) == ("10", "Shares")

    trade_file = trade_file_generate(custodian="schwab", layout="generic", acting_user=trader)
    assert trade_file.line_count == 2
    with pytest.raises(ApplicationError) as refused:  # re-generating never duplicates
        trade_file_generate(custodian="schwab", layout="schwab", acting_user=trader)
    assert refused.value.code == "trade_file_nothing_to_send"


def test_an_amount_order_must_carry_its_amount(fund_book, trader):
    legacy = fund_book["legacy"]
    _approved(legacy, trader, [_trade("buy", FUND, "12.345", NAV)])
    (order,) = orders_create_from_approved(acting_user=trader).orders
    with transaction.atomic(), pytest.raises(IntegrityError):
        OrderAllocation.objects.filter(order=order).update(order_amount=None)
    with transaction.atomic(), pytest.raises(IntegrityError):  # nor an order in shares one
        OrderAllocation.objects.filter(order=order).update(quantity_type=OrderQuantityType.SHARES)


def test_a_fund_sold_whole_goes_by_shares_and_a_part_of_it_by_amount(fund_book, trader):
    legacy = fund_book["legacy"]
    _approved(
        legacy,
        trader,
        [
            _trade("sell", FUND, "50", NAV, "b-fund-old"),  # part of a lot: dollars
            _trade("sell", FUND, "40", NAV, "b-fund-60"),  # a whole lot: its shares
        ],
    )
    (order,) = orders_create_from_approved(acting_user=trader).orders
    by_lot = {a.lot_key: a for a in order.allocations.all()}
    assert by_lot["b-fund-old"].quantity_type == OrderQuantityType.AMOUNT
    assert by_lot["b-fund-old"].order_amount == Decimal("625.00")
    assert by_lot["b-fund-60"].quantity_type == OrderQuantityType.SHARES


def test_selling_the_whole_fund_position_is_sell_all_in_shares(fund_book, trader):
    legacy = fund_book["legacy"]
    _approved(
        legacy,
        trader,
        [
            _trade("sell", FUND, "200.125", NAV, "b-fund-old"),
            _trade("sell", FUND, "40", NAV, "b-fund-60"),
            _trade("sell", FUND, "40", NAV, "b-fund-59"),  # free today (2026): not locked
        ],
    )
    (order,) = orders_create_from_approved(acting_user=trader).orders
    assert {a.quantity_type for a in order.allocations.all()} == {OrderQuantityType.ALL}
    allocations = list(order.allocations.select_related("account", "order"))
    rows = _rows(trade_file_render(allocations=allocations, layout="schwab")[0])
    assert {(r["Quantity Type"], r["Amount"]) for r in rows} == {("All Shares", "")}
    assert sorted(Decimal(r["Quantity"]) for r in rows) == [40, 40, Decimal("200.125")]


# --- fills -----------------------------------------------------------------------------------


@pytest.fixture
def fund_buy_sent(fund_book, trader):
    """An approved buy of 1,005.00 of FUNDX (80.4 shares at the proposal's NAV), sent."""
    proposal = _approved(fund_book["legacy"], trader, [_trade("buy", FUND, "80.4", NAV)])
    (order,) = orders_create_from_approved(acting_user=trader).orders
    trade_file_generate(custodian="schwab", layout="generic", acting_user=trader)
    return {
        **fund_book,
        "proposal": proposal,
        "order": order,
        "allocation": order.allocations.get(),
    }


def test_an_amount_fill_books_the_shares_the_amount_bought_at_nav(fund_buy_sent, trader):
    allocation, order = fund_buy_sent["allocation"], fund_buy_sent["order"]
    assert allocation.order_amount == Decimal("1005.00")
    # The NAV fell to 12.00: 1,005.00 buys 83.75 shares, more than the 80.4 estimated.
    content = _fills([(allocation.pk, "R1", FUND, "buy", "83.75", "12.00", AS_OF, "1005.00")])

    fills_import(content=content, filename="nav.csv", acting_user=trader)

    entry_ = Transaction.objects.get(external_id=f"fill:{allocation.pk}:1")
    assert (entry_.shares, entry_.amount) == (Decimal("83.75"), Decimal("1005.00"))
    allocation.refresh_from_db()
    assert (allocation.filled_shares, allocation.fill_amount) == (Decimal("83.75"), Decimal("1005"))
    assert not allocation.is_open
    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED
    fund_buy_sent["proposal"].refresh_from_db()
    assert fund_buy_sent["proposal"].status == ProposalStatus.FILLED
    held = TaxLot.objects.filter(account=fund_buy_sent["legacy"], symbol=FUND)
    assert sum(lot.shares for lot in held) == Decimal("280.125") + Decimal("83.75")


def test_amount_fills_in_parts_without_an_amount_column_and_an_overfill_is_refused(
    fund_buy_sent, trader
):
    allocation = fund_buy_sent["allocation"]
    with pytest.raises(FileRejectedError) as rejected:
        fills_import(
            content=_fills([(allocation.pk, "R1", FUND, "buy", "83.75", "12", AS_OF, "1005.02")]),
            filename="over.csv",
            acting_user=trader,
        )
    assert "overfill: 1,005.02 dollars, but only 1,005.00" in "\n".join(
        rejected.value.report.lines()
    )
    # Two fills carrying shares and NAV only: 40 x 12 = 480.00, then 43.75 x 12 = 525.00.
    fills_import(
        content=_fills([(allocation.pk, "R1", FUND, "buy", "40", "12", AS_OF, "")]),
        filename="part-1.csv",
        acting_user=trader,
    )
    allocation.refresh_from_db()
    assert allocation.is_open and allocation.remaining_amount == Decimal("525.00")
    assert Order.objects.get(pk=allocation.order_id).status == OrderStatus.PARTIALLY_FILLED
    fills_import(
        content=_fills([(allocation.pk, "R1", FUND, "buy", "43.75", "12", AS_OF, "")]),
        filename="part-2.csv",
        acting_user=trader,
    )
    allocation.refresh_from_db()
    assert (allocation.filled_shares, allocation.is_open) == (Decimal("83.75"), False)
    assert Order.objects.get(pk=allocation.order_id).status == OrderStatus.FILLED


def test_an_amount_sell_at_a_lower_nav_relieves_the_shares_sold_from_the_instructed_lot(
    fund_book, trader
):
    legacy = fund_book["legacy"]
    _approved(legacy, trader, [_trade("sell", FUND, "50", NAV, "b-fund-old")])  # 625.00
    (order,) = orders_create_from_approved(acting_user=trader).orders
    trade_file_generate(custodian="schwab", layout="generic", acting_user=trader)
    allocation = order.allocations.get()
    assert allocation.lot_instructions == [{"lot_id": "b-fund-old", "shares": "50.000000"}]
    # At 12.00, 625.00 is 52.083 shares: 2.083 more than the instruction's estimate.
    content = _fills([(allocation.pk, "R1", FUND, "sell", "52.083", "12.00", AS_OF, "625.00")])

    fills_import(content=content, filename="sell.csv", acting_user=trader)

    sell = Transaction.objects.get(external_id=f"fill:{allocation.pk}:1")
    assert (sell.shares, sell.amount) == (Decimal("52.083"), Decimal("625.00"))
    assert sell.lot_picks == [{"lot_id": "b-fund-old", "shares": "52.083000"}]
    lot = TaxLot.objects.get(account=legacy, lot_key="b-fund-old")
    assert lot.shares == Decimal("200.125") - Decimal("52.083")
    allocation.refresh_from_db()
    assert not allocation.is_open
