"""price_map_get (latest close on or before a date, with staleness) and price_history_get."""

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from apps.securities.models import Price, Security
from apps.securities.selectors import price_history_get, price_map_get, security_map_get


@pytest.fixture
def prices(db):
    aapl, msft, _ = Security.objects.bulk_create(
        [
            Security(symbol="AAPL", name="Apple"),
            Security(symbol="MSFT", name="Microsoft"),
            Security(symbol="NEW", name="No prices yet"),
        ]
    )
    rows = [
        (aapl, date(2024, 1, 2), "185.64"),
        (aapl, date(2024, 1, 3), "184.25"),
        (aapl, date(2024, 1, 5), "181.18"),
        (msft, date(2024, 1, 2), "370.87"),  # then nothing: stale
    ]
    Price.objects.bulk_create(
        [Price(security=s, priced_on=d, close_price=Decimal(c), source="test") for s, d, c in rows]
    )


def test_price_map_get_returns_the_latest_close_on_or_before_as_of(
    prices, django_assert_num_queries
):
    with django_assert_num_queries(1):
        quotes = price_map_get(symbols=["AAPL", "MSFT", "NEW", "NOPE"], as_of=date(2024, 1, 4))
    assert set(quotes) == {"AAPL", "MSFT"}
    assert quotes["AAPL"].close_price == Decimal("184.25")
    assert quotes["AAPL"].priced_on == date(2024, 1, 3)
    assert quotes["AAPL"].age_days == 1
    assert quotes["MSFT"].priced_on == date(2024, 1, 2)
    assert quotes["MSFT"].is_stale(max_age_days=1)
    assert not quotes["AAPL"].is_stale(max_age_days=1)


def test_price_map_get_before_the_first_close_has_no_quote(prices):
    assert price_map_get(symbols=["AAPL"], as_of=date(2023, 12, 31)) == {}
    assert price_map_get(symbols=["AAPL"], as_of=date(2024, 1, 5))["AAPL"].age_days == 0


def test_price_history_get_is_dates_by_symbols_in_one_query(prices, django_assert_num_queries):
    with django_assert_num_queries(1):
        history = price_history_get(
            symbols=["MSFT", "AAPL", "NEW"], start=date(2024, 1, 1), end=date(2024, 1, 4)
        )
    assert list(history.columns) == ["MSFT", "AAPL", "NEW"]
    assert list(history.index) == [date(2024, 1, 2), date(2024, 1, 3)]
    assert history.loc[date(2024, 1, 3), "AAPL"] == pytest.approx(184.25)
    assert np.isnan(history.loc[date(2024, 1, 3), "MSFT"])
    assert history["NEW"].isna().all()


def test_price_history_get_with_no_rows_is_an_empty_frame(prices):
    history = price_history_get(symbols=["AAPL"], start=date(2020, 1, 1), end=date(2020, 2, 1))
    assert history.empty
    assert list(history.columns) == ["AAPL"]


def test_security_map_get_skips_unknown_symbols(prices, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = security_map_get(symbols=["AAPL", "ZZZ"])
    assert list(found) == ["AAPL"]
