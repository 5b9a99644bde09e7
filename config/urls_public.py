"""The platform's own host: home, platform-staff login, staff console, platform admin."""

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import path

from apps.access import views as access_views
from apps.access.admin_sites import public_admin_site
from apps.access.login import SignInForm
from apps.firms import views as firm_views
from apps.securities import views as securities_views


def health(request: HttpRequest) -> HttpResponse:
    """Liveness probe."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", firm_views.public_home, name="public-home"),
    path("health/", health, name="health"),
    path(
        "staff/login/",
        # No ``next``: the console (the public host has no "home" page of LOGIN_REDIRECT_URL).
        auth_views.LoginView.as_view(
            authentication_form=SignInForm,
            template_name="firms/staff_login.html",
            next_page="staff-console",
        ),
        name="staff-login",
    ),
    path("staff/logout/", auth_views.LogoutView.as_view(next_page="public-home"), name="logout"),
    path("staff/", firm_views.staff_console, name="staff-console"),
    path("staff/totp/", access_views.totp_enrol, name="totp-enrol"),
    path("staff/firms/<int:firm_id>/enter/", firm_views.staff_enter_firm, name="staff-enter"),
    path("staff/firms/<int:firm_id>/book-run/", firm_views.staff_book_run, name="staff-book-run"),
    path(
        "staff/fund-holdings/",
        securities_views.fund_holdings_import_page,
        name="staff-fund-holdings-import",
    ),
    path("admin/", public_admin_site.urls),
]
