"""Figures of a backtest, per policy, from the account runs (definitions in ``docs/evidence.md``).

* **Returns**: daily, time-weighted, ``r_t = (V_t - flow_t) / V_{t-1} - 1`` with ``V`` the
  end-of-day value and ``flow`` that day's deposit (+) or withdrawal (-). The model's return is
  ``sum_i target_i * (p_t,i / p_{t-1,i} - 1)`` (1% cash at 0%): the model rebalanced daily.
* **Dispersion of returns** (GIPS composite dispersion): for each calendar year inside the
  window, the cross-account standard deviation (sample, at least 3 accounts) of the year's
  return; the figure is the mean over those years. Three sets of accounts, per policy:
  *all* (funded on or before the year's first trading day), *composite* (GIPS-style members:
  of those, the accounts whose transition is finished when the year starts: at the close
  before the year's first trading day (or of that day, when funded on it) the account's active
  share ``0.5 x sum |w_i - target_i|`` over names and cash is at most ``COMPOSITE_ACTIVE_SHARE``,
  10%; each policy's composite has its own members) and *cash* (all, funded with cash).
* **Dispersion of active weights**: at each month end, per name (and cash) the cross-account
  standard deviation of weights over live accounts, averaged over names, then over month ends.
* **Tracking error**: per account, the annualised (x sqrt 252) standard deviation of its daily
  return minus the model's, from the day after funding; the headline is the mean over accounts.
* **Taxes**: per account and calendar year, the engine's realized rows netted on Schedule D with
  the carryover (``rules.carryforward``, married filing jointly: 3,000 USD against ordinary
  income) and taxed at the account's rates of that year (``rates.py``: point in time, by year;
  ``estimate.estimated_tax``); a negative tax is the
  deduction's saving. The headline is the sum over accounts and years (USD). The liquidation
  tax is what selling everything on the last day would add (same netting, remaining carryover).
* **Losses harvested**: realized losses (reportable, i.e. net of wash-sale disallowance) per
  calendar month, as a fraction of the accounts' value at the previous month end (or funding);
  losses on legacy lots (embedded before funding, harvested during the transition) and any
  loss realized in an account's first 31 days count in the total but not in the monthly
  harvest, which is the harvest of losses the market made while the account was managed.
  The headline peak month is over the cohort funded in the window's first calendar year
  (before 2020 for a 2019 start), summed over the cohort: the month with the largest
  sum of losses / sum of values.
* **After-tax return**: (end value - start value - net deposits - taxes paid) / start value,
  cumulative over the account's life in the window; "liquidation" also subtracts the
  liquidation tax. Taxes are assumed paid from outside the account (not compounded). The
  summary's ``after_tax_*`` is the after-tax value if liquidated at the end in percent of the
  start value, ``100 x (1 + liquidation return)``, the mean over accounts.
* **Taxes saved vs fees**: per account, baseline tax minus our tax against ``fee_rate`` x the
  account's mean value x years live; share of accounts (and of value) where saved > fees.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import numpy as np

from apps.backtest.book import SimAccount
from apps.backtest.data import PriceData
from apps.backtest.ledger import AccountLedger
from apps.backtest.simulate import POLICIES, AccountRun
from apps.optimizer.core.types import FloatArray
from apps.taxlots.estimate import estimated_tax
from apps.taxlots.rules import (
    FilingStatus,
    Term,
    YearInput,
    YearResult,
    carryforward,
    is_long_term,
    schedule_d_year,
)

ZERO = Decimal(0)
TRADING_DAYS = 252
TRANSITION_DAYS = 31
COMPOSITE_ACTIVE_SHARE = 0.10  # a composite member's largest active share at the year's start


@dataclass(frozen=True, slots=True)
class AccountFigures:
    """Per account and policy."""

    account_id: str
    policy: str
    kind: str
    funded_day: int
    start_value: float
    end_value: float
    tracking_error: float
    taxes_by_year: dict[int, float]
    tax_total: float
    liquidation_tax: float
    carryover_end: float
    realized_net: float
    losses_realized: float
    wash_disallowed: float
    after_tax_return: float
    after_tax_liquidation_return: float
    pre_tax_return: float
    mean_value: float
    years_live: float
    peak_month_harvest: float  # fraction of value
    annual_returns: dict[int, float]  # calendar years of the window it was live for in full
    composite_years: frozenset[int]  # years of annual_returns it was a composite member for
    trades: int
    turnover: float  # traded amount / mean value, per year


@dataclass(frozen=True, slots=True)
class PolicyFigures:
    """Book-level figures of one policy."""

    policy: str
    dispersion: float  # mean over years of the cross-account std of annual returns
    dispersion_by_year: dict[int, tuple[float, int]]  # year -> (std, accounts)
    dispersion_composite: float  # the same over composite members (see the module docstring)
    dispersion_composite_by_year: dict[int, tuple[float, int]]
    dispersion_cash: float  # the same over cash-funded accounts
    active_weight_dispersion: float
    active_weight_dispersion_series: list[tuple[int, float]]  # (day index, value)
    tracking_error: float  # mean over accounts
    tracking_error_median: float
    tax_total: float
    taxes_by_year: dict[int, float]
    liquidation_tax: float
    carryover_end: float
    losses_realized: float
    wash_disallowed: float
    harvest_by_month: list[tuple[str, float]]  # cohort: (YYYY-MM, losses / value)
    harvest_peak_month: float
    harvest_peak_label: str
    after_tax_return: float
    after_tax_liquidation_return: float
    pre_tax_return: float
    turnover: float
    trades: int


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Everything the report and the command print."""

    accounts: int
    start: str
    end: str
    source: str
    scan: str
    model: str
    seed: int
    runtime_seconds: float
    policies: dict[str, PolicyFigures]
    per_account: list[AccountFigures]
    saved_vs_fees: dict[str, float]
    cohort_label: str
    solver: dict[str, float]
    notes: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        """The figures reported per seed: the summary line's, in its order, then the others.

        Units: ``dispersion_*``, ``te_*``, ``harvest_*``, ``after_tax_*``, ``*_pct`` in percent;
        ``tax_*``, ``liq_tax_*``, ``taxes_saved``, ``fees`` in USD (summed over the book).
        ``after_tax_ours_minus_naive``: percentage points of start value (mean over accounts);
        ``tax_with_liquidation_saved_pct``: 1 - (our taxes paid + liquidation tax) / the
        baseline's, in percent (deferral counted as nothing saved). ``turnover_*_pct``: traded
        amount over mean value a year, percent (mean over accounts); ``carryover_end_*``: loss
        carryover left at the end, USD over the book.
        """
        ours, naive = self.policies["ours"], self.policies["naive"]
        saved = self.saved_vs_fees
        return {
            "dispersion_ours": ours.dispersion * 100,
            "dispersion_naive": naive.dispersion * 100,
            "tax_ours": ours.tax_total,
            "tax_naive": naive.tax_total,
            "te_ours": ours.tracking_error * 100,
            "te_naive": naive.tracking_error * 100,
            "harvest_peak_month_pct": ours.harvest_peak_month * 100,
            "liq_tax_ours": ours.liquidation_tax,
            "liq_tax_naive": naive.liquidation_tax,
            "after_tax_ours": (1.0 + ours.after_tax_liquidation_return) * 100,
            "after_tax_naive": (1.0 + naive.after_tax_liquidation_return) * 100,
            "dispersion_composite_ours": ours.dispersion_composite * 100,
            "dispersion_composite_naive": naive.dispersion_composite * 100,
            "dispersion_cash_ours": ours.dispersion_cash * 100,
            "dispersion_cash_naive": naive.dispersion_cash * 100,
            "taxes_saved": saved["taxes_saved"],
            "fees": saved["fees"],
            "accounts_saved_over_fees_pct": saved["accounts_saved_over_fees"] * 100,
            "value_saved_over_fees_pct": saved["value_saved_over_fees"] * 100,
            # Paired (same book): ours minus the baseline, so the interval is of the difference.
            "after_tax_ours_minus_naive": (
                ours.after_tax_liquidation_return - naive.after_tax_liquidation_return
            )
            * 100,
            "turnover_ours_pct": ours.turnover * 100,
            "turnover_naive_pct": naive.turnover * 100,
            "carryover_end_ours": ours.carryover_end,
            "carryover_end_naive": naive.carryover_end,
            "budget_overshoots": self.solver.get("budget_overshoots", 0.0),
            "tax_with_liquidation_saved_pct": (
                1.0
                - (ours.tax_total + ours.liquidation_tax)
                / (naive.tax_total + naive.liquidation_tax)
            )
            * 100
            if naive.tax_total + naive.liquidation_tax
            else math.nan,
        }

    def summary_line(self) -> str:
        """The run's last line (the issue's exact format), for this one seed."""
        return summary_line(self.accounts, self.figures(), seeds=1)


