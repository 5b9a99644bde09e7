"""Books-of-record API: households, accounts (profile), lots, ledger, realized gains, Form 8949."""

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.permissions import Action
from apps.accounts.exports import form8949_csv
from apps.accounts.models import Account
from apps.accounts.selectors import (
    account_list,
    household_list,
    realized_gain_list,
    realized_summary,
    tax_lot_list_open,
    transaction_list,
)
from apps.accounts.services.accounts import PROFILE_FIELDS, account_update_profile
from apps.common.pagination import KeyLimitOffsetPagination
from apps.common.tenancy import firm_today

YEAR = OpenApiParameter("year", OpenApiTypes.INT, description="Tax year (default: this year)")


def _year(request: Request) -> int:
    raw = request.query_params.get("year", "")
    if raw.isdigit() and 1900 < int(raw) < 2200:
        return int(raw)
    if raw:
        raise serializers.ValidationError({"year": "a four-digit year"})
    return firm_today().year


class HouseholdOutput(serializers.Serializer):
    """A household and how many accounts it has."""

    id = serializers.IntegerField()
    external_id = serializers.CharField()
    name = serializers.CharField()
    account_count = serializers.IntegerField()


class HouseholdListApi(ListAPIView):
    """Households of the firm (search by name or external id with ``?search=``)."""

    serializer_class = HouseholdOutput

    def get_queryset(self) -> Any:
        """Households, filtered."""
        return household_list(search=self.request.query_params.get("search", ""))


class AccountOutput(serializers.ModelSerializer):
    """An account with its customization."""

    household = serializers.CharField(source="household.external_id")

    class Meta:
        model = Account
        fields = (
            "id",
            "household",
            "custodian",
            "number",
            "registration",
            "currency",
            "cash_amount",
            *PROFILE_FIELDS,
        )


class AccountListApi(ListAPIView):
    """Accounts (filters: ``search``, ``household``, ``registration``)."""

    serializer_class = AccountOutput
    pagination_class = KeyLimitOffsetPagination

    def get_queryset(self) -> Any:
        """Accounts, filtered."""
        params = self.request.query_params
        household = params.get("household", "")
        return account_list(
            search=params.get("search", ""),
            household_id=int(household) if household.isdigit() else None,
            registration=params.get("registration", ""),
        )


class AccountProfileInput(serializers.ModelSerializer):
    """The customization fields an advisor may change (all optional)."""

    class Meta:
        model = Account
        fields = PROFILE_FIELDS
        extra_kwargs = {f: {"required": False} for f in PROFILE_FIELDS}  # noqa: RUF012


class AccountDetailApi(RetrieveAPIView):
    """One account; PATCH changes its customization (advisors, audited)."""

    serializer_class = AccountOutput
    required_write_action = Action.DESIGN_SOLUTION

    def get_queryset(self) -> Any:
        """Accounts of this firm."""
        return account_list()

    @extend_schema(request=AccountProfileInput, responses=AccountOutput)
    def patch(self, request: Request, pk: int) -> Response:
        """Change profile fields; unknown or invalid values are refused whole."""
        account = self.get_object()
        data = AccountProfileInput(instance=account, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        account = account_update_profile(
            account=account, changes=dict(data.validated_data), acting_user=request.user
        )
        return Response(AccountOutput(account).data)


class _AccountScoped:
    """Resolve the account from the URL inside this firm's schema (404 otherwise)."""

    kwargs: dict[str, Any]

    def account(self) -> Account:
        return get_object_or_404(Account, pk=self.kwargs["pk"])


class TaxLotOutput(serializers.Serializer):
    """An open lot (USD, shares)."""

    lot_key = serializers.CharField()
    symbol = serializers.CharField()
    shares = serializers.DecimalField(max_digits=20, decimal_places=6)
    cost_basis_amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    adjusted_basis_amount = serializers.DecimalField(
        max_digits=20, decimal_places=2, allow_null=True
    )
    wash_adjustment_amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    acquired_on = serializers.DateField()
    holding_period_start_on = serializers.DateField()
    has_basis = serializers.BooleanField()


class TaxLotListApi(_AccountScoped, ListAPIView):
    """The account's open lots."""

    serializer_class = TaxLotOutput

    def get_queryset(self) -> Any:
        """Lots of the URL's account."""
        return tax_lot_list_open(account=self.account())


class TransactionOutput(serializers.Serializer):
    """A ledger entry (amount positive; kind says the direction)."""

    external_id = serializers.CharField()
    kind = serializers.CharField()
    trade_on = serializers.DateField()
    symbol = serializers.CharField()
    shares = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True)
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    is_opening_lot = serializers.BooleanField()


