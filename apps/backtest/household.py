"""Two-account households (taxable + traditional IRA), solved jointly or separately (issue 18).

``python -m apps.backtest.household --prices P --sectors S --start D --end D [--households N]
[--seed S] [--seeds K]``: needs no Django and no database. Each household (``make_households``)
is funded with cash on the window's first day, split between a taxable account and a
traditional IRA; no flows afterwards. Three arms trade the same households on the same prices,
weekly (the first trading day of each ISO week), always a full rebalance (the core trades only
what is worth its cost), with ours' issue 18 settings (``policies.default_solver_config``, a
1% tracking error target, name bands at 25% of target):

* ``joint``: one ``HouseholdProblem`` of both accounts against the model (risk on the
  household's combined weights; tax only in the taxable account; the side rule and the wash-sale
  locks shared: a loss sale in the taxable account in the last 30 days blocks buying the name in
  either account, a purchase in either blocks the taxable loss sale), with the derived asset
  location (``SolverConfig.asset_location="derived"``, ``apps.optimizer.core.location``);
* ``joint-given``: the same without derived location (what the joint solve alone brings);
* ``separate``: each account solved on its own against the model (``RebalanceProblem``), the
  IRA knowing nothing of the taxable account's locks.

Taxes come from one replay of both accounts' trades by the tax-lot engine (a purchase in the IRA
within 30 days of a taxable loss sale disallows the loss for good, Rev. Rul. 2008-5), netted per
year on Schedule D with the carryover (``metrics.account_taxes``) at the household's rates of
each year (``rates.py``). Figures per arm (``household_figures``), means over households:

* ``after_tax_pct``: household value after tax if liquidated on the last day, % of the start
  value: the taxable account's value less the taxes realised in the window and the liquidation
  tax (``metrics.liquidation_tax``), plus the IRA's value less the tax on withdrawing it all,
  ordinary income (IRC §408(d)(1)) at the household's short-term (ordinary) rate of the last
  year. Taxes are paid from outside the accounts (``metrics``' convention).
* ``pre_tax_pct``: the household's value on the last day, % of the start value (what the
  names returned, whichever account held them; the gap to ``after_tax_pct`` is the taxes).
* ``realized_tax``: taxes realised in the window (USD, summed over households).
* ``tracking_error_pct``: annualised (×√252) standard deviation of the household's daily
  return minus the model's.
* ``volatility_gap_pct``: on the last day, the value-weighted mean risk-model volatility of the
  taxable account's holdings minus the IRA's (how far volatile names sit in the taxable one).
* ``lost_to_ira_washes``: losses disallowed for good by IRA purchases (USD, summed).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np

from apps.backtest.book import BRACKETS, STATE_RATES, SimAccount, model_weights
from apps.backtest.data import PriceData, load_dataset
from apps.backtest.ledger import AccountLedger, cents
from apps.backtest.metrics import TRADING_DAYS, account_taxes, liquidation_tax, model_returns
from apps.backtest.policies import (
    NAME_BAND_RATE,
    TRACKING_ERROR_TARGET,
    Market,
    OursPolicy,
    SolveStats,
    default_solver_config,
    holdings,
)
from apps.backtest.seeds import SeedFigures
from apps.backtest.simulate import AccountRun, _is_scan_day, carry_in, risk_model_on
from apps.optimizer.core.errors import OptimizerError
from apps.optimizer.core.location import name_volatilities
from apps.optimizer.core.problem import compile_universe
from apps.optimizer.core.solve import solve_household, solve_rebalance
from apps.optimizer.core.types import (
    HouseholdProblem,
    RebalanceProblem,
    RebalanceResult,
    Registration,
    SolverConfig,
    TaxProfile,
    Universe,
    WashSaleLocks,
)
from apps.taxlots.engine import AccountSpec, AccountType, ReplayResult, WashKind, replay

ARMS = ("joint", "joint-given", "separate")
FIGURES = (
    "after_tax_pct",
    "pre_tax_pct",
    "realized_tax",
    "tracking_error_pct",
    "volatility_gap_pct",
    "lost_to_ira_washes",
    "solve_failures",
)


@dataclass(frozen=True, slots=True)
class Household:
    """A taxable account and a traditional IRA of one client, funded with cash."""

    number: int
    value: float  # USD at funding, both accounts
    taxable_share: float  # fraction of ``value`` in the taxable account
    bracket: int  # position in ``book.BRACKETS``
    state_rate: float

    def accounts(self, funded_day: int) -> tuple[SimAccount, SimAccount]:
        """(taxable, IRA) as the backtest's accounts (the IRA's rates are the household's)."""
        taxable = self.taxable_share * self.value
        return (
            self._account("taxable", taxable, funded_day),
            self._account("ira", self.value - taxable, funded_day),
        )

    def _account(self, kind: str, amount: float, funded_day: int) -> SimAccount:
        return SimAccount(
            account_id=f"h{self.number:03d}-{kind}",
            kind="cash",
            funded_day=funded_day,
            initial_value=amount,
            legacy_lots=(),
            initial_cash=amount,
            monthly_withdrawal=0.0,
            annual_deposit=0.0,
            bracket=self.bracket,
            state_rate=self.state_rate,
            gains_budget=None,
            drift_tolerance=0.0,
            baseline_days=(),
        )


