"""A firm's host: its pages, its admin and its API (everything in the firm's schema)."""

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.access import views as access_views
from apps.access.admin_sites import firm_admin_site
from apps.access.login import SignInForm
from apps.accounts import import_views
from apps.accounts import views as account_views
from apps.common.api import unrouted
from apps.firms import views as firm_views
from apps.reports import views as report_views
from apps.securities import views as securities_views
from apps.trading import book_views, order_apis, order_views
from apps.trading import views as trading_views

api_v1: list[URLPattern | URLResolver] = [
    path("", include("apps.access.urls")),
    path("securities/", include("apps.securities.urls")),
    path("", include("apps.accounts.urls")),
    path("", include("apps.trading.urls")),
    path("orders/", order_apis.OrderListApi.as_view(), name="api-order-list"),
    path("orders/create/", order_apis.OrderCreateApi.as_view(), name="api-order-create"),
    path("orders/<int:pk>/cancel/", order_apis.OrderCancelApi.as_view(), name="api-order-cancel"),
    path("trade-files/", order_apis.TradeFileListApi.as_view(), name="api-trade-file-list"),
    path(
        "trade-files/generate/",
        order_apis.TradeFileGenerateApi.as_view(),
        name="api-trade-file-generate",
    ),
    path(
        "trade-files/<int:pk>/download/",
        order_apis.TradeFileDownloadApi.as_view(),
        name="api-trade-file-download",
    ),
    path("fills/", order_apis.FillsImportApi.as_view(), name="api-fills-import"),
    path("", include("apps.models.urls")),
    path("", include("apps.restrictions.urls")),
    path("", include("apps.reports.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script under the CSP.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html"),
        name="api-docs",
    ),
]

handler400 = "apps.common.api.bad_request"
handler404 = "apps.common.api.not_found"

urlpatterns = [
    path("", report_views.dashboard, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=SignInForm,
            template_name="access/login.html",
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", book_views.account_list_page, name="account-list"),
    path("realized-gains/", account_views.realized_gain_list_page, name="realized-gain-list"),
    path("fills/", book_views.fill_list_page, name="fill-list"),
    path("accounts/<int:pk>/", account_views.account_detail_page, name="account-detail"),
    path(
        "accounts/<int:pk>/form8949.csv",
        account_views.form8949_download,
        name="account-form8949",
    ),
    path("imports/", import_views.custodian_import, name="custodian-import"),
    path(
        "securities/<str:symbol>/",
        securities_views.security_detail_page,
        name="security-detail",
    ),
    path("", include("apps.models.urls_pages")),
    path("", include("apps.restrictions.urls_pages")),
    path("", include("apps.reports.urls_pages")),
    path("accounts/<int:pk>/preview/", trading_views.account_preview_page, name="account-preview"),
    path(
        "accounts/<int:pk>/preview/submit/",
        trading_views.account_preview_submit_view,
        name="account-preview-submit",
    ),
    path("runs/", trading_views.run_list_page, name="run-list"),
    path("runs/<int:pk>/", trading_views.run_detail_page, name="run-detail"),
    path("runs/<int:pk>/cancel/", trading_views.run_cancel, name="run-cancel"),
    path("proposals/<int:pk>/", trading_views.proposal_detail_page, name="proposal-detail"),
    path("proposals/<int:pk>/rerun/", trading_views.proposal_rerun_view, name="proposal-rerun"),
    path("approvals/", trading_views.exception_queue_page, name="exception-queue"),
    path("scan/", trading_views.daily_scan_page, name="daily-scan"),
    path("settings/", trading_views.trading_settings_page, name="trading-settings"),
    path("orders/", order_views.orders_page, name="orders"),
    path("orders/create/", order_views.orders_create, name="orders-create"),
    path("orders/<int:pk>/cancel/", order_views.order_cancel_view, name="order-cancel"),
    path("orders/trade-files/", order_views.trade_file_generate_view, name="trade-file-generate"),
    path(
        "orders/trade-files/<int:pk>/download/",
        order_views.trade_file_download,
        name="trade-file-download",
    ),
    path("orders/fills/", order_views.fills_upload, name="fills-upload"),
    path("users/", access_views.user_list, name="user-list"),
    path("users/<int:user_id>/role/", access_views.user_set_role, name="user-set-role"),
    path("tokens/", access_views.api_token_list, name="api-token-page"),
    path("totp/", access_views.totp_enrol, name="totp-enrol"),
    path(
        "tokens/<int:token_id>/revoke/",
        access_views.api_token_revoke_view,
        name="api-token-page-revoke",
    ),
    path("audit/", access_views.audit_list, name="audit-list"),
    path(
        "audit/exports/<int:event_id>/",
        access_views.audit_export_download,
        name="audit-export-download",
    ),
    path("sub-advisory/enter/", firm_views.sub_advisory_enter, name="sub-advisory-enter"),
    path("admin/", firm_admin_site.urls),
    path("api/v1/", include(api_v1)),
    # Last: what no API route matched answers JSON 404, whatever DEBUG says.
    re_path(r"^api/(?P<path>.*)$", unrouted),
]
