"""Firm-host pages for traders and staff: runs with live progress, proposals, approvals."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.access.permissions import Action, action_required, user_can
from apps.access.requests import AuthenticatedHttpRequest
from apps.accounts.models import Account
from apps.common.exceptions import ApplicationError, ConflictError
from apps.common.forms import new_request_key
from apps.common.tables import Column, Kind, ListFilterForm, Table, date_filter
from apps.common.tenancy import firm_today, page_as_of
from apps.securities.selectors import synthetic_symbols_get
from apps.trading.forms import DecisionForm, RunCreateForm, TradingSettingsForm
from apps.trading.models import (
    DailyScan,
    ProposalStatus,
    RebalanceRun,
    RunAccountStatus,
    RunMode,
    RunScope,
    RunStatus,
    TradingSettings,
)
from apps.trading.progress import run_progress
from apps.trading.selectors import (
    EXCEPTION_QUEUE_ORDER,
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


class RunFilterForm(ListFilterForm):
    """The runs list's filters."""

    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any"), *RunStatus.choices]
    )
    mode = forms.ChoiceField(label="Mode", required=False, choices=[("", "Any"), *RunMode.choices])
    as_of_from = date_filter("As of from")
    as_of_to = date_filter("As of to")


def _run_money(key: str, label: str) -> Column:
    return Column(key, label, kind=Kind.MONEY, is_summed=True, is_computed=True)


RUN_COLUMNS = (
    Column(
        "id",
        "Run",
        field="id",
        value=lambda r: f"#{r.pk}",
        link=lambda r: reverse("run-detail", args=[r.pk]),
    ),
    Column("scope", "Scope", field="scope", value=lambda r: r.get_scope_display()),
    Column("mode", "Mode", field="mode", value=lambda r: r.get_mode_display()),
    Column("as_of", "As of", field="as_of", kind=Kind.DATE),
    Column("by", "By", field="requested_by_name"),
    Column("status", "Status", field="status", value=lambda r: r.get_status_display()),
    Column("accounts", "Accounts", field="total_accounts", kind=Kind.INTEGER, is_summed=True),
    Column("done", "Done", field="done_accounts", kind=Kind.INTEGER, is_summed=True),
    Column("failed", "Failed", field="failed_accounts", kind=Kind.INTEGER, is_summed=True),
    Column("skipped", "Skipped", field="skipped_accounts", kind=Kind.INTEGER, is_summed=True),
    Column(
        "rate",
        "Accounts/s",
        value=lambda r: run_progress(r).rate_per_s,
        is_sortable=False,
    ),
    Column("proposals", "Proposals", kind=Kind.INTEGER, is_summed=True, is_computed=True),
    Column("with_trades", "With trades", kind=Kind.INTEGER, is_summed=True, is_computed=True),
    _run_money("buys", "Buys"),
    _run_money("sells", "Sells"),
    _run_money("tax", "Est. tax"),
    _run_money("naive_tax", "Tax-naive tax"),
)


# A form whose key already started a run was sent again with other choices (back button).
RESUBMITTED = "this form was already sent and started a run; reload the page to start another"


@action_required(Action.VIEW_BOOK)
def run_list_page(request: HttpRequest) -> HttpResponse:
    """Runs, newest first, with their proposals' totals; traders start one here.

    The totals (``run_totals``, two aggregate queries) are read for every run the filters
    keep, so the totals row and sorting by them cover the whole list.
    """
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
                    idempotency_key=data["request_key"],
                )
            except ConflictError:
                form.add_error(None, RESUBMITTED)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Run #{run.pk} started.")
                return redirect("run-detail", pk=run.pk)
    filter_form = RunFilterForm(request.GET)
    filters = filter_form.filters()
    runs = run_list()
    if "status" in filters:
        runs = runs.filter(status=filters["status"])
    if "mode" in filters:
        runs = runs.filter(mode=filters["mode"])
    if "as_of_from" in filters:
        runs = runs.filter(as_of__gte=filters["as_of_from"])
    if "as_of_to" in filters:
        runs = runs.filter(as_of__lte=filters["as_of_to"])
    totals = run_totals(run_ids=list(runs.order_by().values_list("pk", flat=True)))
    table = Table(
        request,
        queryset=runs,
        columns=RUN_COLUMNS,
        default_order=("-created_at", "-id"),
        filter_form=filter_form,
        per_page=25,
        computed={
            "proposals": {pk: t.proposals for pk, t in totals.items()},
            "with_trades": {pk: t.proposals_with_trades for pk, t in totals.items()},
            "buys": {pk: t.buy_amount for pk, t in totals.items()},
            "sells": {pk: t.sell_amount for pk, t in totals.items()},
            "tax": {pk: t.estimated_tax_amount for pk, t in totals.items()},
            "naive_tax": {pk: t.naive_tax_amount for pk, t in totals.items()},
        },
        name="runs",
    )
    if table.wants_csv:
        return table.csv_response("runs.csv")
    return render(
        request,
        "trading/runs.html",
        {"table": table, "filter_form": filter_form, "page": table.page, "form": form},
        status=400 if form.errors else 200,
    )


