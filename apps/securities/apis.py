"""Read-only API over the securities master for firm users (shared reference data)."""

from datetime import date
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import AsOfFilters, PriceField, query_filters, text_param
from apps.common.pagination import ApiPagination
from apps.securities.models import FUND_KINDS, SYMBOL_ANY_CASE_PATTERN, Security, SecurityKind
from apps.securities.reference_data import ESG_TAGS
from apps.securities.selectors import (
    fund_holdings_view,
    price_map_get,
    security_get,
    security_list,
)


class SecurityOutput(serializers.Serializer[Any]):
    """A security as the API shows it."""

    symbol = serializers.CharField()
    cusip = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    sector = serializers.CharField()
    industry = serializers.CharField()
    esg_tags = serializers.ListField(child=serializers.CharField())
    tracked_index = serializers.CharField(help_text="A fund's index; blank otherwise.")
    expense_ratio_rate = serializers.DecimalField(
        max_digits=9,
        decimal_places=8,
        allow_null=True,
        help_text="A fund's expense ratio, a fraction per year (a string).",
    )
    min_holding_days = serializers.IntegerField(
        allow_null=True, help_text="A mutual fund's minimum holding period (days)."
    )
    is_active = serializers.BooleanField()


class PriceQuoteOutput(serializers.Serializer[Any]):
    """A close with its date: old dates mean a stale price."""

    close_price = PriceField()
    priced_on = serializers.DateField()
    is_synthetic = serializers.BooleanField()
    # "source" is also a Field attribute; DRF collects declared fields before it matters.
    source = serializers.CharField()  # type: ignore[assignment]


class FundHoldingOutput(serializers.Serializer[Any]):
    """One look-through holding of a fund: its fraction of the fund (a string)."""

    symbol = serializers.CharField()
    name = serializers.CharField()
    weight = serializers.DecimalField(max_digits=9, decimal_places=8)


class FundHoldingsOutput(serializers.Serializer[Any]):
    """A fund's holdings on their latest date on or before ``as_of``: the largest 20."""

    as_of = serializers.DateField()
    count = serializers.IntegerField(help_text="Every holding on that date.")
    total_weight = serializers.DecimalField(max_digits=12, decimal_places=8)
    top = FundHoldingOutput(many=True)


class SecurityDetailOutput(SecurityOutput):
    """A security with its latest close (null when it has none) and a fund's holdings."""

    latest_price = PriceQuoteOutput(allow_null=True)
    holdings = FundHoldingsOutput(allow_null=True)


class SecurityListApi(APIView):
    """Securities, filtered by symbol, sector, industry, ESG tag or kind; paginated."""

    pagination_class = ApiPagination  # also what the schema documents

    class Filters(serializers.Serializer[Any]):
        """Query parameters of the list."""

        symbol = text_param(
            required=False, max_length=2000, help_text="exact; comma-separated list"
        )
        sector = text_param(required=False, max_length=200)
        industry = text_param(required=False, max_length=200)
        esg_tag = serializers.ChoiceField(choices=ESG_TAGS, required=False)
        kind = serializers.ChoiceField(choices=SecurityKind.choices, required=False)
        search = text_param(required=False, max_length=200, help_text="name or symbol contains")

    filters_class = Filters

    @extend_schema(responses=SecurityOutput(many=True))
    def get(self, request: Request) -> Response:
        """List active securities, ordered by symbol."""
        queryset = security_list(filters=query_filters(self))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(SecurityOutput(page, many=True).data)


class SecurityDetailApi(APIView):
    """One security with its latest close (on or before ``as_of`` when given)."""

    filters_class = AsOfFilters

    @extend_schema(
        responses=SecurityDetailOutput,
        parameters=[
            OpenApiParameter(
                "symbol",
                str,
                OpenApiParameter.PATH,
                required=True,
                pattern=f"^{SYMBOL_ANY_CASE_PATTERN}$",
                description="A ticker as the security master stores it (either case).",
            )
        ],
    )
    def get(self, request: Request, symbol: str) -> Response:
        """Return the security and its latest price, or 404."""
        filters = query_filters(self)
        security = security_get(symbol=symbol)
        if security is None:
            raise NotFound(f"unknown symbol {symbol}")
        as_of: date = filters.get("as_of", date.max)
        quote = price_map_get(symbols=[security.symbol], as_of=as_of).get(security.symbol)
        data: dict[str, Any] = {
            **SecurityOutput(security).data,
            "latest_price": quote,
            "holdings": _holdings(security, as_of),
        }
        return Response(SecurityDetailOutput(data).data)


def _holdings(security: Security, as_of: date) -> dict[str, Any] | None:
    """A fund's holdings as the detail shows them; None for other kinds or none on record."""
    if security.kind not in FUND_KINDS:
        return None
    view = fund_holdings_view(fund=security.symbol, as_of=as_of)
    if view is None:
        return None
    return {
        "as_of": view.as_of,
        "count": view.count,
        "total_weight": view.total_weight,
        "top": [{"symbol": s, "name": n, "weight": w} for s, n, w in view.top],
    }