def make_households(count: int, seed: int) -> tuple[Household, ...]:
    """``count`` seeded households: value log-normal around 1M USD, 40-70% of it taxable."""
    rng = np.random.default_rng(seed)
    return tuple(
        Household(
            number=number,
            value=float(np.exp(rng.normal(np.log(1_000_000.0), 0.5))),
            taxable_share=float(rng.uniform(0.4, 0.7)),
            bracket=int(rng.choice(BRACKETS)),
            state_rate=float(rng.choice(STATE_RATES)),
        )
        for number in range(count)
    )


@dataclass(slots=True)
class _Books:
    """One household under one arm: its two ledgers, values and solve counts."""

    taxable: AccountLedger
    ira: AccountLedger
    values: list[tuple[float, float]] = field(default_factory=list)  # (taxable, IRA) per day
    stats: SolveStats = field(default_factory=SolveStats)


def _value(ledger: AccountLedger, prices: np.ndarray, symbols: tuple[str, ...]) -> float:
    return float(holdings(ledger, symbols) @ prices) + float(ledger.cash)


def _ira_problem(problem: RebalanceProblem) -> RebalanceProblem:
    """The IRA's problem: no tax today (IRC §408(e)(1)), no locks of its own."""
    return replace(
        problem,
        tax_profile=TaxProfile(0.0, 0.0, registration=Registration.TAX_DEFERRED),
        wash_sale_locks=WashSaleLocks(),
    )


def household_problem(taxable: RebalanceProblem, ira: RebalanceProblem) -> HouseholdProblem:
    """Both accounts as one problem, the wash-sale locks shared.

    A loss sale in the taxable account (its ``no_buy_symbols``) blocks buying the
    name in either account (IRC §1091(a); in the IRA, Rev. Rul. 2008-5); a purchase in either
    account within 30 days blocks the taxable loss sale. The IRA's own sales are no tax events.
    """
    joint = taxable.as_household()
    return replace(
        joint,
        accounts=(*joint.accounts, *_ira_problem(ira).as_household().accounts),
        wash_sale_locks=WashSaleLocks(
            no_buy_symbols=taxable.wash_sale_locks.no_buy_symbols,
            no_loss_sale_symbols=taxable.wash_sale_locks.no_loss_sale_symbols
            | ira.wash_sale_locks.no_loss_sale_symbols,
        ),
    )


def _solve(
    arm: str,
    books: _Books,
    accounts: tuple[SimAccount, SimAccount],
    market: Market,
    policy: OursPolicy,
    configs: dict[str, SolverConfig],
    symbols: tuple[str, ...],
    first_year: int,
) -> None:
    """One scan of one household under one arm: solve and book the trades."""
    problems = tuple(
        policy.problem(
            ledger,
            account,
            market,
            symbols,
            withdrawals_due=0.0,
            carry_in=carry_in(ledger, first_year, market.day.year),
        )
        for ledger, account in ((books.taxable, accounts[0]), (books.ira, accounts[1]))
    )
    config = configs[arm]
    results: list[tuple[AccountLedger, RebalanceResult]] = []
    try:
        if arm == "separate":
            results = [
                (books.taxable, solve_rebalance(problems[0], config, market.compiled)),
                (books.ira, solve_rebalance(_ira_problem(problems[1]), config, market.compiled)),
            ]
        else:
            problem = household_problem(problems[0], problems[1])
            result = solve_household(problem, config, market.compiled)
            results = [
                (
                    ledger,
                    replace(
                        result,
                        trades=tuple(t for t in result.trades if t.account_id == account_id),
                    ),
                )
                for ledger, account_id in (
                    (books.taxable, accounts[0].account_id),
                    (books.ira, accounts[1].account_id),
                )
            ]
    except OptimizerError as exc:
        books.stats.failures += 1
        books.stats.notes.append(f"{market.day}: {type(exc).__name__}: {exc}")
        return
    books.stats.solves += 1
    for ledger, result in results:
        OursPolicy.execute(ledger, result, market, symbols)


