"""Reads of restrictions, outside holdings and substitutes, and an account's effective target."""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Context, Decimal
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from django.db.models import Q, QuerySet

from apps.accounts.holdings import holdings_get
from apps.accounts.models import Account, Household, TaxLot
from apps.common.exceptions import ApplicationError
from apps.common.money import (
    MICRO_DIGITS,
    ZERO,
    product_cents,
    product_fits,
    round_money,
)
from apps.models.selectors import model_flatten
from apps.restrictions.errors import RestrictionsErrorCode
from apps.restrictions.models import (
    FundScreenPolicy,
    OutsideHolding,
    Restriction,
    RestrictionKind,
    RestrictionScope,
    ScreenSettings,
    Substitute,
)
from apps.securities.selectors import fund_holdings_get, price_map_get, security_map_get
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


class LotShares(NamedTuple):
    """Open lots column-wise (a book run's chunk): shares in millionths, exact integers."""

    account_ids: npt.NDArray[np.int64]
    names: Sequence[str]  # distinct symbols
    codes: npt.NDArray[np.int64]  # per lot, its symbol's position in ``names``
    shares_micro: npt.NDArray[np.int64]  # shares × 10^6 (SHARES has 6 decimal places)


@dataclass(frozen=True)
class _MarketValues:
    """Accounts' holdings at market: totals with cash, and each account's value by symbol.

    ``by_symbol`` (account id -> {symbol: USD, each lot rounded to cents}) is called per account
    on demand: a book chunk needs it only for accounts with rules (never-sell floors, blocked
    holdings), and 45,000 Decimals per chunk of 100 500-name accounts cost more than the rest of
    the valuation.
    """

    totals: dict[int, Decimal]
    held_symbols: set[str]
    by_symbol: Callable[[int], dict[str, Decimal]]


def _values_at_market_columns(
    accounts: list[Account], as_of: date, lots: LotShares
) -> _MarketValues | None:
    """``_values_at_market`` over columns in integer cents (the same Decimal results).

    Returns None when a price has more than 6 decimal places or a product could overflow:
    the caller then takes the Decimal path.
    """
    names = lots.names
    quotes = price_map_get(symbols=names, as_of=as_of)
    price_micro = np.full(len(names), -1, dtype=np.int64)
    for j, symbol in enumerate(names):
        quote = quotes.get(symbol)
        if quote is None:
            continue
        exponent = quote.close_price.as_tuple().exponent
        if not isinstance(exponent, int) or exponent < -MICRO_DIGITS:
            return None
        price_micro[j] = int(quote.close_price.scaleb(MICRO_DIGITS))
    codes = lots.codes
    prices = price_micro[codes]
    priced = prices >= 0
    shares = lots.shares_micro[priced]
    prices = prices[priced]
    if not product_fits(shares, prices):
        return None
    cents = product_cents(shares, prices)
    pks = np.array([a.pk for a in accounts], dtype=np.int64)
    by_pk = np.argsort(pks, kind="stable")
    lot_accounts = lots.account_ids[priced]
    found = np.minimum(np.searchsorted(pks[by_pk], lot_accounts), max(len(pks) - 1, 0))
    known = (pks[by_pk][found] == lot_accounts) if len(pks) else np.zeros(len(lot_accounts), bool)
    positions = by_pk[found] if len(pks) else np.zeros(len(lot_accounts), np.int64)
    # One row per (account position, symbol code), in that order, with its cents.
    width = len(names)
    unique, inverse = np.unique(
        positions[known] * width + codes[priced][known], return_inverse=True
    )
    sums = np.zeros(len(unique), dtype=np.int64)
    np.add.at(sums, inverse, cents[known])
    row_position, row_code = np.divmod(unique, max(width, 1))
    per_position = np.zeros(len(accounts), dtype=np.int64)
    np.add.at(per_position, row_position, sums)
    slices: dict[int, slice] = {}
    bounds = np.searchsorted(row_position, np.arange(len(accounts) + 1))
    for position, account in enumerate(accounts):
        if bounds[position] < bounds[position + 1]:
            slices[account.pk] = slice(int(bounds[position]), int(bounds[position + 1]))
    totals = {
        a.pk: a.cash_amount + Decimal(int(total)).scaleb(-2)
        for a, total in zip(accounts, per_position.tolist(), strict=True)
    }
    held = {names[code] for code in np.unique(row_code).tolist()}

    def by_symbol(account_id: int) -> dict[str, Decimal]:
        where = slices.get(account_id, slice(0, 0))
        return {
            names[code]: Decimal(total).scaleb(-2)
            for code, total in zip(row_code[where].tolist(), sums[where].tolist(), strict=True)
        }

    return _MarketValues(totals, held, by_symbol)


