"""Reads of restrictions, outside holdings and substitutes, and an account's effective target."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_DOWN, Context, Decimal
from typing import Any

from django.db.models import Q, QuerySet

from apps.accounts.holdings import holdings_get
from apps.accounts.models import Account, Household, TaxLot
from apps.common.exceptions import ApplicationError
from apps.common.money import ZERO, round_money
from apps.models.selectors import model_flatten
from apps.restrictions.errors import RestrictionsErrorCode
from apps.restrictions.models import OutsideHolding, Restriction, RestrictionScope, Substitute
from apps.securities.selectors import price_map_get, security_map_get
from apps.targets import EffectiveTarget, OutsideExposure, Rule, RuleKind, SecurityInfo
from apps.targets import effective_target as compute_effective_target
from apps.targets.flatten import TargetError

_DIVIDE = Context(prec=60, rounding=ROUND_DOWN)
_QUANTUM = Decimal("1e-16")


def _in_force(rows: QuerySet[Restriction], as_of: date) -> QuerySet[Restriction]:
    return rows.filter(Q(starts_on__lte=as_of) & (Q(ends_on__isnull=True) | Q(ends_on__gt=as_of)))


def restrictions_in_force(*, account: Account, as_of: date) -> list[Restriction]:
    """Firm-wide, household and account restrictions in force on ``as_of`` (one query).

    In force means ``starts_on <= as_of < ends_on`` (open-ended without ``ends_on``).
    """
    rows = Restriction.objects.filter(
        Q(scope=RestrictionScope.FIRM)
        | Q(household_id=account.household_id)
        | Q(account_id=account.pk)
    )
    return list(_in_force(rows, as_of).order_by("scope", "kind", "value"))


def restriction_list(
    *,
    account: Account | None = None,
    household: Household | None = None,
    firm_only: bool = False,
    as_of: date | None = None,
) -> QuerySet[Restriction]:
    """Restrictions (ended ones included unless ``as_of`` is given), filtered by scope."""
    rows = Restriction.objects.select_related("account", "household", "created_by")
    if firm_only:
        rows = rows.filter(scope=RestrictionScope.FIRM)
    if account is not None:
        rows = rows.filter(account=account)
    if household is not None:
        rows = rows.filter(household=household)
    if as_of is not None:
        rows = _in_force(rows, as_of)
    return rows.order_by("-starts_on", "kind", "value", "-id")


def restriction_list_for_account(*, account: Account) -> QuerySet[Restriction]:
    """Every restriction touching the account (own, household, firm), newest first, ended too."""
    return (
        Restriction.objects.select_related("account", "household", "created_by")
        .filter(
            Q(scope=RestrictionScope.FIRM)
            | Q(household_id=account.household_id)
            | Q(account_id=account.pk)
        )
        .order_by("-starts_on", "kind", "value", "-id")
    )


def outside_holding_list_for_account(*, account: Account) -> list[OutsideHolding]:
    """The account's and its household's outside holdings."""
    return list(
        OutsideHolding.objects.filter(
            Q(account_id=account.pk) | Q(household_id=account.household_id)
        ).order_by("exposure_key", "id")
    )


def substitutes_map(*, symbols: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Symbol -> alternatives in rank order (all of the firm's, or only for ``symbols``)."""
    rows = Substitute.objects.order_by("symbol", "rank")
    if symbols is not None:
        rows = rows.filter(symbol__in=set(symbols))
    result: dict[str, list[str]] = {}
    for symbol, alternative in rows.values_list("symbol", "alternative"):
        result.setdefault(symbol, []).append(alternative)
    return result


def _household_value(account: Account, account_value: Decimal, as_of: date) -> Decimal:
    total = account_value
    for other in Account.objects.filter(household_id=account.household_id).exclude(pk=account.pk):
        total += holdings_get(account=other, as_of=as_of).total_value
    return total


def _exposures(
    holdings: list[OutsideHolding], account: Account, account_value: Decimal, as_of: date
) -> list[OutsideExposure]:
    exposures: list[OutsideExposure] = []
    household_value: Decimal | None = None
    for holding in holdings:
        reason = ", ".join(p for p in (holding.scope, holding.reason) if p)
        if holding.household_id is not None and holding.amount is not None:
            # A household's amount is shared by its accounts in proportion to their values:
            # each tilts by amount / household value, so together they offset the amount once.
            if household_value is None:
                household_value = _household_value(account, account_value, as_of)
            if household_value > ZERO:
                weight = min(_DIVIDE.divide(holding.amount, household_value), Decimal(1))
                exposures.append(
                    OutsideExposure(
                        holding.exposure_key,
                        weight=weight.quantize(_QUANTUM, context=_DIVIDE),
                        reason=reason,
                    )
                )
                continue
        exposures.append(
            OutsideExposure(
                holding.exposure_key, weight=holding.weight, amount=holding.amount, reason=reason
            )
        )
    return exposures


