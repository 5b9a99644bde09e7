"""A fund's minimum holding period (its short-term redemption rule) as a lock, at the boundary."""

from datetime import date

import pytest

from apps.optimizer.funds import holding_lock

BOUGHT = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("on", "locked"),
    [
        (date(2026, 11, 20), True),  # the day of the purchase
        (date(2027, 1, 18), True),  # day 59 of 60
        (date(2027, 1, 19), False),  # day 60: free
        (date(2027, 3, 1), False),
    ],
)
def test_a_lot_is_locked_through_day_n_minus_1_and_free_on_day_n(on, locked):
    lock = holding_lock(
        lot_key="b1", symbol="FUNDX", acquired_on=BOUGHT, min_holding_days=60, on=on
    )
    assert (lock is not None) is locked


def test_the_lock_says_how_long_the_lot_is_held_and_when_it_is_free():
    lock = holding_lock(
        lot_key="b1",
        symbol="FUNDX",
        acquired_on=BOUGHT,
        min_holding_days=60,
        on=date(2026, 12, 5),
    )
    assert lock is not None
    assert lock.reason == (
        "FUNDX lot of 2026-11-20 is held 15 of 60 days (the fund's short-term redemption "
        "rule; it may be sold from 2027-01-19)"
    )


def test_a_leap_day_counts_as_a_day():
    # 2028-02-01 + 30 days is 2028-03-02 in a leap year.
    args = {"lot_key": "b1", "symbol": "FUNDX", "acquired_on": date(2028, 2, 1)}
    assert holding_lock(**args, min_holding_days=30, on=date(2028, 3, 1)) is not None
    assert holding_lock(**args, min_holding_days=30, on=date(2028, 3, 2)) is None


def test_a_fund_without_a_minimum_holding_period_is_never_locked():
    args = {"lot_key": "b1", "symbol": "FUNDX", "acquired_on": BOUGHT, "on": BOUGHT}
    assert holding_lock(**args, min_holding_days=None) is None
    assert holding_lock(**args, min_holding_days=0) is None
