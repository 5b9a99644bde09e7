"""Firm-host pages of model portfolios: list, detail (history, flattened chart), edit."""

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from apps.access.permissions import Action, action_required, user_can
from apps.access.requests import AuthenticatedHttpRequest
from apps.common.charts import Bar, horizontal_bars
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import firm_today, page_as_of
from apps.models.apis import csv_response
from apps.models.forms import ModelCreateForm, ModelDescribeForm, ModelVersionForm
from apps.models.models import ModelPortfolio
from apps.models.selectors import (
    model_current_version,
    model_flatten,
    model_list,
    model_version_csv,
    model_version_get,
    model_version_list,
)
from apps.models.services import (
    model_create,
    model_update,
    model_version_import_csv,
)


@action_required(Action.VIEW_BOOK)
def model_list_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The firm's models; model managers create one here."""
    form = ModelCreateForm(request.POST or None)
    if request.method == "POST":
        if not user_can(request.user, Action.MANAGE_MODELS):
            raise PermissionDenied("your role may not manage models")
        if form.is_valid():
            try:
                model = model_create(acting_user=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Model {model.code} created: now add its targets.")
                return redirect("model-edit", pk=model.pk)
    search = request.GET.get("q", "").strip()
    return render(
        request,
        "models/list.html",
        {"models": model_list(search=search), "q": search, "form": form},
    )


@action_required(Action.VIEW_BOOK)
def model_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A model: current targets, flattened targets on a date (chart), version history."""
    model = get_object_or_404(ModelPortfolio, pk=pk)
    as_of = page_as_of(request)
    current = model_current_version(model=model, as_of=as_of)
    flat, chart, flat_error = None, None, ""
    if current is not None:
        try:
            flat = model_flatten(model=model, as_of=as_of)
        except ApplicationError as exc:
            flat_error = exc.message
        else:
            bars = [Bar(s, float(w)) for s, w in flat.weights.items()]
            if flat.cash_weight:
                bars.append(Bar("Cash", float(flat.cash_weight)))
            chart = horizontal_bars(bars, title=f"Flattened targets of {model.code} on {as_of}")
    return render(
        request,
        "models/detail.html",
        {
            "model": model,
            "as_of": as_of,
            "current": current,
            "flat": flat,
            "flat_error": flat_error,
            "chart": chart,
            "versions": model_version_list(model=model),
            "accounts_count": model.accounts.count(),
            "overrides_count": model.accounts.filter(
                tracking_error_target_rate__isnull=False
            ).count(),
        },
    )


@action_required(Action.MANAGE_MODELS)
def model_edit_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Edit = create a new version (from the form's CSV or an upload); or change the description."""
    model = get_object_or_404(ModelPortfolio, pk=pk)
    today = firm_today()
    current = model_current_version(model=model, as_of=date.max)
    version_form = ModelVersionForm(
        initial={
            "effective_on": today,
            "csv_text": model_version_csv(version=current)
            if current
            else "symbol_or_model,weight\n",
        }
    )
    describe_form = ModelDescribeForm(instance=model)
    line_errors: dict[str, str] = {}
    if request.method == "POST" and request.POST.get("action") == "describe":
        describe_form = ModelDescribeForm(request.POST, instance=ModelPortfolio.objects.get(pk=pk))
        if describe_form.is_valid():
            changes = {f: describe_form.cleaned_data[f] for f in describe_form.Meta.fields}
            model_update(model=model, changes=changes, acting_user=request.user)
            messages.success(request, f"{model.code} updated.")
            return redirect("model-detail", pk=model.pk)
    elif request.method == "POST":
        version_form = ModelVersionForm(request.POST, request.FILES)
        if version_form.is_valid():
            try:
                version = model_version_import_csv(
                    model=model,
                    effective_on=version_form.cleaned_data["effective_on"],
                    csv_text=version_form.cleaned_data["csv_text"],
                    note=version_form.cleaned_data["note"],
                    acting_user=request.user,
                )
            except ApplicationError as exc:
                version_form.add_error(None, exc.message)
                line_errors = {str(k): str(v) for k, v in exc.extra.get("lines", {}).items()}
                line_errors |= {str(k): str(v) for k, v in exc.extra.get("targets", {}).items()}
            else:
                messages.success(
                    request,
                    f"{model.code} version {version.number} created, "
                    f"in force from {version.effective_on}.",
                )
                return redirect("model-detail", pk=model.pk)
    return render(
        request,
        "models/edit.html",
        {
            "model": model,
            "current": current,
            "version_form": version_form,
            "describe_form": describe_form,
            "line_errors": sorted(line_errors.items()),
        },
    )


@action_required(Action.VIEW_BOOK)
def model_version_csv_download(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """One version as CSV."""
    model = get_object_or_404(ModelPortfolio, pk=pk)
    version = model_version_get(model=model, number=number)
    if version is None:
        raise Http404("no such version")
    return csv_response(model=model, version=version)
