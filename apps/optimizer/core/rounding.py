"""After the solve: netting, minimum trade size, whole shares, repair and a full re-check.

Order of operations and why:

1. Netting: a sell and a buy of the same name in the same account are cancelled against each
   other (the solver never wants both with a positive transaction cost, but tolerances can leave
   dust); the costliest lots are un-sold first.
2. Minimum trade, relative to position size: a trade is dropped when it is smaller than
   min(``min_trade_amount``, ``min_trade_position_rate`` × max(current, target) position value).
   A fixed threshold drops most trades in small positions of a large direct index (the median
   position of a 500-name account is a few hundred dollars) and costs ~12 bp of tracking.
   Forced sales are never dropped.
3. Rounding toward zero: whole shares (or the custodian's step, 10^-``share_places`` shares,
   when fractional, and for the names traded in dollars at NAV in every account:
   ``Constraints.fractional_symbols``, mutual and money-market funds), so no sale exceeds the
   lot and no buy spends cash that is not there; a lot sold (almost) entirely is sold entirely.
   In a whole-share account a lot holding a fraction of a share (a transfer, a reinvested
   dividend) is sold either in whole shares, the fraction staying in the lot, or entirely,
   fraction included: never a part of the fraction (docs/tax-rules.md, "Fractional lots in
   whole-share accounts"). A lot is sold entirely only when the custodian can write its share
   count (``share_places``; Fidelity takes 3 places); otherwise at most what the step allows
   (``_TradeSheet.sell_cap``). Every repair keeps both rules.
4. Repair in the order budget → turnover → cash: trim the most gain-heavy sells while a budget
   (net gains, a character's gains, tax) is exceeded; trim the largest buys while turnover or
   cash are short; if cash is still short with no buys left, sell more of the cheapest sellable
   lots (the cash floor is hard: a budget that gives way for it is reported as relaxed).
   An account whose custodian relieves sales in its own order (``Constraints.lot_order``,
   ``relief.py``) has each name's sale re-assigned to the lots in that order right after the
   netting, and its budget and cash repairs change sales only at the end of that order; every
   budget is held on the lots relieved, and a budget they cannot hold is granted as slack and
   reported with the reason.
5. Re-check every constraint on the final share counts and report any violation. Bands are
   soft: whole shares may move a group by one share of each rounded trade; a breach beyond
   that, left by a hard-constraint repair in a tiny account, is reported as a relaxation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from apps.optimizer.core.prepare import (
    BUDGET_KINDS,
    BUDGET_LABELS,
    LOT_FORCED,
    LOT_FREE,
    LOT_FROZEN,
    BoolArray,
    PreparedProblem,
    across_groups,
    budget_relaxation_text,
    budget_row_name,
    household_lots,
    name_groups,
    name_share_steps,
    representable,
    sell_caps,
)
from apps.optimizer.core.relief import amounts_in_order, relief_groups, sold_out_of_order
from apps.optimizer.core.solution import ContinuousSolution
from apps.optimizer.core.types import (
    DroppedTrade,
    FloatArray,
    HouseholdProblem,
    IntArray,
    LotTable,
    SolverConfig,
    TradeSide,
)

_EPS = 1e-9
CENT = 0.01  # money tolerance of the re-check (amounts are rounded to cents downstream)


@dataclass(frozen=True, slots=True)
class RoundedTrades:
    """Final share counts: per lot (all lots of the household) and per buy variable."""

    lot_sell_shares: FloatArray
    buy_shares: FloatArray
    repairs: tuple[str, ...]
    violations: tuple[str, ...]  # hard constraints still broken (expected empty)
    band_notes: tuple[str, ...] = ()  # soft band breaches left after repairs
    dropped: tuple[DroppedTrade, ...] = ()  # solver trades left at zero shares, with why


def _round_down(quantity: FloatArray, step: float | FloatArray) -> FloatArray:
    stepped: FloatArray = np.floor(quantity / step + _EPS) * step
    return stepped


def _snap(quantity: float, cap: float, step: float) -> float:
    """A lot sale after a repair: all the lot may give (``cap``), or rounded down to the step."""
    if quantity >= cap - _EPS:
        return cap
    return max(float(_round_down(np.array([quantity]), step)[0]), 0.0)


def _step_up(quantity: float, step: float) -> float:
    return float(math.ceil(quantity / step - _EPS) * step)


class _TradeSheet:
    """The post-solve working state: share counts, prices, budgets, cash (local to one call)."""

    def __init__(
        self, problem: HouseholdProblem, prepared: PreparedProblem, config: SolverConfig
    ) -> None:
        self.problem = problem
        self.prepared = prepared
        self.config = config
        self.value = prepared.value_amount
        self.tc = prepared.transaction_cost_rate
        self.prices = problem.universe.prices
        lots = prepared.lot_ids
        self.lot_shares = prepared.lot_shares
        self.lot_price = self.prices[prepared.lot_symbol] if lots else np.zeros(0)
        self.buy_price = (
            self.prices[prepared.buy_symbol] if len(prepared.buy_symbol) else (np.zeros(0))
        )
        cons = problem.constraints
        # Share steps per lot and per buy: the account's, or the custodian's for names traded
        # in dollars at NAV (``Constraints.fractional_symbols``).
        name_steps = name_share_steps(problem.universe.symbols, cons)
        self.lot_step = name_steps[prepared.lot_symbol] if lots else np.ones(0)
        self.buy_step = name_steps[prepared.buy_symbol] if len(prepared.buy_symbol) else np.ones(0)
        self.sell_cap = sell_caps(self.lot_shares, cons, self.lot_step)
        self.repairs: list[str] = []
        self.sell = np.zeros(len(lots))
        self.buy = np.zeros(len(prepared.buy_symbol))
        self.sell_wanted = np.zeros(len(lots))  # continuous shares before rounding down
        # Per account and budget kind (amounts; inf without a budget).
        self.budget_limit = np.full(prepared.budget_limit_weights.shape, np.inf)
        self.turnover_limit = np.inf
        self.sell_unfiltered = np.zeros(len(lots))  # shares wanted before the minimum trade
        # Why a trade of the solution may end at zero shares (set by the step that cut it).
        self.sell_why: list[str] = [""] * len(lots)
        # Accounts where the cash floor needed sales beyond the budgets' room (the last resort).
        self.cash_over_budget: set[int] = set()
        self.buy_why: list[str] = [""] * len(prepared.buy_symbol)

    # Amounts and aggregates -------------------------------------------------------------
    def proceeds(self) -> FloatArray:
        out: FloatArray = self.sell * self.lot_price
        return out

    def cost(self) -> FloatArray:
        out: FloatArray = self.buy * self.buy_price
        return out

    def cash_after(self) -> FloatArray:
        prepared = self.prepared
        cash = prepared.account_cash_weights * self.value
        inflow = np.zeros_like(cash)
        np.add.at(inflow, prepared.lot_account, self.proceeds())
        outflow = np.zeros_like(cash)
        np.add.at(outflow, prepared.buy_account, self.cost())
        out: FloatArray = cash + (1.0 - self.tc) * inflow - (1.0 + self.tc) * outflow
        return out

    def budget_used(self) -> FloatArray:
        """What the free sells use of each account's budgets (accounts × BUDGET_KINDS, amounts)."""
        prepared = self.prepared
        free = prepared.lot_state == LOT_FREE
        out = np.zeros(prepared.budget_limit_weights.shape)
        proceeds = self.proceeds()
        for k in range(len(BUDGET_KINDS)):
            np.add.at(
                out[:, k],
                prepared.lot_account[free],
                (proceeds * prepared.lot_budget_rates[k])[free],
            )
        return out

    def free_turnover(self) -> float:
        free = self.prepared.lot_state == LOT_FREE
        return float(self.proceeds()[free].sum() + self.cost().sum())