def _values_at_market(
    accounts: list[Account], as_of: date, lots: list[tuple[int, str, Decimal]] | None
) -> tuple[dict[int, dict[str, Decimal]], dict[int, Decimal]]:
    """Per account: value by symbol (priced lots only) and total value with cash (two queries).

    ``lots`` (account id, symbol, shares) may be passed by a caller that already read them.
    """
    if lots is None:
        lots = list(
            TaxLot.objects.filter(account__in=accounts).values_list(
                "account_id", "symbol", "shares"
            )
        )
    quotes = price_map_get(symbols={symbol for _, symbol, _ in lots}, as_of=as_of)
    values: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for account_id, symbol, shares in lots:
        quote = quotes.get(symbol)
        if quote is not None:
            values[account_id][symbol] += round_money(shares * quote.close_price)
    totals = {a.pk: a.cash_amount + sum(values[a.pk].values(), ZERO) for a in accounts}
    return values, totals


def effective_targets_get(
    *,
    accounts: list[Account],
    as_of: date,
    lots: list[tuple[int, str, Decimal]] | None = None,
) -> dict[int, EffectiveTarget | ApplicationError]:
    """Effective targets of many accounts in a few set-based queries (book runs use this).

    Per account the result is its target, or the ``ApplicationError`` that explains why it has
    none (no model, a model without a version in force, inconsistent weights). ``lots``
    (account id, symbol, shares) saves a query when the caller has read them already.
    """
    models = {a.model_id: a.model for a in accounts if a.model_id is not None}
    flats: dict[int, Any] = {}
    for model_id, model in models.items():
        try:
            flats[model_id] = model_flatten(model=model, as_of=as_of)
        except ApplicationError as exc:
            flats[model_id] = exc
    household_ids = {a.household_id for a in accounts}
    restrictions = list(
        _in_force(
            Restriction.objects.filter(
                Q(scope=RestrictionScope.FIRM)
                | Q(household_id__in=household_ids)
                | Q(account__in=accounts)
            ),
            as_of,
        ).order_by("scope", "kind", "value")
    )
    outside = list(
        OutsideHolding.objects.filter(
            Q(account__in=accounts) | Q(household_id__in=household_ids)
        ).order_by("exposure_key", "id")
    )
    values, totals = _values_at_market(accounts, as_of, lots)
    model_symbols = {s for f in flats.values() if not isinstance(f, Exception) for s in f.weights}
    substitutes = substitutes_map(symbols=model_symbols)
    held_symbols = {s for per in values.values() for s in per}
    symbols = model_symbols | held_symbols | {a for alts in substitutes.values() for a in alts}
    infos = {
        s.symbol: SecurityInfo(s.sector, s.industry, frozenset(s.esg_tags))
        for s in security_map_get(symbols=symbols).values()
    }
    results: dict[int, EffectiveTarget | ApplicationError] = {}
    for account in accounts:
        flat = flats.get(account.model_id) if account.model_id is not None else None
        if flat is None:
            results[account.pk] = ApplicationError(
                f"account {account.number} has no model",
                code=RestrictionsErrorCode.NO_MODEL,
                extra={"account_id": account.pk},
            )
            continue
        if isinstance(flat, ApplicationError):
            results[account.pk] = flat
            continue
        value = totals[account.pk]
        held = {
            symbol: _DIVIDE.divide(v, value).quantize(_QUANTUM, context=_DIVIDE)
            for symbol, v in values[account.pk].items()
            if value > ZERO
        }
        mine = [
            Rule(RuleKind(r.kind), r.value, r.reason, r.scope)
            for r in restrictions
            if r.scope == RestrictionScope.FIRM
            or r.household_id == account.household_id
            or r.account_id == account.pk
        ]
        own_outside = [
            h
            for h in outside
            if h.account_id == account.pk or h.household_id == account.household_id
        ]
        try:
            results[account.pk] = compute_effective_target(
                flat,
                securities=infos,
                rules=mine,
                outside=_exposures(own_outside, account, value, as_of),
                substitutes={k: v for k, v in substitutes.items() if k in flat.weights},
                held_weights=held,
                account_value=value,
            )
        except TargetError as exc:
            results[account.pk] = ApplicationError(
                str(exc), code=RestrictionsErrorCode.INVALID, extra={"account_id": account.pk}
            )
    return results


def effective_target_get(*, account: Account, as_of: date) -> EffectiveTarget:
    """The account's effective target on ``as_of`` with an explanation for every adjustment.

    Reads the model flattened on ``as_of`` (sleeves at their current versions), the
    restrictions in force (firm, household, account), outside holdings, the firm's substitutes,
    the securities' classifications and the account's holdings at market (never-sell weights,
    account value), then calls the pure ``apps.targets.effective_target``.

    Raises:
        ApplicationError: ``NO_MODEL`` (no model assigned), the model's flatten errors
            (``model_no_version``) or inconsistent weights.
    """
    result = effective_targets_get(accounts=[account], as_of=as_of)[account.pk]
    if isinstance(result, ApplicationError):
        raise result
    return result
