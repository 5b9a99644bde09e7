"""Public-host pages (home, staff console, onboarding) and the firm-host sub-advisory entry."""

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.access.requests import AuthenticatedHttpRequest
from apps.common.exceptions import ApplicationError
from apps.common.show_once import show_once_store, show_once_take
from apps.firms.forms import FirmOnboardForm, StaffEntryForm
from apps.firms.models import Firm, StaffEntry
from apps.firms.services import (
    firm_create,
    firm_list_active,
    staff_book_run_start,
    staff_entry_consume,
    staff_entry_request,
    subadvisory_overview,
)

_View = TypeVar("_View", bound=Callable[..., HttpResponse])


def staff_only(view: _View) -> _View:
    """Platform staff only; anyone else goes to the staff login (``staff_member_required``)."""
    return staff_member_required(view, login_url="staff-login")


def public_home(request: HttpRequest) -> HttpResponse:
    """The platform's home page on the public host."""
    return render(request, "firms/home.html")


@staff_only
def staff_console(request: HttpRequest) -> HttpResponse:
    """Platform staff: every firm, onboarding, and entry as sub-advisor."""
    form = FirmOnboardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = firm_create(
                name=data["name"],
                slug=data["slug"],
                domain=data["domain"] or None,
                admin_email=data["admin_email"],
                kind=data["kind"],
                service=data["service"],
                timezone_name=data["timezone"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            # The generated password is shown once from the server-side session, never put in
            # a message (a cookie may carry messages).
            show_once_store(
                request,
                key="firm-created",
                value={
                    "name": created.firm.name,
                    "url": f"http://{created.domain}:{request.get_port()}/",
                    "admin_email": created.admin_email,
                    "admin_password": created.admin_password,
                },
            )
            return redirect("staff-console")
    entries = StaffEntry.objects.select_related("firm")[:20]
    return render(
        request,
        "firms/console.html",
        {
            "firms": _firm_rows(),
            "form": form,
            "entries": entries,
            "entry_form": StaffEntryForm(),
            "book": subadvisory_overview(),
            "created": show_once_take(request, key="firm-created"),
        },
    )


@require_POST
@staff_only
def staff_book_run(request: AuthenticatedHttpRequest, firm_id: int) -> HttpResponse:
    """Start a whole-book rebalance for a sub-advised firm (audited in the firm)."""
    firm = get_object_or_404(Firm.objects.exclude(schema_name="public"), pk=firm_id)
    try:
        run_id = staff_book_run_start(firm=firm, staff_user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Book run #{run_id} started for {firm.name}.")
    return redirect("staff-console")


def _firm_rows() -> list[dict[str, Any]]:
    rows = []
    for firm in firm_list_active():
        primary = firm.get_primary_domain()
        rows.append({"firm": firm, "domain": primary.domain if primary else ""})
    return rows


@require_POST
@staff_only
def staff_enter_firm(request: AuthenticatedHttpRequest, firm_id: int) -> HttpResponse:
    """Record the entry and send staff to the firm's own host with a one-use token."""
    firm = get_object_or_404(Firm.objects.exclude(schema_name="public"), pk=firm_id)
    form = StaffEntryForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why you enter the firm.")
        return redirect("staff-console")
    try:
        token = staff_entry_request(
            firm=firm, staff_user=request.user, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("staff-console")
    domain = firm.get_primary_domain()
    if domain is None:  # firm_create gives every firm one
        raise Http404("the firm has no primary domain")
    port = request.get_port()
    host = domain.domain if port in ("80", "443") else f"{domain.domain}:{port}"
    # A page that moves on by itself, not a redirect: the console's CSP (form-action 'self')
    # stops a form whose answer redirects to another host, so browsers never left the console.
    return render(
        request,
        "firms/enter.html",
        {"target": firm, "url": f"{request.scheme}://{host}/sub-advisory/enter/?token={token}"},
    )


def sub_advisory_enter(request: HttpRequest) -> HttpResponse:
    """Firm host: consume a staff entry token and log the staff member in as sub-advisor."""
    from apps.access.services import platform_staff_user_get_or_create

    token = request.GET.get("token", "")
    try:
        entry = staff_entry_consume(token=token, schema_name=request.tenant.schema_name)  # type: ignore[attr-defined]
    except ApplicationError as exc:
        raise PermissionDenied(exc.message) from exc
    user = platform_staff_user_get_or_create(staff_username=entry.staff_username, entry_id=entry.pk)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.info(request, f"You act for {request.tenant.name} as sub-advisor; this is audited.")  # type: ignore[attr-defined]
    return redirect("home")
