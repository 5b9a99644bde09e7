from django.urls import path

from apps.reports import apis

urlpatterns = [
    path("reports/taxes-saved/", apis.TaxesSavedApi.as_view(), name="api-report-taxes-saved"),
    path("reports/batches/", apis.ReportBatchListApi.as_view(), name="api-report-batch-list"),
    path(
        "reports/batches/<int:pk>/",
        apis.ReportBatchDetailApi.as_view(),
        name="api-report-batch-detail",
    ),
    path(
        "reports/files/<int:pk>/download/",
        apis.ReportFileDownloadApi.as_view(),
        name="api-report-file-download",
    ),
]
