"""Books-of-record API: households, accounts (profile), lots, ledger, realized gains, Form 8949."""

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.permissions import Action
from apps.access.requests import AuthenticatedRequest
from apps.accounts.exports import form8949_csv
from apps.accounts.models import Account, IdenticalGroup, IdenticalIndexOptOut, Registration
from apps.accounts.selectors import (
    account_list,
    household_list,
    identical_group_list,
    identical_index_opt_out_list,
    realized_gain_list,
    realized_summary,
    substantially_identical_groups,
    tax_lot_list_open,
    transaction_list,
)
from apps.accounts.services.accounts import PROFILE_FIELDS, account_update_profile
from apps.accounts.services.identical import (
    identical_group_create,
    identical_group_delete,
    identical_group_update,
    identical_index_opt_out_create,
    identical_index_opt_out_delete,
)
from apps.common.api import MoneyField, SearchFilters, SharesField, query_filters, year_param
from apps.common.limits import BIGINT_MAX
from apps.common.pagination import KeyLimitOffsetPagination
from apps.common.tenancy import firm_today


class YearFilters(serializers.Serializer[Any]):
    """Query parameters: the tax year."""

    year = year_param(required=False, help_text="Tax year (default: this year)")


def _year(view: APIView) -> int:
    year: int = query_filters(view).get("year") or firm_today().year
    return year


class HouseholdOutput(serializers.Serializer[Any]):
    """A household and how many accounts it has."""

    id = serializers.IntegerField()
    external_id = serializers.CharField()
    name = serializers.CharField()
    account_count = serializers.IntegerField()


class HouseholdListApi(ListAPIView[Any]):
    """Households of the firm (search by name or external id with ``?search=``)."""

    serializer_class = HouseholdOutput
    filters_class = SearchFilters

    def get_queryset(self) -> Any:
        """Households, filtered."""
        return household_list(search=query_filters(self).get("search", ""))


class AccountOutput(serializers.ModelSerializer[Account]):
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
            "transition_start_year",
        )


class AccountListApi(ListAPIView[Account]):
    """Accounts (filters: ``search``, ``household``, ``registration``)."""

    serializer_class = AccountOutput
    pagination_class = KeyLimitOffsetPagination

    class Filters(SearchFilters):
        """Query parameters of the list."""

        household = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
        registration = serializers.ChoiceField(choices=Registration.choices, required=False)

    filters_class = Filters

    def get_queryset(self) -> Any:
        """Accounts, filtered."""
        filters = query_filters(self)
        return account_list(
            search=filters.get("search", ""),
            household_id=filters.get("household"),
            registration=filters.get("registration", ""),
        )


class AccountProfileInput(serializers.ModelSerializer[Account]):
    """The customization fields an advisor may change (all optional)."""

    class Meta:
        model = Account
        fields = PROFILE_FIELDS
        extra_kwargs = {f: {"required": False} for f in PROFILE_FIELDS}  # noqa: RUF012


class AccountDetailApi(RetrieveAPIView[Account]):
    """One account; PATCH changes its customization (advisors, audited)."""

    serializer_class = AccountOutput
    required_write_action = Action.DESIGN_SOLUTION

    def get_queryset(self) -> Any:
        """Accounts of this firm."""
        return account_list()

    @extend_schema(request=AccountProfileInput, responses=AccountOutput)
    def patch(self, request: AuthenticatedRequest, pk: int) -> Response:
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


class TaxLotOutput(serializers.Serializer[Any]):
    """An open lot (USD, shares)."""

    lot_key = serializers.CharField()
    symbol = serializers.CharField()
    shares = SharesField()
    cost_basis_amount = MoneyField()
    adjusted_basis_amount = MoneyField(allow_null=True)
    wash_adjustment_amount = MoneyField()
    acquired_on = serializers.DateField()
    holding_period_start_on = serializers.DateField()
    has_basis = serializers.BooleanField()


class TaxLotListApi(_AccountScoped, ListAPIView[Any]):
    """The account's open lots."""

    serializer_class = TaxLotOutput

    def get_queryset(self) -> Any:
        """Lots of the URL's account."""
        return tax_lot_list_open(account=self.account())


class TransactionOutput(serializers.Serializer[Any]):
    """A ledger entry (amount positive; kind says the direction)."""

    external_id = serializers.CharField()
    kind = serializers.CharField()
    trade_on = serializers.DateField()
    symbol = serializers.CharField()
    shares = SharesField(allow_null=True)
    amount = MoneyField()
    is_opening_lot = serializers.BooleanField()


class TransactionListApi(_AccountScoped, ListAPIView[Any]):
    """The account's ledger, newest first."""

    serializer_class = TransactionOutput

    def get_queryset(self) -> Any:
        """Ledger of the URL's account."""
        return transaction_list(account=self.account())


