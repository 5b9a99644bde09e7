"""Firm-host pages for traders: block orders, custodian trade files, fills uploads.

Thin interfaces over ``services.orders``, ``services.trade_files`` and ``services.fills``.
URLs: ``urls_pages``.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.access.permissions import Action, action_required, user_can
from apps.access.requests import AuthenticatedHttpRequest
from apps.common.exceptions import ApplicationError
from apps.common.tables import Column, Kind, ListFilterForm, Table, date_filter
from apps.ingest.forms import UploadForm, upload_import
from apps.trading.models import Order, OrderStatus, TradeFileLayout, TradeSide
from apps.trading.orders.selectors import (
    approved_unordered_count,
    fill_import_list,
    open_order_custodians,
    order_list,
    trade_file_list,
)
from apps.trading.services.fills import fills_import
from apps.trading.services.orders import order_cancel, orders_create_from_approved
from apps.trading.services.trade_files import trade_file_content, trade_file_generate

_LAYOUT_CHOICES = [(layout.value, layout.label) for layout in TradeFileLayout]


class TradeFileForm(forms.Form):
    """Which custodian's open orders, in whose layout."""

    custodian = forms.CharField(max_length=32)
    layout = forms.ChoiceField(choices=_LAYOUT_CHOICES)


class FillsUploadForm(UploadForm):
    """A custodian's fills file and its layout."""

    layout = forms.ChoiceField(choices=_LAYOUT_CHOICES)
    field_order = ("layout", "file")


ACTIVE = "active"
ACTIVE_STATUSES = (OrderStatus.OPEN, OrderStatus.SENT, OrderStatus.PARTIALLY_FILLED)


class OrderFilterForm(ListFilterForm):
    """The orders list's filters (kept in the URL)."""

    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any"), (ACTIVE, "Open, sent or partly filled"), *OrderStatus.choices],
    )
    custodian = forms.CharField(label="Custodian", required=False, max_length=32)
    symbol = forms.CharField(label="Symbol", required=False, max_length=16)
    side = forms.ChoiceField(
        label="Side", required=False, choices=[("", "Any"), *TradeSide.choices]
    )
    created_from = date_filter("Created from")
    created_to = date_filter("Created to")


ORDER_COLUMNS = (
    Column("id", "Order", field="id", value=lambda o: f"#{o.pk}"),
    Column("created", "Created", field="created_at", kind=Kind.DATETIME),
    Column("custodian", "Custodian", field="custodian"),
    Column("side", "Side", field="side", value=lambda o: o.get_side_display()),
    Column("symbol", "Symbol", field="symbol"),
    Column("shares", "Shares", field="total_shares", kind=Kind.SHARES),
    Column("filled", "Filled", field="filled_shares", kind=Kind.SHARES),
    Column("fill_amount", "Filled amount", field="fill_amount", kind=Kind.MONEY, is_summed=True),
    Column(
        "average_price",
        "Average price",
        value=lambda o: o.average_price,
        kind=Kind.MONEY,
        is_sortable=False,
    ),
    Column("status", "Status", field="status", value=lambda o: o.get_status_display()),
    Column("trade_file", "Trade file", field="trade_file__filename"),
)


def _order_table(request: HttpRequest) -> Table[Order]:
    form = OrderFilterForm(request.GET)
    filters = form.filters()
    status = filters.get("status", "")
    orders = order_list(
        status="" if status == ACTIVE else status,
        custodian=filters.get("custodian", ""),
        symbol=filters.get("symbol", ""),
        side=filters.get("side", ""),
        created_from=filters.get("created_from"),
        created_to=filters.get("created_to"),
    )
    if status == ACTIVE:
        orders = orders.filter(status__in=ACTIVE_STATUSES)
    return Table(
        request,
        queryset=orders,
        columns=ORDER_COLUMNS,
        default_order=("-created_at", "custodian", "symbol", "side", "id"),
        filter_form=form,
        per_page=25,
        name="orders",
    )