def _net_same_name(sheet: _TradeSheet, sell_amount: FloatArray, buy_amount: FloatArray) -> None:
    prepared = sheet.prepared
    # Solver dust (below a cent) is not a trade.
    sell_amount[sell_amount < 0.01] = 0.0
    buy_amount[buy_amount < 0.01] = 0.0
    accounts, n = len(prepared.account_values), len(prepared.initial_weights)
    free = prepared.lot_state == LOT_FREE
    sold = np.zeros((accounts, n))
    np.add.at(sold, (prepared.lot_account[free], prepared.lot_symbol[free]), sell_amount[free])
    conflicts = np.flatnonzero(
        (buy_amount > 0.0) & (sold[prepared.buy_account, prepared.buy_symbol] > 0.0)
    )
    for j in conflicts:
        a, i = prepared.buy_account[j], prepared.buy_symbol[j]
        lots = np.flatnonzero(
            (prepared.lot_account == a) & (prepared.lot_symbol == i) & (sell_amount > 0.0) & free
        )
        overlap = min(float(sell_amount[lots].sum()), float(buy_amount[j]))
        buy_amount[j] -= overlap
        for lot in lots[np.argsort(-prepared.lot_cost[lots])]:
            cut = min(overlap, float(sell_amount[lot]))
            sell_amount[lot] -= cut
            overlap -= cut
            if overlap <= 0.0:
                break
        sheet.repairs.append(f"netted a sell and a buy of {sheet.problem.universe.symbols[i]}")


def _apply_min_trade(sheet: _TradeSheet, sell_amount: FloatArray, buy_amount: FloatArray) -> None:
    minimum = sheet.problem.constraints.min_trade_amount
    if minimum <= 0.0:
        return
    prepared = sheet.prepared
    accounts, n = len(prepared.account_values), len(prepared.initial_weights)
    position = np.zeros((accounts, n))
    np.add.at(position, (prepared.lot_account, prepared.lot_symbol), prepared.lot_weight)
    position *= sheet.value
    target = np.outer(prepared.account_values, prepared.target_weights)
    threshold = np.minimum(
        minimum, sheet.config.min_trade_position_rate * np.maximum(position, target)
    )
    free = prepared.lot_state == LOT_FREE
    sold = np.zeros((accounts, n))
    np.add.at(sold, (prepared.lot_account[free], prepared.lot_symbol[free]), sell_amount[free])
    small = (sold > 0.0) & (sold < threshold)
    drop = free & small[prepared.lot_account, prepared.lot_symbol]
    small_buys = (buy_amount > 0.0) & (
        buy_amount < threshold[prepared.buy_account, prepared.buy_symbol]
    )
    for j in np.flatnonzero(drop & (sell_amount > 0.0)).tolist():
        limit = threshold[prepared.lot_account[j], prepared.lot_symbol[j]]
        sheet.sell_why[j] = f"the sale of the name is below the minimum trade ({limit:,.2f})"
    for j in np.flatnonzero(small_buys).tolist():
        limit = threshold[prepared.buy_account[j], prepared.buy_symbol[j]]
        sheet.buy_why[j] = f"below the minimum trade ({limit:,.2f})"
    sell_amount[drop] = 0.0
    buy_amount[small_buys] = 0.0
    dropped = int(small.sum() + small_buys.sum())
    if dropped:
        sheet.repairs.append(f"dropped {dropped} trades below the position-relative minimum")


def _round(sheet: _TradeSheet, sell_amount: FloatArray, buy_amount: FloatArray) -> None:
    prepared = sheet.prepared
    whole_lot = (prepared.lot_state == LOT_FORCED) | (
        sell_amount >= prepared.lot_weight * sheet.value * (1.0 - 1e-7)
    )
    sheet.sell_wanted = np.minimum(
        sell_amount / np.maximum(sheet.lot_price, 1e-300), sheet.lot_shares
    )
    shares = _round_down(sheet.sell_wanted, sheet.lot_step)
    shares = np.where(whole_lot, sheet.sell_cap, np.minimum(shares, sheet.sell_cap))
    sheet.sell = np.where(prepared.lot_state == LOT_FROZEN, 0.0, np.maximum(shares, 0.0))
    sheet.buy = np.maximum(
        _round_down(buy_amount / np.maximum(sheet.buy_price, 1e-300), sheet.buy_step), 0.0
    )


def _budget_limit(sheet: _TradeSheet, relaxed: dict[tuple[str, str], float]) -> FloatArray:
    """Per account and budget kind, what the free sells may use (amounts; inf without a budget).

    The budget left for the free sells plus any elastic slack granted to its row.
    """
    limits = sheet.prepared.budget_limit_weights.copy()
    for a, k in zip(*np.nonzero(np.isfinite(limits)), strict=True):
        limits[a, k] += relaxed.get(("budget", budget_row_name(int(a), int(k))), 0.0)
    limit: FloatArray = limits * sheet.value
    return limit


def _budget_label(k: int) -> str:
    """The label of budget kind ``k`` (index in BUDGET_KINDS) in repairs and reasons."""
    return BUDGET_LABELS[BUDGET_KINDS[k]]


