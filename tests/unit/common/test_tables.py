"""How list cells read on the page and in CSV (apps.common.tables)."""

from datetime import UTC, date, datetime
from decimal import Decimal

from apps.common.tables import Column, Kind, csv_value, format_value


def test_page_formats_money_shares_rates_and_dates():
    assert format_value(Decimal("1234567.5"), Kind.MONEY) == "1,234,567.50"
    assert format_value(Decimal("12.500000"), Kind.SHARES) == "12.5"
    assert format_value(Decimal("0.0125"), Kind.RATE) == "1.25%"
    assert format_value(12345, Kind.INTEGER) == "12,345"
    assert format_value(date(2024, 6, 28), Kind.DATE) == "2024-06-28"
    assert format_value(None, Kind.MONEY) == ""
    assert format_value(["drift", "harvest"], Kind.TEXT) == "drift, harvest"


def test_csv_keeps_plain_numbers_and_iso_dates():
    assert csv_value(Decimal("1E+3")) == "1000"  # never an exponent
    assert csv_value(Decimal("-12.50")) == "-12.50"
    assert csv_value(date(2024, 6, 28)) == "2024-06-28"
    assert csv_value(datetime(2024, 6, 28, 15, 30, tzinfo=UTC)) == "2024-06-28T15:30:00+00:00"
    assert csv_value(None) == ""
    assert csv_value(("a", "b")) == "a; b"


def test_only_columns_with_a_field_or_computed_values_sort():
    assert Column("a", "A", field="name").can_sort
    assert Column("v", "V", is_computed=True).can_sort
    assert not Column("p", "P", value=lambda row: row).can_sort
    assert not Column("f", "F", field="name", is_sortable=False).can_sort
