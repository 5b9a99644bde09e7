"""Restrictions API: restrictions, outside holdings, substitutes, model and effective target."""

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.permissions import Action, require_action
from apps.access.requests import AuthenticatedRequest
from apps.accounts.models import Account, Household
from apps.common.api import (
    AsOfFilters,
    MoneyField,
    WeightField,
    as_of_filter,
    date_param,
    query_filters,
)
from apps.common.limits import BIGINT_MAX
from apps.common.tenancy import firm_today
from apps.models.models import ModelPortfolio
from apps.models.services import model_assign
from apps.restrictions.models import (
    OutsideHolding,
    Restriction,
    RestrictionKind,
    RestrictionScope,
)
from apps.restrictions.selectors import (
    effective_target_get,
    outside_holding_list_for_account,
    restriction_list,
    substitutes_map,
)
from apps.restrictions.services import (
    outside_holding_remove,
    outside_holding_set,
    restriction_add,
    restriction_end,
    substitute_set,
)
from apps.targets import CASH, EffectiveTarget


def _require_scope_action(user: User, scope: str) -> None:
    # Firm-wide rules bind every account: the firm's model managers set them, not advisors.
    require_action(
        user, Action.MANAGE_MODELS if scope == RestrictionScope.FIRM else Action.DESIGN_SOLUTION
    )


class RestrictionOutput(serializers.Serializer[Any]):
    """A restriction; ``ends_on`` is the first day it is no longer in force."""

    id = serializers.IntegerField()
    scope = serializers.CharField()
    account_id = serializers.IntegerField(allow_null=True)
    household_id = serializers.IntegerField(allow_null=True)
    kind = serializers.CharField()
    value = serializers.CharField()
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(allow_null=True)
    reason = serializers.CharField()


class RestrictionListApi(ListAPIView):  # type: ignore[type-arg]
    """Restrictions (``?account=``, ``?household=``, ``?scope=firm``, ``?as_of=``); POST adds one.

    Advisors add account and household restrictions; model managers add firm-wide ones.
    """

    serializer_class = RestrictionOutput
    required_write_action = Action.DESIGN_SOLUTION

    class Filters(serializers.Serializer[Any]):
        """Query parameters of the list (``as_of``: only those in force that day)."""

        account = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
        household = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
        scope = serializers.ChoiceField(choices=RestrictionScope.choices, required=False)
        as_of = date_param(required=False)

    filters_class = Filters

    class RestrictionListInput(serializers.Serializer[Any]):
        """A new restriction: give ``account`` or ``household`` (neither: firm-wide)."""

        account = serializers.PrimaryKeyRelatedField(
            queryset=Account.objects.all(), required=False, allow_null=True
        )
        household = serializers.PrimaryKeyRelatedField(
            queryset=Household.objects.all(), required=False, allow_null=True
        )
        kind = serializers.ChoiceField(choices=RestrictionKind.choices)
        value = serializers.CharField(max_length=100)
        starts_on = date_param(required=False)
        ends_on = date_param(required=False, allow_null=True)
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    def get_queryset(self) -> Any:
        """Restrictions, filtered."""
        filters = query_filters(self)
        account = (
            Account.objects.filter(pk=filters["account"]).first() if "account" in filters else None
        )
        household = (
            Household.objects.filter(pk=filters["household"]).first()
            if "household" in filters
            else None
        )
        if (account is None and "account" in filters) or (
            household is None and "household" in filters
        ):
            return Restriction.objects.none()  # a filter on no such row matches nothing
        return restriction_list(
            account=account,
            household=household,
            firm_only=filters.get("scope") == RestrictionScope.FIRM,
            as_of=filters.get("as_of"),
        )

    @extend_schema(request=RestrictionListInput, responses={201: RestrictionOutput})
    def post(self, request: AuthenticatedRequest) -> Response:
        """Add a restriction (audited)."""
        data = self.RestrictionListInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        account, household = values.pop("account", None), values.pop("household", None)
        scope = (
            RestrictionScope.ACCOUNT
            if account
            else RestrictionScope.HOUSEHOLD
            if household
            else RestrictionScope.FIRM
        )
        _require_scope_action(request.user, scope)
        restriction = restriction_add(
            account=account,
            household=household,
            starts_on=values.pop("starts_on", None) or firm_today(),
            acting_user=request.user,
            **values,
        )
        return Response(RestrictionOutput(restriction).data, status=status.HTTP_201_CREATED)


class RestrictionEndApi(APIView):
    """End a restriction from a date (default today); the row is kept."""

    required_action = Action.DESIGN_SOLUTION

    class RestrictionEndInput(serializers.Serializer[Any]):
        """The first day the restriction is no longer in force."""

        ends_on = date_param(required=False)

    @extend_schema(request=RestrictionEndInput, responses=RestrictionOutput)
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        """End it (audited)."""
        restriction = get_object_or_404(Restriction, pk=pk)
        _require_scope_action(request.user, restriction.scope)
        data = self.RestrictionEndInput(data=request.data)
        data.is_valid(raise_exception=True)
        restriction = restriction_end(
            restriction=restriction,
            ends_on=data.validated_data.get("ends_on") or firm_today(),
            acting_user=request.user,
        )
        return Response(RestrictionOutput(restriction).data)


class OutsideHoldingOutput(serializers.Serializer[Any]):
    """An exposure held away: ``amount`` (USD) or ``weight`` (fraction)."""

    id = serializers.IntegerField()
    scope = serializers.CharField()
    exposure_key = serializers.CharField()
    amount = MoneyField(allow_null=True)
    weight = WeightField(allow_null=True)
    reason = serializers.CharField()