def _repair_budget(sheet: _TradeSheet, relaxed: dict[tuple[str, str], float]) -> None:
    """Hold every budget: round up loss lots rounding left short, then trim the heaviest sells.

    A loss counts <= 0 and a gain >= 0 in every kind of budget, so rounding a loss up or
    trimming a gain never breaks another budget of the account.
    """
    prepared = sheet.prepared
    limit = sheet.budget_limit = _budget_limit(sheet, relaxed)
    used = sheet.budget_used()
    for a, k in zip(*np.nonzero(used > limit + 1e-6), strict=True):
        excess = float(sheet.budget_used()[a, k] - limit[a, k])
        if excess <= 0.0:
            continue
        # What one share sold of each lot uses of this budget.
        per_share = sheet.lot_price * prepared.lot_budget_rates[k]
        wanted = np.maximum(sheet.sell_wanted, sheet.sell_unfiltered)  # before min-trade drops
        # First round up loss lots that rounding left short of the solver's harvest (each moves
        # less than one share), then trim the sells that use the most of the budget per unit.
        mine = (prepared.lot_account == a) & (prepared.lot_state == LOT_FREE)
        rounded_down = np.flatnonzero(mine & (per_share < 0.0) & (wanted > sheet.sell + 1e-12))
        for lot in rounded_down[np.argsort(per_share[rounded_down])]:
            if excess <= 0.0:
                break
            new = min(_step_up(float(wanted[lot]), sheet.lot_step[lot]), sheet.sell_cap[lot])
            step = new - sheet.sell[lot]
            sheet.sell[lot] = new  # set, not added: a float sum can pass the cap
            excess += step * per_share[lot]
        candidates = np.flatnonzero(mine & (sheet.sell > 0.0) & (per_share > 0.0))
        for lot in candidates[np.argsort(-prepared.lot_budget_rates[k][candidates])]:
            if excess <= 0.0:
                break
            cut = min(sheet.sell[lot], _step_up(excess / per_share[lot], sheet.lot_step[lot]))
            kept = _snap(sheet.sell[lot] - cut, sheet.sell_cap[lot], sheet.lot_step[lot])
            excess -= (sheet.sell[lot] - kept) * per_share[lot]
            sheet.sell[lot] = kept
            sheet.sell_why[lot] = f"trimmed to hold the {_budget_label(k)}"
        sheet.repairs.append(f"adjusted sells in account {a} to hold the {_budget_label(k)}")


def _band_room(sheet: _TradeSheet) -> FloatArray:
    """Per name: how much weight its tightest band group can still lose (inf without bands)."""
    prepared, universe = sheet.prepared, sheet.problem.universe
    moves = np.zeros(universe.size)
    np.add.at(moves, prepared.lot_symbol, -sheet.proceeds())
    np.add.at(moves, prepared.buy_symbol, sheet.cost())
    active = prepared.initial_weights + moves / sheet.value - prepared.target_weights
    room = np.full(universe.size, np.inf)
    for band in prepared.bands:
        level = band.levels(active)
        room[band.members] = np.minimum(room[band.members], (level + band.limits)[band.group_of])
    return room


def _trim_buys(sheet: _TradeSheet, account: int | None, shortfall: float, why: str) -> float:
    """Trim buys (of one account, or all) by at least ``shortfall`` of spending.

    Buys in the band groups with the most room are trimmed first (within that room), then the
    largest buys, so a cash repair does not push a sector out of its band.
    """
    prepared = sheet.prepared
    mask = sheet.buy > 0.0
    if account is not None:
        mask &= prepared.buy_account == account
    candidates = np.flatnonzero(mask)
    room = _band_room(sheet)[prepared.buy_symbol[candidates]]
    for within_room in (True, False):
        order = (
            np.lexsort((-sheet.cost()[candidates], -room))
            if within_room
            else np.argsort(-sheet.cost()[candidates])
        )
        for j in candidates[order]:
            if shortfall <= 0.0:
                return shortfall
            unit = sheet.buy_price[j] * (1.0 + sheet.tc)
            cut = min(sheet.buy[j], _step_up(shortfall / unit, sheet.buy_step[j]))
            if within_room:
                limit = _band_room(sheet)[prepared.buy_symbol[j]] * sheet.value / sheet.buy_price[j]
                cut = min(cut, max(_round_down(np.array([limit]), sheet.buy_step[j])[0], 0.0))
            sheet.buy[j] -= cut
            shortfall -= cut * unit
            sheet.buy_why[j] = why
    return shortfall


def _repair_turnover(sheet: _TradeSheet, relaxed: dict[tuple[str, str], float]) -> None:
    cap = sheet.prepared.turnover_cap_weight
    if cap is None:
        return
    cap += relaxed.get(("turnover", ""), 0.0)
    excess = sheet.free_turnover() - cap * sheet.value
    if excess > 1e-9 * sheet.value:
        _trim_buys(sheet, None, excess / (1.0 + sheet.tc), "trimmed to hold the turnover cap")
        sheet.repairs.append("trimmed buys to hold the turnover cap")


def _repair_cash(sheet: _TradeSheet) -> None:
    prepared = sheet.prepared
    floor = prepared.cash_floor_weights * sheet.value
    short = floor - sheet.cash_after()
    for a in np.flatnonzero(short > 1e-9):
        # First undo the minimum-trade drops and the rounding down of sells (within the gains
        # budget and turnover cap): each moves the trade back toward the solver's answer.
        remaining = float(short[a])
        room = sheet.budget_limit[a] - sheet.budget_used()[a]  # per budget kind, inf without
        turnover_room = sheet.turnover_limit - sheet.free_turnover()
        wanted = np.maximum(sheet.sell_wanted, sheet.sell_unfiltered)
        rounded_down = np.flatnonzero(
            (prepared.lot_account == a)
            & (prepared.lot_state == LOT_FREE)
            & (wanted > sheet.sell + 1e-12)
        )
        for lot in rounded_down[np.argsort(prepared.lot_cost[rounded_down])]:
            if remaining <= 0.0:
                break
            needed = sheet.sell[lot] + remaining / (sheet.lot_price[lot] * (1.0 - sheet.tc))
            target = min(float(wanted[lot]), needed)
            new = min(_step_up(target, sheet.lot_step[lot]), sheet.sell_cap[lot])
            step = new - sheet.sell[lot]
            extra_use = step * sheet.lot_price[lot] * prepared.lot_budget_rates[:, lot]
            extra_value = step * sheet.lot_price[lot]
            if step <= 0.0 or np.any(extra_use > room) or extra_value > turnover_room:
                continue
            sheet.sell[lot] = new
            room = room - extra_use
            turnover_room -= extra_value
            remaining -= step * sheet.lot_price[lot] * (1.0 - sheet.tc)
        if remaining <= 0.0:
            sheet.repairs.append(f"rounded sells up in account {a} to keep the cash floor")
            continue
        remaining = _trim_buys(sheet, int(a), remaining, "trimmed to keep the cash floor")
        sheet.repairs.append(f"trimmed buys in account {a} to keep the cash floor")
        if remaining <= 0.0:
            continue
        sellable = np.flatnonzero(
            (prepared.lot_account == a)
            & (prepared.lot_state == LOT_FREE)
            & (sheet.sell < sheet.sell_cap)
        )
        bought = set(prepared.buy_symbol[(prepared.buy_account == a) & (sheet.buy > 0.0)])
        for lot in sellable[np.argsort(prepared.lot_cost[sellable])]:
            if remaining <= 0.0:
                break
            if prepared.lot_symbol[lot] in bought:
                continue
            unit = sheet.lot_price[lot] * (1.0 - sheet.tc)
            new = min(
                sheet.sell_cap[lot],
                sheet.sell[lot] + _step_up(remaining / unit, sheet.lot_step[lot]),
            )
            remaining -= (new - sheet.sell[lot]) * unit
            sheet.sell[lot] = new
        sheet.repairs.append(f"sold more in account {a} to keep the cash floor after rounding")
        sheet.cash_over_budget.add(int(a))


