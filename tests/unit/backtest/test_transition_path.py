"""A concentrated legacy account of the backtest book transitions over N = 1, 3, 5 years on real
prices (the skfolio closes, 2014-2018), one run a year following its re-made plan.

Which horizon pays less tax on real prices depends on the path, so it is measured and reported
(docs/operations.md, "Transition plans"), not asserted; at unchanged prices the longer horizon
pays less (tests/unit/optimizer/test_transition.py)."""

from __future__ import annotations

from datetime import date

import pytest

from apps.backtest.data import skfolio_dataset
from apps.backtest.transition import PathYear, concentrated_account, transition_path

START = date(2014, 1, 2)
#: Where the year-N run leaves the account at most (the plan's tolerance is 1%).
REACHED = 0.01


@pytest.fixture(scope="module")
def paths() -> dict[int, list[PathYear]]:
    data = skfolio_dataset()
    account = concentrated_account(data, start=data.index_on_or_after(START), seed=1)
    return {n: transition_path(data, account, years=n, window=5) for n in (1, 3, 5)}


@pytest.mark.parametrize("years", [1, 3, 5])
def test_each_horizon_reaches_the_model_in_its_last_year(
    paths: dict[int, list[PathYear]], years: int
) -> None:
    path = paths[years][:years]
    assert [p.plan_year.year for p in paths[years]] == list(range(2014, 2019))
    assert [p.shape for p in paths[years][years:]] == ["after"] * (5 - years)
    last = path[-1]
    assert last.plan_year.gains_budget_amount is None  # the last year moves what is left
    assert last.plan_year.tracking_error_rate <= REACHED
    assert all(
        last.plan_year.tracking_error_rate < p.plan_year.tracking_error_rate for p in path[:-1]
    )
    # Tax is shown per year: every year but the last realizes no more than the plan allowed.
    for p in path[:-1]:
        assert p.plan_year.gains_budget_amount is not None
        assert (
            p.plan_year.short_term_gain_amount + p.plan_year.long_term_gain_amount
            <= p.plan_year.gains_budget_amount + 1.0
        )


def test_a_longer_horizon_spreads_the_gains(paths: dict[int, list[PathYear]]) -> None:
    one = paths[1][0]
    five = paths[5]
    assert one.plan_year.long_term_gain_amount + one.plan_year.short_term_gain_amount > max(
        p.plan_year.short_term_gain_amount + p.plan_year.long_term_gain_amount for p in five[:-1]
    )
