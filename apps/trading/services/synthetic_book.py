"""A documented synthetic book of accounts for the demo, the book benchmark and worker tests.

Generator (seeded, deterministic for a seed and the prices in the database):
- Universe: ``names`` stocks that have a close on ``as_of`` (a seeded sample of the security
  master's priced stocks), cap-like model weights (log-normal), 1% cash; one model version.
- Households: one taxable account each; every fourth household also has a traditional IRA.
- Account values: log-normal, median 400,000 USD, sigma 0.8, redrawn until within
  100,000..5,000,000 USD (``VALUE_MEDIAN_AMOUNT``, ``VALUE_SIGMA``, ``VALUE_RANGE``), like a
  wealth manager's book: many accounts of a few hundred thousand, a few of several million.
  Cash 0.5%-3% of the value.
- Share counts: one account in five allows fractional shares (``is_fractional_shares``; its
  lots carry up to 3 decimals, as dividend reinvestment leaves them); every other account holds
  whole shares only. A name whose target is worth less than one share is not held.
- Holdings: each account holds about 90% of the model's names, drifted from target by a
  log-normal factor (sigma 0.35).
- Lot histories: the account was opened 1 to 12 years before ``as_of`` and funded then; 1 to 6
  later purchases (contributions, rebalances) follow at random dates. Each name's shares are
  split across the purchases it took part in, so a name has 1 to 7 lots of different dates. A
  lot's cost per share is the security's close on its purchase date where the database has one;
  before the earliest stored close, that close times exp(N(-0.08 x years before it, 0.25)), so
  older lots mostly carry long-term gains and recent ones are often at a loss.
- Lots are booked as opening-lot ledger entries and the ledger is replayed per household, so
  lots are exactly what the tax-lot engine derives; the tables' planner statistics are refreshed
  before the commit, as after a large custodian import.

``synthetic_book_customize`` then gives the accounts the customization real books carry (see
its docstring); the book benchmark applies it, so its figures include per-account targets,
gains budgets and cash needs.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction

from apps.accounts.models import (
    Account,
    BudgetKind,
    Household,
    RealizedGain,
    TaxLot,
    Transaction,
    TransactionKind,
    WashSaleMatch,
    WithdrawalFrequency,
)
from apps.accounts.services.ledger import ledger_rebuild
from apps.common.bulk import statistics_refresh
from apps.common.money import round_money, to_decimal
from apps.common.tenancy import require_tenant_schema
from apps.models.models import ModelTarget
from apps.models.services import model_create, model_version_create
from apps.restrictions.models import Restriction, RestrictionKind
from apps.restrictions.services import restriction_add
from apps.securities.models import SecurityKind
from apps.securities.selectors import price_history_get, price_map_get, security_list

WEIGHT_QUANTUM = Decimal("0.00000001")


@dataclass(frozen=True)
class SyntheticBook:
    """What was created."""

    model_id: int
    symbols: tuple[str, ...]
    households: int
    accounts: int
    lots: int


def _model_weights(rng: np.random.Generator, count: int) -> list[Decimal]:
    """Cap-like weights summing exactly to 0.99 at 8 decimal places."""
    cap = np.exp(rng.normal(0.0, 1.0, count))
    raw = cap / cap.sum() * 0.99
    weights = [to_decimal(float(w)).quantize(WEIGHT_QUANTUM) for w in raw]
    weights[int(np.argmax(raw))] += Decimal("0.99") - sum(weights)
    return weights


VALUE_MEDIAN_AMOUNT = 400_000.0  # USD
VALUE_SIGMA = 0.8  # of the log value
VALUE_RANGE = (100_000.0, 5_000_000.0)  # USD, inclusive
FRACTIONAL_SHARE = 0.2  # of accounts that allow fractional shares
FRACTION_QUANTUM = Decimal("0.001")  # shares, in fractional accounts


def account_value_draw(rng: np.random.Generator) -> float:
    """An account's value (USD): log-normal around the median, redrawn until within the range."""
    low, high = VALUE_RANGE
    while True:
        value = float(np.exp(rng.normal(np.log(VALUE_MEDIAN_AMOUNT), VALUE_SIGMA)))
        if low <= value <= high:
            return value