def order_groups(problem: HouseholdProblem, prepared: PreparedProblem) -> list[IntArray]:
    """Each (account, name)'s lots in the custodian's relief order; none for specified lots."""
    lot_order = problem.constraints.lot_order
    if lot_order is None:
        return []
    return relief_groups(
        lot_order=lot_order,
        lot_account=prepared.lot_account,
        lot_symbol=prepared.lot_symbol,
        lot_ids=prepared.lot_ids,
        lot_shares=prepared.lot_shares,
        lot_basis_amounts=prepared.lot_basis_amounts,
    )


def _extend(sheet: _TradeSheet, group: IntArray, shares: float) -> list[tuple[int, float]]:
    """Sell about ``shares`` more of a name in relief order (free lots; a frozen one stops it).

    Each lot takes whole steps, or all it may give; returns the (lot, shares added) pairs.
    """
    added: list[tuple[int, float]] = []
    left = shares
    for j in group.tolist():
        if left <= _EPS:
            break
        room = sheet.sell_cap[j] - sheet.sell[j]
        if room <= _EPS:
            continue
        if sheet.prepared.lot_state[j] != LOT_FREE:
            break
        # Set the new sale, not sell + take: a float sum can pass the cap (sell + (cap - sell)).
        new = min(_step_up(sheet.sell[j] + left, sheet.lot_step[j]), sheet.sell_cap[j])
        take = new - sheet.sell[j]
        sheet.sell[j] = new
        added.append((j, take))
        left -= take
    return added


def _undo(sheet: _TradeSheet, added: list[tuple[int, float]]) -> None:
    """Take back what ``_extend`` added: each lot's sale as it was before (exactly, at zero)."""
    for j, q in added:
        before = sheet.sell[j] - q
        sheet.sell[j] = before if before > _EPS else 0.0


def _next_cost(sheet: _TradeSheet, group: IntArray) -> float:
    """The objective cost of the next lot a larger sale of the name would relieve."""
    for j in group.tolist():
        if sheet.sell[j] < sheet.sell_cap[j] - _EPS:
            free = sheet.prepared.lot_state[j] == LOT_FREE
            return float(sheet.prepared.lot_cost[j]) if free else math.inf
    return math.inf


def _use(sheet: _TradeSheet, added: list[tuple[int, float]]) -> FloatArray:
    """What the shares ``added`` to lots use of each budget kind of their account (amounts)."""
    rates = sheet.prepared.lot_budget_rates
    out: FloatArray = np.zeros(len(BUDGET_KINDS))
    for j, q in added:
        out += q * sheet.lot_price[j] * rates[:, j]
    return out


def _unwind(
    sheet: _TradeSheet, group: IntArray, excess: float, per_share: FloatArray, why: str
) -> float:
    """Shrink a name's sale from its last lot back until it uses ``excess`` less of a budget.

    ``per_share``: per lot, what one share sold uses of the budget (amount). Returns the use
    removed (the whole free part of the sale's when that is not enough).
    """
    removed = 0.0
    for j in reversed(group.tolist()):
        if sheet.sell[j] <= 0.0:
            continue
        if sheet.prepared.lot_state[j] != LOT_FREE:
            break
        unit = float(per_share[j])
        if unit > 0.0 and removed + sheet.sell[j] * unit >= excess:
            cut = min(sheet.sell[j], _step_up((excess - removed) / unit, sheet.lot_step[j]))
            kept = _snap(sheet.sell[j] - cut, sheet.sell_cap[j], sheet.lot_step[j])
        else:
            kept = 0.0
        removed += (sheet.sell[j] - kept) * unit
        sheet.sell[j] = kept
        sheet.sell_why[j] = why
        if removed >= excess:
            break
    return removed


def _unwind_over_budgets(sheet: _TradeSheet, a: int, mine: list[IntArray]) -> None:
    """Shrink account ``a``'s sales at the end of their order until every budget holds.

    For each budget exceeded, the names whose sale uses the most of it per unit sold are shrunk
    first. Shrinking a sale may take back a loss at its end (to reach a gain before it), which
    can push another budget over: the budgets are revisited until no sale shrinks. Sales only
    shrink, by at least a step or a lot's whole sale each time, so this ends.
    """
    prepared = sheet.prepared
    free = prepared.lot_state == LOT_FREE
    trimmed: set[int] = set()  # budget kinds held by trimming
    changed = True
    while changed:
        changed = False
        for k in range(len(BUDGET_KINDS)):
            excess = float(sheet.budget_used()[a, k] - sheet.budget_limit[a, k])
            if excess <= 1e-6:
                continue
            per_share = sheet.lot_price * prepared.lot_budget_rates[k]

            def use(group: IntArray, per_share: FloatArray = per_share) -> tuple[float, float]:
                sold = sheet.sell[group] * free[group]
                return float(sold @ per_share[group]), float(sold @ sheet.lot_price[group])

            heavy = sorted(
                (g for g in mine if use(g)[0] > 0.0),
                key=lambda g: -use(g)[0] / max(use(g)[1], 1e-300),
            )
            for group in heavy:
                if excess <= 0.0:
                    break
                removed = _unwind(
                    sheet, group, excess, per_share, f"trimmed to hold the {_budget_label(k)}"
                )
                excess -= removed
                changed = changed or removed > 0.0
                trimmed.add(k)
    sheet.repairs.extend(
        f"adjusted sells in account {a} to hold the {_budget_label(k)}" for k in sorted(trimmed)
    )


