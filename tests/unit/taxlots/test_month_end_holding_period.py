"""Month-end acquisitions (issue #17 item 5a): Rev. Rul. 66-7; Caspe v. United States.

A lot acquired on the last day of a month begins its holding period on the first day of the
next month, so it is long-term ("held more than" N months, IRC §1222) from the first day of the
month after the month N months after the acquisition month. Checked at every month end (leap
days included) from 2000 to 2030 for the 6-month threshold of the 1970s statute and today's 12
months, through ``rules`` and through a replay; and on every day of those years against the
rule written another way.
"""

import calendar
import datetime as dt

import pytest

from apps.taxlots.engine import ReplayParams
from apps.taxlots.rules import Term, is_long_term, long_term_start, tacked_holding_period_start
from tests.unit.taxlots.builders import buy, d, row, run, sell

YEARS = range(2000, 2031)
THRESHOLDS = (6, 12)
ONE_DAY = dt.timedelta(days=1)


def month_ends() -> list[dt.date]:
    return [
        dt.date(year, month, calendar.monthrange(year, month)[1])
        for year in YEARS
        for month in range(1, 13)
    ]


def leap_days() -> list[dt.date]:
    return [dt.date(year, 2, 29) for year in YEARS if calendar.isleap(year)]


def first_day_after_target_month(acquired: dt.date, months: int) -> dt.date:
    """The first day of the month after the month that is ``months`` after the acquisition's."""
    months_since_year_0 = acquired.year * 12 + acquired.month - 1 + months + 1
    return dt.date(months_since_year_0 // 12, months_since_year_0 % 12 + 1, 1)


def day_after_anniversary(acquired: dt.date, months: int) -> dt.date:
    """For any other day: the day after the same day ``months`` later (or that month's end)."""
    months_since_year_0 = acquired.year * 12 + acquired.month - 1 + months
    year, month = months_since_year_0 // 12, months_since_year_0 % 12 + 1
    day = min(acquired.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day) + ONE_DAY


def is_month_end(day: dt.date) -> bool:
    return (day + ONE_DAY).month != day.month


def test_every_leap_day_of_the_period_is_a_month_end_checked_below() -> None:
    assert len(leap_days()) == 8  # 2000 (divisible by 400), 2004, ..., 2028
    assert set(leap_days()) <= set(month_ends())
    assert len(month_ends()) == 31 * 12


@pytest.mark.parametrize("months", THRESHOLDS)
def test_every_month_end_turns_long_term_on_the_first_of_the_month_after_the_target(
    months: int,
) -> None:
    for acquired in month_ends():
        start = long_term_start(acquired, months)
        assert start == first_day_after_target_month(acquired, months), acquired
        assert start.day == 1
        assert not is_long_term(acquired, start - ONE_DAY, months), acquired
        assert is_long_term(acquired, start, months), acquired


@pytest.mark.parametrize("months", THRESHOLDS)
def test_every_month_end_through_a_replay(months: int) -> None:
    params = ReplayParams(long_term_months=months)
    for acquired in month_ends():
        expected = first_day_after_target_month(acquired, months)
        result = run(
            buy("a", acquired.isoformat(), 2, 200),
            sell("short", (expected - ONE_DAY).isoformat(), 1, 150),
            sell("long", expected.isoformat(), 1, 150),
            params=params,
        )
        assert row(result, "short", "a").term is Term.SHORT, acquired
        assert row(result, "long", "a").term is Term.LONG, acquired


@pytest.mark.parametrize("months", THRESHOLDS)
def test_every_day_of_the_period_against_the_rule_written_by_cases(months: int) -> None:
    day, last = dt.date(YEARS[0], 1, 1), dt.date(YEARS[-1], 12, 31)
    while day <= last:
        if is_month_end(day):
            expected = first_day_after_target_month(day, months)
        else:
            expected = day_after_anniversary(day, months)
        assert long_term_start(day, months) == expected, day
        day += ONE_DAY


@pytest.mark.parametrize(
    ("acquired", "months", "first_long"),
    [
        ("2019-02-28", 12, "2020-03-01"),  # the issue's case: 2020-02-29 is short-term
        ("2020-02-29", 12, "2021-03-01"),
        ("2019-01-31", 12, "2020-02-01"),
        ("2020-01-31", 12, "2021-02-01"),
        ("2019-08-31", 6, "2020-03-01"),  # 6 months on ends with Feb 29 (leap year)
        ("2018-08-31", 6, "2019-03-01"),  # ... and with Feb 28
        ("1972-11-30", 6, "1973-06-01"),  # Caspe
        # Not month ends, where the target month lacks the day after: never the anniversary.
        ("2020-02-28", 12, "2021-03-01"),
        ("2019-03-30", 6, "2019-10-01"),
        ("2019-08-29", 6, "2020-03-01"),
        ("2019-08-28", 6, "2020-02-29"),
    ],
)
def test_named_cases(acquired: str, months: int, first_long: str) -> None:
    assert long_term_start(d(acquired), months) == d(first_long)


def test_caspe_bought_1972_11_30_sold_1973_05_31_was_not_held_more_than_six_months() -> None:
    # Caspe v. United States, 694 F.2d 1116 (8th Cir. 1982), under the 6-month IRC §1222(3)
    # then in force.
    six_months = ReplayParams(long_term_months=6)
    result = run(
        buy("caspe", "1972-11-30", 2, 1000),
        sell("may31", "1973-05-31", 1, 900),
        sell("june1", "1973-06-01", 1, 900),
        params=six_months,
    )
    assert row(result, "may31", "caspe").term is Term.SHORT
    assert row(result, "june1", "caspe").term is Term.LONG


def test_the_issues_case_2019_02_28_sold_2020_02_29_is_short_term() -> None:
    result = run(
        buy("a", "2019-02-28", 2, 1000),
        sell("leap", "2020-02-29", 1, 900),
        sell("march", "2020-03-01", 1, 900),
    )
    assert row(result, "leap", "a").term is Term.SHORT
    assert row(result, "march", "a").term is Term.LONG


def test_a_tacked_start_is_treated_as_an_acquisition_on_that_date() -> None:
    # Bought 2019-11-25, sold at a loss 2020-01-10 (46 days held), replaced 2020-01-15: the
    # replacement's tacked start (IRC §1223(3)) is 2020-01-15 - 46 days = 2019-11-30, a month
    # end, so with a 6-month threshold it is long-term from 2020-06-01 (not 2020-05-31).
    assert tacked_holding_period_start(d("2020-01-15"), d("2019-11-25"), d("2020-01-10")) == d(
        "2019-11-30"
    )
    result = run(
        buy("old", "2019-11-25", 2, 1000),
        sell("loss", "2020-01-10", 2, 800),
        buy("new", "2020-01-15", 2, 800),
        sell("may31", "2020-05-31", 1, 500),
        sell("june1", "2020-06-01", 1, 500),
        params=ReplayParams(long_term_months=6),
    )
    assert row(result, "may31", "new").holding_period_start == d("2019-11-30")
    assert row(result, "may31", "new").term is Term.SHORT
    assert row(result, "june1", "new").term is Term.LONG


def test_a_month_end_lot_replaced_tacks_its_days() -> None:
    # rules.tacked_holding_period_start's docstring example.
    start = tacked_holding_period_start(d("2019-03-20"), d("2019-01-31"), d("2019-03-15"))
    assert start == d("2019-02-05")
    assert long_term_start(start) == d("2020-02-06")
