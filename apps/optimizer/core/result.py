"""Result assembly: trades with reasons and sentences, metrics, taxes, tax-naive counterfactual."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from apps.optimizer.core.holds import kept_overweight_notes
from apps.optimizer.core.prepare import (
    BUDGET_KINDS,
    BUDGET_LABELS,
    LOT_FORCED,
    BoolArray,
    IntArray,
    PreparedProblem,
)
from apps.optimizer.core.problem import CompiledUniverse
from apps.optimizer.core.rounding import RoundedTrades
from apps.optimizer.core.solution import ContinuousSolution
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


def replacement_partners(
    bought: list[int],
    harvested: list[int],
    compiled: CompiledUniverse,
    listed: dict[str, tuple[str, ...]],
) -> dict[int, int]:
    """The harvested name each replacement stands in for: the firm's list first, else the closest.

    ``bought`` and ``harvested`` are names of one sector (today's harvests, in the final trades).
    For each bought name: a harvested name whose substitute list names it (best rank), else the
    harvested name most correlated with it in the risk model (one matrix product for all).
    """
    symbols = compiled.symbols
    partners: dict[int, int] = {}
    for i in bought:
        ranked = [
            (listed[symbols[h]].index(symbols[i]), h)
            for h in harvested
            if symbols[i] in listed.get(symbols[h], ())
        ]
        if ranked:
            partners[i] = min(ranked)[1]
    rest = [i for i in bought if i not in partners]
    if rest:
        loadings = compiled.loadings
        exposure = loadings[rest] @ compiled.factor_covariance
        covariance = exposure @ loadings[harvested].T
        correlation = covariance / np.sqrt(compiled.name_variance[harvested])
        for i, j in zip(rest, correlation.argmax(axis=1).tolist(), strict=True):
            partners[i] = harvested[j]
    return partners


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


@dataclass(frozen=True, slots=True)
class _Sells:
    """The lots the final trades sell from, one entry per lot sold (amounts in USD)."""

    lots: IntArray  # positions in the prepared lot arrays
    symbol: IntArray
    account: IntArray
    shares: FloatArray
    amount: FloatArray  # shares × price
    gain: FloatArray  # realised gain (< 0: a loss)
    is_long_term: BoolArray
    taxed_gain: FloatArray  # the gain where the account is taxable, else 0
    is_forced: BoolArray  # a restriction forced the sale (``LOT_FORCED``)
    is_screened: BoolArray  # the name is screened out (must-sell)
    is_harvest: BoolArray  # a loss sold for its benefit in the objective
    raises_cash: BoolArray  # its account is short of its cash floor, or the run raises cash
    value_by_name: FloatArray  # amount sold per universe name


@dataclass(frozen=True, slots=True)
class _Buys:
    """The buy variables the final trades use, one entry per (account, name) bought (USD)."""

    variables: IntArray  # positions in the prepared buy arrays
    symbol: IntArray
    account: IntArray
    shares: FloatArray
    amount: FloatArray  # shares × price
    value_by_name: FloatArray  # amount bought per universe name


@dataclass(frozen=True, slots=True)
class _ReasonFacts:
    """What the reason texts claim about the final trades, per name and account."""

    is_overweight: list[bool]  # per name, before trading
    needs_cash: list[bool]  # per account: short of its cash floor before trading
    buying_accounts: set[int]
    swap_back_sells: dict[str, HarvestPair]  # by replacement sold
    swap_back_buys: dict[str, HarvestPair]  # by harvested name bought back


def _needs_cash(prepared: PreparedProblem) -> BoolArray:
    """Per account: whether it is short of its cash floor before trading."""
    out: BoolArray = prepared.cash_floor_weights > prepared.account_cash_weights + 1e-12
    return out


def _sold_lots(
    problem: HouseholdProblem, prepared: PreparedProblem, rounded: RoundedTrades
) -> _Sells:
    """The sales of the rounded trades, vectorised over lots, with what each sale is for."""
    universe = problem.universe
    sold = np.flatnonzero(rounded.lot_sell_shares > 0.0)
    symbol = prepared.lot_symbol[sold]
    shares = rounded.lot_sell_shares[sold]
    amount = shares * universe.prices[symbol]
    gain = amount * prepared.lot_gain_rate[sold]
    taxable = prepared.lot_is_taxable[sold]
    forced_lot = prepared.lot_state[sold] == LOT_FORCED
    needs_cash = _needs_cash(prepared)
    screened = np.array([s in problem.constraints.must_sell_symbols for s in universe.symbols])
    raise_cash = needs_cash[prepared.lot_account[sold]] | (problem.mode is RebalanceMode.RAISE_CASH)
    # A loss under its account's harvest threshold (or with harvesting off) was sold for
    # another reason (risk, cash): its loss was no benefit in the objective.
    is_harvest = (
        taxable & (gain < 0.0) & ~forced_lot & ~screened[symbol] & prepared.lot_is_harvestable[sold]
    )
    return _Sells(
        lots=sold,
        symbol=symbol,
        account=prepared.lot_account[sold],
        shares=shares,
        amount=amount,
        gain=gain,
        is_long_term=prepared.lot_is_long_term[sold],
        taxed_gain=np.where(taxable, gain, 0.0),
        is_forced=forced_lot,
        is_screened=screened[symbol],
        is_harvest=is_harvest,
        raises_cash=raise_cash,
        value_by_name=np.bincount(symbol, weights=amount, minlength=universe.size).astype(
            np.float64, copy=False
        ),
    )


def _bought_names(
    problem: HouseholdProblem, prepared: PreparedProblem, rounded: RoundedTrades
) -> _Buys:
    """The purchases of the rounded trades, vectorised over buy variables."""
    universe = problem.universe
    bought = np.flatnonzero(rounded.buy_shares > 0.0)
    symbol = prepared.buy_symbol[bought]
    shares = rounded.buy_shares[bought]
    amount = shares * universe.prices[symbol]
    return _Buys(
        variables=bought,
        symbol=symbol,
        account=prepared.buy_account[bought],
        shares=shares,
        amount=amount,
        value_by_name=np.bincount(symbol, weights=amount, minlength=universe.size).astype(
            np.float64, copy=False
        ),
    )


def _reason_facts(
    problem: HouseholdProblem, prepared: PreparedProblem, sells: _Sells, buys: _Buys
) -> _ReasonFacts:
    """The facts behind the reason texts.

    Every reason text is a claim about the final trades: an overweight before trading, a
    purchase the sale funds, an account short of its cash floor before trading.
    """
    needs_cash = _needs_cash(prepared)
    swap_back_sells, swap_back_buys = swap_backs(
        problem, problem.universe.symbols, sells.symbol, prepared, buys.variables
    )
    return _ReasonFacts(
        is_overweight=(prepared.initial_weights > prepared.target_weights + 1e-12).tolist(),
        needs_cash=needs_cash.tolist(),
        buying_accounts=set(buys.account.tolist()),
        swap_back_sells=swap_back_sells,
        swap_back_buys=swap_back_buys,
    )


def _sell_reasons(mode: RebalanceMode, sells: _Sells) -> list[TradeReason]:
    """Each sale's reason, first that applies: forced, screened, harvest, raise cash, risk."""
    forced_reason = (
        TradeReason.TRANSITION if mode is RebalanceMode.TRANSITION else TradeReason.RESTRICTION
    )
    return [
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
            sells.is_forced.tolist(),
            sells.is_screened.tolist(),
            sells.is_harvest.tolist(),
            sells.raises_cash.tolist(),
            strict=True,
        )
    ]


