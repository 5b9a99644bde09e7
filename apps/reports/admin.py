"""Report rows in the firm admin: read-only (batches and files come from the report services)."""

from django.contrib import admin

from apps.access.admin_audit import ReadOnlyModelAdmin
from apps.access.admin_sites import firm_admin_site
from apps.reports.models import ReportBatch, ReportFile


@admin.register(ReportBatch, site=firm_admin_site)
class ReportBatchAdmin(ReadOnlyModelAdmin):
    list_display = (
        "pk",
        "kind",
        "year",
        "as_of",
        "status",
        "done_count",
        "failed_count",
        "total_count",
        "requested_by_name",
        "created_at",
    )
    list_filter = ("status", "kind", "year")
    search_fields = ("=id", "requested_by_name")
    date_hierarchy = "created_at"


@admin.register(ReportFile, site=firm_admin_site)
class ReportFileAdmin(ReadOnlyModelAdmin):
    list_display = ("filename", "batch", "kind", "account", "pages", "size_bytes", "created_at")
    list_filter = ("kind",)
    search_fields = ("filename", "=batch__id", "account__name", "account__number")
    exclude = ("storage_name",)  # downloads go through the reports page, by id
    list_select_related = ("batch", "account")
