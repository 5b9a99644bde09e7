"""A documented synthetic book of accounts for the demo, the book benchmark and worker tests.

Generator (seeded, deterministic for a seed and the securities in the database):
- Universe: ``names`` stocks that have a close on ``as_of`` (a seeded sample of the security
  master's priced stocks), cap-like model weights (log-normal), 1% cash; one model version.
- Households: one taxable account each; every fourth household also has a traditional IRA.
- Holdings: each account holds about 90% of the model's names, drifted from target by a
  log-normal factor (sigma 0.35), in 1 to 8 lots per name, acquired 1 day to 5 years before
  ``as_of``; a lot's cost per share is the ``as_of`` close times exp(N(-0.08 x age in years,
  0.3)), so older lots tend to carry gains and some lots carry losses.
- Value about 600 USD per name (the median position of a 500-name direct index), cash 0.5%-3%.
- Lots are booked as opening-lot ledger entries and the ledger is replayed per household, so
  lots are exactly what the tax-lot engine derives; the tables' planner statistics are refreshed
  before the commit, as after a large custodian import.

``synthetic_book_customize`` then gives the accounts the customization real books carry (see
its docstring); the book benchmark applies it, so its figures include per-account targets,
gains budgets and cash needs.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
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
from apps.common.money import round_money, round_shares_down, to_decimal
from apps.common.tenancy import require_tenant_schema
from apps.models.models import ModelTarget
from apps.models.services import model_create, model_version_create
from apps.restrictions.models import Restriction, RestrictionKind
from apps.restrictions.services import restriction_add
from apps.securities.models import SecurityKind
from apps.securities.selectors import price_map_get, security_list

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


@transaction.atomic
def synthetic_book_create(
    *,
    households: int,
    names: int,
    as_of: date,
    seed: int = 0,
    model_code: str = "SYNTH",
    acting_user: Any | None = None,
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
    prices = np.array([float(quotes[s].close_price) for s in symbols])
    target = np.array([float(w) for w in weights])
    entries: list[Transaction] = []
    accounts: list[Account] = []
    for h in range(households):
        household = Household.objects.create(
            external_id=f"SYN-{seed}-{h:05d}", name=f"Household {h:05d}"
        )
        registrations = ["taxable"] + (["traditional_ira"] if h % 4 == 3 else [])
        for registration in registrations:
            account = Account.objects.create(
                household=household,
                custodian="schwab" if h % 2 == 0 else "fidelity",
                number=f"S{seed}-{h:05d}-{registration[:3].upper()}",
                name=f"Household {h:05d} {registration.replace('_', ' ')}",
                registration=registration,
                model=model,
                opened_on=as_of - timedelta(days=5 * 365),
            )
            accounts.append(account)
            entries += _holdings(rng, account, symbols, prices, target, as_of)
    Transaction.objects.bulk_create(entries, batch_size=5000)
    for household in Household.objects.filter(external_id__startswith=f"SYN-{seed}-"):
        ledger_rebuild(household=household)
    statistics_refresh(Household, Account, Transaction, TaxLot, RealizedGain, WashSaleMatch)
    lots = sum(1 for e in entries if e.kind == TransactionKind.BUY)
    return SyntheticBook(model.pk, symbols, households, len(accounts), lots)


def _holdings(
    rng: np.random.Generator,
    account: Account,
    symbols: tuple[str, ...],
    prices: np.ndarray,
    target: np.ndarray,
    as_of: date,
) -> list[Transaction]:
    value = 600.0 * len(symbols)
    held = rng.random(len(symbols)) < 0.9
    drifted = target * np.exp(rng.normal(0.0, 0.35, len(symbols))) * held
    cash_rate = rng.uniform(0.005, 0.03)
    drifted *= (1.0 - cash_rate) / drifted.sum()
    entries = [
        Transaction(
            account=account,
            external_id="deposit-0",
            kind=TransactionKind.DEPOSIT,
            trade_on=as_of - timedelta(days=5 * 365 + 1),
            amount=round_money(to_decimal(cash_rate * value)),
        )
    ]
    for i in np.flatnonzero(drifted > 0):
        total_shares = drifted[i] * value / prices[i]
        for j, part in enumerate(rng.dirichlet(np.ones(int(rng.integers(1, 9))))):
            shares = round_shares_down(to_decimal(float(total_shares * part)), whole=False)
            if shares <= 0:
                continue
            age = int(rng.integers(1, 5 * 365))
            ratio = float(np.exp(rng.normal(-0.08 * age / 365.0, 0.3)))
            acquired = as_of - timedelta(days=age)
            entries.append(
                Transaction(
                    account=account,
                    external_id=f"lot-{symbols[i]}-{j}",
                    kind=TransactionKind.BUY,
                    trade_on=acquired,
                    symbol=symbols[i],
                    shares=shares,
                    amount=round_money(shares * to_decimal(float(prices[i] * ratio))),
                    is_opening_lot=True,
                    holding_period_start_on=acquired,
                    source="synthetic book generator",
                )
            )
    return entries


CUSTOMIZATION = "synthetic book customization"


@transaction.atomic
def synthetic_book_customize(*, as_of: date, acting_user: Any | None = None) -> int:
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
        if i % 10 == 0:
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
