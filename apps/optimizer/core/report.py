"""Result assembly: trades with reasons and sentences, metrics, taxes, tax-naive counterfactual."""

from __future__ import annotations

import time
from datetime import date, timedelta

import numpy as np

from apps.optimizer.core.holds import kept_overweight_notes
from apps.optimizer.core.prepare import (
    BUDGET_KINDS,
    BUDGET_LABELS,
    LOT_FORCED,
    IntArray,
    PreparedProblem,
)
from apps.optimizer.core.problem import CompiledUniverse, ContinuousSolution
from apps.optimizer.core.rounding import RoundedTrades
from apps.optimizer.core.types import (
    FloatArray,
    HarvestPair,
    HouseholdProblem,
    NaiveRebalance,
    ObjectiveTerms,
    PortfolioMetrics,
    RebalanceMode,
    RebalanceResult,
    SolverConfig,
    TaxSummary,
    Trade,
    TradeReason,
    TradeSide,
)
from apps.taxlots.rules import WASH_SALE_WINDOW_DAYS


def _metrics(
    compiled: CompiledUniverse, weights: FloatArray, target: FloatArray, cash: float, value: float
) -> PortfolioMetrics:
    active = weights - target
    return PortfolioMetrics(
        active_risk_rate=compiled.active_risk(active),
        max_drift_weight=float(np.abs(active).max()) if len(active) else 0.0,
        cash_weight=cash / value,
        value_amount=value,
    )


def naive_rebalance(problem: HouseholdProblem, prepared: PreparedProblem) -> NaiveRebalance:
    """Tax-naive counterfactual: each account trades to the targets, lots relieved FIFO.

    Overweights (and every screened name) are sold down to target oldest lot first, underweights
    are bought; no harvesting, no deferral, no restrictions other than the screen. Only taxable
    accounts count towards gains.

    Args:
        problem: The household problem.
        prepared: Its prepared form (lot values, gains and terms).

    Returns:
        The counterfactual's realised gains, linear tax estimate and turnover.
    """
    value = prepared.value_amount
    accounts, n = len(problem.accounts), problem.universe.size
    account, symbol = prepared.lot_account, prepared.lot_symbol
    lot_value = prepared.lot_weight * value
    held = np.zeros((accounts, n))
    np.add.at(held, (account, symbol), lot_value)
    targets = prepared.target_weights.copy()
    screened = problem.constraints.must_sell_symbols
    if screened:
        targets[[i for i, s in enumerate(problem.universe.symbols) if s in screened]] = 0.0
    target = np.outer(prepared.account_values, targets)
    excess = np.clip(held - target, 0.0, None)
    bought = float(np.clip(target - held, 0.0, None).sum())
    if not len(lot_value):
        return NaiveRebalance(0.0, 0.0, 0.0, bought / value)
    starts = prepared.lot_start_days
    order = np.lexsort((starts, symbol, account))  # FIFO within (account, name)
    values = lot_value[order]
    group = account[order] * n + symbol[order]
    cumulative = np.cumsum(values)
    first = np.r_[True, group[1:] != group[:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(values)), 0))
    before = cumulative - values - (cumulative[group_start] - values[group_start])
    need = excess.ravel()[group]
    sold = np.clip(need - before, 0.0, values)
    gains = sold * prepared.lot_gain_rate[order]
    rates = prepared.lot_tax_rate[order]
    taxable = prepared.lot_is_taxable[order]
    is_long = prepared.lot_is_long_term[order]
    return NaiveRebalance(
        short_term_gain_amount=float(gains[taxable & ~is_long].sum()),
        long_term_gain_amount=float(gains[taxable & is_long].sum()),
        estimated_tax_amount=float((gains * rates).sum()),
        turnover_weight=(float(sold.sum()) + bought) / value,
    )