def _sell_why(reason: TradeReason, symbol: str, i: int, a: int, facts: _ReasonFacts) -> str:
    """The reason text of a sale of name ``i`` (``symbol``) in account ``a``."""
    if reason is TradeReason.REDUCE_RISK and symbol in facts.swap_back_sells:
        return swap_back_sell_why(facts.swap_back_sells[symbol])
    if reason is TradeReason.RAISE_CASH:
        return WHY_RAISE_CASH_FLOOR if facts.needs_cash[a] else WHY_RAISE_CASH_MODE
    if reason is TradeReason.REDUCE_RISK:
        if facts.is_overweight[i]:
            return WHY_OVERWEIGHT
        return WHY_FUND_BUYS if a in facts.buying_accounts else WHY_TRACKING
    return _WHY[reason]


def _sell_trades(
    problem: HouseholdProblem,
    prepared: PreparedProblem,
    sells: _Sells,
    reasons: list[TradeReason],
    facts: _ReasonFacts,
) -> list[Trade]:
    """One trade per lot sold, with its reason and sentence."""
    symbols = problem.universe.symbols
    account_ids = [a.account_id for a in problem.accounts]
    lot_ids = prepared.lot_ids
    # Positional arguments, in Trade's field order: a third quicker for ~400 trades an account.
    sell = TradeSide.SELL
    trades: list[Trade] = []
    for j, i, a, q, x, g, lt, r in zip(
        sells.lots.tolist(),
        sells.symbol.tolist(),
        sells.account.tolist(),
        sells.shares.tolist(),
        sells.amount.tolist(),
        sells.gain.tolist(),
        sells.is_long_term.tolist(),
        reasons,
        strict=True,
    ):
        why = _sell_why(r, symbols[i], i, a, facts)
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
    return trades