def _repair_budget_in_order(
    sheet: _TradeSheet, relaxed: dict[tuple[str, str], float], groups: list[IntArray]
) -> tuple[str, ...]:
    """Hold every budget on the lots the custodian relieves; what cannot be held is said.

    A sale relieved in order changes only at its end: first loss lots that rounding left short
    of the solver's sale are sold (when that lowers a budget exceeded and takes no other past
    its limit), then sales are shrunk from their last lot back (``_unwind_over_budgets``). A
    budget still exceeded (a loss the relief order cannot reach, or one taken back to reach a
    gain before it) is granted as elastic slack in ``relaxed`` and reported with its row and
    the reason.

    Returns:
        The notes for the result's relaxations.
    """
    prepared = sheet.prepared
    limit = sheet.budget_limit = _budget_limit(sheet, relaxed)
    wanted = np.maximum(sheet.sell_wanted, sheet.sell_unfiltered)
    notes: list[str] = []
    for a in np.flatnonzero(np.any(sheet.budget_used() > limit + 1e-6, axis=1)).tolist():
        mine = [g for g in groups if prepared.lot_account[g[0]] == a]
        used = sheet.budget_used()[a]
        for group in mine:
            over = used > limit[a] + 1e-6
            toward = float(wanted[group].sum() - sheet.sell[group].sum())
            if not over.any() or toward <= 1e-12:
                continue
            added = _extend(sheet, group, toward)
            after = used + _use(sheet, added)
            if np.any(after[over] < used[over]) and np.all(
                after <= np.maximum(used, limit[a]) + 1e-9
            ):
                used = after
                continue
            _undo(sheet, added)
        _unwind_over_budgets(sheet, a, mine)
        over_by = sheet.budget_used()[a] - limit[a]
        for k in np.flatnonzero(over_by > CENT).tolist():
            name = budget_row_name(a, k)
            relaxed[("budget", name)] = (
                relaxed.get(("budget", name), 0.0) + over_by[k] / sheet.value
            )
            limit[a, k] += over_by[k]
            notes.append(
                f"{budget_relaxation_text(name, float(over_by[k]))}: the custodian relieves the "
                f"account's lots {sheet.problem.constraints.lot_order}, and the lots it relieves "
                "first cannot hold the budget"
            )
    return tuple(notes)


def _repair_cash_in_order(sheet: _TradeSheet, groups: list[IntArray]) -> None:
    """Keep the cash floor as ``_repair_cash`` does, growing sales only in relief order.

    Sales move back toward the solver's within every budget's room and the turnover cap; the
    last resort (selling more of each name, next lots in order) may go past a budget: the
    account is then in ``sheet.cash_over_budget`` and the budget is reported as relaxed.
    """
    prepared = sheet.prepared
    short = prepared.cash_floor_weights * sheet.value - sheet.cash_after()
    wanted = np.maximum(sheet.sell_wanted, sheet.sell_unfiltered)
    for a in np.flatnonzero(short > 1e-9):
        remaining = float(short[a])
        mine = sorted(
            (g for g in groups if prepared.lot_account[g[0]] == a),
            key=lambda g: _next_cost(sheet, g),
        )
        # First back toward the solver's sale of each name, within the budgets and turnover.
        room = sheet.budget_limit[a] - sheet.budget_used()[a]  # per budget kind, inf without
        turnover_room = sheet.turnover_limit - sheet.free_turnover()
        for group in mine:
            toward = float(wanted[group].sum() - sheet.sell[group].sum())
            if remaining <= 0.0:
                break
            if toward <= 1e-12:
                continue
            unit = sheet.lot_price[group[0]] * (1.0 - sheet.tc)
            added = _extend(sheet, group, min(toward, remaining / unit))
            extra_use = _use(sheet, added)
            extra_value = sum(q for _, q in added) * sheet.lot_price[group[0]]
            if np.any(extra_use > room) or extra_value > turnover_room:
                _undo(sheet, added)
                continue
            room = room - extra_use
            turnover_room -= extra_value
            remaining -= sum(q for _, q in added) * unit
        if remaining <= 0.0:
            sheet.repairs.append(f"rounded sells up in account {a} to keep the cash floor")
            continue
        remaining = _trim_buys(sheet, int(a), remaining, "trimmed to keep the cash floor")
        sheet.repairs.append(f"trimmed buys in account {a} to keep the cash floor")
        if remaining <= 0.0:
            continue
        bought = set(prepared.buy_symbol[(prepared.buy_account == a) & (sheet.buy > 0.0)])
        for group in mine:
            if remaining <= 0.0:
                break
            if prepared.lot_symbol[group[0]] in bought:
                continue
            unit = sheet.lot_price[group[0]] * (1.0 - sheet.tc)
            remaining -= sum(q for _, q in _extend(sheet, group, remaining / unit)) * unit
        sheet.repairs.append(f"sold more in account {a} to keep the cash floor after rounding")
        sheet.cash_over_budget.add(int(a))


def band_breaches(
    problem: HouseholdProblem,
    prepared: PreparedProblem,
    lot_sell_shares: FloatArray,
    buy_shares: FloatArray,
    relaxed_weights: dict[tuple[str, str], float],
    rounded: tuple[BoolArray, BoolArray] | None = None,
) -> list[tuple[str, str, float, float]]:
    """Drift bands (``prepare.drift_bands``) broken by final share counts, beyond rounding.

    Whole shares move a group's active weight by up to one share of every lot and name whose
    continuous trade was rounded (``rounded`` masks; default: the traded ones), so that much is
    tolerated on top of the band (and any elastic slack).

    Returns:
        (kind, group, |active weight|, limit) per breached band.
    """
    universe = problem.universe
    prices, value = universe.prices, prepared.value_amount
    symbol_moves = np.zeros(universe.size)
    np.add.at(symbol_moves, prepared.lot_symbol, -lot_sell_shares * prices[prepared.lot_symbol])
    np.add.at(symbol_moves, prepared.buy_symbol, buy_shares * prices[prepared.buy_symbol])
    granularity = np.zeros(universe.size)
    traded, bought = rounded if rounded is not None else (lot_sell_shares > 0, buy_shares > 0)
    np.add.at(granularity, prepared.lot_symbol[traded], prices[prepared.lot_symbol[traded]])
    np.add.at(granularity, prepared.buy_symbol[bought], prices[prepared.buy_symbol[bought]])
    active = prepared.initial_weights + symbol_moves / value - prepared.target_weights
    out: list[tuple[str, str, float, float]] = []
    for band in prepared.bands:
        level = np.abs(band.levels(active))
        slack = band.levels(granularity) / value
        for j, group in enumerate(band.groups):
            limit = band.limits[j] + relaxed_weights.get((band.kind, group), 0.0) + slack[j] + 1e-6
            if level[j] > limit:
                out.append((band.kind, group, float(level[j]), float(limit)))
    return out