class TransactionListApi(_AccountScoped, ListAPIView):
    """The account's ledger, newest first."""

    serializer_class = TransactionOutput

    def get_queryset(self) -> Any:
        """Ledger of the URL's account."""
        return transaction_list(account=self.account())


class RealizedGainOutput(serializers.Serializer):
    """One lot piece sold (a Form 8949 row)."""

    lot_key = serializers.CharField()
    symbol = serializers.CharField()
    shares = serializers.DecimalField(max_digits=20, decimal_places=6)
    acquired_on = serializers.DateField()
    sold_on = serializers.DateField()
    proceeds_amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    basis_amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    gain_amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    disallowed_amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    reportable_gain_amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    term = serializers.CharField()
    form8949_code = serializers.CharField(allow_blank=True)


@extend_schema(parameters=[YEAR])
class RealizedGainListApi(_AccountScoped, ListAPIView):
    """Realized gains of the account in a tax year."""

    serializer_class = RealizedGainOutput

    def get_queryset(self) -> Any:
        """Rows of the URL's account and year."""
        return realized_gain_list(account=self.account(), year=_year(self.request))


class RealizedSummaryOutput(serializers.Serializer):
    """The tax year so far (USD): realized, carryforward, netting, estimated tax, budget."""

    year = serializers.IntegerField()
    short_term = serializers.DecimalField(max_digits=20, decimal_places=2)
    long_term = serializers.DecimalField(max_digits=20, decimal_places=2)
    disallowed = serializers.DecimalField(max_digits=20, decimal_places=2)
    carryforward_short = serializers.DecimalField(max_digits=20, decimal_places=2)
    carryforward_long = serializers.DecimalField(max_digits=20, decimal_places=2)
    net_short_term = serializers.DecimalField(max_digits=20, decimal_places=2)
    net_long_term = serializers.DecimalField(max_digits=20, decimal_places=2)
    net_capital = serializers.DecimalField(max_digits=20, decimal_places=2)
    estimated_tax = serializers.DecimalField(max_digits=20, decimal_places=2)
    carryover_out_short = serializers.DecimalField(max_digits=20, decimal_places=2)
    carryover_out_long = serializers.DecimalField(max_digits=20, decimal_places=2)
    budget_kind = serializers.CharField()
    budget_amount = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    budget_used = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    budget_left = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    short_term_budget_amount = serializers.DecimalField(
        max_digits=20, decimal_places=2, allow_null=True
    )
    short_term_budget_used = serializers.DecimalField(
        max_digits=20, decimal_places=2, allow_null=True
    )
    short_term_budget_left = serializers.DecimalField(
        max_digits=20, decimal_places=2, allow_null=True
    )
    long_term_budget_amount = serializers.DecimalField(
        max_digits=20, decimal_places=2, allow_null=True
    )
    long_term_budget_used = serializers.DecimalField(
        max_digits=20, decimal_places=2, allow_null=True
    )
    long_term_budget_left = serializers.DecimalField(
        max_digits=20, decimal_places=2, allow_null=True
    )


class RealizedSummaryApi(_AccountScoped, APIView):
    """The account's tax year so far, netted with its carryforward."""

    @extend_schema(parameters=[YEAR], responses=RealizedSummaryOutput)
    def get(self, request: Request, pk: int) -> Response:
        """Return the summary."""
        summary = realized_summary(account=self.account(), year=_year(request))
        return Response(RealizedSummaryOutput(summary).data)


class Form8949Api(_AccountScoped, APIView):
    """Form 8949-style CSV of the account's realized gains for a tax year."""

    @extend_schema(parameters=[YEAR], responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request, pk: int) -> HttpResponse:
        """Return the CSV as an attachment."""
        account, year = self.account(), _year(request)
        response = HttpResponse(form8949_csv(account=account, year=year), content_type="text/csv")
        name = f"form8949-{account.custodian}-{account.number}-{year}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
