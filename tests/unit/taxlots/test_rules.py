"""Holding period (IRC §1222) and wash-sale window (IRC §1091(a)) at their exact boundaries."""

import datetime as dt

import pytest

from apps.taxlots.rules import (
    Term,
    add_months,
    is_long_term,
    long_term_start,
    tacked_holding_period_start,
    term_of,
    wash_sale_window,
)
from tests.unit.taxlots.builders import d


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2019-03-01", 12, "2020-03-01"),
        ("2020-02-29", 12, "2021-02-28"),  # clamped: 2021 has no Feb 29
        ("2020-02-29", 48, "2024-02-29"),
        ("2019-01-31", 1, "2019-02-28"),
        ("2020-01-31", 1, "2020-02-29"),
        ("2019-08-31", 12, "2020-08-31"),
        ("2019-12-15", 1, "2020-01-15"),
        ("2020-03-31", -1, "2020-02-29"),
    ],
)
def test_add_months_clamps_to_month_end(start: str, months: int, expected: str) -> None:
    assert add_months(d(start), months) == d(expected)


@pytest.mark.parametrize(
    ("acquired", "last_short", "first_long"),
    [
        ("2019-03-01", "2020-03-01", "2020-03-02"),  # exactly one year is not "more than"
        ("2020-02-29", "2021-02-28", "2021-03-01"),  # leap day, a month end: held from Mar 1
        ("2019-01-31", "2020-01-31", "2020-02-01"),  # month end
        ("2019-08-31", "2020-08-31", "2020-09-01"),  # month end
        ("2019-04-30", "2020-04-30", "2020-05-01"),  # month end, 30-day month
        ("2020-02-28", "2021-02-28", "2021-03-01"),  # not a month end: the anniversary is short
        ("2019-02-28", "2020-02-29", "2020-03-01"),  # month end: Rev. Rul. 66-7 (issue #17)
        ("2019-12-31", "2020-12-31", "2021-01-01"),  # year end
    ],
)
def test_long_term_iff_sold_after_start_plus_twelve_months(
    acquired: str, last_short: str, first_long: str
) -> None:
    start = d(acquired)
    assert long_term_start(start) == d(first_long)
    assert not is_long_term(start, d(last_short))
    assert is_long_term(start, d(first_long))
    assert term_of(start, d(last_short)) is Term.SHORT
    assert term_of(start, d(first_long)) is Term.LONG


def test_long_term_months_is_a_parameter() -> None:
    assert long_term_start(d("2020-01-15"), months=6) == d("2020-07-16")
    assert not is_long_term(d("2020-01-15"), d("2020-07-15"), months=6)


def test_same_day_sale_is_short_term() -> None:
    assert term_of(d("2020-05-05"), d("2020-05-05")) is Term.SHORT


def test_wash_sale_window_is_thirty_days_each_side_inclusive() -> None:
    # 2020-03-01: the window crosses Feb 29 of a leap year.
    assert wash_sale_window(d("2020-03-01")) == (d("2020-01-31"), d("2020-03-31"))
    start, end = wash_sale_window(d("2021-03-01"))
    assert (start, end) == (d("2021-01-30"), d("2021-03-31"))
    assert (end - start).days + 1 == 61  # Treas. Reg. 1.1091-1(a): the 61-day period


def test_wash_sale_window_days_is_a_parameter() -> None:
    assert wash_sale_window(d("2020-03-01"), days=0) == (d("2020-03-01"), d("2020-03-01"))


def test_wash_sale_window_stops_at_the_calendars_ends() -> None:
    # Day 30 still fits (0001-01-31 - 30 days = 0001-01-01); day 31 would be before the calendar.
    assert wash_sale_window(d("0001-01-31")) == (d("0001-01-01"), d("0001-03-02"))
    assert wash_sale_window(d("0001-01-30")) == (d("0001-01-01"), d("0001-03-01"))
    assert wash_sale_window(d("9999-12-01")) == (d("9999-11-01"), d("9999-12-31"))
    assert wash_sale_window(d("9999-12-31"), days=36525)[1] == d("9999-12-31")


def test_tacked_holding_period_subtracts_days_held() -> None:
    # Held 2012-09-26 .. 2013-01-09 = 105 days; replacement bought 2012-12-19.
    assert tacked_holding_period_start(d("2012-12-19"), d("2012-09-26"), d("2013-01-09")) == d(
        "2012-09-05"
    )
    # Replacement bought after the sale.
    held = d("2020-03-01") - d("2019-05-01")
    assert tacked_holding_period_start(d("2020-03-10"), d("2019-05-01"), d("2020-03-01")) == (
        d("2020-03-10") - held
    )
    assert isinstance(held, dt.timedelta)
