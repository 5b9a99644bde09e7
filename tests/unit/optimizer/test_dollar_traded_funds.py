"""Mutual funds trade in dollars at NAV: fractional shares in every account, whole-share too."""

from __future__ import annotations

import numpy as np
import pytest

from apps.optimizer.core.prepare import prepare_problem
from apps.optimizer.core.rounding import recheck
from apps.optimizer.core.solve import solve_rebalance
from apps.optimizer.core.types import Constraints, SolverConfig, TradeSide
from tests.unit.optimizer.builders import lot, problem, universe

CONFIG = SolverConfig()


def _fund_and_stock(constraints: Constraints, *, cash: float = 10_000.0):
    # N0 a mutual fund at a NAV of 13.37, N1 a stock at 97.13; all cash to start.
    u = universe([13.37, 97.13], ["Fund", "Tech"])
    return problem(u, [], [0.5, 0.5], cash=cash, cash_target=0.0, constraints=constraints)


def _buys(result) -> dict[str, float]:
    return {t.symbol: t.shares for t in result.trades if t.side is TradeSide.BUY}


def test_a_whole_share_account_buys_fractional_fund_shares_and_whole_stock_shares():
    p = _fund_and_stock(Constraints(fractional_symbols=frozenset({"N0"}), share_places=3))
    buys = _buys(solve_rebalance(p, CONFIG))
    fund, stock = buys["N0"], buys["N1"]
    assert fund != round(fund)  # dollars at NAV: a fraction of a share
    assert fund == pytest.approx(round(fund, 3), abs=1e-9)  # the custodian's 3 places
    assert stock == round(stock)  # the account's whole shares
    # The fund takes its half less the 5 bp cost, to the cent (373 whole shares: 4,987.01).
    assert 5_000.0 / 1.0005 - 0.02 <= fund * 13.37 <= 5_000.0


def test_without_the_fund_set_a_whole_share_account_buys_whole_fund_shares():
    p = _fund_and_stock(Constraints(share_places=3))
    fund = _buys(solve_rebalance(p, CONFIG))["N0"]
    assert fund == round(fund)


def test_fund_sales_never_exceed_the_lots_and_take_fractions():
    u = universe([13.37, 97.13], ["Fund", "Tech"])
    lots = [
        lot("f1", 0, 700.5, 10.0, 400),
        lot("f2", 0, 200.25, 12.0, 500),
        lot("s1", 1, 5, 90, 400),
    ]
    p = problem(
        u,
        lots,
        [0.2, 0.8],
        cash=0.0,
        cash_target=0.0,
        constraints=Constraints(fractional_symbols=frozenset({"N0"}), share_places=3),
    )
    result = solve_rebalance(p, CONFIG)
    held = {x.lot_id: x.shares for x in lots}
    sells = [t for t in result.trades if t.side is TradeSide.SELL and t.symbol == "N0"]
    assert sells
    for trade in sells:
        assert trade.lot_id is not None
        assert trade.shares <= held[trade.lot_id] + 1e-9
        assert trade.shares == pytest.approx(round(trade.shares, 3), abs=1e-9)
    assert any(t.shares != round(t.shares) for t in sells)  # part of a lot, in fractions
    stock_buys = [t.shares for t in result.trades if t.side is TradeSide.BUY and t.symbol == "N1"]
    assert stock_buys
    assert all(s == round(s) for s in stock_buys)
    assert result.violations == ()


def test_the_recheck_refuses_a_fractional_stock_buy_but_not_a_fractional_fund_buy():
    p = _fund_and_stock(Constraints(fractional_symbols=frozenset({"N0"}), share_places=3))
    household = p.as_household()
    prepared = prepare_problem(household, CONFIG)
    symbols = np.asarray(household.universe.symbols)[prepared.buy_symbol]
    fund_only = np.where(symbols == "N0", 12.345, 3.0)
    assert recheck(household, prepared, np.zeros(0), fund_only, include_bands=False) == ()
    both = np.where(symbols == "N0", 12.345, 3.5)
    assert recheck(household, prepared, np.zeros(0), both, include_bands=False) == (
        "buys a fraction of a share of N1 in whole shares",
    )
