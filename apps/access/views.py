"""Firm-host pages: users and roles (firm admin), audit trail."""

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from apps.access.forms import FirmUserCreateForm, RoleForm
from apps.access.permissions import Action, action_required
from apps.access.selectors import audit_event_list, firm_user_list
from apps.access.services import audit_export_request, firm_user_create, firm_user_set_role
from apps.common.exceptions import ApplicationError


@action_required(Action.MANAGE_USERS)
def user_list(request: HttpRequest) -> HttpResponse:
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
def user_set_role(request: HttpRequest, user_id: int) -> HttpResponse:
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
