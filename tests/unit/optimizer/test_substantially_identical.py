"""Substantially identical groups (IRC §1091(a)): share classes of one issuer are one name for
the wash-sale locks, the side rule and the post-solve check."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from apps.optimizer.core.errors import ProblemShapeError
from apps.optimizer.core.locks import RecentTrade, wash_sale_locks_from_history
from apps.optimizer.core.prepare import LOT_FREE, LOT_FROZEN, prepare_problem
from apps.optimizer.core.rounding import recheck
from apps.optimizer.core.solve import solve_household, solve_rebalance
from apps.optimizer.core.types import (
    AccountInput,
    Constraints,
    HouseholdProblem,
    Registration,
    SolverConfig,
    TaxProfile,
    TradeReason,
    TradeSide,
    Universe,
    WashSaleLocks,
)
from tests.unit.optimizer.builders import AS_OF, lot, problem, risk_model

CONFIG = SolverConfig(transaction_cost_bps=5.0)
ALPHABET = frozenset({"GOOG", "GOOGL"})
GROUPS = (ALPHABET,)
SYMBOLS = ("GOOG", "GOOGL", "META", "XOM")
GOOG, GOOGL, META, XOM = range(4)


def _universe() -> Universe:
    return Universe(
        symbols=SYMBOLS,
        prices=np.array([100.0, 100.0, 100.0, 100.0]),
        sectors=("Comm", "Comm", "Comm", "Energy"),
        industries=("Media", "Media", "Media", "Oil"),
    )


def _problem(lots, targets, *, groups=GROUPS, cash=10_000.0, **kwargs):
    base = problem(_universe(), lots, targets, cash=cash, cash_target=0.0, **kwargs)
    return replace(base, substantially_identical=groups)


def _symbols(result, side):
    return {t.symbol for t in result.trades if t.side is side}


def _deep_loss_goog():
    # 100 GOOG bought at 150, now 100: a 33% loss, far past the 5% harvest threshold.
    return [lot("goog-loss", GOOG, 100.0, 150.0, 200), lot("xom", XOM, 100.0, 90.0, 900)]


def test_harvests_goog_and_does_not_buy_googl_the_same_day():
    result = solve_rebalance(_problem(_deep_loss_goog(), [0.0, 0.5, 0.25, 0.25]), CONFIG)
    assert any(t.lot_id == "goog-loss" and t.reason is TradeReason.HARVEST for t in result.trades)
    bought = _symbols(result, TradeSide.BUY)
    assert not bought & ALPHABET, "no member of the harvested group is bought"
    assert "META" in bought, "the replacement is a name outside the group"
    assert not result.violations


def test_without_the_group_googl_is_the_replacement():
    result = solve_rebalance(_problem(_deep_loss_goog(), [0.0, 0.5, 0.25, 0.25], groups=()), CONFIG)
    assert any(t.lot_id == "goog-loss" for t in result.trades)
    assert "GOOGL" in _symbols(result, TradeSide.BUY)
    assert not result.violations


def test_a_small_loss_lot_is_frozen_while_a_member_may_be_bought():
    # GOOG may not be bought (a restriction), its loss is under the threshold, GOOGL is wanted.
    lots = [lot("goog-small", GOOG, 100.0, 102.0, 200), lot("xom", XOM, 100.0, 90.0, 900)]
    cons = Constraints(never_buy_symbols=frozenset({"GOOG"}))
    grouped = prepare_problem(
        _problem(lots, [0.0, 0.5, 0.25, 0.25], constraints=cons).as_household(), CONFIG
    )
    alone = prepare_problem(
        _problem(lots, [0.0, 0.5, 0.25, 0.25], constraints=cons, groups=()).as_household(), CONFIG
    )
    assert alone.lot_state[0] == LOT_FREE  # GOOG cannot be bought: its loss may be sold
    assert grouped.lot_state[0] == LOT_FROZEN  # GOOGL may be bought: selling GOOG would wash
    assert grouped.name_is_buyable[GOOGL]


def test_a_forced_loss_sale_keeps_the_group_from_being_bought():
    lots = [lot("goog-small", GOOG, 100.0, 102.0, 200), lot("xom", XOM, 100.0, 90.0, 900)]
    cons = Constraints(must_sell_symbols=frozenset({"GOOG"}))
    prepared = prepare_problem(
        _problem(lots, [0.0, 0.5, 0.25, 0.25], constraints=cons).as_household(), CONFIG
    )
    assert not prepared.name_is_buyable[GOOGL]
    alone = prepare_problem(
        _problem(lots, [0.0, 0.5, 0.25, 0.25], constraints=cons, groups=()).as_household(), CONFIG
    )
    assert alone.name_is_buyable[GOOGL]


@pytest.mark.parametrize(("days_ago", "locked"), [(30, True), (31, False)])
def test_history_locks_every_member_inside_the_30_day_window(days_ago, locked):
    sold = RecentTrade("GOOG", AS_OF - timedelta(days=days_ago), TradeSide.SELL, is_loss=True)
    bought = RecentTrade("GOOGL", AS_OF - timedelta(days=days_ago), TradeSide.BUY, is_loss=False)
    locks = wash_sale_locks_from_history(AS_OF, [sold, bought], groups=GROUPS)
    expected = ALPHABET if locked else frozenset()
    assert locks == WashSaleLocks(no_buy_symbols=expected, no_loss_sale_symbols=expected)
    assert wash_sale_locks_from_history(AS_OF, [sold, bought]) == WashSaleLocks(
        no_buy_symbols=frozenset({"GOOG"}) if locked else frozenset(),
        no_loss_sale_symbols=frozenset({"GOOGL"}) if locked else frozenset(),
    )


def test_a_googl_purchase_ten_days_ago_keeps_the_goog_loss_unsold():
    bought = RecentTrade("GOOGL", AS_OF - timedelta(days=10), TradeSide.BUY, is_loss=False)
    locks = wash_sale_locks_from_history(AS_OF, [bought], groups=GROUPS)
    result = solve_rebalance(
        _problem(_deep_loss_goog(), [0.0, 0.5, 0.25, 0.25], locks=locks), CONFIG
    )
    assert not any(t.lot_id == "goog-loss" for t in result.trades)
    assert not result.violations


def test_a_lock_on_one_member_locks_the_group_in_the_problem():
    # Locks built without the groups still bind the whole group once the problem has them.
    lots = [lot("xom", XOM, 100.0, 90.0, 900)]
    locks = WashSaleLocks(no_buy_symbols=frozenset({"GOOG"}))
    result = solve_rebalance(_problem(lots, [0.25, 0.25, 0.25, 0.25], locks=locks), CONFIG)
    assert not _symbols(result, TradeSide.BUY) & ALPHABET
    ungrouped = solve_rebalance(
        _problem(lots, [0.25, 0.25, 0.25, 0.25], locks=locks, groups=()), CONFIG
    )
    assert "GOOGL" in _symbols(ungrouped, TradeSide.BUY)


def test_household_ira_does_not_buy_a_member_the_taxable_account_harvests():
    u = _universe()
    taxable = AccountInput(
        account_id="taxable",
        lots=(lot("goog-loss", GOOG, 100.0, 150.0, 200),),
        cash_amount=1_000.0,
        tax_profile=TaxProfile(0.4, 0.2),
    )
    ira = AccountInput(
        account_id="ira",
        lots=(lot("xom", XOM, 100.0, 90.0, 900),),
        cash_amount=20_000.0,
        tax_profile=TaxProfile(0.0, 0.0, registration=Registration.TAX_DEFERRED),
    )
    household = HouseholdProblem(
        as_of=AS_OF,
        universe=u,
        target_weights=np.array([0.0, 0.5, 0.25, 0.25]),
        cash_target_weight=0.0,
        accounts=(taxable, ira),
        risk_model=risk_model(u),
        substantially_identical=GROUPS,
    )
    result = solve_household(household, CONFIG)
    assert any(t.lot_id == "goog-loss" for t in result.trades)
    assert not _symbols(result, TradeSide.BUY) & ALPHABET
    assert not result.violations
    ungrouped = solve_household(replace(household, substantially_identical=()), CONFIG)
    assert "GOOGL" in _symbols(ungrouped, TradeSide.BUY)


def test_the_check_flags_a_member_bought_the_day_another_is_sold_at_a_loss():
    p = _problem(_deep_loss_goog(), [0.0, 0.5, 0.25, 0.25], groups=())
    prepared = prepare_problem(p.as_household(), CONFIG)
    sells = np.where(np.array(prepared.lot_ids) == "goog-loss", 100.0, 0.0)
    buys = np.where(prepared.buy_symbol == GOOGL, 10.0, 0.0)
    assert not [v for v in recheck(p.as_household(), prepared, sells, buys) if "wash" in v]
    grouped = replace(p, substantially_identical=GROUPS).as_household()
    assert [v for v in recheck(grouped, prepared, sells, buys) if "wash sale" in v] == [
        "GOOGL: loss sale of it or of a substantially identical name and purchase the same day "
        "(wash sale)"
    ]


@pytest.mark.parametrize(
    "groups",
    [
        (frozenset({"GOOG", "GOOGL"}), frozenset({"GOOGL", "META"})),  # GOOGL in two groups
        (frozenset({"GOOG"}),),  # a group of one
        (frozenset({"GOOG", ""}),),
        ("GOOG", "GOOGL"),  # symbols, not groups
    ],
)
def test_groups_are_checked(groups):
    with pytest.raises(ProblemShapeError):
        _problem(_deep_loss_goog(), [0.0, 0.5, 0.25, 0.25], groups=groups)


def test_groups_survive_the_json_round_trip():
    from apps.optimizer.core.serialization import problem_from_json, problem_to_json

    p = _problem(_deep_loss_goog(), [0.0, 0.5, 0.25, 0.25])
    back, _ = problem_from_json(problem_to_json(p))
    assert back.substantially_identical == GROUPS
    assert back.as_household().substantially_identical == GROUPS
