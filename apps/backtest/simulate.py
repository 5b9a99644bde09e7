"""The day loop: every account of the book under both policies, through the real tax-lot engine.

Order of events on each trading day ``t`` of ``[start, end]``, per account and policy, at the
day's close (no intraday prices in the data):

1. funding day: the account's cash arrives and its legacy lots are booked (buys dated their
   real acquisition day, at the real close of that day: their basis and holding period);
2. deposit (on each funding anniversary) and withdrawal (first trading day of each month after
   the funding month): a withdrawal the cash does not cover is raised first (ours: the optimizer
   in raise-cash mode; baseline: pro-rata FIFO sales); a withdrawal never takes more than the
   cash there is;
3. the policy acts (``policies.py``);
4. the account is valued at the close (cash + shares x close).

Accounts are independent except for the shared prices, so they are split into chunks run by a
process pool; each chunk walks the days once. The risk model of each solve day (trailing 252
daily returns, no look-ahead) is built once for the whole book, before the accounts run; each
chunk compiles the optimizer's universe once per solve day.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from apps.backtest.book import SimAccount
from apps.backtest.data import PriceData
from apps.backtest.ledger import AccountLedger, cents
from apps.backtest.policies import (
    BaselinePolicy,
    Market,
    OursPolicy,
    SolveStats,
    Swap,
    default_solver_config,
    holdings,
    raise_pro_rata,
    realized_this_year,
    remaining_budget,
)
from apps.optimizer.core.lookthrough import build_look_through_risk_model
from apps.optimizer.core.problem import compile_universe
from apps.optimizer.core.risk import RiskModelSpec, build_risk_model
from apps.optimizer.core.types import (
    FloatArray,
    RebalanceMode,
    RiskModel,
    SolverConfig,
    Universe,
)
from apps.taxlots.engine import LotMethod, OpenLotRow, RealizedRow, Trade
from apps.taxlots.rules import FilingStatus, YearInput, carryforward

POLICIES = ("ours", "naive")
RISK_LOOKBACK_DAYS = 252
MIN_RISK_HISTORY = 60


@dataclass(frozen=True, slots=True)
class SimulationSettings:
    """What the day loop needs besides the data and the book."""

    start: int  # day index
    end: int
    targets: FloatArray
    scan: str = "weekly"  # "weekly" | "daily"
    solver: SolverConfig = field(default_factory=default_solver_config)
    try_second_side: bool = True
    rebalance_trigger_te: float = 0.01
    harvest_risk_scale: float = 0.25  # risk aversion of harvest-only scans / risk aversion
    workers: int = 2
    baseline: str = "fifo"  # one of ``policies.BASELINES``
    tracking_error_target: float | None = None  # per account, ours (``OursPolicy``)
    name_band_rate: float | None = None  # drift band per model name, ours


@dataclass(slots=True)
class AccountRun:
    """One account under one policy, from its funding day to the window's end."""

    account_id: str
    policy: str
    funded_day: int
    values: FloatArray  # end-of-day value, funded_day..end
    flows: FloatArray  # external flow that day: deposits +, withdrawals -
    month_end_days: list[int]
    month_end_weights: list[FloatArray]  # names then cash, fractions of value
    funded_weights: FloatArray  # names then cash at the funding day's close
    trades: list[Trade]
    realized: tuple[RealizedRow, ...]  # full replay of the history
    lots_open: tuple[OpenLotRow, ...]
    trade_dates: dict[str, date]
    cash: Decimal
    stats: SolveStats
    shortfall: float  # withdrawals the cash could not cover, USD
    replays: int


def _is_scan_day(data: PriceData, t: int, start: int, scan: str) -> bool:
    if scan == "daily" or t == start:
        return True
    return data.dates[t].isocalendar()[:2] != data.dates[t - 1].isocalendar()[:2]


