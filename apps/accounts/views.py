"""Firm-host pages of the books of record: account page, realized gains, Form 8949 download.

The accounts list shows trading figures (last proposal), so it lives in ``trading.book_views``.
"""

from datetime import date
from decimal import Decimal

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from apps.access.permissions import Action, action_required
from apps.accounts.exports import form8949_csv
from apps.accounts.holdings import Holdings, holdings_get
from apps.accounts.models import Account, Term
from apps.accounts.selectors import (
    household_realized_summary,
    realized_gain_list,
    realized_summary,
    transaction_list,
)
from apps.common.charts import Bar, horizontal_bars
from apps.common.exceptions import ApplicationError
from apps.common.limits import YEAR_MAX, YEAR_MIN
from apps.common.tables import Column, Kind, ListFilterForm, Table
from apps.common.tenancy import firm_today
from apps.models.selectors import model_flatten


def _holdings_vs_model(account: Account, holdings: Holdings, as_of: date) -> list[Bar]:
    """Bars of current weights with the model's target weights as markers (cash last)."""
    target: dict[str, Decimal] = {}
    cash_target: Decimal | None = None
    if account.model is not None:
        try:
            flat = model_flatten(model=account.model, as_of=as_of)
        except ApplicationError:
            flat = None
        if flat is not None:
            target, cash_target = dict(flat.weights), flat.cash_weight
    weights = {p.symbol: p.weight for p in holdings.positions if p.weight is not None}
    bars = [
        Bar(
            symbol,
            float(weights.get(symbol, 0)),
            float(target[symbol]) if symbol in target else None,
        )
        for symbol in sorted(set(weights) | set(target))
    ]
    if holdings.total_value:
        cash = holdings.cash / holdings.total_value
        bars.append(
            Bar("Cash", float(cash), float(cash_target) if cash_target is not None else None)
        )
    return bars


def _year(request: HttpRequest) -> int:
    raw = request.GET.get("year", "")
    in_range = raw.isascii() and raw.isdigit() and YEAR_MIN <= int(raw[:5]) <= YEAR_MAX
    return int(raw) if in_range else firm_today().year


class TaxYearForm(ListFilterForm):
    """The tax year of a realized gains list (this year when absent or out of range)."""

    year = forms.IntegerField(
        label="Tax year", required=False, min_value=YEAR_MIN, max_value=YEAR_MAX
    )


class RealizedFilterForm(TaxYearForm):
    """Filters of the firm's realized gains."""

    term = forms.ChoiceField(label="Term", required=False, choices=[("", "Any"), *Term.choices])
    symbol = forms.CharField(label="Symbol", required=False, max_length=16)
    q = forms.CharField(label="Account", required=False, max_length=100)


def _money(key: str, label: str, field: str) -> Column:
    return Column(key, label, field=field, kind=Kind.MONEY, is_summed=True)


REALIZED_COLUMNS = (
    Column("sold_on", "Sold", field="sold_on", kind=Kind.DATE),
    Column("symbol", "Symbol", field="symbol"),
    Column("lot", "Lot", field="lot_key"),
    Column("shares", "Shares", field="shares", kind=Kind.SHARES),
    _money("proceeds", "Proceeds", "proceeds_amount"),
    _money("basis", "Basis", "basis_amount"),
    _money("gain", "Gain", "gain_amount"),
    _money("disallowed", "Wash sale disallowed", "disallowed_amount"),
    _money("reportable", "Reportable gain", "reportable_gain_amount"),
    Column("term", "Term", field="term"),
    Column("code", "Form 8949 code", field="form8949_code"),
)
FIRM_REALIZED_COLUMNS = (
    REALIZED_COLUMNS[0],
    Column(
        "account",
        "Account",
        field="account__name",
        link=lambda gain: reverse("account-detail", args=[gain.account_id]),
    ),
    Column("number", "Number", field="account__number"),
    *REALIZED_COLUMNS[1:],
)
REALIZED_ORDER = ("sold_on", "symbol", "lot_key")


@action_required(Action.VIEW_BOOK)
def account_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One account: holdings at market, lots with term, the tax year so far, the ledger."""
    account = get_object_or_404(Account.objects.select_related("household", "model"), pk=pk)
    year = _year(request)
    realized = Table(
        request,
        queryset=realized_gain_list(account=account, year=year),
        columns=REALIZED_COLUMNS,
        default_order=REALIZED_ORDER,
        filter_form=TaxYearForm(request.GET),
        per_page=100,
        name="lot sales",
    )
    if realized.wants_csv:
        return realized.csv_response(f"realized-{account.custodian}-{account.number}-{year}.csv")
    today = firm_today()
    holdings = holdings_get(account=account, as_of=today)
    chart = horizontal_bars(
        _holdings_vs_model(account, holdings, today),
        title=f"{account.name}: holdings (bars) against the model's targets (marks)",
    )
    return render(
        request,
        "accounts/detail.html",
        {
            "account": account,
            "year": year,
            "today": today,
            "holdings": holdings,
            "weights_chart": chart,
            "summary": realized_summary(account=account, year=year),
            "household_summary": household_realized_summary(household=account.household, year=year),
            "realized": realized,
            "ledger": transaction_list(account=account)[:50],
        },
    )


@action_required(Action.VIEW_BOOK)
def realized_gain_list_page(request: HttpRequest) -> HttpResponse:
    """The firm's realized gains of a tax year: filter, sort, page, totals, CSV."""
    form = RealizedFilterForm(request.GET)
    filters = form.filters()
    year = filters.get("year") or firm_today().year
    table = Table(
        request,
        queryset=realized_gain_list(
            year=year,
            term=filters.get("term", ""),
            symbol=filters.get("symbol", ""),
            search=filters.get("q", ""),
        ),
        columns=FIRM_REALIZED_COLUMNS,
        default_order=REALIZED_ORDER,
        filter_form=form,
        per_page=100,
        name="lot sales",
    )
    if table.wants_csv:
        return table.csv_response(f"realized-{year}.csv")
    return render(request, "accounts/realized.html", {"table": table, "form": form, "year": year})


@action_required(Action.VIEW_BOOK)
def form8949_download(request: HttpRequest, pk: int) -> HttpResponse:
    """Form 8949-style CSV of one account and year."""
    account = get_object_or_404(Account, pk=pk)
    year = _year(request)
    response = HttpResponse(form8949_csv(account=account, year=year), content_type="text/csv")
    name = f"form8949-{account.custodian}-{account.number}-{year}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
