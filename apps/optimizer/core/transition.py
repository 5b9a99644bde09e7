"""Multi-year transition planner: move a legacy portfolio to its model over N tax years.

The plan answers "how much net gain to realize in each calendar year so that the account reaches
its model (tracking error below its tolerance) by the end of year N at the least cost". It is
computed by simulating the real optimizer year by year at today's prices, not by a formula:

1. The *full move*: today's problem with no plan budget. Its net realized gain ``G`` is what
   reaching the model costs in gains (after the losses it harvests) at today's prices.
2. Each candidate schedule spreads ``G`` over the years (front-loaded N, N−1, …, 1; even; back-
   loaded 1, 2, …, N). Year ``y`` (on today's month and day, ``y − 1`` years later) solves the
   account with a net gains budget of its share (and never more than the account's own net
   gains budget); the last year has no plan budget. This year keeps what the account's budgets
   still allow; the later years have each budget of the account (net gains, per character, tax
   dollars) whole, as in ``annual_profile``. Between years the trades are applied to the lots
   (buys become new lots on that day), so lots that turn long-term wait, long-term lots go
   before short-term ones and harvested losses are netted first — by the optimizer's own rates
   and penalties, the same as in a run.
3. A schedule costs the tax of each year discounted to today at ``discount_rate`` plus the cost
   of the tracking error carried through each year, ``risk_aversion × TE² × value`` (the
   optimizer's own trade-off: at 100, carrying 1% tracking error for a year is worth 1% of
   value). The cheapest schedule is the plan; the others are kept to show why.

Prices are held at today's: the plan is re-made at every run from the holdings and prices of
that day, so it follows the market. Withdrawals after this year are not simulated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import partial

import numpy as np

from apps.optimizer.core.types import (
    LotTable,
    RebalanceProblem,
    RebalanceResult,
    TaxProfile,
    TradeSide,
    WashSaleLocks,
    lot_table,
)
from apps.taxlots.rules import add_months

#: Schedule shapes: weight of year y (1-based) of N in the spread of the full move's gain.
SHAPES: dict[str, Callable[[int, int], float]] = {
    "front-loaded": lambda y, n: float(n - y + 1),
    "even": lambda y, n: 1.0,
    "back-loaded": lambda y, n: float(y),
}

Solve = Callable[[RebalanceProblem], RebalanceResult]

#: The last year solves with the tolerance as its tracking error target: the core raises the
#: risk aversion until it holds (``solve.solve_household``; the optimizer's own trade-off may
#: stop short of the model when the remaining lots carry large gains; the advisor's horizon says
#: the move must end that year). If that is not enough, the last year also pauses harvesting: a
#: name with a lot far enough under water is otherwise harvest-side (never bought that day), and
#: an underweight one stays short of its target (the same-day side rule, prepare.py).


@dataclass(frozen=True, slots=True)
class PlanYear:
    """One calendar year of a plan (amounts in account currency, rates as fractions).

    ``gains_budget_amount`` is the net gain the plan allows that year (None: the last year,
    whatever reaching the model takes); the others are the simulated year's results.
    """

    year: int
    rebalance_on: date
    gains_budget_amount: float | None
    short_term_gain_amount: float
    long_term_gain_amount: float
    losses_harvested_amount: float
    estimated_tax_amount: float
    tracking_error_rate: float  # after the year's trades
    turnover_amount: float
    risk_aversion_scale: float = 1.0  # the last year's, raised until the tolerance is met
    is_harvesting_paused: bool = False  # the last year's, when raising it was not enough

    @classmethod
    def of(
        cls,
        result: RebalanceResult,
        *,
        day: date,
        budget: float | None,
        scale: float = 1.0,
        paused: bool = False,
    ) -> PlanYear:
        """The year whose rebalance on ``day`` gave ``result`` (under ``budget``, ``scale``)."""
        taxes = result.taxes
        return cls(
            year=day.year,
            rebalance_on=day,
            gains_budget_amount=budget,
            short_term_gain_amount=taxes.short_term_gain_amount,
            long_term_gain_amount=taxes.long_term_gain_amount,
            losses_harvested_amount=taxes.losses_harvested_amount,
            estimated_tax_amount=taxes.estimated_tax_amount,
            tracking_error_rate=result.after.active_risk_rate,
            turnover_amount=sum(t.amount for t in result.trades),
            risk_aversion_scale=scale,
            is_harvesting_paused=paused,
        )


@dataclass(frozen=True, slots=True)
class ScheduleCost:
    """A candidate schedule's totals: what the plan was chosen against."""

    shape: str
    total_tax_amount: float
    discounted_tax_amount: float
    risk_cost_amount: float  # Σ risk_aversion × TE² × value over the years

    @property
    def total_cost_amount(self) -> float:
        """Discounted tax plus the cost of carried tracking error (the plan minimises it)."""
        return self.discounted_tax_amount + self.risk_cost_amount


