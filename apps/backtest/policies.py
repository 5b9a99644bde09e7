"""The two policies compared by the backtest. Both trade whole shares at the day's close.

**ours** (``OursPolicy``): the optimizer core (``apps.optimizer.core.solve.solve_rebalance``)
runs on every scan day (weekly: the first trading day of each ISO week; or daily), on the
funding day, and on any withdrawal day the cash does not cover. Its problem is built from the
tax-lot engine's open lots (adjusted basis, tacked holding periods), the account's cash, its
short/long rates, what is left of its annual gains budget (budget + carryforward losses − net
gains realized this year), the wash-sale locks of the last 30 days
(``locks.wash_sale_locks_from_history`` on the engine's realized rows) and the withdrawals due in
the next 35 days (kept as cash). Lots are sold by specific identification. A scan is a full
rebalance when the account's ex-ante tracking error exceeds ``rebalance_trigger_te`` (1%), and
otherwise harvest-only (only loss lots may be sold, replacements may be bought), solved with
``harvest_config`` (``run_backtest``: a quarter of the risk aversion, since a harvest's deviation
lasts about until the next full rebalance after the 31-day wash-sale window).

The core gives each name one side per day (a name with a lot ≥ the account's
``TaxProfile.harvest_threshold_rate``, the core's 5% default, under water is harvest-side: no
buys). With 20 names in a crash every name is harvest-side, nothing can
be bought and harvesting would mean holding cash. So when some sector has only harvest-side
names, a second problem is solved in which, in each such sector, the name with the smallest
harvestable loss is made buy-side (listed as loss-sale locked, which freezes its loss lots
today), and the solution with the lower objective is kept: a two-candidate version of the
side choice (Moehle et al., JOTA 2021). Locks only remove trades, so the result stays legal.

**advisor baseline** (``BaselinePolicy``): tax-naive and manual. A new cash account is invested
at the model on its funding day. Then, on the account's scheduled days (one random week per
calendar quarter, 25% of quarters skipped; see ``book.py``), if any name's weight is off its
target by more than the account's tolerance (20-35% of the target) or cash by more than 2
points, every name is traded back to target: overweights sold FIFO, underweights bought with the
cash (above the 1% cash target). No harvesting, no lot selection, no look at taxes. On a
withdrawal day the cash does not cover, the shortfall (plus the cash target) is raised by
selling every holding pro rata, FIFO. Legacy portfolios are therefore moved to the model at the
first scheduled rebalance, realizing their gains.

Baseline variants (``--baseline``, ``BASELINES``): ``fifo`` is the above; ``hifo`` relieves the
highest-cost lots first (every sale, withdrawals included); ``yearend-harvest`` (FIFO) also, on
each weekly scan in December, sells every whole position worth less than its adjusted basis;
``mechanical`` (FIFO) also, on every weekly scan, sells any lot worth at most 80% of its adjusted
basis (net of costs). A harvest leaves alone names bought in the last 30 days (a loss sale would
be a wash sale) and names already out; its proceeds buy the *index proxy*, the model's other
names pro rata to their targets (names sold at a loss in the last 30 days excluded), which is
held 31 days; then the proxy's lots are sold and the harvested names bought back with what they
brought. A scheduled rebalance that falls while a harvest is out waits until it is back. Every
variant honours the account's gains budget on its rebalances (``BaselinePolicy.rebalance``):
withdrawals and a harvest's return are not limited by it (a client's cash need and
the swap's unwinding come first).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from apps.backtest.book import CASH_TARGET_WEIGHT, SimAccount
from apps.backtest.ledger import AccountLedger, cents
from apps.optimizer.core.errors import OptimizerError, RebalanceInfeasible, SolverFailed
from apps.optimizer.core.locks import RecentTrade, wash_sale_locks_from_history
from apps.optimizer.core.problem import CompiledUniverse
from apps.optimizer.core.solve import solve_rebalance
from apps.optimizer.core.types import (
    Constraints,
    FloatArray,
    RebalanceMode,
    RebalanceProblem,
    RebalanceResult,
    RiskModel,
    SolverConfig,
    TaxLot,
    TaxProfile,
    TradeSide,
    Universe,
    WashSaleLocks,
)
from apps.taxlots.engine import LotMethod, LotPick, Side
from apps.taxlots.rules import WASH_SALE_WINDOW_DAYS

TRANSACTION_COST_RATE = 0.0005  # 5 bp of the traded amount, both policies, both sides
BUDGET_RETRY_RATE = 0.001  # remaining gains budget floor (of value) when the solver failed


SETTINGS = ("issue18", "issue16")  # ours' settings: today's (first) and issue 16's, to compare


def default_solver_config(settings: str = "issue18") -> SolverConfig:
    """The optimizer settings the backtest uses for "ours" (documented in docs/evidence.md).

    ``issue18`` (default): nothing is tuned on a backtest window. The tracking error target per
    account (``TRACKING_ERROR_TARGET``) sets the risk aversion: the solve starts from 1 (below
    the target, risk only breaks ties) and the core raises it until the target holds, so each
    account gets the least risk aversion that keeps it. The objective's transaction cost is the
    simulated 5 bp; taxes at the account's shadow rates (``apps.taxlots.shadow``) with the
    platform's taxes-saved horizon and discount (10 years, 5%) and a 7% yearly expected gain (the
    long-run nominal equity return, Dimson, Marsh and Staunton, Triumph of the Optimists, 2002);
    each buy pays the harvest its 30-day lock forgoes (``wash_lock_cost_weight`` 1).

    ``issue16``: risk aversion 30, chosen on a 40-account, seed-0 book over 2019-2021; a 25 bp
    objective transaction cost as a churn penalty; statutory rates.
    """
    if settings == "issue16":
        return SolverConfig(risk_aversion=30.0, transaction_cost_bps=25.0)
    if settings != "issue18":
        raise ValueError(f"settings must be one of {SETTINGS}, got {settings!r}")
    return SolverConfig(
        risk_aversion=1.0,
        transaction_cost_bps=TRANSACTION_COST_RATE * 1e4,
        tax_valuation="shadow",
        realization_horizon_years=10.0,
        deferral_discount_rate=0.05,
        expected_gain_rate=0.07,
        wash_lock_cost_weight=1.0,
    )


# The example of a per-account target (1% a year), also the full-rebalance trigger.
TRACKING_ERROR_TARGET = 0.01
# The drift band every account shares, per model name: 25% of its target, inside the
# advisor baseline's own tolerance (20-35% of the target, ``book.py``).
NAME_BAND_RATE = 0.25


@dataclass(frozen=True, slots=True)
class Market:
    """What every account sees on one day."""

    index: int
    day: date
    prices: FloatArray
    universe: Universe | None = None  # ours, on solve days
    risk_model: RiskModel | None = None
    compiled: CompiledUniverse | None = None
    compiled_harvest: CompiledUniverse | None = None  # for harvest-only scans (see OursPolicy)


@dataclass(slots=True)
class SolveStats:
    """Optimizer calls of one account."""

    solves: int = 0
    second_candidates: int = 0
    second_chosen: int = 0
    failures: int = 0
    relaxed: int = 0
    violations: int = 0
    budget_retries: int = 0
    raise_cash_retries: int = 0
    budget_overshoots: int = 0  # solves whose executed net gains exceeded the budget left
    time_ms: float = 0.0
    notes: list[str] = field(default_factory=list)


def execute_sell(
    ledger: AccountLedger,
    day: date,
    symbol: str,
    shares: int,
    price: float,
    *,
    lots: tuple[LotPick, ...] | None = None,
    method: LotMethod = LotMethod.FIFO,
) -> None:
    """Sell at ``price`` less the transaction cost (``method`` when no lots are named)."""
    if shares <= 0:
        return
    amount = cents(shares * price * (1.0 - TRANSACTION_COST_RATE))
    ledger.sell(day, symbol, shares, amount, lots=lots, method=None if lots else method)


def execute_buy(ledger: AccountLedger, day: date, symbol: str, shares: int, price: float) -> int:
    """Buy at ``price`` plus the transaction cost, never spending more cash than there is."""
    unit = price * (1.0 + TRANSACTION_COST_RATE)
    shares = min(shares, int(float(ledger.cash) // unit)) if unit > 0 else 0
    while shares > 0 and cents(shares * unit) > ledger.cash:
        shares -= 1
    if shares > 0:
        ledger.buy(day, symbol, shares, cents(shares * unit))
    return max(shares, 0)


def holdings(ledger: AccountLedger, symbols: tuple[str, ...]) -> FloatArray:
    """Shares held per symbol, in ``symbols`` order."""
    return np.array([float(ledger.held.get(s, 0)) for s in symbols], dtype=np.float64)


# --------------------------------------------------------------------------- advisor baseline

BASELINES = ("fifo", "hifo", "yearend-harvest", "mechanical")
MECHANICAL_LOSS_RATIO = 0.80  # ``mechanical`` sells a lot worth at most 80% of its basis
# A repurchase more than 30 days after a loss sale is outside the wash-sale window
# (IRC §1091(a): "within a period beginning 30 days before ... and ending 30 days after").
SWAP_DAYS = WASH_SALE_WINDOW_DAYS + 1


@dataclass(frozen=True, slots=True)
class Swap:
    """A baseline harvest waiting to go back: names sold at a loss, held as the index proxy."""

    sold: dict[str, int]  # symbol -> shares sold
    proxy_lot_ids: tuple[str, ...]  # the proxy's buys (engine lot ids = buy trade ids)
    back_on: date  # first day the sold names may be bought back


def realized_this_year(ledger: AccountLedger, day: date) -> tuple[float, float]:
    """Net (short-term, long-term) gains reported so far in ``day``'s year, USD (losses < 0)."""
    short = long = 0.0
    for row in ledger.realized():
        if ledger.trade_dates[row.sell_id].year == day.year:
            if row.term.value == "short":
                short += float(row.reportable_gain_loss)
            else:
                long += float(row.reportable_gain_loss)
    return short, long


