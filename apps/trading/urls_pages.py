"""Trading pages, mounted at the root of firm hosts by config/urls_tenants.py."""

from django.urls import include, path

from apps.trading import book_views, views

urlpatterns = [
    path("accounts/", book_views.account_list_page, name="account-list"),
    path("fills/", book_views.fill_list_page, name="fill-list"),
    path("accounts/<int:pk>/preview/", views.account_preview_page, name="account-preview"),
    path(
        "accounts/<int:pk>/preview/submit/",
        views.account_preview_submit_view,
        name="account-preview-submit",
    ),
    path("runs/", views.run_list_page, name="run-list"),
    path("runs/<int:pk>/", views.run_detail_page, name="run-detail"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run-cancel"),
    path("proposals/<int:pk>/", views.proposal_detail_page, name="proposal-detail"),
    path("proposals/<int:pk>/rerun/", views.proposal_rerun_view, name="proposal-rerun"),
    path("approvals/", views.exception_queue_page, name="exception-queue"),
    path("scan/", views.daily_scan_page, name="daily-scan"),
    path("settings/", views.trading_settings_page, name="trading-settings"),
    path("", include("apps.trading.orders.urls_pages")),
]