@dataclass(frozen=True, slots=True)
class TransitionPlan:
    """The chosen schedule, year by year, with the alternatives it beat."""

    years: tuple[PlanYear, ...]
    shape: str
    full_move_gain_amount: float  # net gain of reaching the model today, at today's prices
    tolerance_rate: float
    starting_tracking_error_rate: float
    alternatives: tuple[ScheduleCost, ...]
    realized_this_year_amount: float  # net gain already realized this year before the plan

    @property
    def reaches_model(self) -> bool:
        """Whether the last year's tracking error is within the tolerance."""
        return self.years[-1].tracking_error_rate <= self.tolerance_rate + 1e-12

    @property
    def this_year_budget_amount(self) -> float | None:
        """Net gain the run may still realize this year (None: no plan limit)."""
        first = self.years[0].gains_budget_amount
        if first is None:
            return None
        return max(first - self.realized_this_year_amount, 0.0)

    def this_year_problem(self, problem: RebalanceProblem) -> RebalanceProblem:
        """``problem`` as this year's run of the plan solves it.

        Its net gains budget is this year's share left (never more than the account's own net
        gains budget left, ``problem``'s); in the last year, its risk aversion is the raised one
        and harvesting is paused when the plan paused it.
        """
        budget = self.this_year_budget_amount
        own = problem.tax_profile.gains_budget_amount
        if budget is None or own is None:
            budget = own if budget is None else budget
        else:
            budget = min(budget, own)
        profile = replace(problem.tax_profile, gains_budget_amount=budget)
        if self.years[0].is_harvesting_paused:
            profile = replace(profile, harvest_threshold_rate=None)
        return replace(
            problem, risk_aversion_scale=self.this_year_risk_aversion_scale, tax_profile=profile
        )

    @property
    def this_year_risk_aversion_scale(self) -> float:
        """This year's risk aversion factor (above 1 only in a transition's last year)."""
        return self.years[0].risk_aversion_scale

    def summary(self) -> str:
        """One sentence for the proposal's notes."""
        first = self.years[0]
        last = self.years[-1]
        if self.full_move_gain_amount <= 0.0:
            allowed = "no net gain (reaching the model needs none at today's prices)"
        elif first.gains_budget_amount is None:
            allowed = "what the rest of the move takes (its last year)"
        else:
            allowed = f"up to {first.gains_budget_amount:,.2f} of net gains"
        reach = (
            f"reaches the model in {last.year} (tracking error {last.tracking_error_rate:.2%}, "
            f"tolerance {self.tolerance_rate:.2%})"
            if self.reaches_model
            else f"ends {last.year} at a tracking error of {last.tracking_error_rate:.2%}, above "
            f"the tolerance of {self.tolerance_rate:.2%}: what is left cannot be traded away in "
            "a day (wash-sale locks, loss lots of names that may be bought, whole shares, "
            "minimum trades, the account's own budgets)"
        )
        paused = " with harvesting paused" if last.is_harvesting_paused else ""
        return (
            f"Transition plan ({self.shape}, {len(self.years)} year(s) left): {first.year} "
            f"realizes {allowed}; the plan {reach}{paused}; estimated tax "
            f"{sum(y.estimated_tax_amount for y in self.years):,.2f} in total."
        )