def recheck(
    problem: HouseholdProblem,
    prepared: PreparedProblem,
    lot_sell_shares: FloatArray,
    buy_shares: FloatArray,
    *,
    relaxed_weights: dict[tuple[str, str], float] | None = None,
    rounded: tuple[BoolArray, BoolArray] | None = None,
    include_bands: bool = True,
) -> tuple[str, ...]:
    """Check every constraint on final share counts.

    Restrictions are re-read from ``problem`` rather than trusted from ``prepared``, so a
    preparation bug shows up here.

    Args:
        problem: The household problem.
        prepared: The prepared problem (value, lot states, budgets, floors).
        lot_sell_shares: Shares sold per lot.
        buy_shares: Shares bought per buy variable.
        relaxed_weights: Slack granted by the elastic re-solve per (kind, name), fractions of V.
        rounded: Lots and buys whose continuous trade was rounded (band tolerance).
        include_bands: Also check the soft limits (sector/industry bands, turnover cap).

    Returns:
        Human-readable violations (empty when every constraint holds).
    """
    relaxed_weights = relaxed_weights or {}
    final = _FinalTrades.of(problem, prepared, lot_sell_shares, buy_shares)
    out = _lot_violations(problem, prepared, final)
    out += _buy_violations(problem, prepared, final)
    out += _cash_and_budget_violations(problem, prepared, final, relaxed_weights)
    cons, value = problem.constraints, prepared.value_amount
    if cons.turnover_cap_weight is not None:
        free_traded = float(
            final.proceeds[prepared.lot_state == LOT_FREE].sum() + final.bought_value.sum()
        )
        cap = cons.turnover_cap_weight + relaxed_weights.get(("turnover", ""), 0.0)
        if include_bands and free_traded > cap * value * (1 + 1e-9) + 1e-6:
            out.append("turnover cap exceeded")
    if include_bands:
        out.extend(
            f"{kind}[{group}] active weight {level:.4%} outside {limit:.4%}"
            for kind, group, level, limit in band_breaches(
                problem, prepared, lot_sell_shares, buy_shares, relaxed_weights, rounded
            )
        )
    after = (
        prepared.initial_weights
        + (final.bought_value.sum(axis=0) - final.sold_value.sum(axis=0)) / value
    )
    if np.any(after < -1e-12):
        out.append("short position after trading")
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _FinalTrades:
    """Final share counts with what every check reads of them (amounts per account and name)."""

    lots: LotTable
    lot_sell_shares: FloatArray
    buy_shares: FloatArray
    sold: BoolArray
    proceeds: FloatArray  # per lot, amount
    sold_value: FloatArray  # accounts × names, amount
    bought_value: FloatArray  # accounts × names, amount

    @classmethod
    def of(
        cls,
        problem: HouseholdProblem,
        prepared: PreparedProblem,
        lot_sell_shares: FloatArray,
        buy_shares: FloatArray,
    ) -> _FinalTrades:
        """Amounts of the final trades at the universe's prices."""
        lots, _ = household_lots(problem)
        prices, n = problem.universe.prices, problem.universe.size
        shape = (len(problem.accounts), n)
        symbol = prepared.lot_symbol
        proceeds = lot_sell_shares * prices[symbol] if len(lots.lot_ids) else np.zeros(0)
        sold_value = np.zeros(shape)
        np.add.at(sold_value, (prepared.lot_account, symbol), proceeds)
        bought_value = np.zeros(shape)
        if len(buy_shares):
            np.add.at(
                bought_value,
                (prepared.buy_account, prepared.buy_symbol),
                buy_shares * prices[prepared.buy_symbol],
            )
        return cls(
            lots=lots,
            lot_sell_shares=lot_sell_shares,
            buy_shares=buy_shares,
            sold=lot_sell_shares > 0.0,
            proceeds=proceeds,
            sold_value=sold_value,
            bought_value=bought_value,
        )


def _lot_violations(
    problem: HouseholdProblem, prepared: PreparedProblem, final: _FinalTrades
) -> list[str]:
    """What the sales break: overselling, fractions, locks, forced sales, the relief order."""
    symbols, cons = problem.universe.symbols, problem.constraints
    ids, shares_held, symbol = final.lots.lot_ids, final.lots.shares, prepared.lot_symbol
    lot_sell_shares, sold = final.lot_sell_shares, final.sold
    never_sell = np.zeros(len(ids), dtype=bool)
    if cons.never_sell_lot_ids or cons.never_sell_symbols:
        for j in np.flatnonzero(sold).tolist():
            never_sell[j] = (
                ids[j] in cons.never_sell_lot_ids or symbols[symbol[j]] in cons.never_sell_symbols
            )
    lot_steps = name_share_steps(symbols, cons)[symbol] if len(ids) else np.ones(0)
    # Whole shares or the whole lot, fraction included (see the module docstring), except names
    # traded in dollars at NAV (their step is the custodian's).
    part_of_fraction = (
        sold
        & (lot_steps == 1.0)
        & (np.abs(lot_sell_shares - np.round(lot_sell_shares)) > _EPS)
        & (np.abs(lot_sell_shares - shares_held) > _EPS)
    )
    forced_cap = sell_caps(shares_held, cons, lot_steps)
    checks = (
        ((lot_sell_shares < 0.0) | (lot_sell_shares > shares_held), "sells more than held"),
        (part_of_fraction, "sells part of a fractional share in a whole-share account"),
        (
            sold & ~representable(lot_sell_shares, cons.share_places),
            f"sells a share count finer than the custodian takes ({cons.share_places} places)",
        ),
        (sold & (prepared.lot_state == LOT_FROZEN), "frozen today but sold"),
        (sold & never_sell, "never-sell but sold"),
        (
            (prepared.lot_state == LOT_FORCED) & (lot_sell_shares < forced_cap - _EPS),
            "forced unsold",
        ),
    )
    out = [f"lot {ids[j]}: {text}" for mask, text in checks for j in np.flatnonzero(mask)]
    out.extend(
        f"lot {ids[j]}: sold before lots the custodian relieves first ({cons.lot_order})"
        for j in sold_out_of_order(lot_sell_shares, forced_cap, order_groups(problem, prepared))
    )
    return out


