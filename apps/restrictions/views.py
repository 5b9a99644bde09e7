"""Pages: an account's design (model, restrictions, outside holdings, target); firm rules.

The design page shows the effective target with its explanations; the firm page holds firm-wide
restrictions and substitutes.
"""

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.access.permissions import Action, action_required, user_can
from apps.access.requests import AuthenticatedHttpRequest
from apps.accounts.forms import AccountProfileForm
from apps.accounts.models import Account
from apps.accounts.selectors import identical_index_opt_out_list, substantially_identical_groups
from apps.accounts.services.accounts import account_update_profile
from apps.common.charts import Bar, horizontal_bars
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import firm_today, page_as_of
from apps.models.models import ModelPortfolio
from apps.models.selectors import model_list
from apps.models.services import model_assign
from apps.restrictions.forms import (
    FundScreenPolicyForm,
    ModelAssignForm,
    OutsideHoldingForm,
    RestrictionForm,
    SubstituteForm,
)
from apps.restrictions.models import OutsideHolding, Restriction, RestrictionScope
from apps.restrictions.selectors import (
    effective_target_get,
    fund_screen_policy_get,
    outside_holding_list_for_account,
    restriction_list,
    restriction_list_for_account,
    substitutes_map,
)
from apps.restrictions.services import (
    outside_holding_remove,
    outside_holding_set,
    restriction_add,
    restriction_end,
    screen_settings_update,
    substitute_set,
)
from apps.targets import EffectiveTarget


def _target_rows(target: EffectiveTarget) -> list[dict[str, Any]]:
    symbols = sorted({*target.model_weights, *target.weights})
    zero = target.total - target.total
    return [
        {
            "symbol": s,
            "model": target.model_weights.get(s, zero),
            "effective": target.weights.get(s, zero),
            "change": target.weights.get(s, zero) - target.model_weights.get(s, zero),
        }
        for s in symbols
    ]


@action_required(Action.VIEW_BOOK)
def account_design_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Design an account's solution: model, screens, restrictions, outside holdings, target."""
    account = get_object_or_404(Account.objects.select_related("household", "model"), pk=pk)
    return _design_render(request, account)


def _design_render(
    request: HttpRequest, account: Account, *, status: int = 200, **bound: Any
) -> HttpResponse:
    """The design page; ``bound`` forms (a refused post) are shown with the input as typed."""
    as_of = page_as_of(request) if request.method == "GET" else firm_today()
    target, target_error, chart, rows = None, "", None, []
    try:
        target = effective_target_get(account=account, as_of=as_of)
    except ApplicationError as exc:
        target_error = exc.message
    else:
        rows = _target_rows(target)
        bars = [Bar(r["symbol"], float(r["effective"]), float(r["model"])) for r in rows]
        bars.append(Bar("Cash", float(target.cash_weight), float(target.model_cash_weight)))
        chart = horizontal_bars(bars, title=f"Effective target of {account.name} (marks: model)")
    restrictions = list(restriction_list_for_account(account=account))
    forms = {
        "restriction_form": RestrictionForm(initial={"starts_on": firm_today()}),
        "outside_form": OutsideHoldingForm(),
        "profile_form": AccountProfileForm(instance=account),
        **bound,
    }
    return render(
        request,
        "restrictions/design.html",
        {
            "account": account,
            "as_of": as_of,
            "can_design": user_can(request.user, Action.DESIGN_SOLUTION),
            "target": target,
            "target_error": target_error,
            "target_rows": rows,
            "chart": chart,
            "in_force": [r for r in restrictions if _in_force(r, as_of)],
            "ended": [r for r in restrictions if not _in_force(r, as_of)],
            "outside": outside_holding_list_for_account(account=account),
            "models": model_list(include_inactive=False),
            **forms,
        },
        status=status,
    )


def _in_force(restriction: Restriction, as_of: date) -> bool:
    return restriction.starts_on <= as_of and (
        restriction.ends_on is None or restriction.ends_on > as_of
    )