def _flow_days(data: PriceData, account: SimAccount, end: int) -> tuple[set[int], set[int]]:
    """Withdrawal days (first trading day of each later month) and deposit days."""
    withdrawals: set[int] = set()
    deposits: set[int] = set()
    funded = account.funded_day
    if account.monthly_withdrawal > 0:
        for t in range(funded + 1, end + 1):
            if data.dates[t].month != data.dates[t - 1].month:
                withdrawals.add(t)
    if account.annual_deposit > 0:
        years = 1
        while True:
            day = data.dates[funded]
            try:
                wanted = day.replace(year=day.year + years)
            except ValueError:  # 29 February
                wanted = day.replace(year=day.year + years, day=28)
            if wanted > data.dates[end]:
                break
            deposits.add(data.index_on_or_after(wanted))
            years += 1
    return withdrawals, deposits


def carry_in(ledger: AccountLedger, first_year: int, year: int) -> tuple[float, float]:
    """Capital-loss carryover (short-term, long-term) into ``year`` from the realized rows, USD."""
    if year <= first_year:
        return 0.0, 0.0
    short: dict[int, Decimal] = {}
    long: dict[int, Decimal] = {}
    for row in ledger.realized():
        sold = ledger.trade_dates[row.sell_id].year
        bucket = short if row.term.value == "short" else long
        bucket[sold] = bucket.get(sold, Decimal(0)) + row.reportable_gain_loss
    years = [
        YearInput(y, short.get(y, Decimal(0)), long.get(y, Decimal(0)))
        for y in range(first_year, year)
    ]
    last = carryforward(FilingStatus.MARRIED_FILING_JOINTLY, years)[-1]
    return float(last.carryover_out_short_term), float(last.carryover_out_long_term)


def risk_model_on(data: PriceData, t: int, spec: RiskModelSpec | None = None) -> RiskModel:
    """The risk model of day ``t``: trailing 252 daily returns up to its close (no look-ahead).

    ``spec`` defaults to ``RiskModelSpec()``; its ``min_periods`` is set from the history.
    """
    first = max(0, t - RISK_LOOKBACK_DAYS)
    if t - first < MIN_RISK_HISTORY:
        first = 0
    history = data.closes[first : t + 1]
    spec = replace(
        spec or RiskModelSpec(), min_periods=min(MIN_RISK_HISTORY, max(len(history) - 1, 2))
    )
    base = data.underlying
    if base is not None:  # a universe of funds, seen through their holdings
        return build_look_through_risk_model(
            symbols=data.symbols,
            holdings=data.holdings,
            price_symbols=(*base.symbols, *data.symbols),
            sectors=dict(zip(base.symbols, base.sectors, strict=True)),
            industries=dict(zip(base.symbols, base.industries, strict=True)),
            price_history=np.hstack([base.closes[first : t + 1], history]),
            spec=spec,
        )
    return build_risk_model(
        symbols=data.symbols,
        sectors=data.sectors,
        industries=data.industries,
        price_history=history,
        spec=spec,
    )


def solve_days(
    data: PriceData, book: tuple[SimAccount, ...], settings: SimulationSettings
) -> list[int]:
    """Every day on which some account may call the optimizer (scans, fundings, withdrawals)."""
    days = {
        t
        for t in range(settings.start, settings.end + 1)
        if _is_scan_day(data, t, settings.start, settings.scan)
    }
    for account in book:
        days.add(account.funded_day)
        days |= _flow_days(data, account, settings.end)[0]
    return sorted(days)