def _buy_trades(
    problem: HouseholdProblem,
    prepared: PreparedProblem,
    compiled: CompiledUniverse,
    sells: _Sells,
    buys: _Buys,
    facts: _ReasonFacts,
) -> list[Trade]:
    """One trade per (account, name) bought, with its reason and sentence.

    A buy in a sector where a loss was harvested today (in the final trades) is a harvest
    pair's replacement; otherwise it fills an underweight or, bought above target, reduces
    risk. An open pair whose window is over and whose two legs both trade today is a swap
    back, and both trades say so.
    """
    universe = problem.universe
    symbols = universe.symbols
    account_ids = [a.account_id for a in problem.accounts]
    harvested_in: dict[str, list[int]] = {}
    for i in sorted(set(sells.symbol[sells.is_harvest].tolist())):
        harvested_in.setdefault(universe.sectors[i], []).append(i)
    listed = dict(problem.substitutes)
    back_on = problem.as_of + timedelta(days=WASH_SALE_WINDOW_DAYS + 1)
    partner: dict[int, int] = {}
    for sector, harvested in harvested_in.items():
        in_sector = sorted({i for i in buys.symbol.tolist() if universe.sectors[i] == sector})
        partner.update(replacement_partners(in_sector, harvested, compiled, listed))
    trades: list[Trade] = []
    for i, a, q, x in zip(
        buys.symbol.tolist(),
        buys.account.tolist(),
        buys.shares.tolist(),
        buys.amount.tolist(),
        strict=True,
    ):
        sector = universe.sectors[i]
        if sector in harvested_in:
            reason, why = TradeReason.SUBSTITUTE, substitute_why(symbols[partner[i]], back_on)
        elif (
            not facts.is_overweight[i] and prepared.initial_weights[i] < prepared.target_weights[i]
        ):
            reason, why = TradeReason.FILL_UNDERWEIGHT, WHY_UNDERWEIGHT
        else:
            reason, why = TradeReason.REDUCE_RISK, WHY_TRACKING
        if symbols[i] in facts.swap_back_buys:
            why = swap_back_buy_why(facts.swap_back_buys[symbols[i]])
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
    return trades


