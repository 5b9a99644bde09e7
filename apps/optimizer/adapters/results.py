"""Core results → rows: a proposal's trades in ``Decimal``, its figures, metrics and notes.

Shares are rounded toward zero and money to cents (``optimizer.figures``).
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from apps.common.money import round_money, to_decimal
from apps.optimizer.adapters.build import AccountProblem
from apps.optimizer.adapters.snapshots import problem_snapshot
from apps.optimizer.core import types as core
from apps.optimizer.core.transition import TransitionPlan
from apps.optimizer.funds import holding_lock_notes


class TradeData(NamedTuple):
    """A proposed trade in Decimal: shares rounded toward zero, money to cents.

    A named tuple: ~200 per 500-name account are built (a quarter of the cost of a frozen
    dataclass), and its fields are ``ProposedTrade``'s columns in order (``runs`` writes them
    as they are).
    """

    side: str
    symbol: str
    lot_key: str
    shares: Decimal
    price: Decimal
    amount: Decimal
    realized_gain_amount: Decimal | None
    term: str
    reason: str
    explanation: str


@dataclass(frozen=True)
class ProposalData:
    """Everything the trading app stores for one account's proposal."""

    trades: list[TradeData]
    metrics: dict[str, Any]
    estimated_tax_amount: Decimal
    naive_tax_amount: Decimal
    turnover_amount: Decimal
    notes: list[str]
    solver: str
    solver_ms: int
    solver_time_ms: float  # unrounded, so a run's total does not drift by rounding per account
    snapshot: dict[str, Any]  # ``problem_snapshot``: JSON values and numpy arrays (snapshot_pack)


_SIDES = {side: side.value for side in core.TradeSide}
_REASONS = {reason: reason.value for reason in core.TradeReason}
_PRICES: dict[int, tuple[core.Universe, dict[str, tuple[Decimal, Decimal]]]] = {}


def _decimal_prices(universe: core.Universe) -> dict[str, tuple[Decimal, Decimal]]:
    """Per symbol, the universe's price as Decimal and quantized for storage (once per run)."""
    cached = _PRICES.get(id(universe))
    if cached is not None and cached[0] is universe:
        return cached[1]
    prices = {}
    for symbol, value in zip(universe.symbols, universe.prices.tolist(), strict=True):
        price = to_decimal(value)
        prices[symbol] = (price, price.quantize(Decimal("0.000001")))
    _PRICES.clear()  # one run's universe at a time is enough
    _PRICES[id(universe)] = (universe, prices)
    return prices


