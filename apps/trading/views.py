"""Firm-host pages for traders and staff: runs with live progress, proposals, approvals."""

from datetime import date

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.access.permissions import Action, action_required, user_can
from apps.accounts.models import Account
from apps.common.exceptions import ApplicationError
from apps.common.limits import page_date
from apps.common.pagination import key_page
from apps.common.tenancy import firm_today
from apps.trading.forms import DecisionForm, RunCreateForm, TradingSettingsForm
from apps.trading.models import (
    DailyScan,
    ProposalStatus,
    RebalanceRun,
    RunAccountStatus,
    RunMode,
    RunScope,
    TradingSettings,
)
from apps.trading.progress import run_progress
from apps.trading.selectors import (
    RunTotals,
    exception_queue,
    proposal_list,
    run_chunk_stalls,
    run_list,
    run_totals,
    scan_item_list,
    stale_proposal_list,
)
from apps.trading.services.preview import account_preview, account_preview_submit
from apps.trading.services.review import (
    proposals_decide,
    trading_settings_get,
    trading_settings_update,
)
from apps.trading.services.runs import (
    proposal_rerun,
    rebalance_run_cancel,
    rebalance_run_create,
)
from apps.trading.services.scan import daily_scan_run


@action_required(Action.VIEW_BOOK)
def run_list_page(request: HttpRequest) -> HttpResponse:
    """Runs, newest first; traders start one here."""
    today = firm_today()
    form = RunCreateForm(request.POST or None, initial={"as_of": today}, today=today)
    if request.method == "POST":
        if not user_can(request.user, Action.RUN_REBALANCE):
            return HttpResponse("your role may not start a rebalance", status=403)
        if form.is_valid():
            data = form.cleaned_data
            try:
                run = rebalance_run_create(
                    scope=data["scope"],
                    scope_ids=data["scope_ids"],
                    mode=data["mode"],
                    as_of=data["as_of"],
                    requested_by=request.user,
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Run #{run.pk} started.")
                return redirect("run-detail", pk=run.pk)
    page = Paginator(run_list(), 25).get_page(request.GET.get("page"))
    totals = run_totals(run_ids=[run.pk for run in page])
    rows = [(run, run_progress(run), totals.get(run.pk, RunTotals())) for run in page]
    return render(
        request,
        "trading/runs.html",
        {"page": page, "rows": rows, "form": form},
        status=400 if form.errors else 200,
    )


@action_required(Action.VIEW_BOOK)
def run_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One run: live progress, failures and skips with reasons, its proposals (paginated)."""
    run = get_object_or_404(run_list(), pk=pk)
    problems = run.run_accounts.exclude(
        status__in=(RunAccountStatus.DONE, RunAccountStatus.PENDING)
    )
    proposals = proposal_list(run=run).order_by("status", "account__name", "pk")
    return render(
        request,
        "trading/run_detail.html",
        {
            "run": run,
            "progress": run_progress(run),
            "stalls": run_chunk_stalls(
                run=run, stalled_after_s=settings.OPTIMIZER_RUN_STALLED_AFTER_S
            ),
            "problems": problems.select_related("account")[:200],
            "proposals": key_page(proposals, per_page=50, number=request.GET.get("page")),
        },
    )


@require_POST
@action_required(Action.RUN_REBALANCE)
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a run that has not finished."""
    run = get_object_or_404(RebalanceRun, pk=pk)
    try:
        rebalance_run_cancel(run=run, acting_user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(request, f"Run #{run.pk} cancelled.")
    return redirect("run-detail", pk=pk)


@action_required(Action.VIEW_BOOK)
def proposal_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One proposal: trades with their reasons, tax, before/after risk; approve or reject."""
    proposal = get_object_or_404(proposal_list(), pk=pk)
    return render(
        request,
        "trading/proposal.html",
        {
            "proposal": proposal,
            "trades": proposal.trades.all(),
            "before": proposal.metrics.get("before", {}),
            "after": proposal.metrics.get("after", {}),
            "can_decide": proposal.status in (ProposalStatus.PENDING_APPROVAL, ProposalStatus.HELD)
            and user_can(request.user, Action.APPROVE_TRADES),
            "can_rerun": proposal.status in (ProposalStatus.STALE, ProposalStatus.HELD)
            and user_can(request.user, Action.RUN_REBALANCE),
        },
    )


@require_POST
@action_required(Action.RUN_REBALANCE)
def proposal_rerun_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One click: run the stale or held back proposal's account again, today."""
    proposal = get_object_or_404(proposal_list(), pk=pk)
    try:
        run = proposal_rerun(proposal=proposal, acting_user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("proposal-detail", pk=pk)
    messages.success(request, f"Run #{run.pk} started for {proposal.account.name}.")
    return redirect("run-detail", pk=run.pk)


@action_required(Action.VIEW_BOOK)
def exception_queue_page(request: HttpRequest) -> HttpResponse:
    """Proposals waiting for a trader, flagged first, 100 a page; approve or reject in bulk."""
    page = key_page(exception_queue(), per_page=100, number=request.GET.get("page"))
    pending = list(page)
    if request.method == "POST":
        if not user_can(request.user, Action.APPROVE_TRADES):
            return HttpResponse("your role may not approve trades", status=403)
        form = DecisionForm(request.POST, ids=[p.pk for p in pending])
        if form.is_valid():
            try:
                decisions = proposals_decide(
                    proposal_ids=form.cleaned_data["proposal_ids"],
                    approve=form.cleaned_data["decision"] == "approve",
                    acting_user=request.user,
                    note=form.cleaned_data["note"],
                )
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                decided = form.cleaned_data["decision"]
                messages.success(
                    request,
                    f"{decisions.decided} proposal(s) {decided}d"
                    + (f", {decisions.unchanged} already {decided}d" if decisions.unchanged else "")
                    + ".",
                )
                for pk, reason in decisions.stale.items():
                    messages.warning(request, f"Proposal #{pk} is stale, not approved: {reason}.")
            return redirect("exception-queue")
        messages.error(request, "Select at least one proposal and a decision.")
    return render(
        request,
        "trading/exceptions.html",
        {"pending": pending, "page": page, "stale": stale_proposal_list()},
    )


def _as_of(request: HttpRequest) -> date:
    return page_date(request) or firm_today()


@action_required(Action.DESIGN_SOLUTION)
def account_preview_page(request: HttpRequest, pk: int) -> HttpResponse:
    """What a rebalance of this account would do now: trades, reasons, tax, risk. Not stored."""
    account = get_object_or_404(Account.objects.select_related("model"), pk=pk)
    mode = RunMode(request.GET.get("mode") or RunMode.FULL_REBALANCE)
    as_of = _as_of(request)
    preview = account_preview(account=account, as_of=as_of, mode=mode)
    data = preview.data
    return render(
        request,
        "trading/preview.html",
        {
            "account": account,
            "as_of": as_of,
            "mode": mode,
            "modes": RunMode.choices,
            "preview": preview,
            "trades": data.trades if data else [],
            "before": data.metrics["before"] if data else {},
            "after": data.metrics["after"] if data else {},
        },
    )


@require_POST
@action_required(Action.DESIGN_SOLUTION)
def account_preview_submit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit the previewed design: optimized again now and sent to the trader's review."""
    account = get_object_or_404(Account, pk=pk)
    try:
        proposal = account_preview_submit(
            account=account,
            as_of=_as_of(request),
            mode=RunMode(request.POST.get("mode") or RunMode.FULL_REBALANCE),
            acting_user=request.user,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("account-preview", pk=pk)
    messages.success(request, "Submitted: the proposal is with the trading desk for review.")
    return redirect("proposal-detail", pk=proposal.pk)


@action_required(Action.MANAGE_SETTINGS)
def trading_settings_page(request: HttpRequest) -> HttpResponse:
    """Firm admins set the approval policy, exception thresholds and the daily scan."""
    policy = trading_settings_get()
    form = TradingSettingsForm(
        request.POST or None, instance=TradingSettings.objects.get(pk=policy.pk)
    )
    if request.method == "POST" and form.is_valid():
        changes = {f: form.cleaned_data[f] for f in form.changed_data}
        if changes:
            trading_settings_update(changes=changes, acting_user=request.user)
        messages.success(request, f"Saved: {', '.join(changes) or 'nothing changed'}.")
        return redirect("trading-settings")
    status = 400 if form.errors else 200
    return render(request, "trading/settings.html", {"form": form}, status=status)


@action_required(Action.VIEW_BOOK)
def daily_scan_page(request: HttpRequest) -> HttpResponse:
    """The daily scan's to-do list: accounts out of tolerance, harvest opportunities, cash due."""
    if request.method == "POST":
        if not user_can(request.user, Action.RUN_REBALANCE):
            return HttpResponse("your role may not scan or rebalance", status=403)
        if request.POST.get("action") == "scan":
            scan = daily_scan_run(as_of=firm_today())
            messages.info(
                request, f"Scan of {scan.scanned_on}: {scan.items.count()} account(s) found."
            )
            return redirect("daily-scan")
        ids = [int(i) for i in request.POST.getlist("account_ids") if i.isdigit()]
        try:
            run = rebalance_run_create(
                scope=RunScope.ACCOUNT,
                scope_ids=ids,
                mode=RunMode.FULL_REBALANCE,
                as_of=firm_today(),
                requested_by=request.user,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("daily-scan")
        return redirect("run-detail", pk=run.pk)
    scan = DailyScan.objects.first()
    items = scan_item_list(scan=scan) if scan else []
    return render(request, "trading/scan.html", {"scan": scan, "items": items})
