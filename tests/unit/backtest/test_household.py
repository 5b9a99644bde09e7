"""Two-account households in the backtest (``apps.backtest.household``, issue 18 item 6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from apps.backtest.household import (
    ARMS,
    FIGURES,
    household_problem,
    main,
    make_households,
)
from apps.optimizer.core.types import Registration, WashSaleLocks
from tests.unit.backtest.datasets import skfolio_window_files
from tests.unit.optimizer.builders import lot, problem, universe


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    # The first half of 2020: the March crash makes losses to harvest (and to wash in an IRA).
    prices, sectors = skfolio_window_files(
        tmp_path_factory.mktemp("household"), date(2019, 1, 1), date(2020, 6, 30)
    )
    lines: list[str] = []
    args = ["--prices", str(prices), "--sectors", str(sectors), "--households", "3"]
    assert main([*args, "--start", "2020-01-02", "--end", "2020-06-30"], lines.append) == 0
    return lines


def _figure(lines: list[str], arm: str, name: str) -> float:
    block = lines.index(f"{arm}:")
    row = next(line for line in lines[block + 2 :] if line.split()[0] == name)
    return float(row.split()[1])


def test_households_are_seeded_and_split_between_the_two_accounts():
    first, again = make_households(5, seed=3), make_households(5, seed=3)
    assert first == again
    for household in first:
        taxable, ira = household.accounts(funded_day=10)
        assert taxable.initial_cash + ira.initial_cash == pytest.approx(household.value)
        assert 0.4 <= taxable.initial_cash / household.value <= 0.7
        assert taxable.rates(2020) == ira.rates(2020)


def test_the_household_problem_shares_the_wash_sale_locks():
    u = universe([50.0, 80.0, 120.0], ["A", "A", "B"])
    targets = [0.33, 0.33, 0.33]
    taxable = replace(
        problem(u, [lot("t0", 0, 10.0, 40.0, 400)], targets, cash=1_000.0),
        account_id="taxable",
        wash_sale_locks=WashSaleLocks(frozenset({"N1"}), frozenset({"N0"})),
    )
    ira = replace(
        problem(u, [lot("i0", 2, 10.0, 40.0, 400)], targets, cash=1_000.0),
        account_id="ira",
        wash_sale_locks=WashSaleLocks(frozenset({"N2"}), frozenset({"N2"})),
    )
    joint = household_problem(taxable, ira)
    # N1 sold at a loss in the taxable account: no buys in either; N2 bought in the IRA: no
    # taxable loss sale; the IRA's own "loss" sale of N2 is no tax event and locks nothing.
    assert joint.wash_sale_locks == WashSaleLocks(frozenset({"N1"}), frozenset({"N0", "N2"}))
    assert [a.account_id for a in joint.accounts] == ["taxable", "ira"]
    assert joint.accounts[1].tax_profile.registration is Registration.TAX_DEFERRED
    assert joint.accounts[1].tax_profile.short_term_rate == 0.0


def test_each_arm_reports_every_figure_and_the_last_line(printed: list[str]):
    for arm in ARMS:
        for name in FIGURES:
            assert np.isfinite(_figure(printed, arm, name))
        assert _figure(printed, arm, "solve_failures") == 0.0
        assert 0.0 < _figure(printed, arm, "tracking_error_pct") < 3.0
    last = printed[-1]
    assert last.startswith("household households=3 seeds=1 after_tax_joint=")
    assert "te_separate=" in last


def test_joint_solve_places_volatile_names_in_taxable_and_never_washes_into_the_ira(
    printed: list[str],
):
    # Derived location: the taxable account holds the more volatile names.
    assert _figure(printed, "joint", "volatility_gap_pct") > 1.0
    assert _figure(printed, "joint", "volatility_gap_pct") > _figure(
        printed, "separate", "volatility_gap_pct"
    )
    # Shared locks: no taxable loss is lost to an IRA purchase in the joint arms.
    assert _figure(printed, "joint", "lost_to_ira_washes") == 0.0
    assert _figure(printed, "joint-given", "lost_to_ira_washes") == 0.0