class ProposalFilterForm(ListFilterForm):
    """A run's proposals' filters."""

    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any"), *ProposalStatus.choices]
    )


def _basis_points(rate: object) -> str:
    return f"{float(rate) * 10_000:.0f}" if isinstance(rate, int | float | str) else ""


PROPOSAL_COLUMNS = (
    Column(
        "account",
        "Account",
        field="account__name",
        link=lambda p: reverse("proposal-detail", args=[p.pk]),
    ),
    Column("number", "Number", field="account__number"),
    Column("status", "Status", field="status", value=lambda p: p.get_status_display()),
    Column("flags", "Flags", value=lambda p: p.flags, is_sortable=False),
    Column("tax", "Est. tax", field="estimated_tax_amount", kind=Kind.MONEY, is_summed=True),
    Column("naive_tax", "Tax-naive tax", field="naive_tax_amount", kind=Kind.MONEY, is_summed=True),
    Column("turnover", "Turnover", field="turnover_amount", kind=Kind.MONEY, is_summed=True),
    Column(
        "tracking",
        "Tracking error before → after (bp)",
        value=lambda p: (
            f"{_basis_points(p.metrics.get('before', {}).get('active_risk_rate'))} → "
            f"{_basis_points(p.metrics.get('after', {}).get('active_risk_rate'))}"
        ),
        is_sortable=False,
    ),
)


@action_required(Action.VIEW_BOOK)
def run_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One run: live progress, failures and skips with reasons, its proposals (a table)."""
    run = get_object_or_404(run_list(), pk=pk)
    problems = run.run_accounts.exclude(
        status__in=(RunAccountStatus.DONE, RunAccountStatus.PENDING)
    )
    filter_form = ProposalFilterForm(request.GET)
    proposals = Table(
        request,
        queryset=proposal_list(run=run, status=filter_form.filters().get("status", "")),
        columns=PROPOSAL_COLUMNS,
        default_order=("status", "account__name", "pk"),
        filter_form=filter_form,
        name="proposals",
    )
    if proposals.wants_csv:
        return proposals.csv_response(f"run-{run.pk}-proposals.csv")
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
            "table": proposals,
            "form": filter_form,
            "proposals": proposals.page,
        },
    )


@require_POST
@action_required(Action.RUN_REBALANCE)
def run_cancel(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
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
    trades = list(proposal.trades.all())
    return render(
        request,
        "trading/proposal.html",
        {
            "proposal": proposal,
            "trades": trades,
            "synthetic": synthetic_symbols_get(
                symbols={t.symbol for t in trades}, as_of=proposal.run.as_of
            ),
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
def proposal_rerun_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One click: run the stale or held back proposal's account again, today."""
    proposal = get_object_or_404(proposal_list(), pk=pk)
    try:
        run = proposal_rerun(proposal=proposal, acting_user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("proposal-detail", pk=pk)
    messages.success(request, f"Run #{run.pk} started for {proposal.account.name}.")
    return redirect("run-detail", pk=run.pk)


APPROVAL_COLUMNS = (
    Column(
        "account",
        "Account",
        field="account__name",
        link=lambda p: reverse("proposal-detail", args=[p.pk]),
    ),
    Column("number", "Number", field="account__number"),
    Column("run", "Run", field="run_id", value=lambda p: f"#{p.run_id}"),
    Column("status", "Status", field="status", value=lambda p: p.get_status_display()),
    Column("flags", "Flags", value=lambda p: p.flags, is_sortable=False),
    Column("created", "Proposed", field="created_at", kind=Kind.DATETIME),
    Column("tax", "Est. tax", field="estimated_tax_amount", kind=Kind.MONEY, is_summed=True),
    Column("turnover", "Turnover", field="turnover_amount", kind=Kind.MONEY, is_summed=True),
)


class ApprovalFilterForm(ListFilterForm):
    """The approvals queue's filters."""

    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[
            ("", "Any"),
            (ProposalStatus.HELD, "Held back"),
            (ProposalStatus.PENDING_APPROVAL, "Pending approval"),
        ],
    )
    q = forms.CharField(label="Account", required=False, max_length=100)
    run = forms.IntegerField(label="Run", required=False, min_value=1, max_value=2**31 - 1)