def _household_replay(books: _Books) -> ReplayResult:
    """The engine's replay of both accounts' trades (IRA purchases wash taxable losses)."""
    accounts = (
        AccountSpec(books.taxable.account_id, AccountType.TAXABLE),
        AccountSpec(books.ira.account_id, AccountType.TRADITIONAL_IRA),
    )
    # Same-day order: the taxable account's trades were booked first.
    trades = sorted([*books.taxable.trades, *books.ira.trades], key=lambda trade: trade.date)
    return replay(accounts, trades, books.taxable.params)


def household_figures(
    data: PriceData,
    books: _Books,
    accounts: tuple[SimAccount, SimAccount],
    start: int,
    end: int,
    targets: np.ndarray,
) -> dict[str, float]:
    """The figures of one household under one arm (module docstring; USD or %)."""
    full = _household_replay(books)
    taxable_id = books.taxable.account_id
    run = AccountRun(
        account_id=taxable_id,
        policy="ours",
        funded_day=start,
        values=np.array([v[0] for v in books.values]),
        flows=np.zeros(len(books.values)),
        month_end_days=[],
        month_end_weights=[],
        funded_weights=np.zeros(len(data.symbols) + 1),
        trades=books.taxable.trades,
        realized=tuple(r for r in full.realized if r.account == taxable_id),
        lots_open=tuple(r for r in full.lots_open if r.account == taxable_id),
        trade_dates=books.taxable.trade_dates,
        cash=books.taxable.cash,
        stats=books.stats,
        shortfall=0.0,
        replays=books.taxable.replays,
    )
    first_year, last_year = data.dates[start].year, data.dates[end].year
    taxes, carry = account_taxes(run, accounts[0], first_year, last_year)
    realized = sum(taxes.values())
    liquidation = liquidation_tax(run, accounts[0], data, end, carry)
    ordinary_rate = accounts[1].rates(last_year)[0]
    taxable_end, ira_end = books.values[-1]
    after_tax = taxable_end - realized - liquidation + ira_end * (1.0 - ordinary_rate)
    start_value = accounts[0].initial_value + accounts[1].initial_value
    totals = np.array([sum(v) for v in books.values])
    active = totals[1:] / totals[:-1] - 1.0 - model_returns(data, targets)[start + 1 : end + 1]
    vols = name_volatilities(risk_model_on(data, end))
    prices = data.closes[end]

    def mean_volatility(ledger: AccountLedger) -> float:
        held = holdings(ledger, data.symbols) * prices
        return float(held @ vols / held.sum()) if held.sum() > 0 else 0.0

    return {
        "after_tax_pct": 100.0 * after_tax / start_value,
        "pre_tax_pct": 100.0 * (taxable_end + ira_end) / start_value,
        "realized_tax": realized,
        "tracking_error_pct": 100.0 * float(np.std(active, ddof=1)) * np.sqrt(TRADING_DAYS),
        "volatility_gap_pct": 100.0 * (mean_volatility(books.taxable) - mean_volatility(books.ira)),
        "lost_to_ira_washes": float(
            sum(m.disallowed_loss for m in full.wash_matches if m.kind is WashKind.PERMANENT)
        ),
        "solve_failures": float(books.stats.failures),
    }