class OutsideHoldingListApi(APIView):
    """An account's outside holdings (its own and its household's); POST sets one."""

    required_write_action = Action.DESIGN_SOLUTION

    class OutsideHoldingListInput(serializers.Serializer[Any]):
        """``scope`` "account" (default) or "household"; an amount or a weight."""

        exposure_key = serializers.CharField(max_length=120)
        scope = serializers.ChoiceField(choices=("account", "household"), default="account")
        amount = MoneyField(required=False, allow_null=True, min_value=Decimal(0))
        weight = serializers.DecimalField(
            max_digits=9,
            decimal_places=8,
            required=False,
            allow_null=True,
            min_value=Decimal(0),
            max_value=Decimal(1),
        )
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(responses=OutsideHoldingOutput(many=True))
    def get(self, request: Request, pk: int) -> Response:
        """The account's and household's outside holdings."""
        account = get_object_or_404(Account, pk=pk)
        holdings = outside_holding_list_for_account(account=account)
        return Response(OutsideHoldingOutput(holdings, many=True).data)

    @extend_schema(request=OutsideHoldingListInput, responses={201: OutsideHoldingOutput})
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        """Set (create or replace) one outside holding (audited)."""
        account = get_object_or_404(Account.objects.select_related("household"), pk=pk)
        data = self.OutsideHoldingListInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        is_household = values.pop("scope") == "household"
        holding = outside_holding_set(
            account=None if is_household else account,
            household=account.household if is_household else None,
            acting_user=request.user,
            **values,
        )
        return Response(OutsideHoldingOutput(holding).data, status=status.HTTP_201_CREATED)


class OutsideHoldingRemoveApi(APIView):
    """Remove one of the account's (or its household's) outside holdings."""

    required_action = Action.DESIGN_SOLUTION

    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, pk: int, holding_id: int) -> Response:
        """Delete it (audited)."""
        account = get_object_or_404(Account, pk=pk)
        holding = get_object_or_404(
            OutsideHolding.objects.filter(account=account)
            | OutsideHolding.objects.filter(household_id=account.household_id),
            pk=holding_id,
        )
        outside_holding_remove(holding=holding, acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubstituteListApi(APIView):
    """The firm's substitutes: symbol -> alternatives in order; PUT replaces one symbol's list."""

    required_write_action = Action.MANAGE_MODELS

    class SubstituteListInput(serializers.Serializer[Any]):
        """A symbol and its alternatives, first choice first (empty: remove)."""

        symbol = serializers.CharField(max_length=16)
        alternatives = serializers.ListField(
            child=serializers.CharField(max_length=16), allow_empty=True
        )

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        """All substitutes."""
        return Response(substitutes_map())

    @extend_schema(request=SubstituteListInput, responses=OpenApiTypes.OBJECT)
    def put(self, request: AuthenticatedRequest) -> Response:
        """Replace one symbol's alternatives (audited)."""
        data = self.SubstituteListInput(data=request.data)
        data.is_valid(raise_exception=True)
        rows = substitute_set(acting_user=request.user, **data.validated_data)
        return Response(
            {
                "symbol": data.validated_data["symbol"].strip().upper(),
                "alternatives": [r.alternative for r in rows],
            }
        )


class AccountModelApi(APIView):
    """Set the model an account follows (``{"model": "CODE"}``; null clears it)."""

    required_action = Action.DESIGN_SOLUTION

    class AccountModelInput(serializers.Serializer[Any]):
        """A model code of this firm, or null."""

        model = serializers.CharField(allow_null=True)

    @extend_schema(request=AccountModelInput, responses=OpenApiTypes.OBJECT)
    def put(self, request: AuthenticatedRequest, pk: int) -> Response:
        """Assign (audited)."""
        account = get_object_or_404(Account, pk=pk)
        data = self.AccountModelInput(data=request.data)
        data.is_valid(raise_exception=True)
        code = data.validated_data["model"]
        model = get_object_or_404(ModelPortfolio, code=code.strip().upper()) if code else None
        account = model_assign(account=account, model=model, acting_user=request.user)
        return Response({"account": account.pk, "model": model.code if model else None})


def effective_target_data(target: EffectiveTarget) -> dict[str, Any]:
    """An effective target as JSON-safe data (decimals as strings)."""
    return {
        "total": format(target.total, "f"),
        "cash_weight": format(target.cash_weight, "f"),
        "model_cash_weight": format(target.model_cash_weight, "f"),
        "weights": [
            {
                "symbol": symbol,
                "weight": format(weight, "f"),
                "model_weight": format(target.model_weights.get(symbol, Decimal(0)), "f"),
            }
            for symbol, weight in target.weights.items()
        ],
        "removed": sorted(set(target.model_weights) - set(target.weights)),
        "blocked": sorted(target.blocked),
        "never_sell": sorted(target.never_sell),
        "explanations": [
            {
                "kind": a.kind.value,
                "subject": a.subject,
                "weight": format(a.weight, "f"),
                "route": a.route.value,
                "text": a.text,
                "moves": [
                    {
                        "symbol": "CASH" if m.symbol == CASH else m.symbol,
                        "weight": format(m.weight, "f"),
                    }
                    for m in a.moves
                ],
            }
            for a in target.adjustments
        ],
    }


class EffectiveTargetApi(APIView):
    """The account's effective target on ``as_of`` with one explanation per adjustment."""

    filters_class = AsOfFilters

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        """Weights are exact decimals as strings; they and cash sum to 1."""
        account = get_object_or_404(Account.objects.select_related("model"), pk=pk)
        as_of = as_of_filter(self)
        target = effective_target_get(account=account, as_of=as_of)
        data = effective_target_data(target)
        data |= {"account": account.pk, "model": account.model.code if account.model else None}
        data["as_of"] = as_of.isoformat()
        return Response(data)
