"""Firm-host pages: users, audit trail, API tokens; authenticator enrolment.

The authenticator (TOTP) page serves the platform's host too.
"""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.access.forms import ApiTokenCreateForm, FirmUserCreateForm, RoleForm, TotpConfirmForm
from apps.access.permissions import Action, action_required
from apps.access.requests import AuthenticatedHttpRequest
from apps.access.selectors import api_token_list_for_user, audit_event_list, firm_user_list
from apps.access.services import (
    api_token_create,
    api_token_revoke,
    audit_export_request,
    firm_user_create,
    firm_user_set_role,
)
from apps.common.exceptions import ApplicationError
from apps.common.show_once import show_once_store, show_once_take
from apps.common.tenancy import current_schema


@action_required(Action.MANAGE_USERS)
def user_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Users and roles of the firm; firm admins add users here."""
    form = FirmUserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            firm_user_create(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                role=form.cleaned_data["role"],
                acting_user=request.user,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"User {form.cleaned_data['email']} added.")
            return redirect("user-list")
    return render(request, "access/users.html", {"users": firm_user_list(), "form": form})


@action_required(Action.MANAGE_USERS)
def user_set_role(request: AuthenticatedHttpRequest, user_id: int) -> HttpResponse:
    """Change one user's role (POST)."""
    user = get_object_or_404(firm_user_list(), pk=user_id)
    form = RoleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        firm_user_set_role(user=user, role=form.cleaned_data["role"], acting_user=request.user)
        messages.success(request, f"{user.username} is now {form.cleaned_data['role'].label}.")
    return redirect("user-list")


@action_required(Action.VIEW_AUDIT)
def audit_list(request: HttpRequest) -> HttpResponse:
    """The firm's audit trail, newest first, filterable by action; CSV exports run in the back."""
    prefix = request.GET.get("action", "").strip()
    if request.method == "POST":
        prefix = request.POST.get("action", "").strip()
        audit_export_request(action_prefix=prefix, acting_user_id=request.user.pk)
        messages.info(request, "The CSV export is being prepared; it appears below when ready.")
        return redirect(f"{request.path}?action={prefix}")
    events = audit_event_list(action_prefix=prefix)[:200]
    exports = audit_event_list(action_prefix="audit.export")[:10]
    return render(
        request, "access/audit.html", {"events": events, "prefix": prefix, "exports": exports}
    )


@action_required(Action.VIEW_AUDIT)
def audit_export_download(request: HttpRequest, event_id: int) -> FileResponse:
    """Download one audit export of this firm (the file lives under the firm's schema prefix)."""
    event = get_object_or_404(audit_event_list(action_prefix="audit.export"), pk=event_id)
    name = str(event.payload.get("file", ""))
    if not default_storage.exists(name):
        raise Http404("export file is gone")
    return FileResponse(default_storage.open(name, "rb"), as_attachment=True, filename="audit.csv")


@action_required(Action.VIEW_BOOK)
def api_token_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user's own API tokens; a new one's key is shown once, after the redirect."""
    form = ApiTokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, key = api_token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                lifetime_days=form.cleaned_data["lifetime_days"],
                acting_user=request.user,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            show_once_store(request, key="api-token", value={"name": token.name, "key": key})
            return redirect("api-token-page")
    return render(
        request,
        "access/tokens.html",
        {
            "tokens": api_token_list_for_user(user=request.user),
            "form": form,
            "created": show_once_take(request, key="api-token"),
            "now": timezone.now(),
        },
    )


@require_POST
@action_required(Action.VIEW_BOOK)
def api_token_revoke_view(request: AuthenticatedHttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of the user's own tokens."""
    token = get_object_or_404(api_token_list_for_user(user=request.user), pk=token_id)
    api_token_revoke(token=token, acting_user=request.user)
    messages.success(request, f"Token {token.name} revoked.")
    return redirect("api-token-page")


def totp_enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: its secret is shown until a code from it confirms it."""
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from django_tenants.utils import get_public_schema_name

    from apps.access.totp import totp_device_confirm, totp_device_for, totp_device_start

    public = current_schema() == get_public_schema_name()
    if not request.user.is_authenticated or (public and not request.user.is_staff):
        # The platform's host is for platform staff only (as the staff console).
        return redirect_to_login(request.get_full_path(), "staff-login" if public else "login")
    if totp_device_for(request.user) is not None:
        return render(request, "access/totp.html", {"enrolled": True})
    device = TOTPDevice.objects.filter(
        pk=request.session.get("totp-pending"), user=request.user, confirmed=False
    ).first()
    form = TotpConfirmForm(request.POST or None)
    if request.method == "POST" and device is not None and form.is_valid():
        if totp_device_confirm(
            device=device, code=form.cleaned_data["code"], acting_user=request.user
        ):
            del request.session["totp-pending"]
            messages.success(request, "Authenticator set up: every sign-in now asks for its code.")
            return redirect("totp-enrol")
        form.add_error("code", "Wrong code: enter the one your app shows now.")
    if device is None:
        device = totp_device_start(user=request.user)
        request.session["totp-pending"] = device.pk
    return render(
        request,
        "access/totp.html",
        {"enrolled": False, "config_url": device.config_url, "form": form},
    )