def run_households(
    data: PriceData,
    *,
    start: date,
    end: date,
    households: int,
    seed: int,
    arms: Sequence[str] = ARMS,
) -> dict[str, dict[str, float]]:
    """Simulate the seeded households under each arm; per arm, each figure's mean (sums: USD).

    ``realized_tax`` and ``lost_to_ira_washes`` are summed over households, the rest averaged.
    """
    first, last = data.index_on_or_after(start), data.index_on_or_before(end)
    symbols = data.symbols
    targets = model_weights(len(symbols), "equal", seed)
    base = default_solver_config()
    configs = {
        "joint": replace(base, asset_location="derived"),
        "joint-given": base,
        "separate": base,
    }
    policy = OursPolicy(
        targets=targets,
        config=base,
        tracking_error_target=TRACKING_ERROR_TARGET,
        name_band_rate=NAME_BAND_RATE,
    )
    clients = {h.number: h.accounts(first) for h in make_households(households, seed)}
    books: dict[tuple[int, str], _Books] = {}
    for number, (taxable, ira) in clients.items():
        for arm in arms:
            book = _Books(AccountLedger(taxable.account_id), AccountLedger(ira.account_id))
            book.taxable.flow(cents(taxable.initial_cash))
            book.ira.flow(cents(ira.initial_cash))
            books[number, arm] = book
    first_year = data.dates[first].year
    for t in range(first, last + 1):
        prices = data.closes[t]
        if _is_scan_day(data, t, first, "weekly"):
            risk = risk_model_on(data, t)
            universe = Universe(
                symbols=symbols, prices=prices, sectors=data.sectors, industries=data.sectors
            )
            market = Market(
                index=t,
                day=data.dates[t],
                prices=prices,
                universe=universe,
                risk_model=risk,
                compiled=compile_universe(universe, risk, base),
            )
            for (number, arm), book in books.items():
                _solve(arm, book, clients[number], market, policy, configs, symbols, first_year)
        for book in books.values():
            book.values.append(
                (_value(book.taxable, prices, symbols), _value(book.ira, prices, symbols))
            )
    out: dict[str, dict[str, float]] = {}
    for arm in arms:
        rows = [
            household_figures(data, books[number, arm], clients[number], first, last, targets)
            for number in clients
        ]
        out[arm] = {
            name: float(
                (np.sum if name in ("realized_tax", "lost_to_ira_washes") else np.mean)(
                    [row[name] for row in rows]
                )
            )
            for name in FIGURES
        }
    return out


def main(argv: Sequence[str] | None = None, write: Callable[[str], object] = print) -> int:
    """Entry point of ``python -m apps.backtest.household`` (the last line: the means)."""
    parser = argparse.ArgumentParser(prog="python -m apps.backtest.household", description=__doc__)
    parser.add_argument("--prices", required=True)
    parser.add_argument("--sectors", required=True)
    parser.add_argument("--start", required=True, type=date.fromisoformat)
    parser.add_argument("--end", required=True, type=date.fromisoformat)
    parser.add_argument("--households", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args(argv)
    data = load_dataset(args.prices, args.sectors)
    started = time.perf_counter()
    seeds = tuple(range(args.seed, args.seed + args.seeds))
    per_seed = [
        run_households(data, start=args.start, end=args.end, households=args.households, seed=s)
        for s in seeds
    ]
    write(f"runtime_seconds={time.perf_counter() - started:.1f} window={args.start}..{args.end}")
    means: dict[str, dict[str, float]] = {}
    for arm in ARMS:
        figures = SeedFigures(
            accounts=args.households,
            seeds=seeds,
            per_seed=tuple(figures[arm] for figures in per_seed),
        )
        write(f"{arm}:")
        for line in figures.table():
            write(line)
        means[arm] = {name: figures.mean(name) for name in FIGURES}
    joint, separate = means["joint"], means["separate"]
    write(
        f"household households={args.households} seeds={len(seeds)} "
        f"after_tax_joint={joint['after_tax_pct']:.3f} "
        f"after_tax_separate={separate['after_tax_pct']:.3f} "
        f"after_tax_joint_given={means['joint-given']['after_tax_pct']:.3f} "
        f"pre_tax_joint={joint['pre_tax_pct']:.3f} "
        f"pre_tax_separate={separate['pre_tax_pct']:.3f} "
        f"realized_tax_joint={joint['realized_tax']:.0f} "
        f"realized_tax_separate={separate['realized_tax']:.0f} "
        f"te_joint={joint['tracking_error_pct']:.3f} "
        f"te_separate={separate['tracking_error_pct']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
