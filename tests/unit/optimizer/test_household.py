"""Household: two accounts (taxable + IRA) solved jointly with shared wash-sale locks."""

from __future__ import annotations

import numpy as np
import pytest

from apps.optimizer.core.solve import solve_household
from apps.optimizer.core.types import (
    AccountInput,
    HouseholdProblem,
    Registration,
    SolverConfig,
    TaxLot,
    TaxProfile,
    TradeReason,
    TradeSide,
    WashSaleLocks,
)
from tests.unit.optimizer.builders import AS_OF, lot, risk_model, universe


def _with_account(lots: list[TaxLot], account_id: str) -> tuple[TaxLot, ...]:
    return tuple(
        TaxLot(
            lot_id=f"{account_id}-{x.lot_id}",
            symbol_index=x.symbol_index,
            shares=x.shares,
            basis_amount=x.basis_amount,
            holding_period_start=x.holding_period_start,
            account_id=account_id,
        )
        for x in lots
    )


def _household(*, location: bool = False) -> HouseholdProblem:
    u = universe([50.0, 80.0, 120.0, 40.0, 60.0, 90.0], ["A", "A", "A", "B", "B", "B"])
    taxable_lots = [
        lot("deep-loss", 0, 200.0, 100.0, 120),  # -50%: N0 is harvest-side today
        lot("gain", 1, 100.0, 40.0, 900),
        lot("gain3", 3, 200.0, 30.0, 900),
    ]
    ira_lots = [lot("ira0", 0, 50.0, 20.0, 900), lot("ira4", 4, 300.0, 90.0, 900)]
    n = u.size
    location_taxable = np.zeros(n)
    location_ira = np.zeros(n)
    if location:
        location_taxable[5] = 0.01  # e.g. an income-heavy name: better held in the IRA
        location_ira[5] = -0.01
    taxable = AccountInput(
        account_id="taxable",
        lots=_with_account(taxable_lots, "taxable"),
        cash_amount=2_000.0,
        tax_profile=TaxProfile(0.408, 0.238, gains_budget_amount=2_000.0),
        cash_reserve_amount=500.0,
        location_cost_rates=location_taxable,
    )
    ira = AccountInput(
        account_id="ira",
        lots=_with_account(ira_lots, "ira"),
        cash_amount=5_000.0,
        tax_profile=TaxProfile(0.0, 0.0, registration=Registration.TAX_DEFERRED),
        location_cost_rates=location_ira,
    )
    return HouseholdProblem(
        as_of=AS_OF,
        universe=u,
        target_weights=np.full(n, 0.98 / n),
        cash_target_weight=0.02,
        accounts=(taxable, ira),
        risk_model=risk_model(u),
        wash_sale_locks=WashSaleLocks(no_buy_symbols=frozenset({"N3"})),
    )


def test_two_accounts_share_the_side_rule_and_locks():
    problem = _household()
    result = solve_household(problem, SolverConfig())
    assert not result.violations
    buys = [t for t in result.trades if t.side is TradeSide.BUY]
    sells = [t for t in result.trades if t.side is TradeSide.SELL]
    assert any(t.reason is TradeReason.HARVEST and t.symbol == "N0" for t in sells)
    # No account (not even the IRA) buys the harvested name or the wash-sale-locked one.
    assert not any(t.symbol in ("N0", "N3") for t in buys)
    assert {t.account_id for t in result.trades} == {"taxable", "ira"}
    assert result.after.active_risk_rate < result.before.active_risk_rate
    # IRA sales realise no taxable gains; the taxable account keeps its budget.
    taxable_gains = sum(t.realized_gain_amount for t in sells if t.account_id == "taxable")
    assert taxable_gains <= 2_000.0 + 0.01
    assert result.taxes.short_term_gain_amount + result.taxes.long_term_gain_amount == (
        pytest.approx(taxable_gains)
    )
    tc = SolverConfig().transaction_cost_rate
    for account in problem.accounts:
        mine = [t for t in result.trades if t.account_id == account.account_id]
        cash = account.cash_amount + sum(
            (1 - tc) * t.amount if t.side is TradeSide.SELL else -(1 + tc) * t.amount for t in mine
        )
        assert cash >= account.cash_reserve_amount - 1e-6


def test_asset_location_preference_moves_buys_to_the_preferred_account():
    plain = solve_household(_household(location=False), SolverConfig())
    located = solve_household(_household(location=True), SolverConfig())

    def held_in_ira(result) -> float:
        return sum(
            t.amount if t.side is TradeSide.BUY else -t.amount
            for t in result.trades
            if t.symbol == "N5" and t.account_id == "ira"
        )

    assert held_in_ira(located) >= held_in_ira(plain)
    assert not any(
        t.symbol == "N5" and t.account_id == "taxable" and t.side is TradeSide.BUY
        for t in located.trades
    )
    assert not located.violations