class _Chunk:
    """A chunk of accounts walked through the window together."""

    def __init__(
        self,
        data: PriceData,
        accounts: list[SimAccount],
        settings: SimulationSettings,
        risk_models: dict[int, RiskModel] | None = None,
    ) -> None:
        self.data = data
        self.risk_models = risk_models or {}
        self.accounts = accounts
        self.settings = settings
        self.symbols = data.symbols
        self.ours = OursPolicy(
            targets=settings.targets,
            config=settings.solver,
            try_second_side=settings.try_second_side,
            rebalance_trigger_te=settings.rebalance_trigger_te,
            tracking_error_target=settings.tracking_error_target,
            name_band_rate=settings.name_band_rate,
            harvest_config=(
                replace(
                    settings.solver,
                    risk_aversion=settings.solver.risk_aversion * settings.harvest_risk_scale,
                )
                if settings.harvest_risk_scale != 1.0
                else None
            ),
        )
        self.naive = BaselinePolicy(targets=settings.targets, variant=settings.baseline)
        self.swaps: dict[tuple[str, str], list[Swap]] = {}
        self.deferred: set[tuple[str, str]] = set()
        self.ledgers: dict[tuple[str, str], AccountLedger] = {}
        self.values: dict[tuple[str, str], list[float]] = {}
        self.flows: dict[tuple[str, str], list[float]] = {}
        self.month_end: dict[tuple[str, str], tuple[list[int], list[FloatArray]]] = {}
        self.funded_weights: dict[tuple[str, str], FloatArray] = {}
        self.stats: dict[str, SolveStats] = {a.account_id: SolveStats() for a in accounts}
        self.shortfall: dict[tuple[str, str], float] = {}
        self.flow_days = {a.account_id: _flow_days(data, a, settings.end) for a in accounts}
        self.carry: dict[tuple[str, str, int], tuple[float, float]] = {}

    def market(self, t: int, *, solve: bool) -> Market:
        data = self.data
        prices = data.closes[t]
        if not solve:
            return Market(index=t, day=data.dates[t], prices=prices)
        risk = self.risk_models.get(t) or risk_model_on(data, t)
        universe = Universe(
            symbols=data.symbols, prices=prices, sectors=data.sectors, industries=data.industries
        )
        compiled = compile_universe(universe, risk, self.settings.solver)
        harvest = self.ours.harvest_config
        compiled_harvest = compile_universe(universe, risk, harvest) if harvest else None
        return Market(
            index=t,
            day=data.dates[t],
            prices=prices,
            universe=universe,
            risk_model=risk,
            compiled=compiled,
            compiled_harvest=compiled_harvest,
        )

    def fund(self, account: SimAccount, ledger: AccountLedger, t: int) -> None:
        day = self.data.dates[t]
        ledger.flow(cents(account.initial_cash))
        for lot in account.legacy_lots:
            ledger.buy(
                day,
                self.symbols[lot.symbol_index],
                lot.shares,
                cents(lot.shares * lot.price),
                acquired=lot.acquired_on,
            )

    def withdrawals_due(self, account: SimAccount, t: int) -> float:
        withdrawals, _ = self.flow_days[account.account_id]
        if not withdrawals:
            return 0.0
        today = self.data.dates[t]
        horizon = today + timedelta(days=self.ours.withdrawal_horizon_days)
        due = sum(1 for w in withdrawals if w > t and self.data.dates[w] <= horizon)
        return due * account.monthly_withdrawal

    def carry_for(
        self, account: SimAccount, policy: str, ledger: AccountLedger, year: int
    ) -> tuple[float, float]:
        """The (short-term, long-term) loss carried into ``year``, USD (cached per year)."""
        key = (account.account_id, policy, year)
        if key not in self.carry:
            first = self.data.dates[account.funded_day].year
            self.carry[key] = carry_in(ledger, first, year)
        return self.carry[key]

    def solve_ours(
        self,
        account: SimAccount,
        ledger: AccountLedger,
        market: Market,
        *,
        extra_due: float = 0.0,
        mode: RebalanceMode = RebalanceMode.FULL_REBALANCE,
    ) -> None:
        problem = self.ours.problem(
            ledger,
            account,
            market,
            self.symbols,
            withdrawals_due=self.withdrawals_due(account, market.index) + extra_due,
            carry_in=self.carry_for(account, "ours", ledger, market.day.year),
            mode=mode,
        )
        stats = self.stats[account.account_id]
        result = self.ours.solve(problem, market, stats)
        if result is None:
            return
        budget = problem.tax_profile.gains_budget_amount
        before = sum(realized_this_year(ledger, market.day)) if budget is not None else 0.0
        self.ours.execute(ledger, result, market, self.symbols)
        if budget is not None:
            # The engine's net gains of the day's trades against what the budget allowed; an
            # overshoot the result reports (relaxed for the cash floor, forced) is not counted.
            over = sum(realized_this_year(ledger, market.day)) - before - max(budget, 0.0)
            reported = any("budget" in text for text in result.relaxed + result.forced)
            if over > 0.005 and not reported:
                stats.budget_overshoots += 1
                stats.notes.append(f"{market.day}: gains budget overshot by {over:,.2f} USD")

    def run(self) -> list[AccountRun]:
        data, settings = self.data, self.settings
        for t in range(settings.start, settings.end + 1):
            live = [a for a in self.accounts if a.funded_day <= t]
            if not live:
                continue
            scan = _is_scan_day(data, t, settings.start, settings.scan)
            needs_solve = scan or any(
                a.funded_day == t or t in self.flow_days[a.account_id][0] for a in live
            )
            plain = Market(index=t, day=data.dates[t], prices=data.closes[t])
            solved: Market | None = None
            month_end = t == settings.end or data.dates[t + 1].month != data.dates[t].month
            for account in live:
                for policy in POLICIES:
                    key = (account.account_id, policy)
                    if account.funded_day == t:
                        self.ledgers[key] = AccountLedger(account.account_id)
                        self.values[key] = []
                        self.flows[key] = []
                        self.month_end[key] = ([], [])
                        self.shortfall[key] = 0.0
                        self.fund(account, self.ledgers[key], t)
                    ledger = self.ledgers[key]
                    if policy == "ours" and needs_solve and solved is None:
                        solved = self.market(t, solve=True)
                    market = solved if policy == "ours" and solved is not None else plain
                    flow = self.cash_flows(account, policy, ledger, market)
                    self.act(account, policy, ledger, market, scan)
                    shares = holdings(ledger, self.symbols)
                    invested = shares * market.prices
                    value = float(invested.sum()) + float(ledger.cash)
                    self.values[key].append(value)
                    self.flows[key].append(flow)
                    weights_now = np.append(invested, float(ledger.cash)) / max(value, 1e-9)
                    if account.funded_day == t:
                        self.funded_weights[key] = weights_now
                    if month_end and value > 0:
                        days, weights = self.month_end[key]
                        days.append(t)
                        weights.append(weights_now)
        return self.collect()

    def cash_flows(
        self, account: SimAccount, policy: str, ledger: AccountLedger, market: Market
    ) -> float:
        withdrawals, deposits = self.flow_days[account.account_id]
        t = market.index
        flow = 0.0
        if t in deposits:
            ledger.flow(cents(account.annual_deposit))
            flow += account.annual_deposit
        if t in withdrawals:
            amount = account.monthly_withdrawal
            if float(ledger.cash) < amount:
                if policy == "ours" and market.compiled is not None:
                    short = amount - float(ledger.cash)
                    self.solve_ours(
                        account,
                        ledger,
                        market,
                        extra_due=short * 1.02,
                        mode=RebalanceMode.RAISE_CASH,
                    )
                if float(ledger.cash) < amount:
                    method = self.naive.method if policy == "naive" else LotMethod.FIFO
                    raise_pro_rata(ledger, market, self.symbols, amount, 0.01, method)
            taken = min(cents(amount), ledger.cash)
            self.shortfall[(account.account_id, policy)] += amount - float(taken)
            ledger.flow(-taken)
            flow -= float(taken)
        return flow

    def act(
        self, account: SimAccount, policy: str, ledger: AccountLedger, market: Market, scan: bool
    ) -> None:
        t = market.index
        if policy == "ours":
            if (scan or account.funded_day == t) and market.compiled is not None:
                mode = (
                    RebalanceMode.FULL_REBALANCE
                    if account.funded_day == t
                    else self.ours.mode_for(ledger, market, self.symbols)
                )
                self.solve_ours(account, ledger, market, mode=mode)
            return
        key = (account.account_id, policy)
        if account.funded_day == t and account.kind == "cash":
            self.naive.invest(ledger, market, self.symbols)
        swaps = self.swaps.setdefault(key, [])
        for swap in [s for s in swaps if s.back_on <= market.day]:
            self.naive.come_back(ledger, market, self.symbols, swap)
            swaps.remove(swap)
        if scan and self.naive.harvests_on(market):
            pending = {name for swap in swaps for name in swap.sold}
            harvested = self.naive.harvest(ledger, market, self.symbols, pending)
            if harvested is not None:
                swaps.append(harvested)
        if t in account.baseline_days or key in self.deferred:
            # A scheduled rebalance waits until every swap is back (its names are out of the
            # account and its proxy lots would be traded against the model meanwhile).
            if swaps:
                self.deferred.add(key)
                return
            self.deferred.discard(key)
            budget = remaining_budget(
                account,
                ledger,
                market.day,
                sum(self.carry_for(account, policy, ledger, market.day.year)),
            )
            self.naive.rebalance(
                ledger, market, self.symbols, account.drift_tolerance, budget=budget
            )

    def collect(self) -> list[AccountRun]:
        runs: list[AccountRun] = []
        for account in self.accounts:
            for policy in POLICIES:
                key = (account.account_id, policy)
                if key not in self.ledgers:
                    continue
                ledger = self.ledgers[key]
                full = ledger.full_replay()
                days, weights = self.month_end[key]
                runs.append(
                    AccountRun(
                        account_id=account.account_id,
                        policy=policy,
                        funded_day=account.funded_day,
                        values=np.array(self.values[key]),
                        flows=np.array(self.flows[key]),
                        month_end_days=days,
                        month_end_weights=weights,
                        funded_weights=self.funded_weights[key],
                        trades=ledger.trades,
                        realized=full.realized,
                        lots_open=full.lots_open,
                        trade_dates=ledger.trade_dates,
                        cash=ledger.cash,
                        stats=self.stats[account.account_id] if policy == "ours" else SolveStats(),
                        shortfall=self.shortfall[key],
                        replays=ledger.replays,
                    )
                )
        return runs