def proposal_data_from_result(
    *, built: AccountProblem, result: core.RebalanceResult, is_fractional: bool
) -> ProposalData:
    """Convert a core result to Decimal rows, metrics and the replayable snapshot.

    Rows keep the core's share counts (``_stored_shares``; ``is_fractional`` only documents the
    account: the core rounded for it), and each row's sentence is written from its stored share
    count and gain. Every figure comes from the stored rows through ``proposal_figures``; a
    trade the post-solve stage dropped is listed in ``metrics["dropped"]`` with why, and a cash
    need left unfunded in ``metrics["cash_short"]`` and first in the notes.
    """
    from apps.optimizer.core import result as core_result
    from apps.optimizer.figures import proposal_figures, shares_text, stored_shares

    problem = built.problem
    prices = _decimal_prices(problem.universe)
    trades = []
    sell = core.TradeSide.SELL
    for trade in result.trades:
        price, stored_price = prices[trade.symbol]
        shares = stored_shares(trade.shares)
        amount = round_money(shares * price)
        if trade.side is sell:
            gain = round_money(to_decimal(trade.realized_gain_amount))
            gain = abs(gain) if gain == 0 else gain  # "0.00", never "-0.00"
            explanation = core_result.sell_explanation(
                shares=shares_text(shares),
                symbol=trade.symbol,
                lot_id=trade.lot_id or "",
                is_long_term=bool(trade.is_long_term),
                gain=f"{gain:,}",  # already to cents
                why=trade.why,
            )
        else:
            gain = None
            explanation = core_result.buy_explanation(
                shares=shares_text(shares),
                symbol=trade.symbol,
                amount=f"{amount:,}",
                why=trade.why,
            )
        trades.append(
            TradeData(  # positional, in field order
                _SIDES[trade.side],
                trade.symbol,
                trade.lot_id or "",
                shares,
                stored_price,
                amount,
                gain,
                ("long" if trade.is_long_term else "short") if gain is not None else "",
                _REASONS[trade.reason],
                explanation if trade.why else trade.explanation,
            )
        )
    figures = proposal_figures(problem=problem, trades=trades)
    cash_short = list(result.cash_short)
    if figures.cash_short_amount > 0 and not cash_short:
        cash_short.append(
            f"cash after the trades ({figures.cash_after_amount:,}) is below the reserve plus "
            f"withdrawals due ({figures.cash_required_amount:,}) by {figures.cash_short_amount:,}"
        )
    metrics = {
        **figures.metrics(),
        "forced_gain_amount": _money(result.taxes.forced_gain_amount),
        "objective": {
            "risk": result.objective.risk,
            "tax": result.objective.tax,
            "transaction_cost": result.objective.transaction_cost,
            "penalties": result.objective.penalties,
            "total": result.objective.total,
        },
        "relaxed": list(result.relaxed),
        "forced": list(result.forced),
        "repairs": list(result.repairs),
        "violations": list(result.violations),
        **_dropped_metrics(result.dropped),
        "cash_short": cash_short,
        "status": result.status,
        "total_time_ms": round(result.total_time_ms, 3),
        # The risk aversion the trades were solved with, and the target that may have raised it.
        "risk_aversion_used": result.risk_aversion_used,
        "tracking_error_target": problem.tracking_error_target,
    }
    risk_note, unexplained = _tracking_error_note(result)
    if unexplained and built.transition is not None:
        metrics["violations"].append(unexplained)
    plan_notes = []
    if built.transition is not None:
        metrics["transition_plan"] = transition_plan_json(built.transition)
        plan_notes.append(built.transition.summary())
    return ProposalData(
        trades=trades,
        metrics=metrics,
        estimated_tax_amount=figures.estimated_tax_amount,
        naive_tax_amount=round_money(to_decimal(result.naive.estimated_tax_amount)),
        turnover_amount=figures.turnover_amount,
        notes=[f"Cash short: {line}" for line in cash_short]
        + plan_notes
        + ([risk_note] if risk_note else [])
        + ([_sentence(result.tracking_error_note)] if result.tracking_error_note else [])
        + [_sentence(note) for note in result.kept_notes]
        + holding_lock_notes(problem=problem, result=result, locks=built.holding_locks)
        + list(built.target_notes),
        solver=result.solver_name,
        solver_ms=round(result.solve_time_ms),
        solver_time_ms=result.solve_time_ms,
        snapshot=problem_snapshot(problem),
    )


def _sentence(text: str) -> str:
    """The core's note as one sentence of the proposal's notes (capitalised, a full stop)."""
    return f"{text[:1].upper()}{text[1:]}."


# Why a run may raise an account's tracking error, by the reason of the trades that do it.
_RISK_RISE_REASONS = {
    core.TradeReason.RESTRICTION: "a restriction or screen forces sales",
    core.TradeReason.RAISE_CASH: "cash is raised for the reserve or a withdrawal",
    core.TradeReason.HARVEST: (
        "losses are harvested (a name sold at a loss is not bought back for 31 days)"
    ),
}
_RISK_RISE_TOLERANCE = 1e-5  # 0.1 bp: solver noise, not a rise


