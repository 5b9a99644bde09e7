"""Stored proposals over random accounts: figures of the stored trades, share counts, true reasons.

Random accounts (restrictions, locks, modes, budgets, reserves, withdrawals, minimum trades),
half of the whole-share ones holding fractional lots (a transfer, a reinvested dividend). For
every result: the rows store exactly the core's share counts, each row's sentence states its
share count and gain, the stored figures are ``proposal_figures`` of the stored rows (also from
the packed snapshot, as the run stores it) and agree with the core's float figures to the
cents rounding of each row, and every reason is true of the final trade set.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.optimizer import adapters
from apps.optimizer.core import result as core_result
from apps.optimizer.core.serialization import to_jsonable
from apps.optimizer.core.solve import solve_rebalance
from apps.optimizer.core.synthetic import make_account
from apps.optimizer.core.types import (
    LotTable,
    RebalanceMode,
    RebalanceProblem,
    RebalanceResult,
    TradeReason,
    TradeSide,
    lot_table,
)
from apps.optimizer.figures import FIGURE_KEYS, proposal_figures, shares_text
from tests.unit.optimizer.test_invariants import CONFIG, _universe, accounts

EXAMPLES = int(os.environ.get("OPTIMIZER_HYPOTHESIS_EXAMPLES", "120"))
CHECKED = {"results": 0, "trades": 0, "fractional_lots_sold": 0, "dropped": 0, "cash_short": 0}


@st.composite
def stored_accounts(draw: st.DrawFn) -> RebalanceProblem:
    """An account as the adapter builds it: shares on the 1e-6 grid, basis to cents."""
    problem = draw(accounts())
    table = lot_table(problem.lots)
    shares = np.round(table.shares, 6)
    if not problem.constraints.is_fractional_shares and len(shares) and draw(st.booleans()):
        # Fractional lots in a whole-share account: some lots get a fraction, some are a fraction.
        picks = draw(st.lists(st.integers(0, len(shares) - 1), min_size=1, max_size=6))
        for k in picks:
            fraction = draw(st.sampled_from([0.05683, 0.5, 0.999999, 0.123456]))
            shares[k] = np.round(np.floor(shares[k]) + fraction, 6)
    shares = np.maximum(shares, 1e-6)
    basis = np.round(table.basis_amount / table.shares * shares, 2)
    lots = LotTable(
        lot_ids=table.lot_ids,
        symbol_index=table.symbol_index,
        shares=shares,
        basis_amount=basis,
        holding_period_start_days=table.holding_period_start_days,
        account_id=problem.account_id,
    )
    value = problem.cash_amount + float(shares @ problem.universe.prices[table.symbol_index])
    withdrawals = draw(st.sampled_from([0.0, 0.02, 0.2, 2.0])) * value  # 2.0: out of reach
    places = draw(st.sampled_from([6, 6, 3]))  # 3: a custodian taking 3 places (Fidelity)
    return dataclasses.replace(
        problem,
        constraints=dataclasses.replace(problem.constraints, share_places=places),
        lots=lots,
        cash_amount=round(problem.cash_amount, 2),
        cash_reserve_amount=round(problem.cash_reserve_amount, 2),
        withdrawals_due_amount=round(withdrawals, 2),
    )


def _stored(problem: RebalanceProblem) -> tuple[RebalanceResult, adapters.ProposalData]:
    _, compiled = _universe()
    result = solve_rebalance(problem, CONFIG, compiled)
    built = adapters.AccountProblem(
        account_id=1, household_id=1, problem=problem, target_notes=("a target note",)
    )
    data = adapters.proposal_data_from_result(
        built=built, result=result, is_fractional=problem.constraints.is_fractional_shares
    )
    return result, data


def _check_rows(problem: RebalanceProblem, result: RebalanceResult, data: adapters.ProposalData):
    table = lot_table(problem.lots)
    held = dict(zip(table.lot_ids, table.shares.tolist(), strict=True))
    assert len(data.trades) == len(result.trades), "no trade is dropped after the core"
    for trade, row in zip(result.trades, data.trades, strict=True):
        assert (row.side, row.symbol, row.lot_key) == (
            trade.side.value,
            trade.symbol,
            trade.lot_id or "",
        )
        assert row.shares == row.shares.quantize(Decimal("0.000001"))
        places = problem.constraints.share_places
        assert row.shares == row.shares.quantize(Decimal(1).scaleb(-places)), "custodian's places"
        assert abs(float(row.shares) - trade.shares) <= 1e-9, "the core's share count is stored"
        assert row.shares > 0
        assert row.reason == trade.reason.value
        if trade.side is TradeSide.SELL:
            lot_shares = Decimal(repr(held[trade.lot_id]))
            assert row.shares <= lot_shares
            if not problem.constraints.is_fractional_shares:
                # Whole shares, or the whole lot with its fraction.
                assert row.shares == row.shares.to_integral_value() or row.shares == lot_shares
                if row.shares != row.shares.to_integral_value():
                    CHECKED["fractional_lots_sold"] += 1
            gain = row.realized_gain_amount
            assert gain is not None
            assert abs(float(gain) - trade.realized_gain_amount) <= 0.005 + 1e-9
            kind = "loss" if gain < 0 else "gain"
            assert row.explanation.startswith(f"Sell {shares_text(row.shares)} shares of ")
            assert f"-term {kind} of {abs(gain):,.2f})" in row.explanation
            assert row.term == ("long" if trade.is_long_term else "short")
        else:
            assert float(row.shares).is_integer() or problem.constraints.is_fractional_shares
            assert row.explanation.startswith(f"Buy {shares_text(row.shares)} shares of ")
            assert f"({row.amount:,.2f})" in row.explanation
        assert row.explanation.endswith(f" {trade.why}.")


def _check_figures(problem: RebalanceProblem, result: RebalanceResult, data: adapters.ProposalData):
    figures = proposal_figures(problem=problem, trades=data.trades)
    stored = {key: data.metrics[key] for key in FIGURE_KEYS}
    assert stored == figures.metrics()
    assert data.turnover_amount == figures.turnover_amount
    assert data.estimated_tax_amount == figures.estimated_tax_amount
    # The same from the snapshot the run stores (packed, unpacked), as a replay reads it.
    own = adapters.snapshot_unpack(adapters.snapshot_pack(data.snapshot))
    run_snapshot = {
        "universe": to_jsonable(problem.universe),
        "risk_model": to_jsonable(problem.risk_model),
    }
    replayed = adapters.problem_from_snapshot(run_snapshot=run_snapshot, own=own)
    assert proposal_figures(problem=replayed, trades=data.trades).metrics() == stored

    # Independently of the function: sums over the stored rows.
    sells = [t for t in data.trades if t.side == "sell"]
    buys = [t for t in data.trades if t.side == "buy"]
    assert Decimal(stored["turnover_amount"]) == sum(
        (abs(t.amount) for t in data.trades), Decimal(0)
    )
    cash_after = (
        Decimal(stored["cash_before_amount"])
        + sum((t.amount for t in sells), Decimal(0))
        - sum((t.amount for t in buys), Decimal(0))
    )
    assert Decimal(stored["cash_after_amount"]) == cash_after
    # Against the core's float figures of the same trades: within each row's cent rounding.
    slack = 0.005 * max(len(data.trades), 1) + 1e-6
    value = result.before.value_amount
    assert abs(float(figures.turnover_amount) - result.turnover_weight * value) <= slack
    if problem.tax_profile.is_taxable and (
        problem.tax_profile.short_term_rate or problem.tax_profile.long_term_rate
    ):
        taxes = result.taxes
        assert abs(float(figures.short_term_gain_amount) - taxes.short_term_gain_amount) <= slack
        assert abs(float(figures.long_term_gain_amount) - taxes.long_term_gain_amount) <= slack
        assert abs(float(figures.losses_harvested_amount) - taxes.losses_harvested_amount) <= slack
        # The tax is rate × the rows' cent-rounded gains, itself rounded to the cent.
        rate = max(problem.tax_profile.short_term_rate, problem.tax_profile.long_term_rate)
        tax_slack = rate * slack + 0.005
        assert abs(float(figures.estimated_tax_amount) - taxes.estimated_tax_amount) <= tax_slack
    assert abs(stored["after"]["active_risk_rate"] - result.after.active_risk_rate) <= 1e-4
    assert abs(stored["after"]["max_drift_weight"] - result.after.max_drift_weight) <= 1e-5

    # Cash needs: funded, or said in the proposal's header with why.
    required = Decimal(stored["cash_required_amount"])
    if cash_after < required:
        assert data.metrics["cash_short"], "an unfunded cash need is reported"
        assert data.notes[0].startswith("Cash short: ")
        CHECKED["cash_short"] += 1
    if result.cash_short:
        assert data.metrics["cash_short"] == list(result.cash_short)
    summary = data.metrics["dropped_summary"]
    assert sum(g["count"] for g in summary) == len(result.dropped)  # every one accounted for
    assert len(data.metrics["dropped"]) == min(len(result.dropped), adapters.DROPPED_LISTED)
    CHECKED["dropped"] += len(result.dropped)
    for dropped in data.metrics["dropped"]:
        assert dropped["why"] and Decimal(dropped["amount"]) >= 0


def check_reasons(problem: RebalanceProblem, result: RebalanceResult) -> None:
    """Every trade's reason and sentence hold against the final trade set."""
    universe = problem.universe
    index = {s: i for i, s in enumerate(universe.symbols)}
    table = lot_table(problem.lots)
    prices = universe.prices
    value = problem.cash_amount + float(table.shares @ prices[table.symbol_index])
    weights = (
        np.bincount(
            table.symbol_index,
            weights=table.shares * prices[table.symbol_index],
            minlength=universe.size,
        )
        / value
    )
    target = problem.target_weights
    floor = problem.cash_reserve_amount + problem.withdrawals_due_amount
    harvested = {t.symbol for t in result.trades if t.reason is TradeReason.HARVEST}
    has_buys = any(t.side is TradeSide.BUY for t in result.trades)
    profile = problem.tax_profile
    # Lots whose loss reaches the account's harvest threshold (none with harvesting off).
    lot_value = table.shares * prices[table.symbol_index]
    threshold = profile.harvest_threshold_rate
    harvestable = {
        lot_id
        for lot_id, basis, worth in zip(table.lot_ids, table.basis_amount, lot_value, strict=True)
        if threshold is not None and basis > 0 and (basis - worth) / basis >= threshold
    }
    for trade in result.trades:
        i = index[trade.symbol]
        assert trade.explanation.endswith(f" {trade.why}."), trade
        if trade.reason is TradeReason.HARVEST:
            assert trade.side is TradeSide.SELL and trade.realized_gain_amount < 0.0
            assert profile.is_taxable and (profile.short_term_rate or profile.long_term_rate)
            assert trade.lot_id in harvestable
        elif trade.reason in (TradeReason.RESTRICTION, TradeReason.TRANSITION):
            assert trade.side is TradeSide.SELL
            assert trade.symbol in problem.constraints.must_sell_symbols
        elif trade.reason is TradeReason.RAISE_CASH:
            assert trade.side is TradeSide.SELL
            if trade.why == core_result.WHY_RAISE_CASH_FLOOR:
                assert problem.cash_amount < floor
            else:
                assert trade.why == core_result.WHY_RAISE_CASH_MODE
                assert problem.mode is RebalanceMode.RAISE_CASH
        elif trade.reason is TradeReason.SUBSTITUTE:
            assert trade.side is TradeSide.BUY
            sector = universe.sectors[i]
            same_sector = sorted(s for s in harvested if universe.sectors[index[s]] == sector)
            assert same_sector, f"{trade.symbol}: substitute with no {sector} name harvested"
            back_on = problem.as_of + timedelta(days=31)
            assert trade.why in {core_result.substitute_why(s, back_on) for s in same_sector}
        elif trade.reason is TradeReason.FILL_UNDERWEIGHT:
            assert trade.side is TradeSide.BUY and weights[i] < target[i]
            assert trade.why == core_result.WHY_UNDERWEIGHT
        elif trade.side is TradeSide.BUY:
            assert trade.reason is TradeReason.REDUCE_RISK and trade.why == core_result.WHY_TRACKING
            assert universe.sectors[i] not in {universe.sectors[index[s]] for s in harvested}
        else:
            assert trade.reason is TradeReason.REDUCE_RISK
            if trade.why == core_result.WHY_OVERWEIGHT:
                assert weights[i] > target[i]
            elif trade.why == core_result.WHY_FUND_BUYS:
                assert has_buys
            else:
                assert trade.why == core_result.WHY_TRACKING
        forced = (TradeReason.HARVEST, TradeReason.RESTRICTION, TradeReason.TRANSITION)
        if trade.side is TradeSide.SELL and trade.reason not in forced:
            # A loss sale of a lot at or past the account's harvest threshold, in a taxable
            # account with rates, is a harvest unless a screen forced it.
            assert not (
                trade.realized_gain_amount < 0.0
                and profile.is_taxable
                and (profile.short_term_rate or profile.long_term_rate)
                and trade.lot_id in harvestable
            )


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=stored_accounts())
def test_stored_proposals_describe_their_trades(problem: RebalanceProblem) -> None:
    result, data = _stored(problem)
    if result.cash_short:
        # Raising all it may for a cash need out of reach can break the gains budget: said.
        assert all("over budget" in v for v in result.violations), result.violations
    else:
        assert not result.violations, result.violations
    _check_rows(problem, result, data)
    _check_figures(problem, result, data)
    check_reasons(problem, result)
    CHECKED["results"] += 1
    CHECKED["trades"] += len(result.trades)