_WORKER: dict[str, object] = {}


def _init_worker(
    data: PriceData, settings: SimulationSettings, risk_models: dict[int, RiskModel]
) -> None:
    _WORKER["data"] = data
    _WORKER["settings"] = settings
    _WORKER["risk_models"] = risk_models


def _risk_models(days: list[int]) -> dict[int, RiskModel]:
    data = _WORKER["data"]
    if not isinstance(data, PriceData):
        raise TypeError("worker not initialised")
    return {t: risk_model_on(data, t) for t in days}


def _run_chunk(accounts: list[SimAccount]) -> list[AccountRun]:
    data = _WORKER["data"]
    settings = _WORKER["settings"]
    if not isinstance(data, PriceData) or not isinstance(settings, SimulationSettings):
        raise TypeError("worker not initialised")
    risk_models = _WORKER.get("risk_models")
    return _Chunk(
        data, accounts, settings, risk_models if isinstance(risk_models, dict) else None
    ).run()


def simulate(
    data: PriceData, book: tuple[SimAccount, ...], settings: SimulationSettings
) -> tuple[list[AccountRun], float]:
    """Run every account under both policies; returns the runs and the wall time in seconds.

    Args:
        data: Prices and sectors.
        book: The accounts (``book.make_book``).
        settings: Window, targets, scan and solver settings, process count.
    """
    started = time.perf_counter()
    workers = max(1, settings.workers)
    chunk_count = min(len(book), workers * 4) or 1
    chunks = [list(book[i::chunk_count]) for i in range(chunk_count)]
    # Risk models are shared by every account: built once per solve day, before the accounts.
    days = solve_days(data, book, settings)
    if workers == 1:
        risk_models = {t: risk_model_on(data, t) for t in days}
        runs = [run for chunk in chunks for run in _Chunk(data, chunk, settings, risk_models).run()]
    else:
        context = multiprocessing.get_context("fork")
        parts = [days[i::workers] for i in range(workers)]
        with context.Pool(workers, initializer=_init_worker, initargs=(data, settings, {})) as pool:
            risk_models = {t: m for part in pool.map(_risk_models, parts) for t, m in part.items()}
        with context.Pool(
            workers, initializer=_init_worker, initargs=(data, settings, risk_models)
        ) as pool:
            runs = [run for part in pool.map(_run_chunk, chunks, chunksize=1) for run in part]
    order = {a.account_id: i for i, a in enumerate(book)}
    runs.sort(key=lambda r: (order[r.account_id], POLICIES.index(r.policy)))
    return runs, time.perf_counter() - started
