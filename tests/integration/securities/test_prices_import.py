"""prices_import: bulk upsert, all-or-nothing, every bad line reported, idempotent."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from apps.ingest.problems import FileRejectedError
from apps.securities.models import Price, Security
from apps.securities.services.master import prices_import

GOOD = """symbol,date,close
AAPL,2024-01-02,185.64
AAPL,2024-01-03,184.25
MSFT,2024-01-02,370.87
MSFT,2024-01-03,370.60
AAPL,2024-01-03,184.25
"""


@pytest.fixture
def securities(db):
    return Security.objects.bulk_create(
        [Security(symbol="AAPL", name="Apple"), Security(symbol="MSFT", name="Microsoft")]
    )


def _import(text: str, **kwargs):
    return prices_import(source=io.StringIO(text), **kwargs)


def _closes() -> dict[tuple[str, date], Decimal]:
    return {
        (symbol, day): close
        for symbol, day, close in Price.objects.values_list(
            "security__symbol", "priced_on", "close_price"
        )
    }


def test_good_file_creates_prices_and_skips_identical_duplicates(securities):
    report = _import(GOOD)
    assert (report.rows_read, report.created, report.updated, report.unchanged) == (5, 4, 0, 0)
    assert report.duplicates_skipped == 1
    assert _closes()[("AAPL", date(2024, 1, 3))] == Decimal("184.25")
    assert not Price.objects.filter(is_synthetic=True).exists()
    assert set(Price.objects.values_list("source", flat=True)) == {"csv import"}


def test_the_same_file_twice_changes_nothing(securities):
    _import(GOOD)
    report = _import(GOOD)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 4)


def test_changed_closes_are_updated_and_new_dates_created(securities):
    _import(GOOD)
    report = _import(
        "symbol,date,close,synthetic\nAAPL,2024-01-03,184.30,\nAAPL,2024-01-04,181.91,true\n"
    )
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    assert _closes()[("AAPL", date(2024, 1, 3))] == Decimal("184.30")
    assert Price.objects.get(priced_on=date(2024, 1, 4)).is_synthetic


BAD = """symbol,date,close
AAPL,2024-01-02,185.64
GOOG,2024-01-02,140.00
AAPL,01/03/2024,184.25
AAPL,2024-02-30,184.25
MSFT,2024-01-02,0
MSFT,2024-01-03,-1.5
MSFT,2024-01-04,abc
AAPL,2024-01-02,185.65
MSFT,2024-01-05,1.1234567
"""


def test_bad_rows_are_all_reported_and_nothing_is_applied(securities):
    with pytest.raises(FileRejectedError) as excinfo:
        _import(BAD)
    errors = {(e.line, e.field): e.reason for e in excinfo.value.problems}
    assert set(errors) == {
        (3, "symbol"),
        (4, "date"),
        (5, "date"),
        (6, "close"),
        (7, "close"),
        (8, "close"),
        (9, "row"),
        (10, "close"),
    }
    assert errors[(3, "symbol")] == "unknown symbol GOOG"
    assert "not positive" in errors[(6, "close")]
    assert "not a number" in errors[(8, "close")]
    assert "repeats line 2 with different content" in errors[(9, "row")]
    assert "more than 6 decimal places" in errors[(10, "close")]
    assert Price.objects.count() == 0


def test_command_exits_non_zero_and_reports_rate(securities, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD)
    with pytest.raises(CommandError):
        call_command("import_prices", str(bad))
    assert "bad.csv:line 3: symbol: unknown symbol GOOG" in capsys.readouterr().err
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    call_command("import_prices", str(good), "--source", "vendor x")
    out = capsys.readouterr().out
    assert "4 created" in out
    assert "rows/s" in out
    assert set(Price.objects.values_list("source", flat=True)) == {"vendor x"}
