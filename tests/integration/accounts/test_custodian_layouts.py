"""A new custodian is a declaration: a layout declared here imports files with no other code."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from apps.access.roles import Role
from apps.accounts.layouts import LAYOUTS, AsOf, CustodianLayout
from apps.accounts.models import Account, Household, TaxLot, Transaction
from apps.accounts.services.imports import custodian_file_import
from apps.ingest.problems import FileRejectedError
from apps.ingest.reading import Column
from apps.securities.models import Security
from tests.conftest import login_client

# A Vanguard-like export, invented for this test: its own column names, actions and sweep fund.
VANGUARD = CustodianLayout(
    name="vanguard",
    label="Vanguard-like export",
    custodian="vanguard",
    account_number=Column("Account Number"),
    transactions={
        "trade_date": Column("Trade Date"),
        "action": Column("Transaction Type"),
        "symbol": Column("Symbol"),
        "shares": Column("Shares"),
        "amount": Column("Net Amount"),
    },
    lots={
        "symbol": Column("Symbol"),
        "acquired_date": Column("Date Acquired"),
        "shares": Column("Shares"),
        "cost_basis": Column("Total Cost"),
    },
    positions={
        "symbol": Column("Symbol"),
        "shares": Column("Shares"),
        "cost_basis": Column("Total Cost"),
        "cash_value": Column("Total Value", required=False),
    },
    actions=(
        ("buy", "buy"),
        ("sell", "sell"),
        ("dividend", "dividend"),
        ("funds received", "signed"),
    ),
    sweep_symbols=frozenset({"VMFXX"}),
    as_of=AsOf.TITLE,
)

# Newest first, like the custodians' exports; a title line above the header, a sweep buy.
TRANSACTIONS = """\
Account activity for 9876 as of 06/30/2024
Account Number,Trade Date,Transaction Type,Symbol,Shares,Net Amount
9876,06/03/2024,Sell,MSFT,-4,"$1,720.00"
9876,02/01/2024,Buy,VMFXX,100,-100.00
9876,01/05/2024,Buy,MSFT,10,"-$4,000.00"
9876,01/03/2024,Funds Received,,,"$10,000.00"
"""


@pytest.fixture
def vanguard(firm_a, monkeypatch):
    monkeypatch.setitem(LAYOUTS, VANGUARD.name, VANGUARD)
    Security.objects.get_or_create(symbol="MSFT", defaults={"name": "Microsoft"})
    household = Household.objects.create(external_id="HV", name="Vanguard family")
    return Account.objects.create(
        household=household, custodian="vanguard", number="9876", name="V", registration="taxable"
    )


def _import(text: str, kind: str = "transactions"):
    return custodian_file_import(
        kind=kind, layout="vanguard", content=text.encode(), filename="v.csv", acting_user=None
    )


def test_a_layout_declared_in_a_test_imports_a_custodian_file(vanguard):
    report = _import(TRANSACTIONS)

    assert (report.created, report.skipped, report.layout) == (3, 1, "vanguard")
    entries = Transaction.objects.filter(account=vanguard).order_by("trade_on", "sequence")
    assert [(e.kind, e.symbol, e.shares, e.amount) for e in entries] == [
        ("deposit", "", None, Decimal("10000.00")),
        ("buy", "MSFT", Decimal("10.000000"), Decimal("4000.00")),
        ("sell", "MSFT", Decimal("4.000000"), Decimal("1720.00")),
    ]
    lot = TaxLot.objects.get(account=vanguard)
    assert (lot.symbol, lot.shares, lot.acquired_on) == ("MSFT", Decimal(6), date(2024, 1, 5))
    assert _import(TRANSACTIONS).created == 0  # derived ids: the same file again changes nothing


def test_its_problems_name_its_own_columns(vanguard):
    bad = TRANSACTIONS.replace("Sell,MSFT,-4", "Short,MSFT,-4").replace("-$4,000.00", "abc")

    with pytest.raises(FileRejectedError) as caught:
        _import(bad)

    assert caught.value.lines() == [
        "line 3: Transaction Type: 'Short' is not a supported action",
        "line 5: Net Amount: 'abc' is not a number",
    ]
    assert Transaction.objects.count() == 0


def test_its_positions_read_the_sweep_fund_as_cash_and_the_title_as_of(vanguard):
    positions = (
        "Positions as of 06/28/2024\n"
        "Account Number,Symbol,Shares,Total Cost,Total Value\n"
        "9876,MSFT,6,2400.00,2700.00\n"
        "9876,VMFXX,,,512.25\n"
    )

    report = _import(positions, kind="positions")

    assert report.created == 2  # the opening lot and the cash deposit
    cash = Transaction.objects.get(account=vanguard, kind="deposit")
    assert (cash.amount, cash.trade_on) == (Decimal("512.25"), date(2024, 6, 28))


def test_the_upload_page_offers_the_new_layout(vanguard, firms):
    upload = SimpleUploadedFile("v.csv", TRANSACTIONS.encode(), content_type="text/csv")
    trader = login_client(firms["a"], Role.TRADER)

    assert b"Vanguard-like export" in trader.get("/imports/").content
    response = trader.post(
        "/imports/", {"kind": "transactions", "layout": "vanguard", "file": upload}
    )

    assert response.status_code == 200
    with schema_context(firms["a"].schema):
        assert Transaction.objects.filter(account__custodian="vanguard").count() == 3
