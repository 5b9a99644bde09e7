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
from apps.common.tenancy import firm_today
from apps.reports.models import ReportBatch, ReportFile, ReportKind
from apps.reports.selectors import report_batch_list, report_file_list
from apps.reports.services.batches import report_batch_create


class FileOutput(serializers.ModelSerializer):
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


class BatchOutput(serializers.ModelSerializer):
    """A batch and its progress."""

    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = ReportBatch
        fields = (
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


class BatchInput(serializers.Serializer):
    """What to render: a kind, a year (default this year), accounts for client reports."""

    kind = serializers.ChoiceField(choices=ReportKind.choices)
    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)
    as_of = serializers.DateField(required=False)
    account_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), default=list, max_length=100000
    )


class ReportBatchListApi(ListAPIView):
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


class ReportBatchDetailApi(RetrieveAPIView):
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
