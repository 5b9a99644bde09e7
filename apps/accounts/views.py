"""Firm-host pages of the books of record: accounts list, account page, Form 8949 download."""

from datetime import date
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from apps.access.permissions import Action, action_required
from apps.accounts.attention import accounts_needing_attention
from apps.accounts.exports import form8949_csv
from apps.accounts.holdings import Holdings, holdings_get
from apps.accounts.models import Account, Registration
from apps.accounts.selectors import (
    account_list,
    household_realized_summary,
    realized_gain_list,
    realized_summary,
    transaction_list,
)
from apps.common.charts import Bar, horizontal_bars
from apps.common.exceptions import ApplicationError
from apps.common.limits import YEAR_MAX, YEAR_MIN
from apps.common.pagination import key_page
from apps.common.tenancy import firm_today
from apps.models.selectors import model_flatten

ATTENTION_FLAGS = {
    "drift": "Out of tolerance",
    "harvest": "Harvest opportunity",
    "cash_due": "Cash due",
    "budget_nearly_used": "Budget nearly used",
}


@action_required(Action.VIEW_BOOK)
def account_list_page(request: HttpRequest) -> HttpResponse:
    """Households' accounts with search and registration filter, paginated."""
    search = request.GET.get("q", "").strip()
    registration = request.GET.get("registration", "")
    flag = request.GET.get("flag", "")
    accounts = account_list(search=search, registration=registration)
    if flag in ATTENTION_FLAGS:
        found = accounts_needing_attention(as_of=firm_today())
        accounts = accounts.filter(pk__in=[a.account_id for a in found if getattr(a, f"is_{flag}")])
    page = key_page(accounts, per_page=50, number=request.GET.get("page"))
    return render(
        request,
        "accounts/list.html",
        {
            "page": page,
            "q": search,
            "registration": registration,
            "registrations": Registration.choices,
            "flag": flag,
            "flags": ATTENTION_FLAGS.items(),
        },
    )


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


@action_required(Action.VIEW_BOOK)
def account_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One account: holdings at market, lots with term, the tax year so far, the ledger."""
    account = get_object_or_404(Account.objects.select_related("household", "model"), pk=pk)
    year = _year(request)
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
            "realized": realized_gain_list(account=account, year=year),
            "ledger": transaction_list(account=account)[:50],
        },
    )


@action_required(Action.VIEW_BOOK)
def form8949_download(request: HttpRequest, pk: int) -> HttpResponse:
    """Form 8949-style CSV of one account and year."""
    account = get_object_or_404(Account, pk=pk)
    year = _year(request)
    response = HttpResponse(form8949_csv(account=account, year=year), content_type="text/csv")
    name = f"form8949-{account.custodian}-{account.number}-{year}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