def _values_at_market(
    accounts: list[Account],
    as_of: date,
    lots: list[tuple[int, str, Decimal]] | LotShares | None,
) -> _MarketValues:
    """Per account: value by symbol (priced lots only) and total value with cash (two queries).

    Each lot is valued at ``round_money(shares × close)``. ``lots`` (account id, symbol, shares),
    or the same as columns, may be passed by a caller that already read them.
    """
    if isinstance(lots, LotShares):
        done = _values_at_market_columns(accounts, as_of, lots)
        if done is not None:
            return done
        lots = [
            (account_id, lots.names[code], Decimal(shares).scaleb(-MICRO_DIGITS))
            for account_id, code, shares in zip(
                lots.account_ids.tolist(),
                lots.codes.tolist(),
                lots.shares_micro.tolist(),
                strict=True,
            )
        ]
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
    held = {symbol for per in values.values() for symbol in per}
    return _MarketValues(totals, held, lambda account_id: dict(values.get(account_id, {})))


def _fund_look_through(
    restrictions: Sequence[Restriction], symbols: Iterable[str], as_of: date
) -> tuple[dict[str, dict[str, Decimal]], bool]:
    """The funds' look-through holdings when a screen is in force, and the firm's policy.

    Two queries when a restriction screens something and the symbols include funds with
    holdings; none otherwise (no screen, nothing to look through).
    """
    if all(r.kind == RestrictionKind.NEVER_SELL for r in restrictions):
        return {}, False
    look_through = fund_holdings_get(funds=symbols, as_of=as_of)
    if not look_through:
        return {}, False
    return look_through, fund_screen_policy_get() == FundScreenPolicy.EXCLUDE


def fund_screen_policy_get() -> FundScreenPolicy:
    """The firm's choice for funds holding screened names: flag (the default) or exclude."""
    policy = ScreenSettings.objects.filter(pk=1).values_list("fund_screen_policy", flat=True)
    return FundScreenPolicy(policy.first() or FundScreenPolicy.FLAG)


def effective_targets_get(
    *,
    accounts: list[Account],
    as_of: date,
    lots: list[tuple[int, str, Decimal]] | LotShares | None = None,
) -> dict[int, EffectiveTarget | ApplicationError]:
    """Effective targets of many accounts in a few set-based queries (book runs use this).

    Per account the result is its target, or the ``ApplicationError`` that explains why it has
    none (no model, a model without a version in force, inconsistent weights). ``lots``
    (account id, symbol, shares), or ``LotShares`` columns, saves a query when the caller has
    read them already.
    """
    models = {model.pk: model for a in accounts if (model := a.model) is not None}
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
    market = _values_at_market(accounts, as_of, lots)
    model_symbols = {s for f in flats.values() if not isinstance(f, Exception) for s in f.weights}
    substitutes = substitutes_map(symbols=model_symbols)
    symbols = (
        model_symbols | market.held_symbols | {a for alts in substitutes.values() for a in alts}
    )
    look_through, exclude_funds = _fund_look_through(restrictions, symbols, as_of)
    infos = {
        s.symbol: SecurityInfo(s.sector, s.industry, frozenset(s.esg_tags))
        for s in security_map_get(
            symbols=symbols | {h for holdings in look_through.values() for h in holdings}
        ).values()
    }
    results: dict[int, EffectiveTarget | ApplicationError] = {}
    # Accounts with the same model, rules and exposures share one target: the pure function
    # reads held weights only for symbols a rule matches (never-sell floors, blocked holdings)
    # and the account's value only for outside amounts, so those are all the key needs.
    shared: dict[tuple[Any, ...], EffectiveTarget | TargetError] = {}
    unknown = SecurityInfo()
    for account in accounts:
        pk, household_id = account.pk, account.household_id
        flat = flats.get(account.model_id) if account.model_id is not None else None
        if flat is None:
            results[pk] = ApplicationError(
                f"account {account.number} has no model",
                code=RestrictionsErrorCode.NO_MODEL,
                extra={"account_id": pk},
            )
            continue
        if isinstance(flat, ApplicationError):
            results[pk] = flat
            continue
        value = market.totals[pk]
        rules = tuple(
            Rule(RuleKind(r.kind), r.value, r.reason, r.scope)
            for r in restrictions
            if r.scope == RestrictionScope.FIRM
            or r.household_id == household_id
            or r.account_id == pk
        )
        held = (
            {
                symbol: _DIVIDE.divide(v, value).quantize(_QUANTUM, context=_DIVIDE)
                for symbol, v in market.by_symbol(pk).items()
                if symbol in look_through
                or any(rule.matches(symbol, infos.get(symbol, unknown)) for rule in rules)
            }
            if value > ZERO and rules
            else {}
        )
        own_outside = [h for h in outside if h.account_id == pk or h.household_id == household_id]
        exposures = tuple(_exposures(own_outside, account, value, as_of))
        key = (
            account.model_id,
            rules,
            exposures,
            value if exposures else None,
            tuple(sorted(held.items())),
        )
        if key not in shared:
            try:
                shared[key] = compute_effective_target(
                    flat,
                    securities=infos,
                    rules=rules,
                    outside=exposures,
                    substitutes={k: v for k, v in substitutes.items() if k in flat.weights},
                    held_weights=held,
                    account_value=value,
                    as_of=as_of,
                    look_through=look_through,
                    exclude_screened_funds=exclude_funds,
                )
            except TargetError as exc:
                shared[key] = exc
        target = shared[key]
        results[pk] = (
            ApplicationError(
                str(target), code=RestrictionsErrorCode.INVALID, extra={"account_id": pk}
            )
            if isinstance(target, TargetError)
            else target
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
