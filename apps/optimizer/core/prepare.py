"""Per-account numeric data for one solve: lot arrays, bounds, cost coefficients, side rule.

Everything here is in fractions of household value V (trade amount / V). Lots fall into three
groups: *forced* (sold entirely, a constant), *frozen* (not sold, a constant) and *free* (a solver
variable in [0, lot weight]). Buys exist as variables only for (account, name) pairs that may be
bought today.

Same-day wash-sale side rule (OPTIMIZER-NOTES.md): selling a loss lot and buying the same name on
the same day is a wash sale, and the buy-or-sell choice per name is non-convex. Each name therefore
gets one side for today, household-wide:

* harvest side: some taxable lot is under water by at least its account's
  ``TaxProfile.harvest_threshold_rate`` of its basis and its loss may be sold → no buys of the
  name in any account (an IRA purchase would also disallow the loss); the lots of an account
  with harvesting off (threshold ``None``) never make a name harvest-side;
* buy side: every other buyable name → its taxable loss lots are frozen today.

Names that cannot be bought anyway (never-buy, must-sell, wash-sale buy lock, raise-cash mode)
keep their loss lots free. Names bought in the last 30 days (wash-sale loss-sale lock) keep their
taxable loss lots frozen unless a restriction forces the sale.

Substantially identical names (``HouseholdProblem.substantially_identical``: share classes of one
issuer, funds on one index) are one name for the rule (IRC §1091(a)): a group is harvest side when
any member is (or a restriction sells a member's taxable lot at a loss), and then no member is
bought; a member's taxable loss lot is frozen when any member may be bought; a wash-sale lock on
one member locks them all. Risk-model replacements for a harvested name are therefore never a
member of its group.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from apps.optimizer.core.errors import RebalanceInfeasible
from apps.optimizer.core.location import (
    derived_location_cost_rates,
    expected_loss_rates,
    name_volatilities,
)
from apps.optimizer.core.relief import relief_groups, states_in_order
from apps.optimizer.core.types import (
    Constraints,
    FloatArray,
    HouseholdProblem,
    LotTable,
    RebalanceMode,
    SolverConfig,
    Universe,
    lot_table,
    lot_tables_concat,
)
from apps.taxlots.rules import (
    WASH_SALE_WINDOW_DAYS,
    FilingStatus,
    long_term_start,
)
from apps.taxlots.shadow import AccountTaxPosition, shadow_rates

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


# Lots of one account share purchase dates and every account of a run shares ``as_of``; the
# rules are pure, so memoising them is safe and saves most of the per-lot Python work.
@lru_cache(maxsize=1 << 16)
def cached_long_term_start(holding_period_start: date, months: int) -> date:
    """``apps.taxlots.rules.long_term_start``, memoised."""
    return long_term_start(holding_period_start, months)


def household_lots(problem: HouseholdProblem) -> tuple[LotTable, IntArray]:
    """Every lot of the household as one table, and the account index of each lot."""
    tables = [lot_table(account.lots) for account in problem.accounts]
    lot_account = np.repeat(
        np.arange(len(tables), dtype=np.int64), [len(t) for t in tables]
    ).astype(np.int64)
    return lot_tables_concat(tables), lot_account


# Per holding-period length in months: (first ordinal, long-term start ordinal of each day from
# it). Lots start on a few thousand distinct days, shared by every account of a book.
_LONG_TERM_FROM: dict[int, tuple[int, IntArray]] = {}


def _long_term_from_days(start_days: IntArray, months: int) -> IntArray:
    """Ordinal of ``long_term_start`` for each start ordinal, from a per-process day table."""
    low, high = int(start_days.min()), int(start_days.max())
    first, table = _LONG_TERM_FROM.get(months, (0, np.zeros(0, dtype=np.int64)))
    if low < first or high >= first + len(table):
        if len(table):
            low, high = min(low, first), max(high, first + len(table) - 1)
        limit = date.max.toordinal() - 400 * 31  # room for adding the months
        low, high = max(low - 366, 1), max(min(high + 366, limit), high)
        table = np.array(
            [
                cached_long_term_start(date.fromordinal(d), months).toordinal()
                for d in range(low, high + 1)
            ],
            dtype=np.int64,
        )
        first = low
        _LONG_TERM_FROM[months] = (first, table)
    out: IntArray = table[start_days - first]
    return out


def holding_periods(start_days: IntArray, as_of: date, months: int) -> tuple[BoolArray, IntArray]:
    """Per lot: long-term on ``as_of``, and the ordinal of the first long-term day.

    Long-term means ``as_of >= long_term_start(start)``, as ``apps.taxlots.rules.is_long_term``
    defines it; ``long_term_start`` is evaluated once per calendar day per process.
    """
    if not len(start_days):
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    long_from = _long_term_from_days(start_days, months)
    return as_of.toordinal() >= long_from, long_from


LOT_FREE = 0
LOT_FORCED = 1
LOT_FROZEN = 2

# The budgets an account may have, in the order of ``PreparedProblem.budget_limit_weights``'s
# columns and ``lot_budget_rates``'s rows; each is one linear row over the free sells.
BUDGET_KINDS = ("net_gains", "short_term_gains", "long_term_gains", "tax")
BUDGET_LABELS = {
    "net_gains": "gains budget",
    "short_term_gains": "short-term gains budget",
    "long_term_gains": "long-term gains budget",
    "tax": "tax budget",
}


def budget_row_name(account: int, kind: int) -> str:
    """The name of the budget row of an account (position) and kind (index in BUDGET_KINDS)."""
    return f"{account}:{BUDGET_KINDS[kind]}"


def budget_relaxation_text(row_name: str, amount: float) -> str:
    """How a budget row (``budget_row_name``) given way by ``amount`` (USD) is reported.

    ``gains_budget[account 0] exceeded by 120.00``; a tax budget's excess is in tax dollars.
    """
    account, _, kind = row_name.partition(":")
    name = "gains" if kind == "net_gains" else kind
    unit = " of tax" if kind == "tax" else ""
    return f"{name}_budget[account {account}] exceeded by {amount:.2f}{unit}"


@dataclass(frozen=True, slots=True)
class Band:
    """A drift band every account shares: |Σ_{i ∈ group} e_i| ≤ limit, per group.

    ``members`` are the universe positions the band covers and ``group_of`` their group (an
    index into ``groups``); limits are fractions of household value.
    """

    kind: str  # "sector_band" | "industry_band" | "name_band"
    groups: tuple[str, ...]
    members: IntArray
    group_of: IntArray
    limits: FloatArray

    def levels(self, active: FloatArray) -> FloatArray:
        """Σ e_i per group of an active-weight vector (universe order)."""
        out = np.bincount(self.group_of, weights=active[self.members], minlength=len(self.groups))
        return out.astype(np.float64, copy=False)

    def names_in(self, group: str, size: int) -> BoolArray:
        """Per universe name: whether it belongs to ``group``."""
        out = np.zeros(size, dtype=bool)
        out[self.members[self.group_of == self.groups.index(group)]] = True
        return out


def drift_bands(
    universe: Universe,
    constraints: Constraints,
    target_weights: FloatArray,
    active_before: FloatArray,
    exempt: BoolArray,
) -> tuple[Band, ...]:
    """The household's drift bands: per sector, per industry, per model name (``Constraints``).

    A name band keeps each name of the model (target > 0) within ``name_band_rate`` × its target
    of it, or within its drift before trading (``active_before``, weights) when that is wider:
    trades never take a name outside its band nor further out than it is, and a band never
    forces a trade (a name outside it today may stay, e.g. a gain the budget keeps; the risk term
    still pulls it in). Names outside the model have no name band, nor have ``exempt`` names:
    those that may not be bought today (harvest side, wash-sale buy lock, never-buy), whose
    shortfall is a harvest's for its 31 days, not drift.
    """
    out: list[Band] = []
    n = universe.size
    for kind, band, labels in (
        ("sector_band", constraints.sector_band_weight, universe.sectors),
        ("industry_band", constraints.industry_band_weight, universe.industries),
    ):
        if band is None:
            continue
        groups = tuple(sorted(set(labels)))
        index = {group: j for j, group in enumerate(groups)}
        group_of = np.array([index[label] for label in labels], dtype=np.int64)
        out.append(
            Band(kind, groups, np.arange(n, dtype=np.int64), group_of, np.full(len(groups), band))
        )
    if constraints.name_band_rate is not None:
        members = np.flatnonzero((target_weights > 0.0) & ~exempt).astype(np.int64)
        out.append(
            Band(
                "name_band",
                tuple(universe.symbols[i] for i in members),
                members,
                np.arange(len(members), dtype=np.int64),
                np.maximum(
                    constraints.name_band_rate * target_weights[members],
                    np.abs(active_before[members]),
                ),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class PreparedProblem:
    """Numeric form of a household problem (all weights are fractions of ``value_amount``)."""

    value_amount: float
    account_values: FloatArray  # per account, amount
    account_cash_weights: FloatArray  # per account, fraction of V
    initial_weights: FloatArray  # household name weights before trading
    target_weights: FloatArray
    transaction_cost_rate: float
    # lots, all accounts concatenated
    lot_account: IntArray
    lot_symbol: IntArray
    lot_ids: tuple[str, ...]
    lot_shares: FloatArray
    lot_basis_amounts: FloatArray
    lot_start_days: IntArray  # holding-period start as a proleptic ordinal (FIFO order)
    lot_weight: FloatArray  # lot value / V
    lot_gain_rate: FloatArray  # gain per unit of value sold: 1 − basis / value
    lot_is_long_term: BoolArray
    lot_tax_rate: FloatArray  # rate applied to the lot's gain (0 in non-taxable accounts)
    lot_is_taxable: BoolArray  # its account is taxable with a non-zero rate
    lot_is_harvestable: BoolArray  # a loss reaching its account's harvest threshold
    lot_cost: FloatArray  # objective coefficient per unit sold (tax + cost + penalties)
    lot_penalty: FloatArray  # the non-tax, non-transaction part of lot_cost
    lot_state: IntArray  # LOT_FREE / LOT_FORCED / LOT_FROZEN
    # Per budget kind (rows, BUDGET_KINDS order) and lot: what a unit of value sold from the lot
    # counts against its account's budget of that kind (gain, or rate × gain, per unit sold;
    # 0 when not counted; a loss counts nothing in an account with harvesting off).
    lot_budget_rates: FloatArray
    free_lots: IntArray  # indices of LOT_FREE lots, variable order
    # buys
    buy_account: IntArray  # variable order
    buy_symbol: IntArray
    buy_cost: FloatArray  # per unit bought (transaction cost + location preference)
    buy_penalty: FloatArray
    name_is_harvest_side: BoolArray  # the side rule's verdict per name
    name_is_buyable: BoolArray
    # per-account rows
    cash_floor_weights: FloatArray  # required post-trade cash (reserve + withdrawals) / V
    # Per account and budget kind (columns, BUDGET_KINDS order), in fractions of V: what the
    # budget leaves for free sells (inf when none), and how far forced sells alone exceed it.
    budget_limit_weights: FloatArray
    budget_over_weights: FloatArray
    forced_gain_weights: FloatArray  # net gain of forced sells / V
    turnover_cap_weight: float | None
    bands: tuple[Band, ...]  # drift bands over the active weights (``drift_bands``)
    cash_short_notes: tuple[str, ...] = ()  # accounts whose floor was lowered, and why

    @property
    def forced_sell_weights_by_name(self) -> FloatArray:
        """Household weight sold per name by forced sales."""
        return forced_weights(
            self.lot_symbol, self.lot_weight, self.lot_state, len(self.initial_weights)
        )


def forced_weights(
    lot_symbol: IntArray, lot_weight: FloatArray, lot_state: IntArray, names: int
) -> FloatArray:
    """Household weight sold per name by the forced lots (``LOT_FORCED``)."""
    forced = lot_state == LOT_FORCED
    out = np.zeros(names)
    np.add.at(out, lot_symbol[forced], lot_weight[forced])
    return out


def representable(shares: FloatArray, places: int) -> npt.NDArray[np.bool_]:
    """Whether each share count has at most ``places`` decimal places (lots hold 6 at most)."""
    if places >= 6:
        return np.ones(shares.shape, dtype=bool)
    scaled = shares * 10.0**places
    out: npt.NDArray[np.bool_] = np.abs(scaled - np.round(scaled)) < 1e-6
    return out


def share_step(constraints: Constraints) -> float:
    """The account's smallest trade in shares: 1, or the custodian's 10^-places when fractional."""
    return 10.0**-constraints.share_places if constraints.is_fractional_shares else 1.0


def name_share_steps(symbols: tuple[str, ...], constraints: Constraints) -> FloatArray:
    """Per name, the smallest trade in shares.

    The account's step (``share_step``), except for the names traded in dollars at NAV
    (``Constraints.fractional_symbols``), which take the custodian's 10^-places in every account.
    """
    steps = np.full(len(symbols), share_step(constraints))
    if constraints.fractional_symbols:
        dollar = np.array([s in constraints.fractional_symbols for s in symbols], dtype=bool)
        steps[dollar] = 10.0**-constraints.share_places
    return steps


def sell_caps(lot_shares: FloatArray, constraints: Constraints, steps: FloatArray) -> FloatArray:
    """What a sale may take of each lot, in shares (``steps``: each lot's share step).

    All of it when the custodian can write its share count, else what the share step allows
    (the fraction stays in the lot).
    """
    caps: FloatArray = np.where(
        representable(lot_shares, constraints.share_places),
        lot_shares,
        np.floor(lot_shares / steps + 1e-9) * steps,
    )
    return caps


def name_groups(symbols: tuple[str, ...], groups: tuple[frozenset[str], ...]) -> IntArray:
    """Per name, the position of the first universe name of its substantially identical group.

    A name outside every group (or alone in the universe from its group) maps to itself.
    """
    out = np.arange(len(symbols), dtype=np.int64)
    if groups:
        position = {symbol: i for i, symbol in enumerate(symbols)}
        for group in groups:
            members = sorted(position[s] for s in group if s in position)
            if len(members) > 1:
                out[members] = members[0]
    return out


def across_groups(mask: BoolArray, group: IntArray) -> BoolArray:
    """Per name: whether ``mask`` holds for any name of its group (``name_groups``)."""
    hit = np.zeros(len(mask), dtype=bool)
    hit[group[mask]] = True
    out: BoolArray = hit[group]
    return out


def objective_tax_rates(
    problem: HouseholdProblem,
    config: SolverConfig,
    account_values: FloatArray,
    lot_account: IntArray,
    lot_value: FloatArray,
    lot_basis: FloatArray,
    is_long: BoolArray,
) -> tuple[FloatArray, FloatArray]:
    """The tax rate the objective charges per unit of each lot's gain, and each account's loss rate.

    ``statutory``: the lot's short- or long-term rate. ``shadow``: the account's shadow rates
    (``apps.taxlots.shadow``: a gain or a loss at what it costs or saves given the year so far,
    the carryforward and its expected use, net of the deferral credit), floored at zero (the
    objective never pays to realise a gain nor charges for a loss). The loss rate per account
    (long-term loss) prices the harvest a purchase forgoes (``wash_lock_cost_rates``).
    """
    accounts = problem.accounts
    short = np.array([a.tax_profile.short_term_rate for a in accounts])
    long = np.array([a.tax_profile.long_term_rate for a in accounts])
    if config.tax_valuation == "statutory":
        rates: FloatArray = np.where(is_long, long[lot_account], short[lot_account])
        return rates, long
    horizon = config.realization_horizon_years
    unrealized = np.zeros(len(accounts))
    np.add.at(unrealized, lot_account, np.maximum(lot_value - lot_basis, 0.0))
    table = np.zeros((len(accounts), 4))  # gain ST, gain LT, loss ST, loss LT
    for a, account in enumerate(accounts):
        profile = account.tax_profile
        position = AccountTaxPosition(
            short_term_rate=profile.short_term_rate,
            long_term_rate=profile.long_term_rate,
            realized_short_term_amount=profile.realized_short_term_gain_amount,
            realized_long_term_amount=profile.realized_long_term_gain_amount,
            carryforward_short_term_amount=profile.loss_carryforward_short_term_amount,
            carryforward_long_term_amount=profile.loss_carryforward_long_term_amount,
            # The gains the account produces a year, plus what its embedded gains release a
            # year if held to the horizon: what a carried loss will offset.
            expected_gain_amount_per_year=config.expected_gain_rate * float(account_values[a])
            + (unrealized[a] / horizon if horizon else 0.0),
            filing_status=FilingStatus(profile.filing_status),
        )
        shadow = shadow_rates(
            position,
            discount_rate=config.deferral_discount_rate,
            horizon_years=horizon,
            step_amount=max(1.0, config.shadow_step_rate * float(account_values[a])),
        )
        table[a] = (
            shadow.gain_short_term,
            shadow.gain_long_term,
            shadow.loss_short_term,
            shadow.loss_long_term,
        )
    table = np.maximum(table, 0.0)
    is_gain = lot_value > lot_basis
    column = np.where(is_gain, 0, 2) + is_long.astype(np.int64)
    lot_rates: FloatArray = table[lot_account, column]
    loss_rates: FloatArray = table[:, 3]
    return lot_rates, loss_rates


def substitute_preferences(
    problem: HouseholdProblem,
    harvest_side: BoolArray,
    buyable: BoolArray,
    name_group: IntArray,
    preference_rate: float,
) -> FloatArray:
    """Per name: how much cheaper a buy is as a listed replacement of a harvest-side name.

    The firm's substitute list comes first: the alternative of rank r of a name on the harvest
    side today costs ``preference_rate`` / r less per unit bought
    (``SolverConfig.substitute_preference_rate``). Never a name substantially identical to the
    harvested one (IRC §1091(a)), nor one that may not be bought today.
    """
    symbols = problem.universe.symbols
    position = {symbol: i for i, symbol in enumerate(symbols)}
    out = np.zeros(len(symbols))
    for symbol, alternatives in problem.substitutes:
        i = position.get(symbol)
        if i is None or not harvest_side[i]:
            continue
        for rank, alternative in enumerate(alternatives, start=1):
            j = position.get(alternative)
            if j is not None and buyable[j] and name_group[j] != name_group[i]:
                out[j] = max(out[j], preference_rate / rank)
    return out


def wash_lock_cost_rates(problem: HouseholdProblem, loss_rates: FloatArray) -> FloatArray:
    """Per account and name: the harvest a purchase forgoes, per unit bought (fraction of value).

    A purchase puts the name in the 30-day loss-sale lock (IRC §1091(a): a loss sale within 30
    days of a purchase is a wash sale), which freezes at least the bought shares' own loss for
    30 days: their expected loss over the window (the mean negative part of a normal return with
    the name's risk-model volatility) times the account's loss rate. A lower bound: the lock also
    freezes the name's older lots.
    """
    # E[max(−X, 0)] for X ~ N(0, σ²·30/365): over the 30-day wash-sale window (IRC §1091(a)).
    window_years = WASH_SALE_WINDOW_DAYS / 365.0
    expected_loss = expected_loss_rates(name_volatilities(problem.risk_model), window_years, 0.0)
    out: FloatArray = np.outer(loss_rates, expected_loss)
    return out


def prepare_problem(problem: HouseholdProblem, config: SolverConfig) -> PreparedProblem:
    """Turn a household problem into arrays, applying restrictions, modes and the side rule.

    Args:
        problem: The household (or single account as a household of one).
        config: Solver configuration (transaction cost, thresholds, penalties).

    Returns:
        The prepared numeric problem.

    Raises:
        RebalanceInfeasible: When the household has no value.
    """
    universe = problem.universe
    prices = universe.prices
    symbols = universe.symbols
    n = universe.size
    cons = problem.constraints
    locks = problem.wash_sale_locks
    mode = problem.mode
    tc = config.transaction_cost_rate
    as_of = problem.as_of
    months = config.holding_period_months

    accounts = problem.accounts
    table, lot_account = household_lots(problem)
    lot_count = len(table)
    lot_symbol = table.symbol_index
    lot_shares = table.shares
    lot_basis = table.basis_amount
    lot_value = lot_shares * prices[lot_symbol]

    cash = np.array([account.cash_amount for account in accounts], dtype=np.float64)
    account_values = cash.copy()
    np.add.at(account_values, lot_account, lot_value)
    value = float(account_values.sum())
    if value <= 0.0:
        raise RebalanceInfeasible(
            "household value is zero: nothing to rebalance", relax=("add cash or holdings",)
        )
    lot_weight = lot_value / value
    initial = np.zeros(n)
    np.add.at(initial, lot_symbol, lot_weight)

    # An account whose rates are both zero gains nothing from harvesting and loses nothing to a
    # wash sale (the disallowed loss moves into the replacement's basis): no side rule for it.
    taxable = np.array(
        [
            a.tax_profile.is_taxable
            and (a.tax_profile.short_term_rate > 0.0 or a.tax_profile.long_term_rate > 0.0)
            for a in accounts
        ],
        dtype=bool,
    )
    lot_taxable = taxable[lot_account]
    registered = np.array([a.tax_profile.is_taxable for a in accounts], dtype=bool)
    lot_registered_taxable = registered[lot_account]
    lot_gain_rate = 1.0 - lot_basis / np.maximum(lot_value, 1e-300)
    is_long, long_from_days = holding_periods(table.holding_period_start_days, as_of, months)
    short_rates = np.array([a.tax_profile.short_term_rate for a in accounts])
    long_rates = np.array([a.tax_profile.long_term_rate for a in accounts])
    lot_tax_rate = np.where(is_long, long_rates[lot_account], short_rates[lot_account]) * (
        lot_taxable
    )
    lot_is_loss = lot_gain_rate < 0.0
    # A loss as the tax-lot engine books it: proceeds net of the transaction cost under the basis.
    # A lot a hair above its basis at the price still sells at a loss, which a purchase within the
    # last 30 days washes (IRC §1091(a)): the loss-sale lock below judges losses this way.
    lot_is_net_loss = lot_value * (1.0 - tc) < lot_basis
    loss_of_basis = np.zeros(lot_count)
    has_basis = lot_basis > 0.0
    loss_of_basis[has_basis] = (lot_basis - lot_value)[has_basis] / lot_basis[has_basis]

    def names_in(selected: frozenset[str]) -> BoolArray:
        if not selected:
            return np.zeros(n, dtype=bool)
        return np.array([s in selected for s in symbols], dtype=bool)

    name_group = name_groups(symbols, problem.substantially_identical)
    never_buy = names_in(cons.never_buy_symbols)
    never_sell_name = names_in(cons.never_sell_symbols)
    must_sell = names_in(cons.must_sell_symbols)
    # A lock on one member of a substantially identical group locks every member.
    lock_buy = across_groups(names_in(locks.no_buy_symbols), name_group)
    lock_loss_sale = across_groups(names_in(locks.no_loss_sale_symbols), name_group)
    never_sell_lot = np.zeros(lot_count, dtype=bool)
    if cons.never_sell_lot_ids:
        never_sell_lot = np.array(
            [lot_id in cons.never_sell_lot_ids for lot_id in table.lot_ids], dtype=bool
        )
    never_sell_lot = never_sell_lot | never_sell_name[lot_symbol]

    buys_allowed_by_mode = mode not in (RebalanceMode.RAISE_CASH,)
    # A screened name (must-sell) is never bought, even when its sale is deferred.
    blocked = never_buy | lock_buy | must_sell | (not buys_allowed_by_mode)

    # Side rule: harvest-side names have a taxable lot far enough under water whose loss may
    # be sold today.
    may_sell_loss = lot_taxable & ~never_sell_lot & ~lock_loss_sale[lot_symbol]
    if mode is RebalanceMode.INVEST_CASH:
        may_sell_loss = np.zeros_like(may_sell_loss)
    # Each lot's account's threshold; harvesting off: no threshold is ever reached.
    thresholds = np.array(
        [
            np.inf
            if a.tax_profile.harvest_threshold_rate is None
            else a.tax_profile.harvest_threshold_rate
            for a in accounts
        ]
    )
    # A loss lot is harvestable when its loss reaches its account's threshold: only those make
    # a name harvest-side, and only their losses count as a benefit (objective, budget room).
    lot_harvestable = lot_is_loss & (loss_of_basis >= thresholds[lot_account])
    deep_loss = may_sell_loss & lot_harvestable
    harvest_side = np.zeros(n, dtype=bool)
    harvest_side[lot_symbol[deep_loss]] = True
    # A group is one name: a member on the harvest side, or a member's taxable loss lot that a
    # restriction sells today, keeps every member from being bought (the purchase of one
    # substantially identical to the loss would disallow it, IRC §1091(a)).
    forced_loss = must_sell[lot_symbol] & ~never_sell_lot & lot_taxable & lot_is_loss
    harvest_side[lot_symbol[forced_loss]] = True
    harvest_side = across_groups(harvest_side, name_group)
    buyable = ~blocked & ~harvest_side
    harvest_side &= ~blocked

    # Lot states.
    state = np.full(lot_count, LOT_FREE, dtype=np.int64)
    forced = must_sell[lot_symbol] & ~never_sell_lot
    deferrable = forced & (lot_gain_rate > 0.0) & lot_taxable
    if mode is RebalanceMode.TRANSITION:
        forced = forced & ~deferrable
    frozen = never_sell_lot.copy()
    # Taxable loss lots of buy-side names (a member of the group may be bought), or of names
    # bought within the wash-sale window.
    frozen |= lot_taxable & lot_is_loss & across_groups(buyable, name_group)[lot_symbol]
    # A purchase in the last 30 days makes a loss sale today a wash sale whatever the rates.
    frozen |= lot_registered_taxable & lot_is_net_loss & lock_loss_sale[lot_symbol]
    if mode is RebalanceMode.INVEST_CASH:
        frozen |= True
    if mode is RebalanceMode.HARVEST_ONLY:
        frozen |= ~(lot_taxable & lot_harvestable)
    state[frozen] = LOT_FROZEN
    state[forced] = LOT_FORCED  # a restriction overrides a freeze (except never-sell, above)
    if mode is RebalanceMode.TRANSITION:
        state[deferrable & ~never_sell_lot] = LOT_FREE
    if cons.lot_order is not None:  # the custodian relieves in its order (relief.py)
        groups = relief_groups(
            lot_order=cons.lot_order,
            lot_account=lot_account,
            lot_symbol=lot_symbol,
            lot_ids=table.lot_ids,
            lot_shares=lot_shares,
            lot_basis_amounts=lot_basis,
        )
        state = states_in_order(state, groups, free=LOT_FREE, forced=LOT_FORCED, frozen=LOT_FROZEN)

    # Objective coefficient of each lot: tax + transaction cost + waiting + transition reward.
    penalty = np.zeros(lot_count)
    if config.long_term_wait_days > 0 and config.long_term_wait_weight > 0.0:
        days_left = long_from_days - as_of.toordinal()
        waiting = np.flatnonzero(
            ~is_long
            & (lot_gain_rate > 0.0)
            & lot_taxable
            & (days_left <= config.long_term_wait_days)
        )
        rate_gap = np.maximum(short_rates - long_rates, 0.0)[lot_account[waiting]]
        penalty[waiting] += config.long_term_wait_weight * rate_gap * lot_gain_rate[waiting]
    if mode is RebalanceMode.TRANSITION:
        penalty[deferrable] -= config.transition_sell_reward_rate
    # A loss under its account's threshold (any loss where harvesting is off) saves nothing in
    # the objective, so it is never sold for its own sake: only for risk, cash or a restriction.
    counted_gain_rate = np.where(lot_harvestable, lot_gain_rate, np.maximum(lot_gain_rate, 0.0))
    objective_rate, loss_rate = objective_tax_rates(
        problem, config, account_values, lot_account, lot_value, lot_basis, is_long
    )
    harvest_loss_rate = loss_rate * taxable * (thresholds < np.inf)  # 0: harvests nothing
    location = np.zeros((len(accounts), n))
    for a, account in enumerate(accounts):
        if account.location_cost_rates is not None:
            location[a] = account.location_cost_rates
    if config.asset_location == "derived":
        location += derived_location_cost_rates(problem, config, harvest_loss_rate, account_values)
    penalty -= location[lot_account, lot_symbol]  # selling lowers holdings here
    lot_cost = objective_rate * lot_taxable * counted_gain_rate + tc + penalty

    buyable_names = np.flatnonzero(buyable).astype(np.int64)
    buy_account = np.repeat(np.arange(len(accounts), dtype=np.int64), len(buyable_names))
    buy_symbol = np.tile(buyable_names, len(accounts))
    buy_penalty = location[buy_account, buy_symbol]
    if problem.substitutes:
        preference = substitute_preferences(
            problem, harvest_side, buyable, name_group, config.substitute_preference_rate
        )
        buy_penalty = buy_penalty - preference[buy_symbol]
    if config.wash_lock_cost_weight > 0.0:
        lock = wash_lock_cost_rates(problem, harvest_loss_rate)
        buy_penalty = buy_penalty + config.wash_lock_cost_weight * lock[buy_account, buy_symbol]
    buy_cost = tc + buy_penalty

    # Cash floor per account. A floor out of reach (cash plus everything that may be sold today
    # falls short of reserve + withdrawals due) is lowered to what can be raised, and the
    # shortfall is reported with why: the proposal raises what it can and says it could not
    # fund the rest, rather than proposing nothing.
    floors = np.array(
        [a.cash_reserve_amount + a.withdrawals_due_amount for a in accounts], dtype=np.float64
    )
    sellable = state != LOT_FROZEN
    sellable_value = np.zeros(len(accounts))
    steps = name_share_steps(symbols, problem.constraints)[lot_symbol]
    cap_value = sell_caps(lot_shares, problem.constraints, steps) * prices[lot_symbol]
    np.add.at(sellable_value, lot_account[sellable], cap_value[sellable])
    never_sell_value = np.zeros(len(accounts))
    np.add.at(never_sell_value, lot_account[never_sell_lot], lot_value[never_sell_lot])
    short_notes: list[str] = []
    for a, account in enumerate(accounts):
        reachable = cash[a] + (1.0 - tc) * sellable_value[a]
        if reachable + 1e-9 * max(value, 1.0) >= floors[a]:
            continue
        frozen_value = float(lot_value[(lot_account == a) & ~sellable].sum()) - float(
            never_sell_value[a]
        )
        short_notes.append(
            f"account {account.account_id}: cash reserve plus withdrawals due "
            f"({floors[a]:,.2f}) exceed cash plus everything that may be sold today "
            f"({reachable:,.2f}), short by {floors[a] - reachable:,.2f}: the rest is never-sell "
            f"({never_sell_value[a]:,.2f}) or may not be sold today ({max(frozen_value, 0.0):,.2f}"
            f"; wash-sale rules or the {mode.value} mode); lower the reserve or the withdrawals, "
            "or allow sales of never-sell lots"
        )
        floors[a] = max(reachable - 0.005, 0.0)  # half a cent under: rounding stays feasible

    # Budgets per account and kind: free sells share what forced sells leave (never below zero
    # for them when forced sells alone exceed the budget).
    lot_budget_rates = np.zeros((len(BUDGET_KINDS), lot_count))
    taxed = counted_gain_rate * lot_taxable
    lot_budget_rates[0] = taxed
    lot_budget_rates[1] = taxed * ~is_long
    lot_budget_rates[2] = taxed * is_long
    lot_budget_rates[3] = lot_tax_rate * counted_gain_rate
    forced_mask = state == LOT_FORCED
    forced_used = np.zeros((len(accounts), len(BUDGET_KINDS)))
    for k in range(len(BUDGET_KINDS)):
        np.add.at(
            forced_used[:, k],
            lot_account[forced_mask],
            (lot_budget_rates[k] * lot_weight)[forced_mask],
        )
    forced_gain = np.zeros(len(accounts))
    np.add.at(
        forced_gain,
        lot_account[forced_mask],
        (lot_gain_rate * lot_weight)[forced_mask] * lot_taxable[forced_mask],
    )
    limits = np.full((len(accounts), len(BUDGET_KINDS)), np.inf)
    over = np.zeros((len(accounts), len(BUDGET_KINDS)))
    for a, account in enumerate(accounts):
        profile = account.tax_profile
        amounts = (
            profile.gains_budget_amount,
            profile.short_term_gains_budget_amount,
            profile.long_term_gains_budget_amount,
            profile.tax_budget_amount,
        )
        for k, amount in enumerate(amounts):
            if amount is None or not taxable[a]:
                continue
            allowed = amount / value
            left = allowed - forced_used[a, k]
            if forced_used[a, k] > 0.0 and left < 0.0:
                # Forced sales alone break the budget: report the excess as forced and hold the
                # free sells to what the budget allowed before them (never a positive amount).
                over[a, k] = forced_used[a, k] - max(allowed, 0.0)
                left = min(allowed, 0.0)
            limits[a, k] = left
    lot_budget_rates *= np.isfinite(limits[lot_account]).T  # counted only where a budget is
    # A budget already exceeded that no sale today can bring back (no free lot counts below
    # zero in it: no loss may be sold, or harvesting is off) holds further use at zero.
    free = state == LOT_FREE
    for a, k in zip(*np.nonzero(limits < 0.0), strict=True):
        if not np.any(lot_budget_rates[k][free & (lot_account == a)] < 0.0):
            limits[a, k] = 0.0

    # Active weights if only the forced sales were made (name bands never force a trade).
    active_before = (
        initial - forced_weights(lot_symbol, lot_weight, state, n) - problem.target_weights
    )
    return PreparedProblem(
        value_amount=value,
        account_values=account_values,
        account_cash_weights=cash / value,
        initial_weights=initial,
        target_weights=problem.target_weights,
        transaction_cost_rate=tc,
        lot_account=lot_account,
        lot_symbol=lot_symbol,
        lot_ids=table.lot_ids,
        lot_shares=lot_shares,
        lot_basis_amounts=lot_basis,
        lot_start_days=table.holding_period_start_days,
        lot_weight=lot_weight,
        lot_gain_rate=lot_gain_rate,
        lot_is_long_term=is_long,
        lot_tax_rate=lot_tax_rate,
        lot_is_taxable=lot_taxable,
        lot_is_harvestable=lot_harvestable,
        lot_cost=lot_cost,
        lot_penalty=penalty,
        lot_state=state,
        lot_budget_rates=lot_budget_rates,
        free_lots=np.flatnonzero(state == LOT_FREE).astype(np.int64),
        buy_account=buy_account,
        buy_symbol=buy_symbol,
        buy_cost=buy_cost,
        buy_penalty=buy_penalty,
        name_is_harvest_side=harvest_side,
        name_is_buyable=buyable,
        cash_floor_weights=floors / value,
        budget_limit_weights=limits,
        budget_over_weights=over,
        forced_gain_weights=forced_gain,
        turnover_cap_weight=cons.turnover_cap_weight,
        bands=drift_bands(universe, cons, problem.target_weights, active_before, ~buyable),
        cash_short_notes=tuple(short_notes),
    )