@dataclass(frozen=True)
class _PriceBook:
    """Closes of the universe: ``as_of`` prices and the stored history before it (floats)."""

    symbols: tuple[str, ...]
    as_of: date
    latest: np.ndarray  # per symbol, USD
    history: Any  # pandas frame, dates x symbols, NaN where no close

    def cost(self, rng: np.random.Generator, column: int, on: date) -> float:
        """A plausible cost per share (USD) of ``symbols[column]`` bought on ``on``."""
        closes = self.history.iloc[:, column].dropna()
        if len(closes) and closes.index[0] <= on:
            return float(closes.loc[:on].iloc[-1])
        first_on, first = (
            (closes.index[0], float(closes.iloc[0])) if len(closes) else (self.as_of, 0.0)
        )
        base = first or float(self.latest[column])
        years = (first_on - on).days / 365.0
        return base * float(np.exp(rng.normal(-0.08 * years, 0.25)))


@transaction.atomic
def synthetic_book_create(
    *,
    households: int,
    names: int,
    as_of: date,
    seed: int = 0,
    model_code: str = "SYNTH",
    acting_user: User | None = None,
) -> SyntheticBook:
    """Create a model on ``names`` priced stocks and ``households`` households holding it.

    Raises:
        ValueError: fewer than ``names`` stocks are priced on ``as_of``.
    """
    require_tenant_schema()
    rng = np.random.default_rng(seed)
    candidates = sorted(
        security_list(filters={"kind": SecurityKind.STOCK}).values_list("symbol", flat=True)
    )
    quotes = price_map_get(symbols=candidates, as_of=as_of)
    priced = [s for s in candidates if s in quotes and quotes[s].priced_on == as_of]
    if len(priced) < names:
        raise ValueError(f"only {len(priced)} stocks are priced on {as_of}; need {names}")
    symbols = tuple(sorted(rng.choice(priced, size=names, replace=False).tolist()))
    weights = _model_weights(rng, names)
    model = model_create(code=model_code, name=f"Synthetic {names}", acting_user=acting_user)
    model_version_create(
        model=model,
        effective_on=as_of - timedelta(days=365),
        cash_weight=Decimal("0.01"),
        security_weights=dict(zip(symbols, weights, strict=True)),
        acting_user=acting_user,
        note="synthetic book generator",
    )
    prices = _PriceBook(
        symbols=symbols,
        as_of=as_of,
        latest=np.array([float(quotes[s].close_price) for s in symbols]),
        history=price_history_get(
            symbols=symbols, start=as_of - timedelta(days=13 * 365), end=as_of
        ),
    )
    target = np.array([float(w) for w in weights])
    entries: list[Transaction] = []
    accounts: list[Account] = []
    for h in range(households):
        household = Household.objects.create(
            external_id=f"SYN-{seed}-{h:05d}", name=f"Household {h:05d}"
        )
        registrations = ["taxable"] + (["traditional_ira"] if h % 4 == 3 else [])
        for registration in registrations:
            opened_on = as_of - timedelta(days=int(rng.integers(365, 12 * 365)))
            account = Account.objects.create(
                household=household,
                custodian="schwab" if h % 2 == 0 else "fidelity",
                number=f"S{seed}-{h:05d}-{registration[:3].upper()}",
                name=f"Household {h:05d} {registration.replace('_', ' ')}",
                registration=registration,
                model=model,
                opened_on=opened_on,
                is_fractional_shares=bool(rng.random() < FRACTIONAL_SHARE),
            )
            accounts.append(account)
            entries += _holdings(rng, account, opened_on, prices, target, account_value_draw(rng))
    Transaction.objects.bulk_create(entries, batch_size=5000)
    for household in Household.objects.filter(external_id__startswith=f"SYN-{seed}-"):
        ledger_rebuild(household=household)
    statistics_refresh(Household, Account, Transaction, TaxLot, RealizedGain, WashSaleMatch)
    lots = sum(1 for e in entries if e.kind == TransactionKind.BUY)
    return SyntheticBook(model.pk, symbols, households, len(accounts), lots)


def _purchase_dates(rng: np.random.Generator, opened_on: date, as_of: date) -> list[date]:
    """The funding date, then 1 to 6 later purchases before ``as_of`` (distinct, sorted)."""
    span = (as_of - opened_on).days
    later = rng.integers(1, span, size=int(rng.integers(1, 7)))
    return [opened_on, *sorted({opened_on + timedelta(days=int(d)) for d in later})]


