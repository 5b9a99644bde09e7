"""Platform-staff pages (public host) over the securities master's imports."""

from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.ingest.forms import UploadForm, upload_import
from apps.securities.services.funds import fund_holdings_import


@staff_member_required(login_url="staff-login")
def fund_holdings_import_page(request: HttpRequest) -> HttpResponse:
    """Upload a fund holdings CSV; show the counts, or every problem with its line and field.

    The securities master is shared by every firm, so only platform staff edit it (as in the
    public admin and the import commands).
    """
    form = UploadForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "report": None, "error": None}
    status = 200
    if request.method == "POST" and form.is_valid():
        context["report"], context["error"], status = upload_import(
            form,
            lambda content, _filename: fund_holdings_import(source=content),
            default_name="fund-holdings.csv",
        )
    elif request.method == "POST":
        status = 400
    return render(request, "securities/fund_holdings_import.html", context, status=status)
