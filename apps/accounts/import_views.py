"""The custodian file upload page (firm host): a thin interface over ``custodian_file_import``.

Wired by the lead in ``config/urls_tenants.py`` as
``path("imports/", import_views.custodian_import, name="custodian-import")``.
"""

from typing import Any

from django import forms
from django.http import HttpResponse
from django.shortcuts import render

from apps.access.permissions import Action, action_required
from apps.access.requests import AuthenticatedHttpRequest
from apps.accounts.layouts import LAYOUTS, ImportKind
from apps.accounts.services.imports import custodian_file_import
from apps.ingest.forms import UploadForm, upload_import


def _layout_choices() -> list[tuple[str, str]]:
    """The registered layouts, read when the form renders (a layout added later shows)."""
    return [(name, layout.label) for name, layout in LAYOUTS.items()]


class CustodianImportForm(UploadForm):
    """Which file, what it holds, whose layout; optionally only check it."""

    kind = forms.ChoiceField(choices=[(k.value, k.value.title()) for k in ImportKind])
    layout = forms.ChoiceField(choices=_layout_choices)
    as_of = forms.DateField(
        required=False, help_text="Positions snapshot date, when the file has none."
    )
    dry_run = forms.BooleanField(required=False, label="Check only (write nothing)")
    field_order = ("kind", "layout", "file", "as_of", "dry_run")


@action_required(Action.IMPORT_FILES)
def custodian_import(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Upload a custodian file; show the counts, or every problem with its line and field."""
    form = CustodianImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "report": None, "error": None}
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        context["report"], context["error"], status = upload_import(
            form,
            lambda content, filename: custodian_file_import(
                kind=data["kind"],
                layout=data["layout"],
                content=content,
                filename=filename,
                acting_user=request.user,
                dry_run=data["dry_run"],
                as_of=data["as_of"],
            ),
            default_name="upload.csv",
        )
    elif request.method == "POST":
        status = 400
    return render(request, "accounts/import.html", context, status=status)
