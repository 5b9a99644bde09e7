"""Pages over the securities master.

A security's page on a firm's host (read-only shared data); the fund holdings import for
platform staff on the platform's host.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from apps.access.permissions import Action, action_required
from apps.common.tenancy import firm_today
from apps.ingest.forms import UploadForm, upload_import
from apps.securities.models import FUND_KINDS
from apps.securities.selectors import fund_holdings_view, price_map_get, security_get
from apps.securities.services.funds import fund_holdings_import

_View = TypeVar("_View", bound=Callable[..., HttpResponse])


def _staff_only(view: _View) -> _View:
    """Platform staff only (as ``firms.views.staff_only``, which this layer may not import)."""
    return staff_member_required(view, login_url="staff-login")


@action_required(Action.VIEW_BOOK)
def security_detail_page(request: HttpRequest, symbol: str) -> HttpResponse:
    """A security: its classification, latest close, and a fund's terms and top 20 holdings."""
    security = security_get(symbol=symbol)
    if security is None:
        raise Http404(f"unknown symbol {symbol}")
    as_of = firm_today()
    is_fund = security.kind in FUND_KINDS
    return render(
        request,
        "securities/detail.html",
        {
            "security": security,
            "is_fund": is_fund,
            "as_of": as_of,
            "quote": price_map_get(symbols=[security.symbol], as_of=as_of).get(security.symbol),
            "holdings": fund_holdings_view(fund=security.symbol, as_of=as_of) if is_fund else None,
        },
    )


@_staff_only
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
