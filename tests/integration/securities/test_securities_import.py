"""securities_import: all-or-nothing, every bad line reported, idempotent."""

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from apps.ingest.problems import FileRejectedError
from apps.securities.models import Security
from apps.securities.services.master import securities_import

GOOD = """symbol,cusip,name,kind,sector,industry,esg_tags
AAPL,037833100,Apple Inc.,stock,Information Technology,"Technology Hardware, Storage & Peripherals",
MO,,Altria,stock,Consumer Staples,Tobacco,tobacco
LMT,,Lockheed Martin,stock,Industrials,Aerospace & Defense,weapons
SPY,,SPDR S&P 500 ETF Trust,etf,,,
CASH,,Cash (USD sweep),cash,,,
"""


def _import(text: str):
    return securities_import(source=io.StringIO(text))


@pytest.mark.django_db
def test_good_file_creates_every_security():
    report = _import(GOOD)
    assert (report.rows_read, report.created, report.updated, report.unchanged) == (5, 5, 0, 0)
    mo = Security.objects.get(symbol="MO")
    assert mo.esg_tags == ["tobacco"]
    assert mo.industry == "Tobacco"
    assert Security.objects.get(symbol="AAPL").cusip == "037833100"
    assert Security.objects.get(symbol="CASH").kind == "cash"


@pytest.mark.django_db
def test_the_same_file_twice_changes_nothing():
    _import(GOOD)
    before = list(Security.objects.values_list("symbol", "updated_at").order_by("symbol"))
    report = _import(GOOD)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 5)
    assert list(Security.objects.values_list("symbol", "updated_at").order_by("symbol")) == before


@pytest.mark.django_db
def test_a_changed_row_updates_only_that_security():
    _import(GOOD)
    report = _import(GOOD.replace("Altria,", "Altria Group,"))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 4)
    assert Security.objects.get(symbol="MO").name == "Altria Group"


BAD = """symbol,cusip,name,kind,sector,industry,esg_tags
AAPL,037833100,Apple Inc.,stock,Information Technology,Software,
MO,,Altria,bond,Consumer Staples,Tobacco,tobacco
LMT,,Lockheed Martin,stock,Industrials,Aerospace & Defense,weapons;guns
XOM,123456789,Exxon Mobil,stock,Energy,"Oil, Gas & Consumable Fuels",fossil_fuels
AAPL,037833100,Apple Inc,stock,Information Technology,Software,
,,No symbol,stock,,,
KO,,Coca-Cola,stock,Staples,,
"""


@pytest.mark.django_db
def test_bad_rows_are_all_reported_and_nothing_is_applied():
    with pytest.raises(FileRejectedError) as excinfo:
        _import(BAD)
    reported = {(e.line, e.field) for e in excinfo.value.problems}
    assert reported == {
        (3, "kind"),
        (4, "esg_tags"),
        (5, "cusip"),
        (6, "symbol"),  # AAPL again, different name
        (7, "symbol"),
        (8, "sector"),
    }
    reasons = {e.line: e.reason for e in excinfo.value.problems}
    assert "'bond' is not one of" in reasons[3]
    assert "unknown tag 'guns'" in reasons[4]
    assert "repeats line 2" in reasons[6]
    assert Security.objects.count() == 0


@pytest.mark.django_db
def test_missing_header_column_is_reported_on_line_1():
    with pytest.raises(FileRejectedError) as excinfo:
        _import("symbol,name,kind\nAAPL,Apple,stock\n")
    assert {(e.line, e.field) for e in excinfo.value.problems} == {(1, "header")}
    assert any("missing column 'cusip'" in e.reason for e in excinfo.value.problems)


@pytest.mark.django_db
def test_a_cusip_held_by_another_symbol_is_rejected():
    _import(GOOD)
    with pytest.raises(FileRejectedError) as excinfo:
        _import("symbol,cusip,name,kind,sector,industry,esg_tags\nAPPL,037833100,Typo,stock,,,\n")
    assert [str(e) for e in excinfo.value.problems] == [
        "line 2: cusip: 037833100 already belongs to AAPL"
    ]


@pytest.mark.django_db
def test_command_exits_non_zero_and_prints_every_error(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD)
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_securities", str(bad))
    err = capsys.readouterr().err
    for line in (3, 4, 5, 6, 7, 8):
        assert f"bad.csv:line {line}:" in err
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    call_command("import_securities", str(good))
    assert "5 created" in capsys.readouterr().out


FUND_HEADER = (
    "symbol,cusip,name,kind,sector,industry,esg_tags,tracked_index,expense_ratio,min_holding_days"
)
FUNDS = f"""{FUND_HEADER}
AAPL,,Apple Inc.,stock,Information Technology,Software,,,,
LCF,,Large-cap fund,etf,,,,Large-Cap 100,0.0009,
LCFMX,,Large-cap mutual fund,mutual_fund,,,,Large-Cap 100,0.0045,60
MMF,,Money market,money_market,,,,,0.0011,
"""


@pytest.mark.django_db
def test_fund_columns_are_imported():
    report = _import(FUNDS)
    assert report.created == 4
    mutual = Security.objects.get(symbol="LCFMX")
    assert (mutual.kind, mutual.tracked_index) == ("mutual_fund", "Large-Cap 100")
    assert (mutual.expense_ratio_rate, mutual.min_holding_days) == (Decimal("0.0045"), 60)
    assert Security.objects.get(symbol="MMF").kind == "money_market"
    assert Security.objects.get(symbol="AAPL").expense_ratio_rate is None


@pytest.mark.django_db
def test_a_file_without_the_fund_columns_leaves_them_alone_and_a_blank_clears():
    _import(FUNDS)
    _import(GOOD.replace("SPY,,SPDR S&P 500 ETF Trust,etf", "LCF,,Large-cap fund,etf"))
    lcf = Security.objects.get(symbol="LCF")
    assert (lcf.tracked_index, lcf.expense_ratio_rate) == ("Large-Cap 100", Decimal("0.0009"))
    _import(FUNDS.replace("Large-Cap 100,0.0009,", ",,"))
    lcf.refresh_from_db()
    assert (lcf.tracked_index, lcf.expense_ratio_rate) == ("", None)


BAD_FUNDS = f"""{FUND_HEADER}
AAPL,,Apple Inc.,stock,Information Technology,Software,,S&P 500,,
LCF,,Large-cap fund,etf,,,,Large-Cap 100,0.45,
LCFMX,,Large-cap mutual fund,mutual_fund,,,,Large-Cap 100,abc,60
ETF2,,Another ETF,etf,,,,,,30
MF2,,Another mutual fund,mutual_fund,,,,=HYPERLINK(1),,0
MSFT,,Microsoft,stock,Information Technology,Software,,,0.001,
"""


@pytest.mark.django_db
def test_bad_fund_values_are_reported_by_line_and_nothing_is_applied():
    with pytest.raises(FileRejectedError) as excinfo:
        _import(BAD_FUNDS)
    reasons = {(e.line, e.field): e.reason for e in excinfo.value.problems}
    assert set(reasons) == {
        (2, "tracked_index"),
        (3, "expense_ratio"),
        (4, "expense_ratio"),
        (5, "min_holding_days"),
        (6, "tracked_index"),
        (6, "min_holding_days"),
        (7, "expense_ratio"),
    }
    assert "only funds track an index" in reasons[2, "tracked_index"]
    assert "write 0.0045 for 0.45%" in reasons[3, "expense_ratio"]
    assert "only mutual and money-market funds" in reasons[5, "min_holding_days"]
    assert not Security.objects.exists()