def remaining_budget(
    account: SimAccount, ledger: AccountLedger, day: date, carry_in: float
) -> float | None:
    """What is left of the account's gains budget in ``day``'s year, USD (None: no budget).

    Budget + capital-loss carryover into the year - net gains realized so far this year.
    """
    if account.gains_budget is None:
        return None
    return account.gains_budget + carry_in - sum(realized_this_year(ledger, day))


@dataclass(frozen=True, slots=True)
class BaselinePolicy:
    """Tax-naive calendar rebalancing with timing noise (see the module docstring).

    ``variant`` is one of ``BASELINES``: ``fifo`` and ``hifo`` name the lot relief of every sale;
    ``yearend-harvest`` (FIFO) also harvests in December; ``mechanical`` (FIFO) also harvests
    any lot worth at most 80% of its basis on every scan day. A harvest's proceeds are held in
    the index proxy for 31 days, then the names sold are bought back (``Swap``).
    """

    targets: FloatArray
    cash_band: float = 0.02
    variant: str = "fifo"

    def __post_init__(self) -> None:
        if self.variant not in BASELINES:
            raise ValueError(
                f"baseline must be one of {', '.join(BASELINES)}, got {self.variant!r}"
            )

    @property
    def method(self) -> LotMethod:
        """Lot relief of the baseline's sales."""
        return LotMethod.HIFO if self.variant == "hifo" else LotMethod.FIFO

    def invest(self, ledger: AccountLedger, market: Market, symbols: tuple[str, ...]) -> None:
        """Buy every name to its target with the available cash above the cash target."""
        value = float(ledger.cash) + float(holdings(ledger, symbols) @ market.prices)
        self._to_target(ledger, market, symbols, value)

    def drifted(
        self, ledger: AccountLedger, market: Market, symbols: tuple[str, ...], tolerance: float
    ) -> bool:
        """Whether any weight is outside its band (relative to target) or cash outside 2 pts."""
        values = holdings(ledger, symbols) * market.prices
        total = float(values.sum()) + float(ledger.cash)
        if total <= 0.0:
            return False
        weights = values / total
        cash_weight = float(ledger.cash) / total
        return bool(
            np.any(np.abs(weights - self.targets) > tolerance * self.targets)
            or abs(cash_weight - CASH_TARGET_WEIGHT) > self.cash_band
        )

    def rebalance(
        self,
        ledger: AccountLedger,
        market: Market,
        symbols: tuple[str, ...],
        tolerance: float,
        budget: float | None = None,
    ) -> bool:
        """Trade back to target if drifted; returns whether it traded.

        With a gains ``budget`` (USD of net gains still allowed this year), overweights are sold
        largest first, each cut to the shares whose gains (in the relief order) fit what is left;
        loss sales add to it. The buys then spend only the cash there is.
        """
        if not self.drifted(ledger, market, symbols, tolerance):
            return False
        shares = holdings(ledger, symbols)
        value = float(ledger.cash) + float(shares @ market.prices)
        want = np.floor(self.targets * value / market.prices)
        over = np.flatnonzero(shares > want)
        for i in sorted(over, key=lambda i: -(shares[i] - want[i]) * market.prices[i]):
            count = int(shares[i] - want[i])
            if budget is not None:
                count, gain = self.sellable(ledger, symbols[i], count, market.prices[i], budget)
                budget -= gain
            execute_sell(
                ledger, market.day, symbols[i], count, market.prices[i], method=self.method
            )
        self._to_target(ledger, market, symbols, value)
        return True

    def sellable(
        self, ledger: AccountLedger, symbol: str, shares: int, price: float, budget: float
    ) -> tuple[int, float]:
        """The most of ``shares`` whose realized gain fits ``budget``, and that gain (USD).

        Lots are taken in the engine's relief order (FIFO: oldest buy first; HIFO: highest
        adjusted basis per share first); a lot that does not fit is sold in part and ends it.
        """
        order = {t.id: n for n, t in enumerate(ledger.trades)}
        rows = list(ledger.replay_symbol(symbol).lots_open)
        if self.method is LotMethod.HIFO:
            rows.sort(key=lambda r: (-(r.adjusted_basis / r.quantity), order[r.lot_id]))
        else:
            rows.sort(key=lambda r: order[r.lot_id])
        net = price * (1.0 - TRANSACTION_COST_RATE)
        taken, gain = 0, 0.0
        for row in rows:
            left = shares - taken
            if left <= 0:
                break
            quantity = min(left, int(row.quantity))
            per_share = net - float(row.adjusted_basis / row.quantity)
            if per_share > 0:
                quantity = min(quantity, int(max(budget - gain, 0.0) // per_share))
            taken += quantity
            gain += quantity * per_share
            if quantity < min(left, int(row.quantity)):
                break
        return taken, gain

    def harvests_on(self, market: Market) -> bool:
        """Whether the variant looks for losses to harvest at ``market``'s scan."""
        if self.variant == "mechanical":
            return True
        return self.variant == "yearend-harvest" and market.day.month == 12

    def harvest(
        self, ledger: AccountLedger, market: Market, symbols: tuple[str, ...], pending: set[str]
    ) -> Swap | None:
        """Sell the variant's loss lots and hold the proceeds in the index proxy (or None).

        ``yearend-harvest`` sells every whole position worth less than its adjusted basis;
        ``mechanical`` every lot worth at most 80% of its adjusted basis (specific lots). Names
        in ``pending`` (a swap not yet back) and names bought in the last 30 days (a loss sale
        would be a wash sale) are left alone. The index proxy is the rest of the model: the
        proceeds buy the other names pro rata to their targets, except names sold at a loss in
        the last 30 days.
        """
        locks = OursPolicy.locks(ledger, market.day)
        index = {s: i for i, s in enumerate(symbols)}
        net = 1.0 - TRANSACTION_COST_RATE
        picks: dict[str, list[LotPick]] = {}
        for lot in core_lots(ledger, index, ledger.account_id):
            symbol = symbols[lot.symbol_index]
            if symbol in pending or symbol in locks.no_loss_sale_symbols:
                continue
            value = lot.shares * market.prices[lot.symbol_index] * net
            if self.variant == "mechanical" and value <= MECHANICAL_LOSS_RATIO * lot.basis_amount:
                picks.setdefault(symbol, []).append(LotPick(lot.lot_id, _whole(lot.shares)))
        if self.variant == "yearend-harvest":
            shares = holdings(ledger, symbols)
            for symbol in {r.symbol for r in ledger.open_lots()} - pending:
                if symbol in locks.no_loss_sale_symbols:
                    continue
                basis = sum(float(r.adjusted_basis) for r in ledger.replay_symbol(symbol).lots_open)
                if shares[index[symbol]] * market.prices[index[symbol]] * net < basis:
                    picks[symbol] = []  # the whole position, FIFO
        if not picks:
            return None
        sold: dict[str, int] = {}
        before = ledger.cash
        for symbol, lots in picks.items():
            count = int(sum(p.quantity for p in lots)) if lots else int(ledger.held[symbol])
            execute_sell(
                ledger,
                market.day,
                symbol,
                count,
                market.prices[index[symbol]],
                lots=tuple(lots) or None,
            )
            sold[symbol] = count
        blocked = set(sold) | pending | set(OursPolicy.locks(ledger, market.day).no_buy_symbols)
        proxy = np.array(
            [0.0 if s in blocked else w for s, w in zip(symbols, self.targets, strict=True)]
        )
        spend = float(ledger.cash - before)
        first = len(ledger.trades)
        if proxy.sum() > 0:
            unit = market.prices * (1.0 + TRANSACTION_COST_RATE)
            need = np.floor(proxy / proxy.sum() * spend / unit)
            for i in np.flatnonzero(need > 0):
                execute_buy(ledger, market.day, symbols[i], int(need[i]), market.prices[i])
        return Swap(
            sold=sold,
            proxy_lot_ids=tuple(t.id for t in ledger.trades[first:]),
            back_on=market.day + timedelta(days=SWAP_DAYS),
        )

    def come_back(
        self, ledger: AccountLedger, market: Market, symbols: tuple[str, ...], swap: Swap
    ) -> None:
        """Sell what is left of the proxy's lots; buy the harvested names back (cash allowing).

        The names come back with what the proxy's sale brought (whole shares, at most as many
        as were sold), so a swap that lost money comes back a little smaller.
        """
        index = {s: i for i, s in enumerate(symbols)}
        proxy = set(swap.proxy_lot_ids)
        left: dict[str, list[LotPick]] = {}
        for lot in core_lots(ledger, index, ledger.account_id):
            if lot.lot_id in proxy:
                left.setdefault(symbols[lot.symbol_index], []).append(
                    LotPick(lot.lot_id, _whole(lot.shares))
                )
        for symbol, lots in left.items():
            count = int(sum(p.quantity for p in lots))
            execute_sell(
                ledger, market.day, symbol, count, market.prices[index[symbol]], lots=tuple(lots)
            )
        # A name sold at a loss in the last 30 days (another swap's proxy lot) is not bought
        # back today: that would wash the loss; its cash waits for the next rebalance.
        blocked = OursPolicy.locks(ledger, market.day).no_buy_symbols
        for symbol, count in swap.sold.items():
            if symbol not in blocked:
                execute_buy(ledger, market.day, symbol, count, market.prices[index[symbol]])

    def _to_target(
        self, ledger: AccountLedger, market: Market, symbols: tuple[str, ...], value: float
    ) -> None:
        shares = holdings(ledger, symbols)
        want = np.floor(self.targets * value / market.prices)
        need = np.maximum(want - shares, 0.0)
        spend = float(ledger.cash) - CASH_TARGET_WEIGHT * value
        cost = float(need @ market.prices) * (1.0 + TRANSACTION_COST_RATE)
        if spend <= 0.0 or cost <= 0.0:
            return
        if cost > spend:
            need = np.floor(need * spend / cost)
        for i in np.flatnonzero(need > 0):
            execute_buy(ledger, market.day, symbols[i], int(need[i]), market.prices[i])


def raise_pro_rata(
    ledger: AccountLedger,
    market: Market,
    symbols: tuple[str, ...],
    amount: float,
    cash_target: float,
    method: LotMethod = LotMethod.FIFO,
) -> None:
    """Sell every holding pro rata (``method``) so that cash covers ``amount`` + the cash target."""
    shares = holdings(ledger, symbols)
    invested = float(shares @ market.prices)
    value = invested + float(ledger.cash)
    short = amount + cash_target * (value - amount) - float(ledger.cash)
    if short <= 0.0 or invested <= 0.0:
        return
    fraction = min(1.0, short / (invested * (1.0 - TRANSACTION_COST_RATE)))
    sell = np.minimum(np.ceil(shares * fraction), shares)
    for i in np.flatnonzero(sell > 0):
        execute_sell(ledger, market.day, symbols[i], int(sell[i]), market.prices[i], method=method)


# ------------------------------------------------------------------------------------- ours


@dataclass(frozen=True, slots=True)
class OursPolicy:
    """The optimizer on a scan (see the module docstring)."""

    targets: FloatArray
    config: SolverConfig = field(default_factory=SolverConfig)
    withdrawal_horizon_days: int = 35
    min_trade_amount: float = 100.0
    try_second_side: bool = True
    rebalance_trigger_te: float = 0.01
    harvest_config: SolverConfig | None = None  # harvest-only scans' settings (None: ``config``)
    tracking_error_target: float | None = None  # per account (``RebalanceProblem``)
    name_band_rate: float | None = None  # drift band per model name (``Constraints``)

    def mode_for(
        self, ledger: AccountLedger, market: Market, symbols: tuple[str, ...]
    ) -> RebalanceMode:
        """Full rebalance when the ex-ante tracking error exceeds the trigger, else harvest only."""
        if market.risk_model is None:
            raise ValueError("mode_for needs a solve day's risk model")
        invested = holdings(ledger, symbols) * market.prices
        value = float(invested.sum()) + float(ledger.cash)
        if value <= 0.0:
            return RebalanceMode.FULL_REBALANCE
        active = invested / value - self.targets
        te = float(np.sqrt(max(market.risk_model.active_variance(active), 0.0)))
        return (
            RebalanceMode.FULL_REBALANCE
            if te > self.rebalance_trigger_te
            else RebalanceMode.HARVEST_ONLY
        )

    def problem(
        self,
        ledger: AccountLedger,
        account: SimAccount,
        market: Market,
        symbols: tuple[str, ...],
        *,
        withdrawals_due: float,
        carry_in: tuple[float, float],
        mode: RebalanceMode = RebalanceMode.FULL_REBALANCE,
    ) -> RebalanceProblem:
        """The account's rebalance problem today (from the engine's view of its history).

        ``carry_in``: the (short-term, long-term) loss carried into the year, USD.
        """
        if market.universe is None or market.risk_model is None:
            raise ValueError("problem needs a solve day's universe and risk model")
        index = {s: i for i, s in enumerate(symbols)}
        lots = core_lots(ledger, index, account.account_id)
        budget = remaining_budget(account, ledger, market.day, sum(carry_in))
        realized_short, realized_long = realized_this_year(ledger, market.day)
        locks = self.locks(ledger, market.day)
        short_rate, long_rate = account.rates(market.day.year)
        return RebalanceProblem(
            as_of=market.day,
            universe=market.universe,
            target_weights=self.targets,
            cash_target_weight=CASH_TARGET_WEIGHT,
            lots=lots,
            cash_amount=max(float(ledger.cash), 0.0),
            tax_profile=TaxProfile(
                short_term_rate=short_rate,
                long_term_rate=long_rate,
                gains_budget_amount=budget,
                realized_short_term_gain_amount=realized_short,
                realized_long_term_gain_amount=realized_long,
                loss_carryforward_short_term_amount=carry_in[0],
                loss_carryforward_long_term_amount=carry_in[1],
            ),
            risk_model=market.risk_model,
            constraints=Constraints(
                min_trade_amount=self.min_trade_amount, name_band_rate=self.name_band_rate
            ),
            wash_sale_locks=locks,
            withdrawals_due_amount=withdrawals_due,
            mode=mode,
            account_id=account.account_id,
            tracking_error_target=self.tracking_error_target,
        )

    @staticmethod
    def locks(ledger: AccountLedger, day: date) -> WashSaleLocks:
        """Wash-sale locks from the last 30 days of the account's trades (engine's gains)."""
        first = day - timedelta(days=WASH_SALE_WINDOW_DAYS)
        recent: list[RecentTrade] = []
        for trade in reversed(ledger.trades):
            if trade.date < first:
                break
            is_loss = False
            if trade.side is Side.SELL:
                is_loss = any(
                    r.sell_id == trade.id and r.gain_loss < 0
                    for r in ledger.realized_for(trade.symbol)
                )
            recent.append(
                RecentTrade(
                    symbol=trade.symbol,
                    traded_on=trade.date,
                    side=TradeSide.SELL if trade.side is Side.SELL else TradeSide.BUY,
                    is_loss=is_loss,
                    account_id=trade.account,
                )
            )
        return wash_sale_locks_from_history(day, recent)

    def _second_candidate(
        self, problem: RebalanceProblem, symbols: tuple[str, ...], sectors: tuple[str, ...]
    ) -> RebalanceProblem | None:
        """Make the least-harvestable name of each all-harvest-side sector buy-side."""
        prices = problem.universe.prices
        locks = problem.wash_sale_locks
        threshold = problem.tax_profile.harvest_threshold_rate
        if threshold is None:  # harvesting off: no name is harvest-side
            return None
        harvestable = np.zeros(len(symbols))
        for lot in problem.lots:
            value = lot.shares * prices[lot.symbol_index]
            if lot.basis_amount > 0 and (lot.basis_amount - value) / lot.basis_amount >= threshold:
                harvestable[lot.symbol_index] += lot.basis_amount - value
        blocked = {s for s in symbols if s in locks.no_buy_symbols}
        harvest_side = {
            s
            for i, s in enumerate(symbols)
            if harvestable[i] > 0 and s not in locks.no_loss_sale_symbols and s not in blocked
        }
        if not harvest_side:
            return None
        flip: set[str] = set()
        for sector in set(sectors):
            members = [i for i, s in enumerate(sectors) if s == sector]
            buyable = [i for i in members if symbols[i] not in harvest_side | blocked]
            candidates = [i for i in members if symbols[i] in harvest_side]
            if buyable or len(candidates) < 2:
                continue
            flip.add(symbols[min(candidates, key=lambda i: harvestable[i])])
        if not flip:
            return None
        return replace(
            problem,
            wash_sale_locks=WashSaleLocks(
                no_buy_symbols=locks.no_buy_symbols,
                no_loss_sale_symbols=locks.no_loss_sale_symbols | frozenset(flip),
            ),
        )

    def _solve_one(
        self, problem: RebalanceProblem, market: Market, stats: SolveStats
    ) -> RebalanceResult | None:
        """One core solve; ``None`` (and a note) when the core raised.

        Workarounds (see docs/evidence.md): (1) with a gains budget all but used up and a cash
        floor to meet, PIQP stops at its iteration limit and Clarabel at its own, so the core
        raises ``SolverFailed`` instead of trying its elastic form: the problem is solved again
        with the remaining budget floored at 0.1% of the account's value. (2) When withdrawals
        due exceed the cash plus what may be sold today (the side rule freezes buy-side loss
        lots), the core raises ``RebalanceInfeasible``: the problem is solved in raise-cash
        mode instead (no buys, so those lots are free).
        """
        try:
            harvest = problem.mode is RebalanceMode.HARVEST_ONLY and self.harvest_config
            if harvest and market.compiled_harvest is not None:
                result = solve_rebalance(problem, self.harvest_config, market.compiled_harvest)
            else:
                result = solve_rebalance(problem, self.config, market.compiled)
        except SolverFailed as exc:
            budget = problem.tax_profile.gains_budget_amount
            prices = problem.universe.prices
            value = problem.cash_amount + sum(
                lot.shares * prices[lot.symbol_index] for lot in problem.lots
            )
            if budget is None or budget >= BUDGET_RETRY_RATE * value:
                return self._fail(market, stats, exc)
            stats.budget_retries += 1
            profile = replace(problem.tax_profile, gains_budget_amount=BUDGET_RETRY_RATE * value)
            return self._solve_one(replace(problem, tax_profile=profile), market, stats)
        except RebalanceInfeasible as exc:
            # The side rule froze loss lots the cash floor needs (withdrawals due): raise the
            # cash first, with no buys (every lot not wash-locked may then be sold).
            if problem.mode is RebalanceMode.RAISE_CASH:
                return self._fail(market, stats, exc)
            stats.raise_cash_retries += 1
            return self._solve_one(replace(problem, mode=RebalanceMode.RAISE_CASH), market, stats)
        except OptimizerError as exc:
            return self._fail(market, stats, exc)
        stats.solves += 1
        stats.time_ms += result.total_time_ms
        return result

    @staticmethod
    def _fail(market: Market, stats: SolveStats, exc: Exception) -> None:
        stats.failures += 1
        stats.notes.append(f"{market.day}: {type(exc).__name__}: {exc}")
        return None

    def solve(
        self, problem: RebalanceProblem, market: Market, stats: SolveStats
    ) -> RebalanceResult | None:
        """Solve (and try the second side assignment); ``None`` when the core raised."""
        best = self._solve_one(problem, market, stats)
        if self.try_second_side and problem.mode is not RebalanceMode.RAISE_CASH:
            universe = problem.universe
            second = self._second_candidate(problem, universe.symbols, universe.sectors)
            if second is not None:
                stats.second_candidates += 1
                other = self._solve_one(second, market, stats)
                if other is not None and (
                    best is None or other.objective.total < best.objective.total
                ):
                    best = other
                    stats.second_chosen += 1
        if best is not None:
            stats.relaxed += bool(best.relaxed)
            if best.violations:
                stats.violations += 1
                stats.notes.append(f"{market.day}: violations after rounding: {best.violations}")
        return best

    @staticmethod
    def execute(
        ledger: AccountLedger, result: RebalanceResult, market: Market, symbols: tuple[str, ...]
    ) -> None:
        """Book the result's trades: sells (specific lots) first, then buys."""
        index = {s: i for i, s in enumerate(symbols)}
        by_sell: dict[str, list[LotPick]] = {}
        for trade in result.trades:
            if trade.side is TradeSide.SELL and trade.lot_id is not None:
                by_sell.setdefault(trade.symbol, []).append(
                    LotPick(lot_id=trade.lot_id, quantity=_whole(trade.shares))
                )
        for symbol, picks in by_sell.items():
            picks = [p for p in picks if p.quantity > 0]
            total = int(sum(p.quantity for p in picks))
            if total > 0:
                execute_sell(
                    ledger,
                    market.day,
                    symbol,
                    total,
                    market.prices[index[symbol]],
                    lots=tuple(picks),
                )
        for trade in result.trades:
            if trade.side is TradeSide.BUY:
                shares = int(_whole(trade.shares))
                execute_buy(
                    ledger, market.day, trade.symbol, shares, market.prices[index[trade.symbol]]
                )


def core_lots(ledger: AccountLedger, index: dict[str, int], account_id: str) -> tuple[TaxLot, ...]:
    """The engine's open lots as the core's ``TaxLot`` (one per engine lot id).

    A lot the engine splits into pieces (part of it replaced a wash-sale loss) becomes one core
    lot: shares and adjusted basis summed, the later holding-period start (conservative: the
    core may treat it as short-term). Our policy never washes, so this arises only in theory.
    """
    merged: dict[str, tuple[str, Decimal, Decimal, date]] = {}
    for row in ledger.open_lots():
        seen = merged.get(row.lot_id)
        if seen is None:
            merged[row.lot_id] = (
                row.symbol,
                row.quantity,
                row.adjusted_basis,
                row.holding_period_start,
            )
        else:
            merged[row.lot_id] = (
                row.symbol,
                seen[1] + row.quantity,
                seen[2] + row.adjusted_basis,
                max(seen[3], row.holding_period_start),
            )
    return tuple(
        TaxLot(
            lot_id=lot_id,
            symbol_index=index[symbol],
            shares=float(shares),
            basis_amount=float(basis),
            holding_period_start=start,
            account_id=account_id,
        )
        for lot_id, (symbol, shares, basis, start) in merged.items()
    )


def _whole(shares: float) -> Decimal:
    return Decimal(int(round(shares, 6)))
