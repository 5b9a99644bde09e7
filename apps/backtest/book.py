"""Seeded generation of a book of accounts on one model (every draw from ``default_rng(seed)``).

Per account (``SimAccount``):

* **Funding day**: 35% of accounts are funded on the window's first trading day, the rest on a
  uniformly drawn trading day in the first two thirds of the window.
* **Kind** (how it arrives): ``cash`` 40% (new money, invested on the funding day), ``legacy``
  35% (8-16 of the universe's names at uneven weights, 1-4 lots each bought 1-12 years before
  funding at the real close of that day: large embedded gains), ``concentrated`` 25% (the same,
  but 1-3 names hold 50-80% of the value). Legacy lots are bought on trading days of the price
  file before the funding day; when the file starts later the oldest available day is used.
* **Value**: lognormal, median 1,000,000 USD (5%-95%: about 300k-3.3M).
* **Cash flows**: 30% withdraw a fixed amount on the first trading day of every month after the
  funding month (4-8% of the initial value a year); 15% deposit 5-15% of it once a year on the
  funding anniversary; the rest have none. Dividends are not simulated: prices are
  total-return (dividend-adjusted) closes, so a dividend is reinvested in the same name.
* **Rates** (combined marginal federal + NIIT + state): a federal bracket position (one of the
  year's four highest ordinary brackets: today 24/32/35/37%, long-term 15/15/20/20%, +3.8% NIIT)
  and a state rate (0, 5, 9.3 or 13.3%) applying to both terms; each year's federal rates come
  from ``rates.py`` (point in time: e.g. 28/31/36/39.6% and 28% long-term, no NIIT, in 1996).
* **Gains budget** (both policies): legacy and concentrated accounts get an annual net-gains
  budget of 2-8% of their initial value with probability 1/2; everyone else is unlimited.
* **Baseline timing**: a drift tolerance of 20-35% of each target weight (cash: 2 points) and,
  per calendar quarter after funding, a skip with probability 0.25 or else one rebalance day: a
  uniformly drawn week (1-13) of the quarter and weekday, moved to the next trading day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from apps.backtest.data import PriceData
from apps.backtest.rates import rates_in
from apps.optimizer.core.types import FloatArray

__all__ = ["LegacyLot", "SimAccount", "make_book", "model_weights"]

CASH_TARGET_WEIGHT = 0.01
SKIP_QUARTER_PROBABILITY = 0.25
# Positions among the year's four highest ordinary brackets (``rates.rates_in``), lowest first.
BRACKETS: tuple[int, ...] = (0, 1, 2, 3)
STATE_RATES: tuple[float, ...] = (0.0, 0.05, 0.093, 0.133)


@dataclass(frozen=True, slots=True)
class LegacyLot:
    """A lot the account arrives with: whole shares bought on ``acquired_on`` at that close."""

    symbol_index: int
    shares: int
    acquired_on: date
    price: float


@dataclass(frozen=True, slots=True)
class SimAccount:
    """One simulated account (see the module docstring for the distributions).

    Day fields are indexes into ``PriceData.dates``.
    """

    account_id: str
    kind: str  # "cash" | "legacy" | "concentrated"
    funded_day: int
    initial_value: float
    legacy_lots: tuple[LegacyLot, ...]
    initial_cash: float
    monthly_withdrawal: float  # USD on the first trading day of each later month (0: none)
    annual_deposit: float  # USD on each funding anniversary (0: none)
    bracket: int  # position in ``BRACKETS``
    state_rate: float  # fraction, on both terms
    gains_budget: float | None  # USD of net realized gains a calendar year (ours), None: none
    drift_tolerance: float  # baseline: relative to each target weight
    baseline_days: tuple[int, ...]  # baseline's scheduled rebalance days (after timing noise)

    def rates(self, year: int) -> tuple[float, float]:
        """(short-term, long-term) combined marginal rates in ``year``, fractions."""
        return rates_in(year, self.bracket, self.state_rate)


def model_weights(n: int, model: str, seed: int) -> FloatArray:
    """Target weights of the model (sum to 1 - cash target).

    Args:
        n: Number of names.
        model: "equal" or "cap" (lognormal cap-like weights, seeded).
        seed: Seed for "cap".
    """
    if model == "equal":
        raw = np.ones(n)
    elif model == "cap":
        raw = np.exp(np.random.default_rng(seed + 99).normal(0.0, 1.0, n))
    else:
        raise ValueError(f"model must be 'equal' or 'cap', got {model!r}")
    out: FloatArray = raw / raw.sum() * (1.0 - CASH_TARGET_WEIGHT)
    return out


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _next_quarter(day: date) -> date:
    month = day.month + 3
    return date(day.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def _baseline_days(
    data: PriceData, funded: int, end: int, rng: np.random.Generator
) -> tuple[int, ...]:
    days: list[int] = []
    funded_on = data.dates[funded]
    quarter = _quarter_start(funded_on)
    while quarter <= data.dates[end]:
        skip = rng.random() < SKIP_QUARTER_PROBABILITY
        week = int(rng.integers(0, 13))
        weekday = int(rng.integers(0, 5))
        if not skip:
            wanted = quarter + timedelta(days=7 * week + (weekday - quarter.weekday()) % 7)
            if wanted <= data.dates[end]:
                index = data.index_on_or_after(wanted)
                if funded < index <= end:
                    days.append(index)
        quarter = _next_quarter(quarter)
    return tuple(sorted(set(days)))


def make_book(
    data: PriceData,
    *,
    accounts: int,
    seed: int,
    start: int,
    end: int,
    targets: FloatArray,
) -> tuple[SimAccount, ...]:
    """Generate ``accounts`` accounts funded inside ``[start, end]`` (day indexes).

    Args:
        data: Prices (legacy lots use closes before the funding day).
        accounts: Number of accounts.
        seed: Random seed.
        start: First day of the window.
        end: Last day of the window.
        targets: Model weights (used to size the cash accounts' first purchase later).

    Returns:
        The accounts, in id order.
    """
    rng = np.random.default_rng(seed)
    n = len(data.symbols)
    span = max(1, (end - start) * 2 // 3)
    book: list[SimAccount] = []
    for number in range(accounts):
        funded = start if rng.random() < 0.35 else start + int(rng.integers(0, span))
        kind = str(rng.choice(["cash", "legacy", "concentrated"], p=[0.40, 0.35, 0.25]))
        value = float(np.exp(rng.normal(np.log(1_000_000.0), 0.72)))
        lots: list[LegacyLot] = []
        cash = value
        if kind != "cash":
            held = rng.choice(n, size=int(rng.integers(min(8, n), min(16, n) + 1)), replace=False)
            weights = rng.dirichlet(np.full(len(held), 0.8))
            if kind == "concentrated":
                top = int(rng.integers(1, 4))
                share = rng.uniform(0.5, 0.8)
                weights[:top] = weights[:top] / weights[:top].sum() * share
                weights[top:] = weights[top:] / weights[top:].sum() * (1.0 - share)
            cash_weight = rng.uniform(0.005, 0.03)
            for i, weight in zip(held, weights, strict=True):
                price_now = data.closes[funded, i]
                total_shares = int(weight * (1.0 - cash_weight) * value / price_now)
                count = int(rng.integers(1, 5))
                split = rng.dirichlet(np.ones(count))
                for part in split:
                    shares = int(total_shares * part)
                    if shares <= 0:
                        continue
                    age_days = int(rng.integers(365, 12 * 365))
                    bought_on = data.dates[funded] - timedelta(days=age_days)
                    day = data.index_on_or_after(max(bought_on, data.dates[0]))
                    day = min(day, max(funded - 1, 0))
                    lots.append(
                        LegacyLot(
                            symbol_index=int(i),
                            shares=shares,
                            acquired_on=data.dates[day],
                            price=float(data.closes[day, i]),
                        )
                    )
            invested = sum(lot.shares * data.closes[funded, lot.symbol_index] for lot in lots)
            cash = max(value - invested, 0.0)
        flow = rng.random()
        withdrawal = value * rng.uniform(0.04, 0.08) / 12.0 if flow < 0.30 else 0.0
        deposit = value * rng.uniform(0.05, 0.15) if 0.30 <= flow < 0.45 else 0.0
        bracket = BRACKETS[int(rng.integers(0, len(BRACKETS)))]
        state = STATE_RATES[int(rng.integers(0, len(STATE_RATES)))]
        budget = None
        if kind != "cash" and rng.random() < 0.5:
            budget = value * rng.uniform(0.02, 0.08)
        tolerance = float(rng.uniform(0.20, 0.35))
        book.append(
            SimAccount(
                account_id=f"A{number:04d}",
                kind=kind,
                funded_day=funded,
                initial_value=value,
                legacy_lots=tuple(
                    sorted(lots, key=lambda lot: (lot.acquired_on, lot.symbol_index))
                ),
                initial_cash=round(cash, 2),
                monthly_withdrawal=round(withdrawal, 2),
                annual_deposit=round(deposit, 2),
                bracket=bracket,
                state_rate=state,
                gains_budget=budget,
                drift_tolerance=tolerance,
                baseline_days=_baseline_days(data, funded, end, rng),
            )
        )
    return tuple(book)
