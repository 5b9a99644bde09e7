"""Reports API: list and create batches (with progress), one batch's files, download a file."""

from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.permissions import Action
from apps.common.api import AsOfFilters, MoneyField, date_param, query_filters
from apps.common.exceptions import ApplicationError
from apps.common.limits import BIGINT_MAX, IDS_MAX
from apps.common.tenancy import firm_today
from apps.reports.errors import ReportsErrorCode
from apps.reports.models import ReportBatch, ReportFile, ReportKind
from apps.reports.selectors import report_batch_list, report_file_list
from apps.reports.services.batches import report_batch_create
from apps.reports.services.firm import firm_taxes_saved_get
from apps.reports.services.savings import deferral_terms, trading_cost_rate


class FileOutput(serializers.ModelSerializer[ReportFile]):
    """A rendered PDF (download it from ``download_url``)."""

    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ReportFile
        fields = (
            "id",
            "kind",
            "account",
            "filename",
            "sha256",
            "size_bytes",
            "pages",
            "render_ms",
            "created_at",
            "download_url",
        )

    def get_download_url(self, report_file: ReportFile) -> str:
        """The API path that streams the file."""
        return f"/api/v1/reports/files/{report_file.pk}/download/"


class BatchOutput(serializers.ModelSerializer[ReportBatch]):
    """A batch and its progress."""

    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = ReportBatch
        fields: tuple[str, ...] = (
            "id",
            "kind",
            "year",
            "as_of",
            "status",
            "total_count",
            "done_count",
            "failed_count",
            "failures",
            "percent",
            "requested_by_name",
            "created_at",
            "started_at",
            "finished_at",
        )


class BatchDetailOutput(BatchOutput):
    """A batch with its files."""

    files = FileOutput(many=True, read_only=True)

    class Meta(BatchOutput.Meta):
        fields = (*BatchOutput.Meta.fields, "files")


class BatchInput(serializers.Serializer[Any]):
    """What to render: a kind, a year (default this year), accounts for client reports."""

    kind = serializers.ChoiceField(choices=ReportKind.choices)
    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)
    as_of = date_param(required=False)
    account_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIGINT_MAX),
        default=list,
        max_length=IDS_MAX,
        help_text="empty: every account",
    )


class ReportBatchListApi(ListAPIView[ReportBatch]):
    """Report batches, newest first; POST starts one (generate_reports)."""

    serializer_class = BatchOutput
    required_action = Action.GENERATE_REPORTS

    def get_queryset(self) -> Any:
        """Batches of this firm."""
        return report_batch_list()

    @extend_schema(request=BatchInput, responses={201: BatchOutput})
    def post(self, request: Request) -> Response:
        """Create a batch; it renders on the default queue."""
        data = BatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        as_of = values.get("as_of") or firm_today()
        batch = report_batch_create(
            kind=ReportKind(values["kind"]),
            year=values.get("year") or as_of.year,
            as_of=as_of,
            account_ids=values["account_ids"],
            requested_by=request.user,
        )
        return Response(BatchOutput(batch).data, status=status.HTTP_201_CREATED)


class ReportBatchDetailApi(RetrieveAPIView[Any]):
    """One batch, its progress and its files."""

    serializer_class = BatchDetailOutput
    required_action = Action.GENERATE_REPORTS

    def get_queryset(self) -> Any:
        """Batches of this firm, files prefetched."""
        return report_batch_list().prefetch_related("files")


class ReportFileDownloadApi(APIView):
    """Stream one rendered PDF of this firm."""

    required_action = Action.GENERATE_REPORTS

    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request: Request, pk: int) -> FileResponse:
        """Stream the stored PDF (404 for another firm's id: it is not in this schema)."""
        report_file = get_object_or_404(report_file_list(), pk=pk)
        return report_file_response(report_file)


def report_file_response(report_file: ReportFile) -> FileResponse:
    """A download response for a stored report (under the firm's schema prefix)."""
    if not default_storage.exists(report_file.storage_name):
        raise Http404("report file is gone")
    return FileResponse(
        default_storage.open(report_file.storage_name, "rb"),
        as_attachment=True,
        filename=report_file.filename,
        content_type="application/pdf",
    )


class ShareOutput(serializers.Serializer[Any]):
    """Accounts, and assets, whose taxes saved (net of trading costs) exceeded their fees."""

    accounts = serializers.IntegerField()
    accounts_ahead = serializers.IntegerField()
    account_share = serializers.DecimalField(max_digits=12, decimal_places=6, allow_null=True)
    assets = MoneyField()
    assets_ahead = MoneyField()
    asset_share = serializers.DecimalField(max_digits=12, decimal_places=6, allow_null=True)


class TaxesSavedRowOutput(serializers.Serializer[Any]):
    """One account's year against its tax-naive shadow (USD; taxes saved at present value)."""

    account_id = serializers.IntegerField(source="account.pk")
    number = serializers.CharField(source="account.number")
    name = serializers.CharField(source="account.name")
    value = MoneyField()
    rebalances = serializers.IntegerField()
    losses_harvested = MoneyField()
    permanent = MoneyField()
    deferral_value = MoneyField()
    deferred_liability = MoneyField()
    deferred_liability_pv = MoneyField()
    saved = MoneyField()
    trading_costs = MoneyField()
    fees = MoneyField()
    net_saved = MoneyField()
    inception_saved_after_costs = MoneyField()
    inception_fees = MoneyField()
    is_ahead = serializers.BooleanField()


class TaxesSavedOutput(serializers.Serializer[Any]):
    """The firm's taxes saved in a year (docs/taxes-saved.md): headline shares and accounts."""

    year = serializers.IntegerField()
    as_of = serializers.DateField()
    discount_rate = serializers.DecimalField(max_digits=8, decimal_places=6)
    horizon_years = serializers.IntegerField()
    trading_cost_rate = serializers.DecimalField(max_digits=8, decimal_places=6)
    share = ShareOutput()
    inception_share = ShareOutput()
    permanent = MoneyField()
    deferral_value = MoneyField()
    deferred_liability = MoneyField()
    saved = MoneyField()
    trading_costs = MoneyField()
    fees = MoneyField()
    net_saved = MoneyField()
    losses_harvested = MoneyField()
    rows = TaxesSavedRowOutput(many=True)


class TaxesSavedQuery(AsOfFilters):
    """The year reported (default: this year) and the valuation date (default: today)."""

    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)


class TaxesSavedApi(APIView):
    """Taxes saved against each account's tax-naive shadow, and the firm's headline shares."""

    required_action = Action.GENERATE_REPORTS
    filters_class = TaxesSavedQuery

    @extend_schema(responses={200: TaxesSavedOutput})
    def get(self, request: Request) -> Response:
        """Compute the report (each account's shadow is rebuilt from the ledger)."""
        query = query_filters(self)
        as_of = query.get("as_of") or firm_today()
        year = query.get("year") or as_of.year
        if year > as_of.year:
            raise ApplicationError(
                "year: a year on or before as_of", code=ReportsErrorCode.YEAR_AFTER_AS_OF
            )
        report = firm_taxes_saved_get(year=year, as_of=as_of)
        terms = deferral_terms()
        data = {
            **{
                f: getattr(report, f)
                # .keys(): the DRF stubs type iterating a BindingDict as its fields, not names.
                for f in TaxesSavedOutput().fields.keys()  # noqa: SIM118
                if hasattr(report, f)
            },
            "discount_rate": terms.discount_rate,
            "horizon_years": terms.horizon_years,
            "trading_cost_rate": trading_cost_rate(),
        }
        return Response(TaxesSavedOutput(data).data)