# The summary line's fields in order, with their decimals (issue 9's first, then issue 16's).
LINE_FIELDS: tuple[tuple[str, int], ...] = (
    ("dispersion_ours", 3),
    ("dispersion_naive", 3),
    ("tax_ours", 0),
    ("tax_naive", 0),
    ("te_ours", 3),
    ("te_naive", 3),
    ("harvest_peak_month_pct", 2),
    ("liq_tax_ours", 0),
    ("liq_tax_naive", 0),
    ("after_tax_ours", 3),
    ("after_tax_naive", 3),
    ("dispersion_composite_ours", 3),
    ("dispersion_composite_naive", 3),
)


def summary_line(accounts: int, figures: dict[str, float], seeds: int) -> str:
    """``backtest accounts=<n> <field>=<value> ... seeds=<n>`` (``BacktestResult.figures``)."""
    values = " ".join(f"{name}={figures[name]:.{decimals}f}" for name, decimals in LINE_FIELDS)
    return f"backtest accounts={accounts} {values} seeds={seeds}"


def model_returns(data: PriceData, targets: FloatArray) -> FloatArray:
    """Daily model returns (index t: from t-1 to t; index 0 is 0)."""
    ratios = data.closes[1:] / data.closes[:-1] - 1.0
    return np.concatenate([[0.0], ratios @ targets])


