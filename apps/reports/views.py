"""Firm-host pages: the book dashboard, report batches with progress, and file downloads."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from apps.access.permissions import Action, action_required
from apps.access.requests import AuthenticatedHttpRequest
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import firm_today
from apps.reports.apis import report_file_response
from apps.reports.dashboard import book_overview
from apps.reports.forms import BrandingForm, ReportBatchForm
from apps.reports.models import ReportKind
from apps.reports.selectors import firm_branding_get, report_batch_list, report_file_list
from apps.reports.services.batches import report_batch_create
from apps.reports.services.branding import firm_branding_update


@action_required(Action.VIEW_BOOK)
def dashboard(request: HttpRequest) -> HttpResponse:
    """The firm's landing page: the book, what needs attention, the last runs, taxes saved."""
    return render(request, "reports/dashboard.html", {"book": book_overview(as_of=firm_today())})


@action_required(Action.GENERATE_REPORTS)
def report_list_page(request: HttpRequest) -> HttpResponse:
    """Batches, newest first, and the form that starts one."""
    today = firm_today()
    form = ReportBatchForm(request.POST or None, initial={"year": today.year, "as_of": today})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            batch = report_batch_create(
                kind=ReportKind(data["kind"]),
                year=data["year"],
                as_of=data["as_of"],
                account_ids=[data["account_id"]] if data.get("account_id") else None,
                requested_by=request.user,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Report batch #{batch.pk} started.")
            return redirect("report-batch", pk=batch.pk)
    page = Paginator(report_batch_list(), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "reports/batches.html",
        {"page": page, "form": form},
        status=400 if form.errors else 200,
    )


@action_required(Action.GENERATE_REPORTS)
def report_batch_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One batch: progress (the page refreshes while it runs), failures, files to download."""
    batch = get_object_or_404(report_batch_list(), pk=pk)
    files = Paginator(report_file_list(batch=batch), 100).get_page(request.GET.get("page"))
    return render(request, "reports/batch.html", {"batch": batch, "files": files})


@action_required(Action.GENERATE_REPORTS)
def report_file_download(request: HttpRequest, pk: int) -> FileResponse:
    """Download one PDF of this firm (404 for any id not in this firm's schema)."""
    return report_file_response(get_object_or_404(report_file_list(), pk=pk))


@action_required(Action.MANAGE_SETTINGS)
def branding_settings_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Firm admins set the logo, colours and disclaimer of their client reports (audited)."""
    branding = firm_branding_get()
    form = BrandingForm(
        request.POST or None,
        request.FILES or None,
        initial={
            "display_name": branding.display_name,
            "primary_colour": branding.primary_colour,
            "secondary_colour": branding.secondary_colour,
            "disclaimer": branding.disclaimer,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        logo = data["logo"]
        try:
            firm_branding_update(
                acting_user=request.user,
                display_name=data["display_name"],
                primary_colour=data["primary_colour"],
                secondary_colour=data["secondary_colour"],
                disclaimer=data["disclaimer"],
                logo=(logo.name, logo.read()) if logo else None,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Report branding saved.")
            return redirect("branding-settings")
    return render(request, "reports/branding.html", {"form": form, "branding": branding})
