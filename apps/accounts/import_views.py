"""The custodian file upload page (firm host): a thin interface over ``custodian_file_import``.

Wired by the lead in ``config/urls_tenants.py`` as
``path("imports/", import_views.custodian_import, name="custodian-import")``.
"""

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.access.permissions import Action, action_required
from apps.accounts.services.imports import (
    MAX_FILE_BYTES,
    ImportKind,
    ImportLayout,
    ImportRejectedError,
    custodian_file_import,
)
from apps.common.exceptions import ApplicationError


class CustodianImportForm(forms.Form):
    """Which file, what it holds, whose layout; optionally only check it."""

    kind = forms.ChoiceField(choices=[(k.value, k.value.title()) for k in ImportKind])
    layout = forms.ChoiceField(
        choices=[
            (ImportLayout.GENERIC.value, "Generic CSV (ours)"),
            (ImportLayout.SCHWAB.value, "Schwab-like export"),
            (ImportLayout.FIDELITY.value, "Fidelity-like export"),
        ]
    )
    file = forms.FileField()
    as_of = forms.DateField(
        required=False, help_text="Positions snapshot date, when the file has none."
    )
    dry_run = forms.BooleanField(required=False, label="Check only (write nothing)")

    def clean_file(self) -> Any:
        """Refuse oversized uploads before reading them."""
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(f"the file is larger than {MAX_FILE_BYTES // 2**20} MB")
        return upload


@action_required(Action.IMPORT_FILES)
def custodian_import(request: HttpRequest) -> HttpResponse:
    """Upload a custodian file; show the counts, or every problem with its line and field."""
    form = CustodianImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "report": None, "error": None}
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            context["report"] = custodian_file_import(
                kind=form.cleaned_data["kind"],
                layout=form.cleaned_data["layout"],
                content=upload.read(),
                filename=upload.name or "upload.csv",
                acting_user=request.user,
                dry_run=form.cleaned_data["dry_run"],
                as_of=form.cleaned_data["as_of"],
            )
        except ImportRejectedError as exc:
            context["report"] = exc.report
            status = 400
        except ApplicationError as exc:
            context["error"] = exc.message
            status = 400
    elif request.method == "POST":
        status = 400
    return render(request, "accounts/import.html", context, status=status)