def _buy_violations(
    problem: HouseholdProblem, prepared: PreparedProblem, final: _FinalTrades
) -> list[str]:
    """What the purchases break: fractions, blocked names, same-day round trips, wash sales."""
    symbols, cons, locks = problem.universe.symbols, problem.constraints, problem.wash_sale_locks
    buy_shares, n = final.buy_shares, problem.universe.size
    account, shares_held = prepared.lot_account, final.lots.shares
    taxable = np.array([a.tax_profile.is_taxable for a in problem.accounts], dtype=bool)
    gain = final.proceeds - final.lots.basis_amount * final.lot_sell_shares / np.where(
        shares_held > 0, shares_held, 1.0
    )
    loss_sold = np.zeros(n, dtype=bool)
    if len(final.lots.lot_ids):
        loss_sold[prepared.lot_symbol[final.sold & (gain < 0.0) & taxable[account]]] = True
    # A loss sale of one member of a substantially identical group and a purchase of another
    # is a wash sale too (IRC §1091(a)); a lock on one member locks them all.
    name_group = name_groups(symbols, problem.substantially_identical)
    loss_sold = across_groups(loss_sold, name_group)
    lock_buy = across_groups(np.array([s in locks.no_buy_symbols for s in symbols]), name_group)
    out: list[str] = []
    if np.any(buy_shares < 0.0):
        out.append("negative buy")
    if len(buy_shares):
        whole = name_share_steps(symbols, cons)[prepared.buy_symbol] == 1.0
        out.extend(
            f"buys a fraction of a share of {symbols[prepared.buy_symbol[j]]} in whole shares"
            for j in np.flatnonzero(
                whole & (np.abs(buy_shares - np.round(buy_shares)) > _EPS)
            ).tolist()
        )
    blocked = cons.never_buy_symbols | cons.must_sell_symbols
    for a, i in zip(*np.nonzero(final.bought_value > 0.0), strict=True):
        name, where = symbols[i], problem.accounts[a].account_id
        if name in blocked or lock_buy[i]:
            out.append(f"account {where}: buys blocked name {name}")
        if final.sold_value[a, i] > 0.0:
            out.append(f"account {where}: sells and buys {name}")
        if loss_sold[i]:
            out.append(
                f"{name}: loss sale of it or of a substantially identical name and purchase "
                "the same day (wash sale)"
            )
    return out


def _cash_and_budget_violations(
    problem: HouseholdProblem,
    prepared: PreparedProblem,
    final: _FinalTrades,
    relaxed_weights: dict[tuple[str, str], float],
) -> list[str]:
    """Accounts below their cash floor, and budgets the free sales exceed (forced: reported)."""
    value, tc = prepared.value_amount, prepared.transaction_cost_rate
    out: list[str] = []
    for a, acct in enumerate(problem.accounts):
        cash_after = (
            acct.cash_amount
            + (1 - tc) * final.sold_value[a].sum()
            - (1 + tc) * final.bought_value[a].sum()
        )
        floor = prepared.cash_floor_weights[a] * value  # lowered when out of reach
        if cash_after < floor - 1e-6:
            out.append(f"account {acct.account_id}: cash {cash_after:.2f} below {floor:.2f}")
    free = prepared.lot_state == LOT_FREE
    for a, k in zip(*np.nonzero(np.isfinite(prepared.budget_limit_weights)), strict=True):
        name = budget_row_name(int(a), int(k))
        limit = prepared.budget_limit_weights[a, k] + relaxed_weights.get(("budget", name), 0.0)
        mine = free & (prepared.lot_account == a)
        used = float((final.proceeds[mine] * prepared.lot_budget_rates[k][mine]).sum())
        if used > limit * value + CENT:
            out.append(
                f"account {problem.accounts[a].account_id}: {BUDGET_KINDS[k]} {used:.2f} over "
                f"{BUDGET_LABELS[BUDGET_KINDS[k]]} {limit * value:.2f}"
            )
    return out


def round_and_repair(
    problem: HouseholdProblem,
    prepared: PreparedProblem,
    solution: ContinuousSolution,
    config: SolverConfig,
) -> RoundedTrades:
    """Turn the continuous solution into share counts that satisfy every constraint.

    Args:
        problem: The household problem.
        prepared: Its prepared form.
        solution: The solver's continuous solution.
        config: Minimum-trade rate.

    Returns:
        Final share counts, the repairs made and any remaining violations.
    """
    sheet = _TradeSheet(problem, prepared, config)
    relaxed = {(label.kind, label.name): amount for label, amount in solution.relaxed}
    groups = order_groups(problem, prepared)
    wanted, unfiltered, amounts = _net_filter_and_round(sheet, solution, groups)
    rounded = (unfiltered[0] > 0.0, unfiltered[1] > 0.0)
    _keep_small_trades_in_breached_bands(sheet, amounts, unfiltered, relaxed, rounded)
    for j in np.flatnonzero((amounts[0] > 0.0) & (sheet.sell <= 0.0)).tolist():
        sheet.sell_why[j] = sheet.sell_why[j] or _smaller_than(float(sheet.lot_step[j]))
    for j in np.flatnonzero((amounts[1] > 0.0) & (sheet.buy <= 0.0)).tolist():
        sheet.buy_why[j] = sheet.buy_why[j] or _smaller_than(float(sheet.buy_step[j]))
    notes = _repair(sheet, relaxed, groups)
    violations = recheck(
        problem,
        prepared,
        sheet.sell,
        sheet.buy,
        relaxed_weights=relaxed,
        rounded=rounded,
        include_bands=False,
    )
    # Bands and the turnover cap are soft: a breach left by whole shares plus a repair of a
    # hard constraint (cash floor, gains budget) is reported as a relaxation, not hidden.
    band_notes = notes + tuple(
        f"{kind}[{group}] exceeded by {level - limit:.4%} of value after rounding and repairs"
        for kind, group, level, limit in band_breaches(
            problem, prepared, sheet.sell, sheet.buy, relaxed, rounded
        )
    )
    if sheet.free_turnover() > sheet.turnover_limit * (1 + 1e-9) + 1e-6:
        over = (sheet.free_turnover() - sheet.turnover_limit) / sheet.value
        band_notes += (f"turnover_cap exceeded by {over:.4%} of value to keep the cash floor",)
    return RoundedTrades(
        lot_sell_shares=sheet.sell,
        buy_shares=sheet.buy,
        repairs=tuple(sheet.repairs),
        violations=violations,
        band_notes=band_notes,
        dropped=_dropped(sheet, wanted, unfiltered),
    )