def _holdings(
    rng: np.random.Generator,
    account: Account,
    opened_on: date,
    prices: _PriceBook,
    target: np.ndarray,
    value: float,
) -> list[Transaction]:
    held = rng.random(len(target)) < 0.9
    drifted = target * np.exp(rng.normal(0.0, 0.35, len(target))) * held
    cash_rate = rng.uniform(0.005, 0.03)
    drifted *= (1.0 - cash_rate) / drifted.sum()
    entries = [
        Transaction(
            account=account,
            external_id="deposit-0",
            kind=TransactionKind.DEPOSIT,
            trade_on=opened_on,
            amount=round_money(to_decimal(cash_rate * value)),
        )
    ]
    dates = _purchase_dates(rng, opened_on, prices.as_of)
    # The funding buys most of the account; each later purchase adds a smaller slice.
    slices = rng.dirichlet(np.r_[4.0, np.ones(len(dates) - 1)])
    whole = not account.is_fractional_shares
    for i in np.flatnonzero(drifted > 0):
        total_shares = drifted[i] * value / prices.latest[i]
        if whole:
            parts = rng.multinomial(int(total_shares), slices).astype(float)
        else:
            parts = total_shares * rng.dirichlet(slices * 20.0 + 0.1)
        for j, part in enumerate(parts):
            shares = (
                Decimal(int(part))
                if whole
                else to_decimal(float(part)).quantize(FRACTION_QUANTUM, rounding=ROUND_DOWN)
            )
            if shares <= 0:
                continue
            acquired = dates[j]
            entries.append(
                Transaction(
                    account=account,
                    external_id=f"lot-{prices.symbols[i]}-{j}",
                    kind=TransactionKind.BUY,
                    trade_on=acquired,
                    symbol=prices.symbols[i],
                    shares=shares,
                    amount=round_money(shares * to_decimal(prices.cost(rng, int(i), acquired))),
                    is_opening_lot=True,
                    holding_period_start_on=acquired,
                    source="synthetic book generator",
                )
            )
    return entries


CUSTOMIZATION = "synthetic book customization"


@transaction.atomic
def synthetic_book_customize(*, as_of: date, acting_user: User | None = None) -> int:
    """Customize the synthetic book's accounts like a real book (idempotent); return how many.

    In account-id order: every 10th account never buys one of its model's names (a different
    name each, so these accounts get their own effective targets); every 3rd taxable account
    has an annual net-gains budget of 5,000 USD; every 25th account takes a monthly withdrawal
    of 2,000 USD starting 10 days after ``as_of``. Nothing changes if the book was customized.
    """
    require_tenant_schema()
    if Restriction.objects.filter(reason=CUSTOMIZATION).exists():
        return 0
    accounts = list(Account.objects.filter(model__isnull=False).order_by("pk"))
    names: dict[int, list[str]] = {}
    changed: set[int] = set()
    for i, account in enumerate(accounts):
        if i % 10 == 0 and account.model_id is not None:  # every account has a model (filter)
            if account.model_id not in names:
                names[account.model_id] = sorted(
                    ModelTarget.objects.filter(version__model_id=account.model_id)
                    .exclude(symbol="")
                    .order_by()
                    .values_list("symbol", flat=True)
                    .distinct()
                )
            symbols = names[account.model_id]
            restriction_add(
                kind=RestrictionKind.NEVER_BUY,
                value=symbols[(i // 10 * 7) % len(symbols)],
                starts_on=as_of - timedelta(days=30),
                account=account,
                reason=CUSTOMIZATION,
                acting_user=acting_user,
            )
            changed.add(account.pk)
        if i % 3 == 0 and account.registration == "taxable":
            account.budget_kind = BudgetKind.GAINS
            account.annual_budget_amount = Decimal("5000")
            changed.add(account.pk)
        if i % 25 == 0:
            account.withdrawal_amount = Decimal("2000")
            account.withdrawal_frequency = WithdrawalFrequency.MONTHLY
            account.next_withdrawal_on = as_of + timedelta(days=10)
            changed.add(account.pk)
    Account.objects.bulk_update(
        accounts,
        ["budget_kind", "annual_budget_amount", "withdrawal_amount", "withdrawal_frequency",
         "next_withdrawal_on"],
        batch_size=1000,
    )  # fmt: skip
    return len(changed)