def _tax_summary(prepared: PreparedProblem, sells: _Sells) -> TaxSummary:
    """Realised gains, the linear tax estimate and the forced sales' gains over budget (USD)."""
    taxed_gain = sells.taxed_gain
    is_long = sells.is_long_term
    # The gains over budget of forced sales: per account the largest overrun of its budgets in
    # gains (net, short-term, long-term), summed; a tax budget's overrun is in ``forced``.
    gain_kinds = [k for k, kind in enumerate(BUDGET_KINDS) if kind != "tax"]
    over_weights = prepared.budget_over_weights[:, gain_kinds]
    return TaxSummary(
        short_term_gain_amount=float(taxed_gain[~is_long].sum()),
        long_term_gain_amount=float(taxed_gain[is_long].sum()),
        estimated_tax_amount=float(prepared.lot_tax_rate[sells.lots] @ sells.gain),
        losses_harvested_amount=float(-np.minimum(taxed_gain, 0.0).sum()),
        forced_gain_amount=float(taxed_gain[sells.is_forced].sum()),
        forced_over_budget_amount=float(over_weights.max(axis=1, initial=0.0).sum())
        * prepared.value_amount,
    )


def _forced_over_budget_notes(
    problem: HouseholdProblem, prepared: PreparedProblem
) -> tuple[str, ...]:
    """Per account and budget that forced sales alone exceed, by how much (USD)."""
    over_weights, value = prepared.budget_over_weights, prepared.value_amount
    return tuple(
        f"account {problem.accounts[a].account_id}: forced sales exceed the "
        f"{BUDGET_LABELS[BUDGET_KINDS[k]]} by {_money(over_weights[a, k] * value)}"
        + (" of tax" if BUDGET_KINDS[k] == "tax" else "")
        for a, k in zip(*np.nonzero(over_weights > 0.0), strict=True)
    )


def _objective_terms(
    config: SolverConfig,
    prepared: PreparedProblem,
    sells: _Sells,
    buys: _Buys,
    after: PortfolioMetrics,
) -> ObjectiveTerms:
    """The objective's terms at the final trades (fractions of household value)."""
    value, tc = prepared.value_amount, prepared.transaction_cost_rate
    penalty = float(prepared.lot_penalty[sells.lots] @ sells.amount) / value
    penalty += float(prepared.buy_penalty[buys.variables] @ buys.amount) / value
    traded = float(sells.value_by_name.sum() + buys.value_by_name.sum())
    risk_term = config.risk_aversion * after.active_risk_rate**2
    # The objective's own tax (statutory or shadow rates, ``prepare.objective_tax_rates``): what
    # the solver weighed, which the candidates of a side choice are compared on.
    lot_tax_term = prepared.lot_cost[sells.lots] - prepared.lot_penalty[sells.lots] - tc
    tax_term = float(lot_tax_term @ sells.amount) / value
    cost_term = tc * traded / value
    return ObjectiveTerms(
        risk=risk_term,
        tax=tax_term,
        transaction_cost=cost_term,
        penalties=penalty,
        total=risk_term + tax_term + cost_term + penalty,
    )


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
    value, tc = prepared.value_amount, prepared.transaction_cost_rate
    sells = _sold_lots(problem, prepared, rounded)
    buys = _bought_names(problem, prepared, rounded)
    facts = _reason_facts(problem, prepared, sells, buys)
    trades = _sell_trades(problem, prepared, sells, _sell_reasons(problem.mode, sells), facts)
    trades += _buy_trades(problem, prepared, compiled, sells, buys, facts)

    sold_value, bought_value = sells.value_by_name, buys.value_by_name
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
    return RebalanceResult(
        trades=tuple(trades),
        before=before,
        after=after,
        taxes=_tax_summary(prepared, sells),
        turnover_weight=traded / value,
        objective=_objective_terms(config, prepared, sells, buys, after),
        solver_name=solution.solver_name,
        solve_time_ms=solution.solve_time_ms,
        total_time_ms=(time.perf_counter() - started_at) * 1e3,
        status=solution.status,
        relaxed=relaxed + rounded.band_notes,
        forced=_forced_over_budget_notes(problem, prepared),
        repairs=rounded.repairs,
        violations=rounded.violations,
        naive=naive_rebalance(problem, prepared),
        dropped=rounded.dropped,
        cash_short=prepared.cash_short_notes,
        kept_notes=kept_overweight_notes(
            symbols=problem.universe.symbols,
            prices=problem.universe.prices,
            prepared=prepared,
            compiled=compiled,
            weights_after=weights_after,
            lot_sell_shares=rounded.lot_sell_shares,
        ),
    )