def _page(
    request: HttpRequest,
    *,
    fills_form: FillsUploadForm | None = None,
    report: Any = None,
    status: int = 200,
) -> HttpResponse:
    table = _order_table(request)
    context = {
        "approved_count": approved_unordered_count(),
        "table": table,
        "orders": table.page,
        "form": table.filter_form,
        "active_statuses": ACTIVE_STATUSES,
        "custodians": open_order_custodians(),
        "layouts": _LAYOUT_CHOICES,
        "trade_files": trade_file_list()[:50],
        "fill_imports": fill_import_list()[:20],
        "fills_form": fills_form or FillsUploadForm(),
        "report": report,
        "can_trade": user_can(request.user, Action.APPROVE_TRADES),
        "can_import": user_can(request.user, Action.IMPORT_FILES),
    }
    return render(request, "trading/orders.html", context, status=status)


@action_required(Action.VIEW_BOOK)
def orders_page(request: HttpRequest) -> HttpResponse:
    """Approved-but-not-ordered count, orders (filters, sort, totals, CSV), trade files, fills."""
    table = _order_table(request)
    if table.wants_csv:
        return table.csv_response("orders.csv")
    return _page(request)


@require_POST
@action_required(Action.APPROVE_TRADES)
def orders_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Aggregate every approved proposal into block orders."""
    batch = orders_create_from_approved(acting_user=request.user)
    if batch.orders:
        messages.success(request, f"Created {len(batch.orders)} block order(s).")
    elif not (batch.held or batch.stale):
        messages.info(request, "No approved proposal is waiting for orders.")
    for pk, reasons in batch.held.items():
        messages.warning(request, f"Proposal #{pk} held back: {'; '.join(reasons)}.")
    for pk, reason in batch.stale.items():
        messages.warning(request, f"Proposal #{pk} is stale: {reason}.")
    return redirect("orders")


@require_POST
@action_required(Action.APPROVE_TRADES)
def trade_file_generate_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Write a custodian's open orders to a trade file (they become sent)."""
    form = TradeFileForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a custodian and a layout.")
        return redirect("orders")
    try:
        trade_file = trade_file_generate(
            custodian=form.cleaned_data["custodian"],
            layout=form.cleaned_data["layout"],
            acting_user=request.user,
        )
    except ApplicationError as exc:
        problems = "; ".join(str(p) for p in exc.extra.get("problems", []))
        messages.error(request, f"{exc.message}{': ' + problems if problems else ''}")
    else:
        messages.success(
            request,
            f"Trade file {trade_file.filename}: {trade_file.line_count} line(s), "
            f"{trade_file.order_count} order(s) sent.",
        )
    return redirect("orders")


@action_required(Action.APPROVE_TRADES)
def trade_file_download(request: HttpRequest, pk: int) -> HttpResponse:
    """Download one of this firm's trade files (stored under the firm's schema prefix)."""
    trade_file = get_object_or_404(trade_file_list(), pk=pk)
    try:
        content = trade_file_content(trade_file=trade_file)
    except FileNotFoundError as exc:
        raise Http404("trade file is gone") from exc
    response = HttpResponse(content, content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{trade_file.filename}"'
    return response


@action_required(Action.IMPORT_FILES)
def fills_upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Upload a custodian's fills; show the counts, or every problem by line."""
    if request.method != "POST":
        return redirect("orders")
    form = FillsUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, fills_form=form, status=400)
    report, error, status = upload_import(
        form,
        lambda content, filename: fills_import(
            content=content,
            filename=filename,
            acting_user=request.user,
            layout=form.cleaned_data["layout"],
        ),
        default_name="fills.csv",
    )
    if error:
        form.add_error(None, error)
    return _page(request, fills_form=form if status != 200 else None, report=report, status=status)


@require_POST
@action_required(Action.APPROVE_TRADES)
def order_cancel_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Cancel an order's unfilled rest: its shares and cash are no longer reserved."""
    order = get_object_or_404(Order, pk=pk)
    try:
        order_cancel(order=order, acting_user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Order #{order.pk} cancelled; its shares and cash are free.")
    return redirect("orders")
