"""Firm-host lists of the book that show trading figures: the accounts list and the fills.

The accounts list lives here, not in ``accounts``, because it shows each account's last
proposal (a trading row; ``accounts`` sits below ``trading`` in the layers).
"""

from django import forms
from django.db.models import F, OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from apps.access.permissions import Action, action_required
from apps.accounts.attention import positions_refresh_if_stale
from apps.accounts.models import Registration, TransactionKind
from apps.accounts.selectors import account_list
from apps.common.tables import Column, Kind, ListFilterForm, Table, date_filter
from apps.common.tenancy import firm_today
from apps.trading.models import Proposal
from apps.trading.orders.selectors import fill_list

ATTENTION_FLAGS = {
    "drift": "Out of tolerance",
    "harvest": "Harvest opportunity",
    "cash_due": "Cash due",
    "budget_nearly_used": "Budget nearly used",
}


class AccountFilterForm(ListFilterForm):
    """The accounts list's filters."""

    q = forms.CharField(label="Search", required=False, max_length=100)
    registration = forms.ChoiceField(
        label="Registration", required=False, choices=[("", "All"), *Registration.choices]
    )
    flag = forms.ChoiceField(
        label="Needs", required=False, choices=[("", "Any"), *ATTENTION_FLAGS.items()]
    )


ACCOUNT_COLUMNS = (
    Column(
        "name",
        "Account",
        field="name",
        link=lambda a: reverse("account-detail", args=[a.pk]),
    ),
    Column("number", "Number", field="number"),
    Column("household", "Household", field="household__name"),
    Column("custodian", "Custodian", field="custodian"),
    Column("registration", "Registration", field="registration"),
    Column("model", "Model", field="model__code"),
    Column("cash", "Cash", field="cash_amount", kind=Kind.MONEY, is_summed=True),
    Column("value", "Market value", field="market_value_amount", kind=Kind.MONEY, is_summed=True),
    Column("drift", "Drift vs model", field="position_drift_rate", kind=Kind.RATE),
    Column("last_run", "Last proposal", field="last_proposal_on", kind=Kind.DATE),
)


@action_required(Action.VIEW_BOOK)
def account_list_page(request: HttpRequest) -> HttpResponse:
    """Accounts with market value, drift against the model and last proposal; sort, CSV.

    Values, drift and the "Needs" flags are the stored positions (``AccountPosition``, written
    by the daily scan and by every change of an account's lots or profile; a stale book is
    refreshed by a task, ``accounts.attention.positions_refresh_if_stale``), joined to the
    accounts: sorts, totals and pages are SQL over indexed rows, no request values the book.
    """
    form = AccountFilterForm(request.GET)
    filters = form.filters()
    accounts = account_list(
        search=filters.get("q", ""), registration=filters.get("registration", "")
    )
    today = firm_today()
    valued_on = positions_refresh_if_stale(as_of=today)
    if "flag" in filters:
        accounts = accounts.filter(**{f"position__is_{filters['flag']}": True})
    last_proposal = Proposal.objects.filter(account_id=OuterRef("pk")).order_by("-pk")
    accounts = accounts.select_related("model").annotate(
        last_proposal_on=Subquery(last_proposal.values("run__as_of")[:1]),
        market_value_amount=F("position__value_amount"),
        position_drift_rate=F("position__drift_rate"),
    )
    table = Table(
        request,
        queryset=accounts,
        columns=ACCOUNT_COLUMNS,
        default_order=("custodian", "number"),
        filter_form=form,
        name="accounts",
    )
    if table.wants_csv:
        return table.csv_response(f"accounts-{today.isoformat()}.csv")
    return render(
        request,
        "accounts/list.html",
        {
            "table": table,
            "form": form,
            "page": table.page,
            "as_of": today,
            "valued_on": valued_on,
            "is_flag_filtered": "flag" in filters,
        },
    )


class FillFilterForm(ListFilterForm):
    """The fills list's filters."""

    side = forms.ChoiceField(
        label="Side",
        required=False,
        choices=[("", "Any"), (TransactionKind.BUY, "Buy"), (TransactionKind.SELL, "Sell")],
    )
    symbol = forms.CharField(label="Symbol", required=False, max_length=16)
    custodian = forms.CharField(label="Custodian", required=False, max_length=32)
    traded_from = date_filter("Traded from")
    traded_to = date_filter("Traded to")


FILL_COLUMNS = (
    Column("trade_on", "Traded", field="trade_on", kind=Kind.DATE),
    Column(
        "account",
        "Account",
        field="account__name",
        link=lambda t: reverse("account-detail", args=[t.account_id]),
    ),
    Column("number", "Number", field="account__number"),
    Column("custodian", "Custodian", field="account__custodian"),
    Column("side", "Side", field="kind"),
    Column("symbol", "Symbol", field="symbol"),
    Column("shares", "Shares", field="shares", kind=Kind.SHARES),
    Column(
        "price",
        "Price",
        kind=Kind.MONEY,
        value=lambda t: t.amount / t.shares if t.shares else None,
        is_sortable=False,
    ),
    Column("bought", "Bought", field="bought_amount", kind=Kind.MONEY, is_summed=True),
    Column("sold", "Sold", field="sold_amount", kind=Kind.MONEY, is_summed=True),
    Column("file", "Fills file", field="source"),
)


@action_required(Action.VIEW_BOOK)
def fill_list_page(request: HttpRequest) -> HttpResponse:
    """Every fill booked from custodians' files: filter, sort, page, totals, CSV."""
    form = FillFilterForm(request.GET)
    filters = form.filters()
    fills = fill_list(
        side=filters.get("side", ""),
        symbol=filters.get("symbol", ""),
        custodian=filters.get("custodian", ""),
        traded_from=filters.get("traded_from"),
        traded_to=filters.get("traded_to"),
    )
    table = Table(
        request,
        queryset=fills,
        columns=FILL_COLUMNS,
        default_order=("-trade_on", "-pk"),
        filter_form=form,
        per_page=100,
        name="fills",
    )
    if table.wants_csv:
        return table.csv_response("fills.csv")
    return render(request, "trading/fills.html", {"table": table, "form": form})
