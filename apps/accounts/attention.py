"""Which accounts need attention: drift beyond tolerance, losses to harvest, cash due, budget.

Set-based: one query for accounts, one for lots, one for prices, one per model for targets.
The scan measures drift against the model's flattened target (restrictions are applied by the
run itself); it is a to-do list, not a trade decision.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings

from apps.accounts.cash import withdrawals_due
from apps.accounts.models import Account, Registration, TaxLot
from apps.common.money import ZERO
from apps.models.models import ModelPortfolio
from apps.models.selectors import model_flatten
from apps.securities.selectors import price_map_get


@dataclass(frozen=True)
class Attention:
    """One account and why it needs a look."""

    account_id: int
    reasons: tuple[str, ...]
    is_drift: bool
    is_harvest: bool
    is_cash_due: bool
    is_budget_nearly_used: bool = False


BUDGET_NEARLY_USED_RATE = Decimal("0.9")


def accounts_needing_attention(*, as_of: date) -> list[Attention]:
    """Accounts with a model that drift, have harvestable losses or need cash soon."""
    accounts = list(Account.objects.filter(model__isnull=False))
    lots = list(  # a join, not a list of ids: a book may hold more than 65,535 accounts
        TaxLot.objects.filter(account__model__isnull=False, has_basis=True).values_list(
            "account_id", "symbol", "shares", "adjusted_basis_amount"
        )
    )
    quotes = price_map_get(symbols={lot[1] for lot in lots}, as_of=as_of)
    targets = {
        m.pk: model_flatten(model=m, as_of=as_of).weights
        for m in ModelPortfolio.objects.filter(pk__in={a.model_id for a in accounts})
    }
    values: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    losers: dict[int, set[str]] = defaultdict(set)
    by_id = {a.pk: a for a in accounts}
    for account_id, symbol, shares, basis in lots:
        quote = quotes.get(symbol)
        if quote is None:
            continue
        value = shares * quote.close_price
        values[account_id][symbol] += value
        account = by_id[account_id]
        if (
            account.registration == Registration.TAXABLE
            and account.is_harvesting_enabled
            and basis
            and value < basis * (1 - account.harvest_threshold_rate)
        ):
            losers[account_id].add(symbol)
    found = []
    for account in accounts:
        reasons = []
        held = values.get(account.pk, {})
        total = account.cash_amount + sum(held.values(), ZERO)
        target = targets.get(account.model_id, {})
        drift = ZERO
        if total > 0:
            drift = max(
                (
                    abs(held.get(s, ZERO) / total - target.get(s, ZERO))
                    for s in set(held) | set(target)
                ),
                default=ZERO,
            )
        is_drift = drift > account.drift_tolerance_rate
        if is_drift:
            reasons.append(f"drift {drift:.2%} > tolerance {account.drift_tolerance_rate:.2%}")
        if losers.get(account.pk):
            names = sorted(losers[account.pk])
            reasons.append(f"harvest: {len(names)} name(s) under water ({', '.join(names[:5])})")
        due = withdrawals_due(
            account=account, as_of=as_of, horizon_days=settings.OPTIMIZER_CASH_HORIZON_DAYS
        )
        need = due + account.cash_reserve_amount
        is_cash_due = due > 0 and account.cash_amount < need
        if is_cash_due:
            reasons.append(
                f"cash due {need:.2f} (withdrawals and reserve), cash {account.cash_amount:.2f}"
            )
        if reasons:
            found.append(
                Attention(
                    account.pk, tuple(reasons), is_drift, bool(losers.get(account.pk)), is_cash_due
                )
            )
    return found