@action_required(Action.VIEW_BOOK)
def exception_queue_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Proposals waiting for a trader, flagged first, 100 a page; approve or reject in bulk."""
    filter_form = ApprovalFilterForm(request.GET)
    filters = filter_form.filters()
    queue = exception_queue()
    if "status" in filters:
        queue = queue.filter(status=filters["status"])
    if "q" in filters:
        queue = queue.filter(
            Q(account__name__icontains=filters["q"]) | Q(account__number=filters["q"])
        )
    if "run" in filters:
        queue = queue.filter(run_id=filters["run"])
    table = Table(
        request,
        queryset=queue,
        columns=APPROVAL_COLUMNS,
        default_order=EXCEPTION_QUEUE_ORDER,
        filter_form=filter_form,
        per_page=100,
        name="waiting",
    )
    if request.method == "GET" and table.wants_csv:
        return table.csv_response("approvals.csv")
    page = table.page
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
            return redirect(request.get_full_path())  # keeps the filters, sort and page
        messages.error(request, "Select at least one proposal and a decision.")
    return render(
        request,
        "trading/exceptions.html",
        {
            "pending": pending,
            "page": page,
            "table": table,
            "form": filter_form,
            "stale": stale_proposal_list(),
        },
    )


@action_required(Action.DESIGN_SOLUTION)
def account_preview_page(request: HttpRequest, pk: int) -> HttpResponse:
    """What a rebalance of this account would do now: trades, reasons, tax, risk. Not stored."""
    account = get_object_or_404(Account.objects.select_related("model"), pk=pk)
    mode = RunMode(request.GET.get("mode") or RunMode.FULL_REBALANCE)
    as_of = page_as_of(request)
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
            "synthetic": synthetic_symbols_get(
                symbols={t.symbol for t in data.trades} if data else set(), as_of=as_of
            ),
            "before": data.metrics["before"] if data else {},
            "after": data.metrics["after"] if data else {},
        },
    )


@require_POST
@action_required(Action.DESIGN_SOLUTION)
def account_preview_submit_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Submit the previewed design: optimized again now and sent to the trader's review."""
    account = get_object_or_404(Account, pk=pk)
    try:
        proposal = account_preview_submit(
            account=account,
            as_of=page_as_of(request),
            mode=RunMode(request.POST.get("mode") or RunMode.FULL_REBALANCE),
            acting_user=request.user,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("account-preview", pk=pk)
    messages.success(request, "Submitted: the proposal is with the trading desk for review.")
    return redirect("proposal-detail", pk=proposal.pk)


@action_required(Action.MANAGE_SETTINGS)
def trading_settings_page(request: AuthenticatedHttpRequest) -> HttpResponse:
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
            done = daily_scan_run(as_of=firm_today())
            messages.info(
                request, f"Scan of {done.scanned_on}: {done.items.count()} account(s) found."
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
                idempotency_key=request.POST.get("request_key", "")[:64],
            )
        except ConflictError:
            messages.error(request, RESUBMITTED)
            return redirect("daily-scan")
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("daily-scan")
        return redirect("run-detail", pk=run.pk)
    scan = DailyScan.objects.first()
    items = scan_item_list(scan=scan) if scan else []
    return render(
        request,
        "trading/scan.html",
        {"scan": scan, "items": items, "request_key": new_request_key()},
    )