def apply_trades(
    lots: LotTable, result: RebalanceResult, day: date, index: dict[str, int], year: int
) -> tuple[LotTable, float]:
    """The lots after ``result``'s trades on ``day``, and the cash they add (sells − buys).

    Sold shares leave their lots (basis pro rata); each name bought becomes one lot
    ``plan-{year}-{symbol}`` with the amount paid as basis and ``day`` as holding-period start.
    """
    sold: dict[str, float] = {}
    cash = 0.0
    bought: dict[str, tuple[float, float]] = {}
    for trade in result.trades:
        if trade.side is TradeSide.SELL:
            sold[trade.lot_id or ""] = sold.get(trade.lot_id or "", 0.0) + trade.shares
            cash += trade.amount
        else:
            count, amount = bought.get(trade.symbol, (0.0, 0.0))
            bought[trade.symbol] = (count + trade.shares, amount + trade.amount)
            cash -= trade.amount
    shares = lots.shares.copy()
    basis = lots.basis_amount.copy()
    for k, lot_id in enumerate(lots.lot_ids):
        taken = sold.get(lot_id, 0.0)
        if taken > 0.0:
            kept = max(shares[k] - taken, 0.0)
            basis[k] = basis[k] * kept / shares[k]
            shares[k] = kept
    keep = shares > 1e-9
    new_ids = [f"plan-{year}-{symbol}" for symbol in bought]
    table = LotTable(
        lot_ids=tuple(np.array(lots.lot_ids, dtype=object)[keep].tolist()) + tuple(new_ids),
        symbol_index=np.concatenate(
            [lots.symbol_index[keep], np.array([index[s] for s in bought], dtype=np.int64)]
        ),
        shares=np.concatenate([shares[keep], np.array([v[0] for v in bought.values()])]),
        basis_amount=np.concatenate([basis[keep], np.array([v[1] for v in bought.values()])]),
        holding_period_start_days=np.concatenate(
            [
                lots.holding_period_start_days[keep],
                np.full(len(bought), day.toordinal(), dtype=np.int64),
            ]
        ),
        account_id=lots.account_id,
    )
    return table, cash


def _simulate(
    *,
    problem: RebalanceProblem,
    later_years: RebalanceProblem,
    budgets: Sequence[float | None],
    solve: Solve,
    tolerance_rate: float,
    realized_this_year: float = 0.0,
    first: RebalanceResult | None = None,
) -> list[PlanYear]:
    """Run the optimizer once a year with ``budgets`` (one per year), applying each year's trades.

    ``budgets[0]`` counts ``realized_this_year`` (only the rest is left for year 1's solve);
    ``first``: year 1's result when already solved with ``budgets[0]`` (the full move).
    """
    index = {s: i for i, s in enumerate(problem.universe.symbols)}
    lots = lot_table(problem.lots)
    cash = problem.cash_amount
    years: list[PlanYear] = []
    for y, budget in enumerate(budgets):
        day = add_months(problem.as_of, 12 * y)
        base = problem if y == 0 else later_years
        own = base.tax_profile.gains_budget_amount
        if y == 0 and budget is not None:
            budget_left: float | None = max(budget - realized_this_year, 0.0)
        else:
            budget_left = budget
        if budget_left is None or own is None:
            allowed = own if budget_left is None else budget_left
        else:
            allowed = min(budget_left, own)
        solved = replace(
            base,
            as_of=day,
            lots=lots,
            cash_amount=max(cash, 0.0),
            tax_profile=replace(base.tax_profile, gains_budget_amount=allowed),
        )
        result = first if (y == 0 and first is not None) else solve(solved)
        scale, paused = 1.0, False
        if y == len(budgets) - 1:
            if result.after.active_risk_rate > tolerance_rate:
                own = solved.tracking_error_target  # an account's tighter target stays
                tightest = tolerance_rate if own is None else min(own, tolerance_rate)
                held = solve(replace(solved, tracking_error_target=tightest))
                scale = held.risk_aversion_used / result.risk_aversion_used
                result = held
            if (
                result.after.active_risk_rate > tolerance_rate
                and solved.tax_profile.harvest_threshold_rate is not None
            ):
                paused = True
                result = solve(
                    replace(
                        solved,
                        risk_aversion_scale=scale,
                        tax_profile=replace(solved.tax_profile, harvest_threshold_rate=None),
                    )
                )
        years.append(PlanYear.of(result, day=day, budget=budget, scale=scale, paused=paused))
        lots, flow = apply_trades(lots, result, day, index, y)
        cash += flow
    return years


