"""Orders API: block orders, trade files (generate, list, download) and fills uploads.

One ``APIView`` per operation; ``IsFirmMember`` (the default permission class) checks each
view's ``required_action``. Paths the lead mounts under ``api/v1/``::

    path("orders/", OrderListApi.as_view(), name="api-order-list"),
    path("orders/create/", OrderCreateApi.as_view(), name="api-order-create"),
    path("orders/<int:pk>/cancel/", OrderCancelApi.as_view(), name="api-order-cancel"),
    path("trade-files/", TradeFileListApi.as_view(), name="api-trade-file-list"),
    path("trade-files/generate/", TradeFileGenerateApi.as_view(), name="api-trade-file-generate"),
    path("trade-files/<int:pk>/download/", TradeFileDownloadApi.as_view(),
         name="api-trade-file-download"),
    path("fills/", FillsImportApi.as_view(), name="api-fills-import"),
"""

import io
from typing import Any

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.permissions import Action
from apps.access.requests import AuthenticatedRequest
from apps.common.api import query_filters, text_param
from apps.trading.models import Order, OrderAllocation, OrderStatus, TradeFile, TradeFileLayout
from apps.trading.orders.selectors import order_list, trade_file_list
from apps.trading.services.fills import fills_import
from apps.trading.services.orders import order_cancel, orders_create_from_approved
from apps.trading.services.trade_files import trade_file_content, trade_file_generate


class AllocationOutput(serializers.ModelSerializer[OrderAllocation]):
    """One account's part of a block order."""

    account_number = serializers.CharField(source="account.number")

    class Meta:
        model = OrderAllocation
        fields = (
            "id",
            "account_id",
            "account_number",
            "proposed_trade_id",
            "shares",
            "quantity_type",
            "order_amount",
            "lot_instructions",
            "lot_method",
            "filled_shares",
            "fill_amount",
            "fill_count",
        )


class OrderOutput(serializers.ModelSerializer[Order]):
    """A block order with its allocations."""

    allocations = AllocationOutput(many=True, read_only=True)

    class Meta:
        model = Order
        fields = (
            "id",
            "custodian",
            "symbol",
            "side",
            "total_shares",
            "is_dollar_traded",
            "filled_shares",
            "fill_amount",
            "status",
            "trade_file_id",
            "created_at",
            "sent_at",
            "allocations",
        )


class TradeFileOutput(serializers.ModelSerializer[TradeFile]):
    """A generated trade file (download it at ``trade-files/<id>/download/``)."""

    class Meta:
        model = TradeFile
        fields = (
            "id",
            "custodian",
            "layout",
            "filename",
            "sha256",
            "line_count",
            "order_count",
            "created_at",
        )


class OrderListApi(ListAPIView[Order]):
    """Block orders, newest first (filters: ``status``, ``custodian``)."""

    serializer_class = OrderOutput

    class Filters(serializers.Serializer[Any]):
        """Query parameters of the list."""

        status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)
        custodian = text_param(required=False, allow_blank=True, max_length=32)

    filters_class = Filters

    def get_queryset(self) -> Any:
        """Orders with their allocations."""
        filters = query_filters(self)
        return order_list(status=filters.get("status", ""), custodian=filters.get("custodian", ""))


class OrderCreateApi(APIView):
    """Aggregate every approved proposal into block orders (traders)."""

    required_action = Action.APPROVE_TRADES

    @extend_schema(request=None, responses={201: OrderOutput(many=True)})
    def post(self, request: AuthenticatedRequest) -> Response:
        """Create the orders; an empty list when no approved proposal waits."""
        batch = orders_create_from_approved(acting_user=request.user)
        fresh = order_list().filter(pk__in=[o.pk for o in batch.orders]).order_by("pk")
        return Response(OrderOutput(fresh, many=True).data, status=status.HTTP_201_CREATED)


class TradeFileListApi(ListAPIView[TradeFile]):
    """Generated trade files, newest first."""

    serializer_class = TradeFileOutput

    def get_queryset(self) -> Any:
        """This firm's trade files."""
        return trade_file_list()


class TradeFileGenerateInput(serializers.Serializer[Any]):
    """Whose open orders, in which layout."""

    custodian = serializers.CharField(max_length=32)
    layout = serializers.ChoiceField(choices=TradeFileLayout.choices)


class TradeFileGenerateApi(APIView):
    """Write a custodian's open orders to a trade file; they become sent (traders)."""

    required_action = Action.APPROVE_TRADES

    @extend_schema(request=TradeFileGenerateInput, responses={201: TradeFileOutput})
    def post(self, request: AuthenticatedRequest) -> Response:
        """Generate the file (400 ``trade_file_nothing_to_send`` when nothing is open)."""
        data = TradeFileGenerateInput(data=request.data)
        data.is_valid(raise_exception=True)
        trade_file = trade_file_generate(
            custodian=data.validated_data["custodian"],
            layout=data.validated_data["layout"],
            acting_user=request.user,
        )
        return Response(TradeFileOutput(trade_file).data, status=status.HTTP_201_CREATED)


class TradeFileDownloadApi(APIView):
    """Download one of this firm's trade files (traders)."""

    required_action = Action.APPROVE_TRADES

    @extend_schema(responses={(200, "text/csv"): bytes})
    def get(self, request: Request, pk: int) -> FileResponse:
        """Stream the stored CSV."""
        trade_file = get_object_or_404(trade_file_list(), pk=pk)
        try:
            content = trade_file_content(trade_file=trade_file)
        except FileNotFoundError as exc:
            raise Http404("trade file is gone") from exc
        return FileResponse(
            io.BytesIO(content),
            as_attachment=True,
            filename=trade_file.filename,
            content_type="text/csv",
        )


class FillsImportInput(serializers.Serializer[Any]):
    """A fills file and its layout."""

    file = serializers.FileField()
    layout = serializers.ChoiceField(
        choices=TradeFileLayout.choices, default=TradeFileLayout.GENERIC.value
    )


class FillsReportOutput(serializers.Serializer[Any]):
    """What a fills import did."""

    filename = serializers.CharField()
    layout = serializers.CharField()
    sha256 = serializers.CharField()
    rows_read = serializers.IntegerField()
    fills_applied = serializers.IntegerField()
    allocations_touched = serializers.IntegerField()
    orders_touched = serializers.IntegerField()
    households = serializers.ListField(child=serializers.CharField())
    is_applied = serializers.BooleanField()
    is_duplicate = serializers.BooleanField()


class FillsImportApi(APIView):
    """Book a custodian's fills file, all or nothing (400 ``fills_rejected`` lists problems)."""

    required_action = Action.IMPORT_FILES
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(request={"multipart/form-data": FillsImportInput}, responses=FillsReportOutput)
    def post(self, request: AuthenticatedRequest) -> Response:
        """Import; the same file again is a no-op (``is_duplicate``)."""
        data = FillsImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        report = fills_import(
            content=upload.read(),
            filename=upload.name or "fills.csv",
            acting_user=request.user,
            layout=data.validated_data["layout"],
        )
        code = status.HTTP_201_CREATED if report.is_applied else status.HTTP_200_OK
        return Response(FillsReportOutput(report).data, status=code)


class OrderCancelApi(APIView):
    """Cancel an order's unfilled rest (traders): its shares and cash are no longer reserved."""

    required_action = Action.APPROVE_TRADES

    @extend_schema(request=None, responses=OrderOutput)
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        """Cancel; 400 when nothing is left to cancel."""
        order = get_object_or_404(Order, pk=pk)
        order_cancel(order=order, acting_user=request.user)
        return Response(OrderOutput(order_list().get(pk=pk)).data)