_Amounts = tuple[FloatArray, FloatArray]  # per lot sold, per buy variable (amounts)


def _smaller_than(step: float) -> str:
    return "less than one share" if step == 1.0 else f"less than the share step ({step:g})"


def _net_filter_and_round(
    sheet: _TradeSheet, solution: ContinuousSolution, groups: list[IntArray]
) -> tuple[_Amounts, _Amounts, _Amounts]:
    """Net each name's buys and sells, drop trades under the minimum, round to share steps.

    Returns the solution's amounts (in the custodian's relief order where it has one), the
    netted amounts before the minimum trade, and the amounts kept (rounded in ``sheet``).
    """
    prepared = sheet.prepared
    sell_amount = solution.lot_sell_weights * sheet.value
    buy_amount = solution.buy_weights * sheet.value
    wanted = (sell_amount.copy(), buy_amount.copy())
    lot_values = prepared.lot_weight * sheet.value
    if groups:  # the custodian relieves each name's sale in its order
        wanted = (amounts_in_order(wanted[0], lot_values, groups), wanted[1])
    _net_same_name(sheet, sell_amount, buy_amount)
    if groups:
        sell_amount = amounts_in_order(sell_amount, lot_values, groups)
    for j in np.flatnonzero((wanted[0] >= CENT) & (sell_amount <= 0.0)).tolist():
        sheet.sell_why[j] = "netted against a buy of the same name"
    for j in np.flatnonzero((wanted[1] >= CENT) & (buy_amount <= 0.0)).tolist():
        sheet.buy_why[j] = "netted against a sale of the same name"
    unfiltered = (sell_amount.copy(), buy_amount.copy())
    sheet.sell_unfiltered = np.minimum(
        unfiltered[0] / np.maximum(sheet.lot_price, 1e-300), sheet.lot_shares
    )
    _apply_min_trade(sheet, sell_amount, buy_amount)
    _round(sheet, sell_amount, buy_amount)
    return wanted, unfiltered, (sell_amount, buy_amount)


def _keep_small_trades_in_breached_bands(
    sheet: _TradeSheet,
    amounts: _Amounts,
    unfiltered: _Amounts,
    relaxed: dict[tuple[str, str], float],
    rounded: tuple[BoolArray, BoolArray],
) -> None:
    """Where dropping small trades broke a band, keep every trade of the names in its groups."""
    problem, prepared = sheet.problem, sheet.prepared
    breaches = band_breaches(problem, prepared, sheet.sell, sheet.buy, relaxed, rounded)
    if not breaches:
        return
    sell_amount, buy_amount = amounts
    by_kind = {band.kind: band for band in prepared.bands}
    names = np.zeros(problem.universe.size, dtype=bool)
    for kind, group, _, _ in breaches:
        names |= by_kind[kind].names_in(group, problem.universe.size)
    restore_sells = names[prepared.lot_symbol]
    restore_buys = names[prepared.buy_symbol]
    sell_amount[restore_sells] = unfiltered[0][restore_sells]
    buy_amount[restore_buys] = unfiltered[1][restore_buys]
    for j in np.flatnonzero(restore_sells & (unfiltered[0] > 0.0)).tolist():
        sheet.sell_why[j] = ""
    for j in np.flatnonzero(restore_buys & (unfiltered[1] > 0.0)).tolist():
        sheet.buy_why[j] = ""
    _round(sheet, sell_amount, buy_amount)
    sheet.repairs.append(f"kept small trades in {len(breaches)} band groups")


def _repair(
    sheet: _TradeSheet, relaxed: dict[tuple[str, str], float], groups: list[IntArray]
) -> tuple[str, ...]:
    """Repair budgets, turnover and cash after rounding; notes of what had to give way.

    The cash floor is hard: where its last-resort sales went past a budget (whole shares of a
    gain lot, or the lots the custodian relieves next), the budget gives way by that much
    (added to ``relaxed``) and a note says so.
    """
    problem, prepared = sheet.problem, sheet.prepared
    cap = prepared.turnover_cap_weight
    if cap is not None:
        sheet.turnover_limit = (cap + relaxed.get(("turnover", ""), 0.0)) * sheet.value
    order_notes: tuple[str, ...] = ()
    if groups:
        order_notes = _repair_budget_in_order(sheet, relaxed, groups)
    else:
        _repair_budget(sheet, relaxed)
    _repair_turnover(sheet, relaxed)
    if groups:
        _repair_cash_in_order(sheet, groups)
    else:
        _repair_cash(sheet)
    reason = " to keep the cash floor after rounding"
    if groups:
        reason += f" (the custodian relieves the account's lots {problem.constraints.lot_order})"
    budget_notes: list[str] = []
    over = sheet.budget_used() - sheet.budget_limit
    for a, k in zip(*np.nonzero(over > CENT), strict=True):
        if int(a) not in sheet.cash_over_budget:
            continue  # not caused by the cash floor: the re-check reports it
        name = budget_row_name(int(a), int(k))
        relaxed[("budget", name)] = relaxed.get(("budget", name), 0.0) + over[a, k] / sheet.value
        budget_notes.append(budget_relaxation_text(name, float(over[a, k])) + reason)
    return order_notes + tuple(budget_notes)


def _dropped(
    sheet: _TradeSheet, wanted: tuple[FloatArray, FloatArray], netted: tuple[FloatArray, FloatArray]
) -> tuple[DroppedTrade, ...]:
    """Trades of the solution (a cent or more) that ended at zero shares, with why."""
    prepared, symbols = sheet.prepared, sheet.problem.universe.symbols
    account_ids = [a.account_id for a in sheet.problem.accounts]
    out = []
    for j in np.flatnonzero((wanted[0] >= CENT) & (sheet.sell <= 0.0)).tolist():
        amount = netted[0][j] if netted[0][j] > 0.0 else wanted[0][j]
        out.append(
            DroppedTrade(
                account_ids[prepared.lot_account[j]],
                TradeSide.SELL,
                symbols[prepared.lot_symbol[j]],
                prepared.lot_ids[j],
                float(amount),
                sheet.sell_why[j] or "rounded to zero shares",
            )
        )
    for j in np.flatnonzero((wanted[1] >= CENT) & (sheet.buy <= 0.0)).tolist():
        amount = netted[1][j] if netted[1][j] > 0.0 else wanted[1][j]
        out.append(
            DroppedTrade(
                account_ids[prepared.buy_account[j]],
                TradeSide.BUY,
                symbols[prepared.buy_symbol[j]],
                None,
                float(amount),
                sheet.buy_why[j] or "rounded to zero shares",
            )
        )
    return tuple(out)
