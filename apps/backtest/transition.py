"""A legacy account's multi-year transition on real prices: the planner followed year by year.

Each year, on the first trading day on or after the anniversary of ``start``, the account's
transition plan is re-made from its holdings and that day's prices and risk model (no look-
ahead), the optimizer realizes that year's share, and the trades are applied to the lots. The
tax per year and the tracking error after each year's trades are what the closing note and the
tests report. Command line: ``python -m apps.backtest.transition`` (prints N = 1, 3, 5).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from apps.backtest.book import CASH_TARGET_WEIGHT, SimAccount, make_book, model_weights
from apps.backtest.data import PriceData, skfolio_dataset
from apps.backtest.policies import default_solver_config
from apps.backtest.simulate import risk_model_on
from apps.optimizer.core.problem import compile_universe
from apps.optimizer.core.solve import solve_rebalance
from apps.optimizer.core.transition import PlanYear, apply_trades, plan_transition
from apps.optimizer.core.types import (
    Constraints,
    LotTable,
    RebalanceProblem,
    SolverConfig,
    TaxProfile,
    Universe,
)
from apps.taxlots.rules import add_months

DISCOUNT_RATE = 0.05  # as settings.OPTIMIZER_TRANSITION_DISCOUNT_RATE
TOLERANCE_RATE = 0.01  # as the account default (Account.transition_tolerance_rate)


@dataclass(frozen=True, slots=True)
class PathYear:
    """One year of the path: what the run realized and where it left the account (USD)."""

    shape: str  # the plan's schedule that year, "after" once the horizon has passed
    plan_year: PlanYear  # what the run realized (``gains_budget_amount`` None: no plan limit)
    value_amount: float  # before the year's trades
    unrealized_gain_amount: float  # of the lots left after the year's trades, at its prices


def concentrated_account(data: PriceData, *, start: int, seed: int = 0) -> SimAccount:
    """The first concentrated legacy account of the backtest book funded on ``start``."""
    targets = model_weights(len(data.symbols), "equal", seed)
    book = make_book(data, accounts=60, seed=seed, start=start, end=start + 1, targets=targets)
    return next(a for a in book if a.kind == "concentrated" and a.funded_day == start)


def transition_path(
    data: PriceData,
    account: SimAccount,
    *,
    years: int,
    window: int = 0,
    config: SolverConfig | None = None,
) -> list[PathYear]:
    """Follow the account's ``years``-year transition from its funding day, one run a year.

    ``window``: yearly runs in all (at least ``years``); the runs after the horizon are ordinary
    full rebalances (no plan, no budget), so horizons compare over the same years.
    """
    config = config or default_solver_config()
    n = len(data.symbols)
    targets = model_weights(n, "equal", 0)
    start_day = data.dates[account.funded_day]
    lots = LotTable(
        lot_ids=tuple(f"legacy-{k}" for k in range(len(account.legacy_lots))),
        symbol_index=np.array([lot.symbol_index for lot in account.legacy_lots], dtype=np.int64),
        shares=np.array([float(lot.shares) for lot in account.legacy_lots]),
        basis_amount=np.array([lot.shares * lot.price for lot in account.legacy_lots]),
        holding_period_start_days=np.array(
            [lot.acquired_on.toordinal() for lot in account.legacy_lots], dtype=np.int64
        ),
        account_id=account.account_id,
    )
    cash = account.initial_cash
    index = {s: i for i, s in enumerate(data.symbols)}
    path: list[PathYear] = []
    for y in range(max(years, window)):
        t = data.index_on_or_after(add_months(start_day, 12 * y))
        day = data.dates[t]
        universe = Universe(
            symbols=data.symbols,
            prices=data.closes[t],
            sectors=data.sectors,
            industries=data.industries,
        )
        risk = risk_model_on(data, t)
        compiled = compile_universe(universe, risk, config)
        problem = RebalanceProblem(
            as_of=day,
            universe=universe,
            target_weights=targets,
            cash_target_weight=CASH_TARGET_WEIGHT,
            lots=lots,
            cash_amount=max(cash, 0.0),
            tax_profile=TaxProfile(
                short_term_rate=account.rates(day.year)[0],
                long_term_rate=account.rates(day.year)[1],
            ),
            risk_model=risk,
            constraints=Constraints(min_trade_amount=100.0),
            account_id=account.account_id,
        )

        shape, budget, planned = "after", None, problem
        if y < years:
            plan = plan_transition(
                problem,
                years=years - y,
                solve=partial(solve_rebalance, config=config, compiled=compiled),
                risk_aversion=config.risk_aversion,
                tolerance_rate=TOLERANCE_RATE,
                discount_rate=DISCOUNT_RATE,
                annual_profile=problem.tax_profile,  # no budgets: the same every year
            )
            shape, budget = plan.shape, plan.this_year_budget_amount
            planned = plan.this_year_problem(problem)
        result = solve_rebalance(planned, config, compiled)
        lots, flow = apply_trades(lots, result, day, index, day.year)
        cash += flow
        path.append(
            PathYear(
                shape=shape,
                plan_year=PlanYear.of(
                    result, day=day, budget=budget, scale=planned.risk_aversion_scale
                ),
                value_amount=result.before.value_amount,
                unrealized_gain_amount=float(
                    lots.shares @ universe.prices[lots.symbol_index] - lots.basis_amount.sum()
                ),
            )
        )
    return path


def present_value_of_tax(path: Sequence[PathYear]) -> float:
    """The path's yearly tax discounted to its first run at ``DISCOUNT_RATE`` (USD)."""
    return sum(
        p.plan_year.estimated_tax_amount / (1 + DISCOUNT_RATE) ** k for k, p in enumerate(path)
    )


def write(line: str) -> None:
    """One line of the report on stdout."""
    sys.stdout.write(line + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the path of N = 1, 3 and 5 for one concentrated account of the backtest book."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--start", default="2010-01-04", help="funding day (YYYY-MM-DD)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from datetime import date

    data = skfolio_dataset()
    start = data.index_on_or_after(date.fromisoformat(args.start))
    account = concentrated_account(data, start=start, seed=args.seed)
    short_rate, long_rate = account.rates(data.dates[start].year)
    write(
        f"account {account.account_id}: {len(account.legacy_lots)} legacy lots, value "
        f"{account.initial_value:,.0f}, rates {short_rate:.3f}/{long_rate:.3f} (funding year)"
    )
    for years in (1, 3, 5):
        path = transition_path(data, account, years=years, window=5)
        total = sum(p.plan_year.estimated_tax_amount for p in path)
        present = present_value_of_tax(path)
        owed = path[-1].unrealized_gain_amount * long_rate
        write(
            f"N={years}: tax over {len(path)} years {total:,.0f} (present value {present:,.0f}); "
            f"value at the last run {path[-1].value_amount:,.0f}, unrealized gain left "
            f"{path[-1].unrealized_gain_amount:,.0f} (~{owed:,.0f} of tax at the long-term rate)"
        )
        for p in path:
            budget = (
                "rest"
                if p.plan_year.gains_budget_amount is None
                else f"{p.plan_year.gains_budget_amount:,.0f}"
            )
            write(
                f"  {p.plan_year.year} {p.shape:12} budget {budget:>12}"
                f" short {p.plan_year.short_term_gain_amount:>12,.0f}"
                f" long {p.plan_year.long_term_gain_amount:>12,.0f}"
                f" tax {p.plan_year.estimated_tax_amount:>11,.0f}"
                f" TE {p.plan_year.tracking_error_rate:.2%}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