def daily_returns(run: AccountRun) -> FloatArray:
    """The run's daily time-weighted returns from the day after funding."""
    values = run.values
    previous = values[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = (values[1:] - run.flows[1:]) / previous - 1.0
    return np.where(previous > 0, returns, 0.0)


def _year_rows(run: AccountRun) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    short: dict[int, Decimal] = defaultdict(lambda: ZERO)
    long: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in run.realized:
        year = run.trade_dates[row.sell_id].year
        if row.term is Term.SHORT:
            short[year] += row.reportable_gain_loss
        else:
            long[year] += row.reportable_gain_loss
    return short, long


def account_taxes(
    run: AccountRun, account: SimAccount, first_year: int, last_year: int
) -> tuple[dict[int, float], tuple[Decimal, Decimal]]:
    """Tax per year (Schedule D netting with carryover) and the carryover left (short, long)."""
    short, long = _year_rows(run)
    years = [YearInput(y, short[y], long[y]) for y in range(first_year, last_year + 1)]
    results = carryforward(FilingStatus.MARRIED_FILING_JOINTLY, years)
    taxes = {r.year: _tax(r, account, r.year) for r in results}
    last = results[-1]
    return taxes, (last.carryover_out_short_term, last.carryover_out_long_term)


def liquidation_tax(
    run: AccountRun, account: SimAccount, data: PriceData, end: int, carry: tuple[Decimal, Decimal]
) -> float:
    """Tax on selling every open lot at the last close (netted with the remaining carryover)."""
    index = {s: i for i, s in enumerate(data.symbols)}
    day = data.dates[end]
    short = long = ZERO
    for lot in run.lots_open:
        value = Decimal(repr(float(data.closes[end, index[lot.symbol]]))) * lot.quantity
        gain = value - lot.adjusted_basis
        if is_long_term(lot.holding_period_start, day):
            long += gain
        else:
            short += gain
    year = schedule_d_year(
        year=day.year + 1,
        filing_status=FilingStatus.MARRIED_FILING_JOINTLY,
        short_term_net=short,
        long_term_net=long,
        carryover_in_short_term=carry[0],
        carryover_in_long_term=carry[1],
    )
    return _tax(year, account, day.year)


def _tax(year: YearResult, account: SimAccount, rates_year: int) -> float:
    """``estimated_tax`` of a netted year at the account's rates of ``rates_year`` (USD)."""
    short_rate, long_rate = account.rates(rates_year)
    return float(
        estimated_tax(year, short_rate=Decimal(str(short_rate)), long_rate=Decimal(str(long_rate)))
    )


def dispersion_by_year(
    figures: list[AccountFigures], composite: bool = False
) -> dict[int, tuple[float, int]]:
    """Per calendar year: (sample std of annual returns, accounts), years with >= 3 accounts.

    Args:
        figures: The accounts (of one policy).
        composite: Count only the years an account was a composite member for.
    """
    by_year: dict[int, list[float]] = defaultdict(list)
    for f in figures:
        for year, value in f.annual_returns.items():
            if not composite or year in f.composite_years:
                by_year[year].append(value)
    return {
        y: (float(np.std(v, ddof=1)), len(v)) for y, v in sorted(by_year.items()) if len(v) >= 3
    }


def dispersion_of(figures: list[AccountFigures], composite: bool = False) -> float:
    """Mean over calendar years of the cross-account std of annual returns (>= 3 accounts)."""
    stds = [std for std, _ in dispersion_by_year(figures, composite).values()]
    return float(np.mean(stds)) if stds else math.nan


def composite_years(
    run: AccountRun, model: FloatArray, years: dict[int, tuple[int, int]]
) -> frozenset[int]:
    """Years whose first day finds the account's transition finished (module docstring).

    Args:
        run: The account's run.
        model: Target weights of the names then cash (sum 1).
        years: Calendar year -> (first, last) day index, the window's complete years.
    """
    members: set[int] = set()
    for year, (first, _) in years.items():
        if run.funded_day > first:
            continue
        if run.funded_day == first:
            weights = run.funded_weights
        else:
            before = [i for i, t in enumerate(run.month_end_days) if t < first]
            if not before:
                continue
            weights = run.month_end_weights[before[-1]]
        if 0.5 * float(np.abs(weights - model).sum()) <= COMPOSITE_ACTIVE_SHARE:
            members.add(year)
    return frozenset(members)


def compute(
    *,
    runs: list[AccountRun],
    book: tuple[SimAccount, ...],
    data: PriceData,
    start: int,
    end: int,
    targets: FloatArray,
    fee_rate: float,
) -> tuple[dict[str, PolicyFigures], list[AccountFigures], dict[str, float], str]:
    """Per-account and per-policy figures, taxes saved vs fees and the harvest cohort's label."""
    by_id = {a.account_id: a for a in book}
    model = model_returns(data, targets)
    dates = data.dates
    first_year, last_year = dates[start].year, dates[end].year
    cohort_before = dates[start].replace(year=first_year + 1, month=1, day=1)
    cohort_label = f"funded before {cohort_before.isoformat()}"
    # Calendar years fully inside the window.
    years: dict[int, tuple[int, int]] = {}
    for y in range(first_year, last_year + 1):
        days = [t for t in range(start, end + 1) if dates[t].year == y]
        if not days:
            continue
        complete = (days[0] == 0 or dates[days[0] - 1].year < y) and (
            days[-1] == len(dates) - 1 or dates[days[-1] + 1].year > y
        )
        if complete:
            years[y] = (days[0], days[-1])

    figures: list[AccountFigures] = []
    model_with_cash = np.append(targets, 1.0 - float(targets.sum()))
    month_losses: dict[str, dict[str, float]] = {p: defaultdict(float) for p in POLICIES}
    month_values: dict[str, dict[str, float]] = {p: defaultdict(float) for p in POLICIES}
    for run in runs:
        account = by_id[run.account_id]
        funded = run.funded_day
        returns = daily_returns(run)
        active = returns - model[funded + 1 : end + 1]
        te = (
            float(np.std(active, ddof=1) * math.sqrt(TRADING_DAYS))
            if len(active) > 20
            else math.nan
        )
        annual_returns: dict[int, float] = {}
        for year, (first, last) in years.items():
            if funded <= first:
                segment = returns[max(first - funded - 1, 0) : last - funded]
                annual_returns[year] = float(np.prod(1.0 + segment) - 1.0)
        funded_year = dates[funded].year
        taxes, carry = account_taxes(run, account, funded_year, last_year)
        carry_total = float(carry[0] + carry[1])
        liquidation = liquidation_tax(run, account, data, end, carry)
        # Losses by month, relative to value at the previous month end.
        # Losses on legacy lots (embedded before funding) and losses realized in the first 31
        # days are transition losses: in losses_realized, not in the monthly harvest.
        losses: dict[str, float] = defaultdict(float)
        transition_losses = 0.0
        settled = dates[funded] + timedelta(days=TRANSITION_DAYS)
        legacy_lots = {t.id for t in run.trades if AccountLedger.is_legacy(t)}
        for row in run.realized:
            if row.reportable_gain_loss < 0:
                sold = run.trade_dates[row.sell_id]
                if sold < settled or row.lot_id in legacy_lots:
                    transition_losses += -float(row.reportable_gain_loss)
                else:
                    losses[sold.strftime("%Y-%m")] += -float(row.reportable_gain_loss)
        peak = 0.0
        month_start_value = run.values[0]
        for offset in range(len(run.values)):
            t = funded + offset
            label = dates[t].strftime("%Y-%m")
            if offset == 0 or dates[t - 1].month != dates[t].month:
                month_start_value = run.values[offset - 1] if offset else run.values[0]
                if month_start_value > 0:
                    peak = max(peak, losses.get(label, 0.0) / month_start_value)
                    if dates[funded] < cohort_before:
                        month_losses[run.policy][label] += losses.get(label, 0.0)
                        month_values[run.policy][label] += month_start_value
        start_value = float(account.initial_cash) + sum(
            lot.shares * float(data.closes[funded, lot.symbol_index]) for lot in account.legacy_lots
        )
        end_value = float(run.values[-1])
        net_deposits = float(run.flows.sum())
        gain = end_value - start_value - net_deposits
        tax_total = sum(taxes.values())
        own = [t for t in run.trades if not AccountLedger.is_legacy(t)]
        traded = sum(float(t.amount) for t in own)
        years_live = max((end - funded) / TRADING_DAYS, 1.0 / TRADING_DAYS)
        mean_value = float(np.mean(run.values))
        figures.append(
            AccountFigures(
                account_id=run.account_id,
                policy=run.policy,
                kind=account.kind,
                funded_day=funded,
                start_value=start_value,
                end_value=end_value,
                tracking_error=te,
                taxes_by_year=taxes,
                tax_total=tax_total,
                liquidation_tax=liquidation,
                carryover_end=carry_total,
                realized_net=float(sum((r.reportable_gain_loss for r in run.realized), ZERO)),
                losses_realized=sum(losses.values()) + transition_losses,
                wash_disallowed=float(sum((r.wash_sale_disallowed for r in run.realized), ZERO)),
                after_tax_return=(gain - tax_total) / start_value,
                after_tax_liquidation_return=(gain - tax_total - liquidation) / start_value,
                pre_tax_return=float(np.prod(1.0 + returns) - 1.0),
                mean_value=mean_value,
                years_live=years_live,
                peak_month_harvest=peak,
                annual_returns=annual_returns,
                composite_years=composite_years(run, model_with_cash, years),
                trades=len(own),
                turnover=traded / mean_value / years_live if mean_value > 0 else 0.0,
            )
        )

    # Active-weight dispersion at month ends.
    weight_series: dict[str, list[tuple[int, float]]] = {}
    for policy in POLICIES:
        by_day: dict[int, list[FloatArray]] = defaultdict(list)
        for run in runs:
            if run.policy == policy:
                for t, w in zip(run.month_end_days, run.month_end_weights, strict=True):
                    by_day[t].append(w)
        series = [
            (t, float(np.std(np.array(ws), axis=0, ddof=1).mean()))
            for t, ws in sorted(by_day.items())
            if len(ws) >= 3
        ]
        weight_series[policy] = series

    policies: dict[str, PolicyFigures] = {}
    for policy in POLICIES:
        rows = [f for f in figures if f.policy == policy]
        by_year = dispersion_by_year(rows)
        months = sorted(month_values[policy])
        harvest = [
            (m, month_losses[policy][m] / month_values[policy][m])
            for m in months
            if month_values[policy][m] > 0
        ]
        peak_label, peak_value = max(harvest, key=lambda item: item[1]) if harvest else ("", 0.0)
        taxes_by_year: dict[int, float] = defaultdict(float)
        for f in rows:
            for y, v in f.taxes_by_year.items():
                taxes_by_year[y] += v
        tes = [f.tracking_error for f in rows if not math.isnan(f.tracking_error)]
        policies[policy] = PolicyFigures(
            policy=policy,
            dispersion=float(np.mean([s for s, _ in by_year.values()])) if by_year else math.nan,
            dispersion_by_year=by_year,
            dispersion_composite=dispersion_of(rows, composite=True),
            dispersion_composite_by_year=dispersion_by_year(rows, composite=True),
            dispersion_cash=dispersion_of([f for f in rows if f.kind == "cash"]),
            active_weight_dispersion=float(np.mean([v for _, v in weight_series[policy]]))
            if weight_series[policy]
            else math.nan,
            active_weight_dispersion_series=weight_series[policy],
            tracking_error=float(np.mean(tes)) if tes else math.nan,
            tracking_error_median=float(np.median(tes)) if tes else math.nan,
            tax_total=sum(f.tax_total for f in rows),
            taxes_by_year=dict(sorted(taxes_by_year.items())),
            liquidation_tax=sum(f.liquidation_tax for f in rows),
            carryover_end=sum(f.carryover_end for f in rows),
            losses_realized=sum(f.losses_realized for f in rows),
            wash_disallowed=sum(f.wash_disallowed for f in rows),
            harvest_by_month=harvest,
            harvest_peak_month=peak_value,
            harvest_peak_label=peak_label,
            after_tax_return=float(np.mean([f.after_tax_return for f in rows])),
            after_tax_liquidation_return=float(
                np.mean([f.after_tax_liquidation_return for f in rows])
            ),
            pre_tax_return=float(np.mean([f.pre_tax_return for f in rows])),
            turnover=float(np.mean([f.turnover for f in rows])),
            trades=sum(f.trades for f in rows),
        )

    ours = {f.account_id: f for f in figures if f.policy == "ours"}
    naive = {f.account_id: f for f in figures if f.policy == "naive"}
    wins = weight_win = weight_all = 0.0
    saved_total = fees_total = 0.0
    for account_id, mine in ours.items():
        other = naive[account_id]
        saved = other.tax_total - mine.tax_total
        fee = fee_rate * mine.mean_value * mine.years_live
        saved_total += saved
        fees_total += fee
        wins += saved > fee
        weight_all += mine.mean_value
        weight_win += mine.mean_value if saved > fee else 0.0
    saved_vs_fees = {
        "fee_rate": fee_rate,
        "taxes_saved": saved_total,
        "fees": fees_total,
        "accounts_saved_over_fees": wins / max(len(ours), 1),
        "value_saved_over_fees": weight_win / weight_all if weight_all else 0.0,
    }
    return policies, figures, saved_vs_fees, cohort_label