class RealizedGainOutput(serializers.Serializer[Any]):
    """One lot piece sold (a Form 8949 row)."""

    lot_key = serializers.CharField()
    symbol = serializers.CharField()
    shares = SharesField()
    acquired_on = serializers.DateField()
    sold_on = serializers.DateField()
    proceeds_amount = MoneyField()
    basis_amount = MoneyField()
    gain_amount = MoneyField()
    disallowed_amount = MoneyField()
    reportable_gain_amount = MoneyField()
    term = serializers.CharField()
    form8949_code = serializers.CharField(allow_blank=True)


class RealizedGainListApi(_AccountScoped, ListAPIView[Any]):
    """Realized gains of the account in a tax year."""

    serializer_class = RealizedGainOutput
    filters_class = YearFilters

    def get_queryset(self) -> Any:
        """Rows of the URL's account and year."""
        return realized_gain_list(account=self.account(), year=_year(self))


class RealizedSummaryOutput(serializers.Serializer[Any]):
    """The tax year so far (USD): realized, carryforward, netting, estimated tax, budget."""

    year = serializers.IntegerField()
    short_term = MoneyField()
    long_term = MoneyField()
    disallowed = MoneyField()
    carryforward_short = MoneyField()
    carryforward_long = MoneyField()
    net_short_term = MoneyField()
    net_long_term = MoneyField()
    net_capital = MoneyField()
    estimated_tax = MoneyField()
    carryover_out_short = MoneyField()
    carryover_out_long = MoneyField()
    budget_kind = serializers.CharField()
    budget_amount = MoneyField(allow_null=True)
    budget_used = MoneyField(allow_null=True)
    budget_left = MoneyField(allow_null=True)
    short_term_budget_amount = MoneyField(allow_null=True)
    short_term_budget_used = MoneyField(allow_null=True)
    short_term_budget_left = MoneyField(allow_null=True)
    long_term_budget_amount = MoneyField(allow_null=True)
    long_term_budget_used = MoneyField(allow_null=True)
    long_term_budget_left = MoneyField(allow_null=True)


class RealizedSummaryApi(_AccountScoped, APIView):
    """The account's tax year so far, netted with its carryforward."""

    filters_class = YearFilters

    @extend_schema(responses=RealizedSummaryOutput)
    def get(self, request: Request, pk: int) -> Response:
        """Return the summary."""
        summary = realized_summary(account=self.account(), year=_year(self))
        return Response(RealizedSummaryOutput(summary).data)


class Form8949Api(_AccountScoped, APIView):
    """Form 8949-style CSV of the account's realized gains for a tax year."""

    filters_class = YearFilters

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request, pk: int) -> HttpResponse:
        """Return the CSV as an attachment."""
        account, year = self.account(), _year(self)
        response = HttpResponse(form8949_csv(account=account, year=year), content_type="text/csv")
        name = f"form8949-{account.custodian}-{account.number}-{year}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class IdenticalGroupOutput(serializers.Serializer[Any]):
    """A firm group of substantially identical securities (IRC §1091(a))."""

    id = serializers.IntegerField()
    symbols = serializers.ListField(child=serializers.CharField())
    reason = serializers.CharField()
    # "source" is also a Field attribute; DRF collects declared fields before it matters.
    source = serializers.CharField()  # type: ignore[assignment]

    def to_representation(self, instance: IdenticalGroup) -> dict[str, Any]:
        """The group with its members' symbols, sorted."""
        return {
            "id": instance.pk,
            "symbols": sorted(m.symbol for m in instance.members.all()),
            "reason": instance.reason,
            "source": instance.source,
        }


class IdenticalGroupInput(serializers.Serializer[Any]):
    """Two or more known symbols, why the firm treats them as one, and on what authority."""

    symbols = serializers.ListField(
        child=serializers.CharField(max_length=16), min_length=2, max_length=100
    )
    reason = serializers.CharField(max_length=300)
    source = serializers.CharField(max_length=300)  # type: ignore[assignment]  # as above


class IdenticalGroupListApi(APIView):
    """The firm's groups of substantially identical securities; POST adds one.

    Firm-wide tax rules: the firm's model managers change them (as firm-wide restrictions).
    """

    required_write_action = Action.MANAGE_MODELS

    @extend_schema(responses=IdenticalGroupOutput(many=True))
    def get(self, request: Request) -> Response:
        """The firm's own groups, oldest first (``effective/`` adds the master's defaults)."""
        return Response(IdenticalGroupOutput(identical_group_list(), many=True).data)

    @extend_schema(request=IdenticalGroupInput, responses={201: IdenticalGroupOutput})
    def post(self, request: AuthenticatedRequest) -> Response:
        """Add a group (audited; the ledgers it changes are replayed)."""
        data = IdenticalGroupInput(data=request.data)
        data.is_valid(raise_exception=True)
        group = identical_group_create(acting_user=request.user, **data.validated_data)
        return Response(IdenticalGroupOutput(group).data, status=status.HTTP_201_CREATED)


