"""Reads of restrictions, outside holdings and substitutes, and an account's effective target."""

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_DOWN, Context, Decimal

from django.db.models import Q, QuerySet

from apps.accounts.holdings import holdings_get
from apps.accounts.models import Account, Household
from apps.common.exceptions import ApplicationError
from apps.common.money import ZERO
from apps.models.selectors import model_flatten
from apps.restrictions.errors import RestrictionsErrorCode
from apps.restrictions.models import OutsideHolding, Restriction, RestrictionScope, Substitute
from apps.securities.selectors import security_map_get
from apps.targets import EffectiveTarget, OutsideExposure, Rule, RuleKind, SecurityInfo
from apps.targets import effective_target as compute_effective_target

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


def effective_target_get(*, account: Account, as_of: date) -> EffectiveTarget:
    """The account's effective target on ``as_of`` with an explanation for every adjustment.

    Reads the model flattened on ``as_of`` (sleeves at their current versions), the
    restrictions in force (firm, household, account), outside holdings, the firm's substitutes,
    the securities' classifications and the account's holdings at market (never-sell weights,
    account value), then calls the pure ``apps.targets.effective_target``.

    Raises:
        ApplicationError: ``NO_MODEL`` (no model assigned) or the model's flatten errors
            (``model_no_version``).
    """
    if account.model is None:
        raise ApplicationError(
            f"account {account.number} has no model",
            code=RestrictionsErrorCode.NO_MODEL,
            extra={"account_id": account.pk},
        )
    flat = model_flatten(model=account.model, as_of=as_of)
    restrictions = restrictions_in_force(account=account, as_of=as_of)
    holdings = holdings_get(account=account, as_of=as_of)
    account_value = holdings.total_value
    held = {
        p.symbol: _DIVIDE.divide(p.value, account_value).quantize(_QUANTUM, context=_DIVIDE)
        for p in holdings.positions
        if p.value is not None and account_value > ZERO
    }
    substitutes = substitutes_map(symbols=flat.weights)
    symbols = {*flat.weights, *held, *(a for alts in substitutes.values() for a in alts)}
    securities = security_map_get(symbols=symbols)
    return compute_effective_target(
        flat,
        securities={
            s.symbol: SecurityInfo(s.sector, s.industry, frozenset(s.esg_tags))
            for s in securities.values()
        },
        rules=[Rule(RuleKind(r.kind), r.value, r.reason, r.scope) for r in restrictions],
        outside=_exposures(
            outside_holding_list_for_account(account=account), account, account_value, as_of
        ),
        substitutes=substitutes,
        held_weights=held,
        account_value=account_value,
    )