def _tracking_error_note(result: core.RebalanceResult) -> tuple[str, str]:
    """A note when the trades raise the tracking error, saying why; and the unexplained rise.

    Returns ``(note, unexplained)``: ``note`` is empty when tracking error does not rise;
    ``unexplained`` is non-empty when it rises with no forced sale, cash need, harvest or
    trade left out after the solve (whole shares, minimum trades: the continuous solution
    lowered it, and what was left out of it may not).
    """
    before, after = result.before.active_risk_rate, result.after.active_risk_rate
    if after <= before + _RISK_RISE_TOLERANCE:
        return "", ""
    change = f"Tracking error rises from {before:.2%} to {after:.2%}"
    reasons = [
        text
        for reason, text in _RISK_RISE_REASONS.items()
        if any(t.reason is reason for t in result.trades)
    ]
    if result.dropped:
        left_out = sum(d.amount for d in result.dropped)
        reasons.append(
            f"{len(result.dropped)} of the solver's trades ({left_out:,.2f}) were left out for "
            "whole shares or minimum trades"
        )
    if reasons:
        return f"{change}: {'; '.join(reasons)}.", ""
    text = f"{change} with no forced sale, cash need, harvest or trade left out to explain it"
    return f"{text}.", text


def transition_plan_json(plan: TransitionPlan) -> dict[str, Any]:
    """A transition plan as stored in a proposal's metrics: money as Decimal strings (USD)."""

    def money(amount: float | None) -> str | None:
        return None if amount is None else _money(amount)

    return {
        "shape": plan.shape,
        "years_left": len(plan.years),
        "tolerance_rate": round(plan.tolerance_rate, 6),
        "starting_tracking_error_rate": round(plan.starting_tracking_error_rate, 6),
        "reaches_model": plan.reaches_model,
        "full_move_gain_amount": money(plan.full_move_gain_amount),
        "realized_this_year_amount": money(plan.realized_this_year_amount),
        "this_year_budget_amount": money(plan.this_year_budget_amount),
        "total_tax_amount": money(sum(y.estimated_tax_amount for y in plan.years)),
        "years": [
            {
                "year": y.year,
                "rebalance_on": y.rebalance_on.isoformat(),
                "gains_budget_amount": money(y.gains_budget_amount),
                "short_term_gain_amount": money(y.short_term_gain_amount),
                "long_term_gain_amount": money(y.long_term_gain_amount),
                "losses_harvested_amount": money(y.losses_harvested_amount),
                "estimated_tax_amount": money(y.estimated_tax_amount),
                "tracking_error_rate": round(y.tracking_error_rate, 6),
                "risk_aversion_scale": y.risk_aversion_scale,
                "is_harvesting_paused": y.is_harvesting_paused,
            }
            for y in plan.years
        ],
        "alternatives": [
            {
                "shape": a.shape,
                "total_tax_amount": money(a.total_tax_amount),
                "discounted_tax_amount": money(a.discounted_tax_amount),
                "risk_cost_amount": money(a.risk_cost_amount),
                "total_cost_amount": money(a.total_cost_amount),
                "is_chosen": a.shape == plan.shape,
            }
            for a in plan.alternatives
        ],
    }


DROPPED_LISTED = 25  # the largest dropped trades listed one by one; all are counted by why


def _dropped_metrics(dropped: Sequence[core.DroppedTrade]) -> dict[str, Any]:
    """Trades the post-solve stage dropped: counted and summed by why, the largest listed.

    A 500-name account's solution drops a few hundred cents-to-dollars trades to whole shares
    and minimum sizes; every one is accounted for in the summary, and the ones that matter (the
    largest) are named.
    """
    by_why: dict[str, list[float]] = defaultdict(list)
    for trade in dropped:
        by_why[trade.why].append(trade.amount)
    largest = sorted(dropped, key=lambda d: -d.amount)[:DROPPED_LISTED]
    return {
        "dropped": [
            {
                "side": d.side.value,
                "symbol": d.symbol,
                "lot_key": d.lot_id or "",
                "amount": _money(d.amount),
                "why": d.why,
            }
            for d in largest
        ],
        "dropped_summary": [
            {"why": why, "count": len(amounts), "amount": _money(sum(amounts))}
            for why, amounts in sorted(by_why.items(), key=lambda item: -sum(item[1]))
        ],
    }


def _money(amount: float) -> str:
    value = round_money(to_decimal(amount))
    return str(abs(value) if value == 0 else value)  # never "-0.00"