def test_a_whole_share_account_sells_a_fractional_lot_whole_with_its_fraction() -> None:
    synthetic, _ = _universe()
    base = make_account(synthetic, seed=3, with_restrictions=False, value_amount=50_000.0)
    table = lot_table(base.lots)
    # Every lot of a screened name is sold: its fractional lot goes whole, fraction included.
    symbol = base.universe.symbols[int(table.symbol_index[0])]
    shares = np.round(table.shares, 6)
    shares[0] = 1.05683
    lots = dataclasses.replace(table, shares=shares, basis_amount=np.round(table.basis_amount, 2))
    problem = dataclasses.replace(
        base,
        lots=lots,
        constraints=dataclasses.replace(base.constraints, must_sell_symbols=frozenset({symbol})),
    )
    result, data = _stored(problem)
    (row,) = [t for t in data.trades if t.lot_key == table.lot_ids[0]]
    assert row.shares == Decimal("1.05683")
    assert row.explanation.startswith(f"Sell 1.05683 shares of {symbol} from lot ")
    _check_rows(problem, result, data)
    _check_figures(problem, result, data)
    check_reasons(problem, result)


def test_zz_report_counts() -> None:
    """Prints what the property test checked (``-s`` shows it; the closing note quotes it)."""
    print(f"proposal figures checked: {CHECKED}")