def _schedule_cost(
    shape: str,
    path: Sequence[PlanYear],
    *,
    discount_rate: float,
    risk_aversion: float,
    value: float,
) -> ScheduleCost:
    """A simulated schedule's tax (total, and discounted to today) and carried-risk cost (USD)."""
    tax = [y.estimated_tax_amount for y in path]
    return ScheduleCost(
        shape=shape,
        total_tax_amount=float(sum(tax)),
        discounted_tax_amount=float(sum(t / (1.0 + discount_rate) ** k for k, t in enumerate(tax))),
        risk_cost_amount=float(sum(risk_aversion * y.tracking_error_rate**2 * value for y in path)),
    )


def _schedule_budgets(
    weight: Callable[[int, int], float], years: int, total_gain: float, realized: float
) -> list[float | None]:
    """Each year's net gains budget (USD) under a schedule shape; the last year has none.

    This year's share counts what was realized already (``realized``).
    """
    weights = np.array([weight(y, years) for y in range(1, years + 1)])
    shares = weights / weights.sum()
    budgets: list[float | None] = [float(total_gain * s) for s in shares[:-1]]
    budgets.append(None)
    if budgets[0] is not None:
        budgets[0] = max(budgets[0], realized)
    return budgets


def plan_transition(
    problem: RebalanceProblem,
    *,
    years: int,
    solve: Solve,
    risk_aversion: float,
    tolerance_rate: float,
    discount_rate: float,
    annual_profile: TaxProfile,
    realized_this_year_amount: float = 0.0,
) -> TransitionPlan:
    """Plan the account's move to its model over ``years`` calendar years (this one first).

    Args:
        problem: Today's problem of the account (its tax profile's budgets are what the
            account's budgets still allow this year; None: no such budget).
        years: Calendar years left, this one included (>= 1).
        solve: The optimizer (``solve_rebalance`` with the run's config and compiled universe).
        risk_aversion: The config's risk aversion (prices carried tracking error, see module).
        tolerance_rate: Tracking error (annualised fraction) at which the model is reached.
        discount_rate: Yearly rate at which later tax is discounted to today (fraction).
        annual_profile: The account's tax profile for a whole later year: its rates and
            harvesting setting, and each of its budgets (USD) with nothing realized yet.
        realized_this_year_amount: Net gain already realized this year (USD): this year's share
            of the plan counts it.

    Returns:
        The cheapest schedule; with ``years == 1`` the full move itself.
    """
    if years < 1:
        raise ValueError("a transition plan needs at least one year")
    later = replace(
        problem,
        wash_sale_locks=WashSaleLocks(),  # today's locks are over in a year
        withdrawals_due_amount=0.0,
        tax_profile=annual_profile,
    )
    full = solve(problem)
    simulate = partial(
        _simulate, problem=problem, later_years=later, solve=solve, tolerance_rate=tolerance_rate
    )
    full_path = simulate(budgets=[None], first=full)
    moved = full_path[0]
    total_gain = max(moved.short_term_gain_amount + moved.long_term_gain_amount, 0.0) + max(
        realized_this_year_amount, 0.0
    )
    cost = partial(
        _schedule_cost,
        discount_rate=discount_rate,
        risk_aversion=risk_aversion,
        value=full.before.value_amount,
    )
    if years == 1:
        candidates = [(cost("one year", full_path), full_path)]
    else:
        candidates = []
        for shape, weight in SHAPES.items():
            budgets = _schedule_budgets(weight, years, total_gain, realized_this_year_amount)
            path = simulate(budgets=budgets, realized_this_year=realized_this_year_amount)
            candidates.append((cost(shape, path), path))
    best_cost, best_path = min(candidates, key=lambda c: c[0].total_cost_amount)
    return TransitionPlan(
        years=tuple(best_path),
        shape=best_cost.shape,
        full_move_gain_amount=total_gain,
        tolerance_rate=tolerance_rate,
        starting_tracking_error_rate=full.before.active_risk_rate,
        alternatives=tuple(c for c, _ in candidates),
        realized_this_year_amount=realized_this_year_amount,
    )
