"""fund_holdings_import: every bad line named, nothing applied; replacement per (fund, as_of)."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from apps.ingest.problems import FileRejectedError
from apps.securities.models import FundHolding, Security, SecurityKind
from apps.securities.selectors import fund_holdings_get
from apps.securities.services.funds import fund_holdings_import


@pytest.fixture
def master(db):
    Security.objects.bulk_create(
        [
            Security(symbol="AAPL", name="Apple"),
            Security(symbol="MSFT", name="Microsoft"),
            Security(symbol="XOM", name="Exxon"),
            Security(symbol="LCF", name="Large-cap fund", kind=SecurityKind.ETF),
            Security(symbol="LCFMX", name="Large-cap mutual", kind=SecurityKind.MUTUAL_FUND),
        ]
    )


def _import(text: str):
    return fund_holdings_import(source=io.StringIO(text))


GOOD = """fund,as_of,symbol,weight
LCF,2024-01-02,AAPL,0.6
LCF,2024-01-02,MSFT,0.4
LCFMX,2024-01-02,AAPL,0.5
LCF,2024-03-01,XOM,0.2
"""


def _rows():
    return sorted(
        FundHolding.objects.values_list("fund__symbol", "as_of", "holding__symbol", "weight")
    )


def test_a_good_file_is_imported_and_reimporting_changes_nothing(master):
    report = _import(GOOD)
    assert (report.rows_read, report.baskets_replaced, report.holdings_created) == (4, 3, 4)
    assert fund_holdings_get(funds=["LCF"], as_of=date(2024, 2, 1)) == {
        "LCF": {"AAPL": Decimal("0.6"), "MSFT": Decimal("0.4")}
    }
    before = list(FundHolding.objects.order_by("pk").values_list("pk", flat=True))
    again = _import(GOOD)
    assert (again.baskets_replaced, again.baskets_unchanged, again.holdings_created) == (0, 3, 0)
    assert list(FundHolding.objects.order_by("pk").values_list("pk", flat=True)) == before


def test_a_file_replaces_the_holdings_of_each_fund_and_date_it_names_and_nothing_else(master):
    _import(GOOD)
    report = _import("fund,as_of,symbol,weight\nLCF,2024-01-02,XOM,0.9\n")
    assert (report.baskets_replaced, report.holdings_created, report.holdings_deleted) == (1, 1, 2)
    assert _rows() == [
        ("LCF", date(2024, 1, 2), "XOM", Decimal("0.9")),
        ("LCF", date(2024, 3, 1), "XOM", Decimal("0.2")),
        ("LCFMX", date(2024, 1, 2), "AAPL", Decimal("0.5")),
    ]


BAD = """fund,as_of,symbol,weight
LCF,2024-01-02,AAPL,0.6
NOPE,2024-01-02,AAPL,0.1
AAPL,2024-01-02,MSFT,0.1
LCF,2024-01-02,LCFMX,0.1
LCF,2024-01-02,ZZZZ,0.1
LCFMX,2024-01-02,AAPL,0
LCFMX,2024-01-02,MSFT,1.5
LCF,2024-01-02,AAPL,0.6
LCF,2024-05-01,AAPL,0.7
LCF,2024-05-01,MSFT,0.4
LCF,2024-13-01,MSFT,0.4
"""


def test_every_bad_line_is_named_and_nothing_changes(master):
    _import(GOOD)
    before = _rows()
    with pytest.raises(FileRejectedError) as excinfo:
        _import(BAD)
    reasons = {(p.line, p.field): p.reason for p in excinfo.value.problems}
    assert set(reasons) == {
        (3, "fund"),
        (4, "fund"),
        (5, "symbol"),
        (6, "symbol"),
        (7, "weight"),
        (8, "weight"),
        (9, "symbol"),
        (10, "weight"),
        (11, "weight"),
        (12, "as_of"),
    }
    assert reasons[3, "fund"] == "unknown fund NOPE"
    assert "AAPL is a stock, not a fund" in reasons[4, "fund"]
    assert "look-through is one level" in reasons[5, "symbol"]
    assert reasons[6, "symbol"] == "unknown security ZZZZ"
    assert "not in (0, 1]" in reasons[7, "weight"]
    assert "repeats line 2" in reasons[9, "symbol"]
    assert "the weights of LCF on 2024-05-01 sum to 1.1, above 1" in reasons[10, "weight"]
    assert _rows() == before


def test_one_bad_line_changes_nothing_and_the_command_names_it(master, tmp_path, capsys):
    _import(GOOD)
    before = _rows()
    path = tmp_path / "holdings.csv"
    path.write_text("fund,as_of,symbol,weight\nLCF,2024-01-02,XOM,0.9\nLCF,2024-01-02,MSFT,-1\n")
    with pytest.raises(CommandError):
        call_command("import_fund_holdings", str(path))
    assert f"{path}:line 3: weight:" in capsys.readouterr().err
    assert _rows() == before
    path.write_text("fund,as_of,symbol,weight\nLCF,2024-01-02,XOM,0.9\n")
    call_command("import_fund_holdings", str(path))
    assert "1 (fund, as_of) replaced" in capsys.readouterr().out


@pytest.fixture
def staff_client(firms, master):
    staff = get_user_model().objects.create_user(
        username="ops", password="Ops-pass-12345", is_staff=True
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff)
    return client


def _upload(client, text: str):
    upload = SimpleUploadedFile("holdings.csv", text.encode(), content_type="text/csv")
    return client.post("/staff/fund-holdings/", {"file": upload})


def test_the_staff_page_imports_or_lists_every_problem(staff_client):
    bad = _upload(staff_client, "fund,as_of,symbol,weight\nLCF,2024-01-02,AAPL,2\n")
    assert bad.status_code == 400
    assert "Nothing was imported" in bad.content.decode()
    assert "2 is not in (0, 1]" in bad.content.decode()
    assert not FundHolding.objects.exists()
    good = _upload(staff_client, GOOD)
    assert good.status_code == 200
    assert "3</strong> fund-dates replaced" in good.content.decode()
    assert FundHolding.objects.count() == 4


def test_the_staff_page_is_for_platform_staff_only(firms, master):
    plain = get_user_model().objects.create_user(username="plain", password="Plain-pass-12345")
    client = Client(HTTP_HOST="localhost")
    client.force_login(plain)
    response = _upload(client, GOOD)
    assert response.status_code == 302
    assert "/staff/login/" in response["Location"]
    assert not FundHolding.objects.exists()