class IdenticalGroupDetailApi(APIView):
    """One firm group: PUT replaces its symbols, reason and source; DELETE removes it."""

    required_write_action = Action.MANAGE_MODELS

    @extend_schema(responses=IdenticalGroupOutput)
    def get(self, request: Request, pk: int) -> Response:
        """The group."""
        return Response(IdenticalGroupOutput(get_object_or_404(IdenticalGroup, pk=pk)).data)

    @extend_schema(request=IdenticalGroupInput, responses=IdenticalGroupOutput)
    def put(self, request: AuthenticatedRequest, pk: int) -> Response:
        """Replace it (audited, before and after)."""
        group = get_object_or_404(IdenticalGroup, pk=pk)
        data = IdenticalGroupInput(data=request.data)
        data.is_valid(raise_exception=True)
        group = identical_group_update(group=group, acting_user=request.user, **data.validated_data)
        return Response(IdenticalGroupOutput(group).data)

    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, pk: int) -> Response:
        """Remove it (audited)."""
        group = get_object_or_404(IdenticalGroup, pk=pk)
        identical_group_delete(group=group, acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class IdenticalBasisOutput(serializers.Serializer[Any]):
    """Why a group's symbols are one security; ``firm_group_id`` null: the security master."""

    reason = serializers.CharField()
    # "source" is also a Field attribute; DRF collects declared fields before it matters.
    source = serializers.CharField()  # type: ignore[assignment]
    firm_group_id = serializers.IntegerField(allow_null=True)


class EffectiveIdenticalGroupOutput(serializers.Serializer[Any]):
    """A group the ledger, the optimizer and the pre-trade checks use."""

    symbols = serializers.ListField(child=serializers.CharField(), source="sorted_symbols")
    bases = IdenticalBasisOutput(many=True)


class EffectiveIdenticalGroupListApi(APIView):
    """The effective groups: the security master's share classes and the firm's groups, merged."""

    @extend_schema(responses=EffectiveIdenticalGroupOutput(many=True))
    def get(self, request: Request) -> Response:
        """Every effective group, by first symbol."""
        groups = substantially_identical_groups()
        return Response(EffectiveIdenticalGroupOutput(groups, many=True).data)


class IdenticalIndexOptOutOutput(serializers.Serializer[Any]):
    """A fund the firm does not treat as identical to the other funds on its index."""

    id = serializers.IntegerField()
    symbol = serializers.CharField()
    reason = serializers.CharField()
    # "source" is also a Field attribute; DRF collects declared fields before it matters.
    source = serializers.CharField()  # type: ignore[assignment]


class IdenticalIndexOptOutInput(serializers.Serializer[Any]):
    """A fund tracking an index, why the firm does not treat it as its peers, on what authority."""

    symbol = serializers.CharField(max_length=16)
    reason = serializers.CharField(max_length=300)
    source = serializers.CharField(max_length=300)  # type: ignore[assignment]  # as above


class IdenticalIndexOptOutListApi(APIView):
    """The firm's opt-outs from the default groups of funds on one index; POST adds one."""

    required_write_action = Action.MANAGE_MODELS

    @extend_schema(responses=IdenticalIndexOptOutOutput(many=True))
    def get(self, request: Request) -> Response:
        """Every opt-out, by symbol."""
        return Response(IdenticalIndexOptOutOutput(identical_index_opt_out_list(), many=True).data)

    @extend_schema(request=IdenticalIndexOptOutInput, responses={201: IdenticalIndexOptOutOutput})
    def post(self, request: AuthenticatedRequest) -> Response:
        """Add one (audited; the ledgers it changes are replayed)."""
        data = IdenticalIndexOptOutInput(data=request.data)
        data.is_valid(raise_exception=True)
        opt_out = identical_index_opt_out_create(acting_user=request.user, **data.validated_data)
        return Response(IdenticalIndexOptOutOutput(opt_out).data, status=status.HTTP_201_CREATED)


class IdenticalIndexOptOutDetailApi(APIView):
    """One opt-out; DELETE removes it (the fund rejoins its index's group)."""

    required_write_action = Action.MANAGE_MODELS

    @extend_schema(responses=IdenticalIndexOptOutOutput)
    def get(self, request: Request, pk: int) -> Response:
        """The opt-out."""
        opt_out = get_object_or_404(IdenticalIndexOptOut, pk=pk)
        return Response(IdenticalIndexOptOutOutput(opt_out).data)

    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, pk: int) -> Response:
        """Remove it (audited)."""
        opt_out = get_object_or_404(IdenticalIndexOptOut, pk=pk)
        identical_index_opt_out_delete(opt_out=opt_out, acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
