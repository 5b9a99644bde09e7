"""A concentrated legacy account of the backtest book transitions over N = 1, 3, 5 years on real
prices (the skfolio closes, 2014-2018), one run a year following its re-made plan."""

from __future__ import annotations

from datetime import date

import pytest

from apps.backtest.data import skfolio_dataset
from apps.backtest.transition import PathYear, concentrated_account, transition_path

START = date(2014, 1, 2)
#: Where the year-N run leaves the account at most. Above the 1% tolerance: on this path some
#: overweight names hold small-loss lots only, which the same-day side rule keeps frozen while
#: the name may be bought (OPTIMIZER-NOTES.md), so no risk aversion closes the last 0.3%.
REACHED = 0.015


@pytest.fixture(scope="module")
def paths() -> dict[int, list[PathYear]]:
    data = skfolio_dataset()
    account = concentrated_account(data, start=data.index_on_or_after(START), seed=1)
    return {n: transition_path(data, account, years=n) for n in (1, 3, 5)}


@pytest.mark.parametrize("years", [1, 3, 5])
def test_each_horizon_reaches_the_model_in_its_last_year(
    paths: dict[int, list[PathYear]], years: int
) -> None:
    path = paths[years]
    assert [p.year for p in path] == list(range(2014, 2014 + years))
    last = path[-1]
    assert last.gains_budget_amount is None  # the last year moves what is left
    assert last.tracking_error_rate <= REACHED
    assert all(last.tracking_error_rate < p.tracking_error_rate for p in path[:-1])
    # Tax is shown per year: every year but the last realizes no more than the plan allowed.
    for p in path[:-1]:
        assert p.gains_budget_amount is not None
        assert p.short_term_gain_amount + p.long_term_gain_amount <= p.gains_budget_amount + 1.0


def test_a_longer_horizon_spreads_the_gains(paths: dict[int, list[PathYear]]) -> None:
    one = paths[1][0]
    five = paths[5]
    assert one.long_term_gain_amount + one.short_term_gain_amount > max(
        p.short_term_gain_amount + p.long_term_gain_amount for p in five[:-1]
    )
