"""Sign-in, users, tokens and the audit trail: pages at the root of firm hosts."""

from django.contrib.auth import views as auth_views
from django.urls import path

from apps.access import views
from apps.access.login import SignInForm

urlpatterns = [
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
    path("users/", views.user_list, name="user-list"),
    path("users/<int:user_id>/role/", views.user_set_role, name="user-set-role"),
    path("tokens/", views.api_token_list, name="api-token-page"),
    path("totp/", views.totp_enrol, name="totp-enrol"),
    path(
        "tokens/<int:token_id>/revoke/", views.api_token_revoke_view, name="api-token-page-revoke"
    ),
    path("audit/", views.audit_list, name="audit-list"),
    path(
        "audit/exports/<int:event_id>/",
        views.audit_export_download,
        name="audit-export-download",
    ),
]