_WHY = {
    TradeReason.RESTRICTION: "because the security is screened out of the account",
    TradeReason.TRANSITION: "to transition out of a screened security",
    TradeReason.HARVEST: "to harvest the loss",
}
# Claims a reason text makes, each true of the final trades (see ``build_result``):
WHY_RAISE_CASH_FLOOR = "to raise cash for the reserve and withdrawals due"
WHY_RAISE_CASH_MODE = "to raise cash, as the run asks"
WHY_OVERWEIGHT = "to reduce an overweight and the tracking error"
WHY_FUND_BUYS = "to fund purchases that reduce the tracking error"
WHY_TRACKING = "to reduce the tracking error"
WHY_UNDERWEIGHT = "to fill an underweight"


def substitute_why(replaced: str, back_on: date) -> str:
    """The reason text of a harvest pair's replacement bought for ``replaced`` (sold at a loss)."""
    return (
        f"to replace {replaced}, sold at a loss today, which may be bought back from "
        f"{back_on.isoformat()} (after its 30-day wash-sale window)"
    )


def swap_back_sell_why(pair: HarvestPair) -> str:
    """The reason text of selling a harvest pair's replacement to buy the harvested name back."""
    return (
        f"to swap back into {pair.harvested}, harvested on {pair.harvested_on.isoformat()}: "
        "its wash-sale window is over"
    )


def swap_back_buy_why(pair: HarvestPair) -> str:
    """The reason text of buying a harvested name back from its replacement."""
    return f"to swap back from {pair.replacement}, its replacement since the harvest"


def replacement_partner(
    bought: int,
    harvested: list[int],
    compiled: CompiledUniverse,
    listed: dict[str, tuple[str, ...]],
) -> int:
    """The harvested name a replacement stands in for: the firm's list first, else the closest.

    Among today's harvested names of the bought name's sector, one whose substitute list names
    it (best rank), else the one most correlated with it in the risk model.
    """
    symbols = compiled.symbols
    ranked = [
        (listed[symbols[h]].index(symbols[bought]), h)
        for h in harvested
        if symbols[bought] in listed.get(symbols[h], ())
    ]
    if ranked:
        return min(ranked)[1]
    loadings, cov = compiled.loadings, compiled.factor_covariance
    exposure = loadings[bought] @ cov
    variance = np.einsum("ij,jk,ik->i", loadings[harvested], cov, loadings[harvested])
    variance = variance + compiled.specific_variance[harvested]
    correlation = (loadings[harvested] @ exposure) / np.sqrt(variance)
    return harvested[int(np.argmax(correlation))]


def shares_text(shares: float) -> str:
    """A share count as the explanation prints it: up to 6 decimals, no trailing zeros."""
    return f"{shares:.6f}".rstrip("0").rstrip(".")


def sell_explanation(
    *, shares: str, symbol: str, lot_id: str, is_long_term: bool, gain: str, why: str
) -> str:
    """The sentence of a sale; ``gain`` is the signed gain as text, to cents ("-21.40").

    The adapter calls it again with the stored Decimal values, so the sentence of a stored row
    states its own share count and gain.
    """
    term = "long" if is_long_term else "short"
    kind = "loss" if gain.startswith("-") else "gain"
    return (
        f"Sell {shares} shares of {symbol} from lot {lot_id} ({term}-term {kind} of "
        f"{gain.removeprefix('-')}) {why}."
    )


def buy_explanation(*, shares: str, symbol: str, amount: str, why: str) -> str:
    """The sentence of a purchase; ``amount`` as text, to cents ("1,234.50")."""
    return f"Buy {shares} shares of {symbol} ({amount}) {why}."


def _money(amount: float) -> str:
    return f"{amount:,.2f}"


