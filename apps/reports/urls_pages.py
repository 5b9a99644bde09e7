from django.urls import path

from apps.reports import views

urlpatterns = [
    path("", views.dashboard, name="home"),
    path("reports/", views.report_list_page, name="report-list"),
    path("reports/batches/<int:pk>/", views.report_batch_page, name="report-batch"),
    path("reports/files/<int:pk>/", views.report_file_download, name="report-file-download"),
    path("settings/branding/", views.branding_settings_page, name="branding-settings"),
]