def _design(pk: int) -> HttpResponse:
    return redirect("account-design", pk=pk)


@require_POST
@action_required(Action.DESIGN_SOLUTION)
def account_model_assign(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Set the account's model (POST)."""
    account = get_object_or_404(Account, pk=pk)
    form = ModelAssignForm(request.POST)
    if form.is_valid():
        code = form.cleaned_data["model"].strip().upper()
        model = get_object_or_404(ModelPortfolio, code=code) if code else None
        try:
            model_assign(account=account, model=model, acting_user=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Model set to {code or 'none'}.")
    return _design(pk)


def _restriction_add_posted(
    request: AuthenticatedHttpRequest, account: Account | None
) -> RestrictionForm:
    """Add the posted restriction: the form, with errors if it was refused.

    To the account (or its household, if the form says so), or without an account to the firm.
    """
    form = RestrictionForm(request.POST)
    if not form.is_valid():
        return form
    data = form.cleaned_data
    household = None
    if account is not None and data["scope"] == "household":
        household, account = account.household, None
    try:
        restriction = restriction_add(
            account=account,
            household=household,
            kind=data["kind"],
            value=data["value"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            reason=data["reason"],
            acting_user=request.user,
        )
    except ApplicationError as exc:
        form.add_error(None, exc.message)
    else:
        messages.success(request, f"Added: {restriction}.")
    return form


def _restriction_end_today(request: AuthenticatedHttpRequest, restriction: Restriction) -> None:
    """End the restriction today; a message says how it went."""
    try:
        restriction_end(restriction=restriction, ends_on=firm_today(), acting_user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Ended: {restriction}.")


@require_POST
@action_required(Action.DESIGN_SOLUTION)
def account_restriction_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Add a restriction to the account or its household (POST)."""
    account = get_object_or_404(Account.objects.select_related("household", "model"), pk=pk)
    form = _restriction_add_posted(request, account)
    if form.errors:
        return _design_render(request, account, status=400, restriction_form=form)
    return _design(pk)


@require_POST
@action_required(Action.DESIGN_SOLUTION)
def account_restriction_end(
    request: AuthenticatedHttpRequest, pk: int, restriction_id: int
) -> HttpResponse:
    """End one of the account's or household's restrictions today (POST)."""
    account = get_object_or_404(Account, pk=pk)
    restriction = get_object_or_404(
        Restriction.objects.filter(account=account)
        | Restriction.objects.filter(household_id=account.household_id),
        pk=restriction_id,
    )
    _restriction_end_today(request, restriction)
    return _design(pk)


@require_POST
@action_required(Action.DESIGN_SOLUTION)
def account_outside_holding_set(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Set an outside holding of the account or its household (POST)."""
    account = get_object_or_404(Account.objects.select_related("household", "model"), pk=pk)
    form = OutsideHoldingForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        is_household = data["scope"] == "household"
        try:
            holding = outside_holding_set(
                account=None if is_household else account,
                household=account.household if is_household else None,
                exposure_key=data["exposure_key"],
                amount=data["amount"],
                weight=data["weight"],
                reason=data["reason"],
                acting_user=request.user,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Outside holding saved: {holding}.")
            return _design(pk)
    return _design_render(request, account, status=400, outside_form=form)


@require_POST
@action_required(Action.DESIGN_SOLUTION)
def account_profile_update(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Save the account's cash needs and tax settings (audited); a refusal keeps the input."""
    account = get_object_or_404(Account.objects.select_related("household", "model"), pk=pk)
    form = AccountProfileForm(request.POST, instance=Account.objects.get(pk=pk))
    if form.is_valid():
        changes = {f: form.cleaned_data[f] for f in form.changed_data}
        try:
            account_update_profile(account=account, changes=changes, acting_user=request.user)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Saved: {', '.join(changes) or 'nothing changed'}.")
            return _design(pk)
    return _design_render(request, account, status=400, profile_form=form)


@require_POST
@action_required(Action.DESIGN_SOLUTION)
def account_outside_holding_remove(
    request: AuthenticatedHttpRequest, pk: int, holding_id: int
) -> HttpResponse:
    """Remove an outside holding of the account or its household (POST)."""
    account = get_object_or_404(Account, pk=pk)
    holding = get_object_or_404(
        OutsideHolding.objects.filter(account=account)
        | OutsideHolding.objects.filter(household_id=account.household_id),
        pk=holding_id,
    )
    outside_holding_remove(holding=holding, acting_user=request.user)
    messages.success(request, f"Removed: {holding.exposure_key}.")
    return _design(pk)


@action_required(Action.VIEW_BOOK)
def firm_restrictions_page(request: HttpRequest) -> HttpResponse:
    """Firm-wide restrictions, substitutes and substantially identical groups."""
    return _firm_render(request)


def _firm_render(request: HttpRequest, *, status: int = 200, **bound: Any) -> HttpResponse:
    """The firm rules page; ``bound`` forms (a refused post) keep the input as typed."""
    as_of = firm_today()
    rows = list(restriction_list(firm_only=True))
    forms = {
        "restriction_form": RestrictionForm(initial={"starts_on": as_of}),
        "substitute_form": SubstituteForm(),
        "fund_screen_form": FundScreenPolicyForm(
            initial={"fund_screen_policy": fund_screen_policy_get()}
        ),
        **bound,
    }
    return render(
        request,
        "restrictions/firm.html",
        {
            "can_manage": user_can(request.user, Action.MANAGE_MODELS),
            "in_force": [r for r in rows if _in_force(r, as_of)],
            "ended": [r for r in rows if not _in_force(r, as_of)],
            "substitutes": sorted(substitutes_map().items()),
            "identical_groups": substantially_identical_groups(),
            "index_opt_outs": list(identical_index_opt_out_list()),
            "can_admin": user_can(request.user, Action.ADMIN_SITE),
            **forms,
        },
        status=status,
    )


@require_POST
@action_required(Action.MANAGE_MODELS)
def firm_restriction_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Add a firm-wide restriction (POST)."""
    form = _restriction_add_posted(request, None)
    if form.errors:
        return _firm_render(request, status=400, restriction_form=form)
    return redirect("firm-restrictions")


@require_POST
@action_required(Action.MANAGE_MODELS)
def firm_restriction_end(request: AuthenticatedHttpRequest, restriction_id: int) -> HttpResponse:
    """End a firm-wide restriction today (POST)."""
    restriction = get_object_or_404(
        Restriction.objects.filter(scope=RestrictionScope.FIRM), pk=restriction_id
    )
    _restriction_end_today(request, restriction)
    return redirect("firm-restrictions")


@require_POST
@action_required(Action.MANAGE_MODELS)
def firm_substitute_set(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Replace a symbol's substitutes (POST)."""
    form = SubstituteForm(request.POST)
    if form.is_valid():
        alternatives = [a for a in form.cleaned_data["alternatives"].split(",") if a.strip()]
        try:
            substitute_set(
                symbol=form.cleaned_data["symbol"],
                alternatives=alternatives,
                acting_user=request.user,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            symbol = form.cleaned_data["symbol"].upper()
            messages.success(request, f"Substitutes of {symbol} saved.")
            return redirect("firm-restrictions")
    return _firm_render(request, status=400, substitute_form=form)


@require_POST
@action_required(Action.MANAGE_MODELS)
def firm_fund_screen_policy_set(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Set what screens do to funds holding screened names: flag or exclude (POST)."""
    form = FundScreenPolicyForm(request.POST)
    if not form.is_valid():
        return _firm_render(request, status=400, fund_screen_form=form)
    screen_settings_update(
        fund_screen_policy=form.cleaned_data["fund_screen_policy"], acting_user=request.user
    )
    messages.success(request, "Fund screening policy saved.")
    return redirect("firm-restrictions")