def swap_backs(
    problem: HouseholdProblem,
    symbols: tuple[str, ...],
    sold_symbols: IntArray,
    prepared: PreparedProblem,
    bought: IntArray,
) -> tuple[dict[str, HarvestPair], dict[str, HarvestPair]]:
    """Open harvest pairs unwound by the final trades, by replacement sold and by name bought.

    A pair is unwound when its window is over (IRC §1091(a): 30 days after the loss sale), its
    replacement is sold and its harvested name bought in the same solve.
    """
    sold = {symbols[i] for i in sold_symbols.tolist()}
    bought_names = {symbols[i] for i in prepared.buy_symbol[bought].tolist()}
    by_replacement: dict[str, HarvestPair] = {}
    by_harvested: dict[str, HarvestPair] = {}
    for pair in problem.harvest_pairs:
        over = problem.as_of > pair.harvested_on + timedelta(days=WASH_SALE_WINDOW_DAYS)
        if over and pair.replacement in sold and pair.harvested in bought_names:
            by_replacement[pair.replacement] = pair
            by_harvested[pair.harvested] = pair
    return by_replacement, by_harvested


def build_result(
    *,
    problem: HouseholdProblem,
    prepared: PreparedProblem,
    compiled: CompiledUniverse,
    config: SolverConfig,
    solution: ContinuousSolution,
    rounded: RoundedTrades,
    relaxed: tuple[str, ...],
    started_at: float,
) -> RebalanceResult:
    """Assemble the result from rounded share counts.

    Args:
        problem: The household problem.
        prepared: Its prepared form.
        compiled: Universe blocks (risk model for metrics).
        config: Risk aversion for the objective terms.
        solution: The continuous solution (solver name, time, status).
        rounded: Final share counts.
        relaxed: Elastic relaxations, as text.
        started_at: ``time.perf_counter()`` when the solve began.

    Returns:
        The rebalance result.
    """
    universe = problem.universe
    symbols, prices = universe.symbols, universe.prices
    value, tc = prepared.value_amount, prepared.transaction_cost_rate
    accounts = problem.accounts
    account_ids = [a.account_id for a in accounts]
    lot_ids = prepared.lot_ids
    mode = problem.mode

    # Sells, vectorised over lots; Python objects are built once per trade at the end.
    sold = np.flatnonzero(rounded.lot_sell_shares > 0.0)
    symbol = prepared.lot_symbol[sold]
    shares = rounded.lot_sell_shares[sold]
    amount = shares * prices[symbol]
    gain = amount * prepared.lot_gain_rate[sold]
    is_long = prepared.lot_is_long_term[sold]
    taxable = prepared.lot_is_taxable[sold]
    forced_lot = prepared.lot_state[sold] == LOT_FORCED
    sold_value = np.bincount(symbol, weights=amount, minlength=universe.size)
    penalty = float(prepared.lot_penalty[sold] @ amount) / value
    taxed_gain = np.where(taxable, gain, 0.0)
    tax = float(prepared.lot_tax_rate[sold] @ gain)
    long_ = float(taxed_gain[is_long].sum())
    short = float(taxed_gain[~is_long].sum())
    harvested = float(-np.minimum(taxed_gain, 0.0).sum())
    forced_gain = float(taxed_gain[forced_lot].sum())
    needs_cash = prepared.cash_floor_weights > prepared.account_cash_weights + 1e-12
    screened = np.array([s in problem.constraints.must_sell_symbols for s in symbols])
    raise_cash = needs_cash[prepared.lot_account[sold]] | (mode is RebalanceMode.RAISE_CASH)
    # A loss under its account's harvest threshold (or with harvesting off) was sold for
    # another reason (risk, cash): its loss was no benefit in the objective.
    is_harvest = (
        taxable & (gain < 0.0) & ~forced_lot & ~screened[symbol] & prepared.lot_is_harvestable[sold]
    )
    forced_reason = (
        TradeReason.TRANSITION if mode is RebalanceMode.TRANSITION else TradeReason.RESTRICTION
    )
    reasons = [
        forced_reason
        if f
        else TradeReason.TRANSITION
        if sc
        else TradeReason.HARVEST
        if h
        else TradeReason.RAISE_CASH
        if rc
        else TradeReason.REDUCE_RISK
        for f, sc, h, rc in zip(
            forced_lot.tolist(),
            screened[symbol].tolist(),
            is_harvest.tolist(),
            raise_cash.tolist(),
            strict=True,
        )
    ]
    # Every reason text is a claim about the final trades: an overweight before trading, a
    # purchase the sale funds, an account short of its cash floor before trading.
    overweight = (prepared.initial_weights > prepared.target_weights + 1e-12).tolist()
    bought = np.flatnonzero(rounded.buy_shares > 0.0)
    buying_accounts = set(prepared.buy_account[bought].tolist())
    needs_cash_list = needs_cash.tolist()

    swap_back_sells, swap_back_buys = swap_backs(problem, symbols, symbol, prepared, bought)

    def sell_why(reason: TradeReason, i: int, a: int) -> str:
        if reason is TradeReason.REDUCE_RISK and symbols[i] in swap_back_sells:
            return swap_back_sell_why(swap_back_sells[symbols[i]])
        if reason is TradeReason.RAISE_CASH:
            return WHY_RAISE_CASH_FLOOR if needs_cash_list[a] else WHY_RAISE_CASH_MODE
        if reason is TradeReason.REDUCE_RISK:
            if overweight[i]:
                return WHY_OVERWEIGHT
            return WHY_FUND_BUYS if a in buying_accounts else WHY_TRACKING
        return _WHY[reason]

    # Positional arguments, in Trade's field order: a third quicker for ~400 trades an account.
    sell = TradeSide.SELL
    trades: list[Trade] = []
    for j, i, a, q, x, g, lt, r in zip(
        sold.tolist(),
        symbol.tolist(),
        prepared.lot_account[sold].tolist(),
        shares.tolist(),
        amount.tolist(),
        gain.tolist(),
        is_long.tolist(),
        reasons,
        strict=True,
    ):
        why = sell_why(r, i, a)
        trades.append(
            Trade(
                account_ids[a],  # account_id
                sell,  # side
                symbols[i],  # symbol
                lot_ids[j],  # lot_id
                q,  # shares
                x,  # amount
                g,  # realized_gain_amount
                lt,  # is_long_term
                r,  # reason
                sell_explanation(
                    shares=shares_text(q),
                    symbol=symbols[i],
                    lot_id=lot_ids[j],
                    is_long_term=lt,
                    gain=f"{g:,.2f}",
                    why=why,
                ),  # explanation
                why,
            )
        )

    # Buys: a buy in a sector where a loss was harvested today (in the final trades) is a
    # harvest pair's replacement; otherwise it fills an underweight or, bought above target,
    # reduces risk. An open pair whose window is over and whose two legs both trade today is
    # a swap back, and both trades say so.
    harvested_in: dict[str, list[int]] = {}
    for i in sorted(set(symbol[is_harvest].tolist())):
        harvested_in.setdefault(universe.sectors[i], []).append(i)
    listed = dict(problem.substitutes)
    back_on = problem.as_of + timedelta(days=WASH_SALE_WINDOW_DAYS + 1)
    buy_symbol = prepared.buy_symbol[bought]
    buy_shares = rounded.buy_shares[bought]
    buy_amount = buy_shares * prices[buy_symbol]
    bought_value = np.bincount(buy_symbol, weights=buy_amount, minlength=universe.size)
    penalty += float(prepared.buy_penalty[bought] @ buy_amount) / value
    for i, a, q, x in zip(
        buy_symbol.tolist(),
        prepared.buy_account[bought].tolist(),
        buy_shares.tolist(),
        buy_amount.tolist(),
        strict=True,
    ):
        sector = universe.sectors[i]
        if sector in harvested_in:
            partner = replacement_partner(i, harvested_in[sector], compiled, listed)
            reason, why = TradeReason.SUBSTITUTE, substitute_why(symbols[partner], back_on)
        elif not overweight[i] and prepared.initial_weights[i] < prepared.target_weights[i]:
            reason, why = TradeReason.FILL_UNDERWEIGHT, WHY_UNDERWEIGHT
        else:
            reason, why = TradeReason.REDUCE_RISK, WHY_TRACKING
        if symbols[i] in swap_back_buys:
            why = swap_back_buy_why(swap_back_buys[symbols[i]])
        trades.append(
            Trade(
                account_id=account_ids[a],
                side=TradeSide.BUY,
                symbol=symbols[i],
                lot_id=None,
                shares=q,
                amount=x,
                realized_gain_amount=0.0,
                is_long_term=None,
                reason=reason,
                explanation=buy_explanation(
                    shares=shares_text(q), symbol=symbols[i], amount=f"{x:,.2f}", why=why
                ),
                why=why,
            )
        )

    traded = float(sold_value.sum() + bought_value.sum())
    cash_before = float(prepared.account_cash_weights.sum()) * value
    cash_after = (
        cash_before + (1 - tc) * float(sold_value.sum()) - (1 + tc) * float(bought_value.sum())
    )
    weights_after = prepared.initial_weights + (bought_value - sold_value) / value
    before = _metrics(
        compiled, prepared.initial_weights, prepared.target_weights, cash_before, value
    )
    after = _metrics(compiled, weights_after, prepared.target_weights, cash_after, value)
    risk_term = config.risk_aversion * after.active_risk_rate**2
    # The objective's own tax (statutory or shadow rates, ``prepare.objective_tax_rates``): what
    # the solver weighed, which the candidates of a side choice are compared on.
    lot_tax_term = prepared.lot_cost[sold] - prepared.lot_penalty[sold] - tc
    tax_term = float(lot_tax_term @ amount) / value
    cost_term = tc * traded / value
    over_weights = prepared.budget_over_weights
    # The gains over budget of forced sales: per account the largest overrun of its budgets in
    # gains (net, short-term, long-term), summed; a tax budget's overrun is in ``forced``.
    gain_kinds = [k for k, kind in enumerate(BUDGET_KINDS) if kind != "tax"]
    over = float(over_weights[:, gain_kinds].max(axis=1, initial=0.0).sum()) * value
    forced = tuple(
        f"account {accounts[a].account_id}: forced sales exceed the "
        f"{BUDGET_LABELS[BUDGET_KINDS[k]]} by {_money(over_weights[a, k] * value)}"
        + (" of tax" if BUDGET_KINDS[k] == "tax" else "")
        for a, k in zip(*np.nonzero(over_weights > 0.0), strict=True)
    )
    return RebalanceResult(
        trades=tuple(trades),
        before=before,
        after=after,
        taxes=TaxSummary(
            short_term_gain_amount=short,
            long_term_gain_amount=long_,
            estimated_tax_amount=tax,
            losses_harvested_amount=harvested,
            forced_gain_amount=forced_gain,
            forced_over_budget_amount=over,
        ),
        turnover_weight=traded / value,
        objective=ObjectiveTerms(
            risk=risk_term,
            tax=tax_term,
            transaction_cost=cost_term,
            penalties=penalty,
            total=risk_term + tax_term + cost_term + penalty,
        ),
        solver_name=solution.solver_name,
        solve_time_ms=solution.solve_time_ms,
        total_time_ms=(time.perf_counter() - started_at) * 1e3,
        status=solution.status,
        relaxed=relaxed + rounded.band_notes,
        forced=forced,
        repairs=rounded.repairs,
        violations=rounded.violations,
        naive=naive_rebalance(problem, prepared),
        dropped=rounded.dropped,
        cash_short=prepared.cash_short_notes,
        kept_notes=kept_overweight_notes(
            symbols=symbols,
            prices=prices,
            prepared=prepared,
            compiled=compiled,
            weights_after=weights_after,
            lot_sell_shares=rounded.lot_sell_shares,
        ),
    )
