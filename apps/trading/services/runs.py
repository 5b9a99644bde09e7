"""Rebalance runs: create, fan out to Celery in chunks, execute a chunk, cancel.

Idempotent by construction: ``RunAccount`` and ``Proposal`` are unique per (run, account); a
chunk only works on its accounts still ``pending``, claimed under ``select_for_update``; tasks
are ``acks_late``, so a chunk whose worker died is delivered again and finishes the job.
"""

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from psycopg.types.json import Jsonb

from apps.access.services import audit_event_record
from apps.accounts.models import Account
from apps.common.bulk import copy_rows, next_ids
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import firm_today, require_tenant_schema
from apps.optimizer import adapters
from apps.optimizer.core.errors import OptimizerError
from apps.optimizer.core.locks import RecentTrade
from apps.optimizer.core.problem import solve_rebalance
from apps.trading.errors import TradingErrorCode
from apps.trading.models import (
    LIVE_PROPOSAL_STATUSES,
    Proposal,
    ProposalStatus,
    ProposedTrade,
    RebalanceRun,
    RunAccount,
    RunAccountStatus,
    RunMode,
    RunScope,
    RunStatus,
)
from apps.trading.order_selectors import reservations_for
from apps.trading.selectors import run_universe_symbols, scope_accounts
from apps.trading.services.review import AUTO_APPROVED, proposal_flags, trading_settings_get
from apps.trading.services.universes import run_universe_get, run_universe_remember


@transaction.atomic
def rebalance_run_create(
    *,
    scope: RunScope,
    scope_ids: list[int],
    mode: RunMode,
    as_of: date,
    requested_by: Any | None,
    enqueue: bool = True,
) -> RebalanceRun:
    """Record a run request and, unless ``enqueue`` is False, enqueue its start after commit.

    ``enqueue=False`` is for callers that execute the run in their own process (the
    ``rebalance --inline`` command, benchmarks' in-process baseline).

    Raises:
        ApplicationError: the scope covers no account.
    """
    require_tenant_schema()
    if not scope_accounts(scope=scope, scope_ids=scope_ids):
        raise ApplicationError("the scope covers no account", code=TradingErrorCode.EMPTY_SCOPE)
    run = RebalanceRun(
        scope=scope,
        scope_ids=sorted(set(scope_ids)),
        mode=mode,
        as_of=as_of,
        requested_by=requested_by,
        requested_by_name=requested_by.get_username() if requested_by else "schedule",
    )
    run.full_clean()
    run.save()
    audit_event_record(
        action="rebalance_run.create",
        acting_user=requested_by,
        obj=run,
        payload={"scope": scope, "scope_ids": run.scope_ids, "mode": mode, "as_of": str(as_of)},
    )
    if enqueue:
        from apps.trading.tasks import rebalance_run_start as rebalance_run_start_task

        transaction.on_commit(lambda: rebalance_run_start_task.delay(run.pk))
    return run


def proposal_rerun(*, proposal: Proposal, acting_user: Any) -> RebalanceRun:
    """The one-click re-run of a stale or held back proposal: its account, today, same mode.

    Raises:
        ApplicationError: the proposal is neither stale nor held back.
    """
    require_tenant_schema()
    if proposal.status not in (ProposalStatus.STALE, ProposalStatus.HELD):
        raise ApplicationError(
            "only a stale or held back proposal is re-run from here",
            code=TradingErrorCode.INVALID,
        )
    return rebalance_run_create(
        scope=RunScope.ACCOUNT,
        scope_ids=[proposal.account_id],
        mode=RunMode(proposal.run.mode),
        as_of=firm_today(),
        requested_by=acting_user,
    )


def rebalance_run_start(*, run_id: int, enqueue: bool = True) -> list[int]:
    """Resolve the scope, price and risk-model the universe, create the chunks; enqueue them.

    Idempotent: a run already started only re-enqueues its chunks that still have pending
    accounts (a restart after a crash between the commit and the enqueue).

    Returns:
        The chunk numbers enqueued.
    """
    require_tenant_schema()
    with transaction.atomic():
        run = RebalanceRun.objects.select_for_update().get(pk=run_id)
        if run.status == RunStatus.QUEUED and not run.is_cancel_requested:
            _prepare(run)
        chunks = sorted(
            set(
                RunAccount.objects.filter(run=run, status=RunAccountStatus.PENDING)
                .order_by()  # no default ordering in the DISTINCT: one row per chunk
                .values_list("chunk", flat=True)
                .distinct()
            )
        )
        if not chunks:
            _finish_if_done(run)
        if enqueue:
            from apps.trading.tasks import rebalance_chunk_execute as chunk_task

            transaction.on_commit(lambda: [chunk_task.delay(run_id, c) for c in chunks])
    return chunks


def _prepare(run: RebalanceRun) -> None:
    accounts = scope_accounts(scope=run.scope, scope_ids=run.scope_ids)
    account_ids = [account_id for account_id, _ in accounts]
    RunAccount.objects.bulk_create(
        [
            RunAccount(run=run, account_id=account_id, chunk=chunk)
            for account_id, chunk in _chunked_by_household(accounts)
        ],
        ignore_conflicts=True,
    )
    symbols = run_universe_symbols(
        account_ids=account_ids, as_of=run.as_of, is_whole_book=run.scope == RunScope.BOOK
    )
    run.total_accounts = len(account_ids)
    run.started_at = timezone.now()
    try:
        universe = adapters.run_universe_build(symbols=symbols, as_of=run.as_of)
    except OptimizerError as exc:  # e.g. too little price history for a risk model
        # The data-quality gate for the whole run: every account skipped with the reason.
        reason = f"no risk model for the run's securities: {exc}"[:2000]
        RunAccount.objects.filter(run=run).update(
            status=RunAccountStatus.SKIPPED, reason=reason, updated_at=timezone.now()
        )
        run.skipped_accounts = len(account_ids)
        run.status = RunStatus.COMPLETED
        run.finished_at = run.started_at
        run.save()
        return
    run.universe_symbols = list(universe.universe.symbols)
    run.universe_snapshot = universe.snapshot()
    run.status = RunStatus.RUNNING
    run.save()
    run_universe_remember(run, universe)


def _chunked_by_household(accounts: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """(account id, chunk) for (account id, household id) pairs in household order.

    Chunks hold ``OPTIMIZER_CHUNK_SIZE`` accounts, more when a household would straddle two:
    a household's accounts are optimized one after the other in one chunk, so that none of
    them buys what another sells at a loss the same day (``AccountProblem.household_traded``).
    """
    size, chunk, count, previous = settings.OPTIMIZER_CHUNK_SIZE, 0, 0, None
    for account_id, household_id in accounts:
        if count >= size and household_id != previous:
            chunk, count = chunk + 1, 0
        yield account_id, chunk
        count, previous = count + 1, household_id


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (a chunk allocates ~10^6 short-lived objects).

    The chunk's objects die by reference counting; scanning them again and again while they
    pile up cost 10-30% of a chunk. Whatever cycles remain are collected when it resumes.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def rebalance_chunk_execute(*, run_id: int, chunk: int) -> int:
    """Optimize the chunk's pending accounts and store their proposals; return how many.

    One bad account never stops the chunk: its failure is recorded with the reason.
    """
    with _collector_paused():
        return _chunk_execute(run_id=run_id, chunk=chunk)


def _chunk_execute(*, run_id: int, chunk: int) -> int:
    require_tenant_schema()
    started = time.perf_counter()
    run = RebalanceRun.objects.get(pk=run_id)
    pending = list(
        RunAccount.objects.filter(
            run=run, chunk=chunk, status=RunAccountStatus.PENDING
        ).values_list("account_id", flat=True)
    )
    if not pending or run.status != RunStatus.RUNNING:
        return 0
    if run.is_cancel_requested:
        return 0
    universe = run_universe_get(run)
    problems, skips = adapters.account_problems_build(
        account_ids=pending,
        as_of=run.as_of,
        mode=run.mode,
        run_universe=universe,
        reserved=reservations_for(account_ids=pending, as_of=run.as_of),
    )
    outcomes: dict[int, tuple[str, str, adapters.ProposalData | None]] = {
        s.account_id: (RunAccountStatus.SKIPPED, s.reason, None) for s in skips
    }
    # Of the account's own input, before the household's same-day trades lock it further.
    digests = {built.account_id: adapters.input_digest(built.problem) for built in problems}
    config = adapters.solver_config()
    fractional = dict(
        RunAccount.objects.filter(run=run, chunk=chunk).values_list(
            "account_id", "account__is_fractional_shares"
        )
    )
    solver_ms = 0.0
    # A household's accounts are in one chunk (_chunked_by_household): each is solved knowing
    # what the ones before it trade today, so that none buys what another sells at a loss.
    household_today: dict[int, list[RecentTrade]] = {}
    ordered = sorted(problems, key=lambda b: b.solve_order)
    for position, unlocked in enumerate(ordered):
        today = household_today.setdefault(unlocked.household_id, [])
        built = unlocked.household_traded(today)
        try:
            result = solve_rebalance(built.problem, config, universe.compiled)
        except OptimizerError as exc:
            outcomes[built.account_id] = (RunAccountStatus.FAILED, str(exc), None)
            continue
        later = ordered[position + 1] if position + 1 < len(ordered) else None
        if later is not None and later.household_id == built.household_id:
            today += built.trades_today(result)
        data = adapters.proposal_data_from_result(
            built=built, result=result, is_fractional=fractional[built.account_id]
        )
        solver_ms += data.solver_time_ms
        outcomes[built.account_id] = (RunAccountStatus.DONE, "", data)
    _store_chunk(
        run_id=run_id,
        chunk=chunk,
        outcomes=outcomes,
        digests=digests,
        solver_ms=round(solver_ms),
        compute_ms=round((time.perf_counter() - started) * 1000),
    )
    return len(outcomes)


@transaction.atomic
def _store_chunk(
    *,
    run_id: int,
    chunk: int,
    outcomes: dict[int, tuple[str, str, adapters.ProposalData | None]],
    digests: dict[int, dict[str, str]],
    solver_ms: int,
    compute_ms: int,
) -> None:
    run = RebalanceRun.objects.select_for_update().get(pk=run_id)
    # Only accounts still pending are written: a redelivered chunk adds nothing twice.
    claimed = list(
        RunAccount.objects.select_for_update().filter(
            run=run, chunk=chunk, status=RunAccountStatus.PENDING, account_id__in=outcomes
        )
    )
    with_proposal = sorted(r.account_id for r in claimed if outcomes[r.account_id][2] is not None)
    newer = _supersede_live(run=run, account_ids=with_proposal)
    policy = trading_settings_get()
    now = timezone.now()
    proposals: list[tuple[Any, ...]] = []
    trades: dict[int, list[adapters.TradeData]] = {}
    counts = {RunAccountStatus.DONE: 0, RunAccountStatus.FAILED: 0, RunAccountStatus.SKIPPED: 0}
    for run_account in claimed:
        account_id = run_account.account_id
        status, reason, data = outcomes[account_id]
        counts[RunAccountStatus(status)] += 1
        run_account.status, run_account.reason = status, reason[:2000]
        if data is None:
            continue
        flags = proposal_flags(data=data, policy=policy)
        status_reason = ""
        if not data.trades:
            proposal_status = ProposalStatus.NO_TRADES
        elif account_id in newer:
            proposal_status = ProposalStatus.SUPERSEDED
            status_reason = f"superseded by run #{newer[account_id]}, computed later"
        elif policy.is_auto_approve and not flags:
            proposal_status = ProposalStatus.APPROVED
        else:
            proposal_status = ProposalStatus.PENDING_APPROVAL
        approved = proposal_status == ProposalStatus.APPROVED
        proposals.append(
            (run.pk, account_id, proposal_status, Jsonb(flags), Jsonb(data.metrics),
             data.estimated_tax_amount, data.naive_tax_amount, data.turnover_amount,
             "\n".join(data.notes), data.solver, data.solver_ms,
             adapters.snapshot_pack(data.snapshot), now if approved else None,
             AUTO_APPROVED if approved else "", Jsonb(digests[account_id]), status_reason, now)
        )  # fmt: skip
        trades[account_id] = data.trades
    _run_accounts_update(claimed)
    # COPY, like the trades: a multi-row INSERT of 100 proposals (1,500 parameters) cost more
    # to build and parse than the proposals themselves. Ids come from the table's sequence.
    ids = next_ids(Proposal, len(proposals))
    rows = ((pk, *row) for pk, row in zip(ids, proposals, strict=True))
    copy_rows(Proposal, PROPOSAL_COLUMNS, rows)
    copy_rows(
        ProposedTrade,
        TRADE_COLUMNS,
        ((pk, *t) for pk, row in zip(ids, proposals, strict=True) for t in trades[row[1]]),
    )
    RebalanceRun.objects.filter(pk=run.pk).update(
        done_accounts=F("done_accounts") + counts[RunAccountStatus.DONE],
        failed_accounts=F("failed_accounts") + counts[RunAccountStatus.FAILED],
        skipped_accounts=F("skipped_accounts") + counts[RunAccountStatus.SKIPPED],
        solver_ms=F("solver_ms") + solver_ms,
        compute_ms=F("compute_ms") + compute_ms,
    )
    run.refresh_from_db()
    _finish_if_done(run)


PROPOSAL_COLUMNS = (
    "id", "run_id", "account_id", "status", "flags", "metrics", "estimated_tax_amount",
    "naive_tax_amount", "turnover_amount", "summary", "solver", "solver_ms", "snapshot",
    "decided_at", "decision_note", "input_digest", "status_reason", "created_at",
)  # fmt: skip
TRADE_COLUMNS = ("proposal_id", *adapters.TradeData._fields)  # the fields are the columns


def _supersede_live(*, run: RebalanceRun, account_ids: list[int]) -> dict[int, int]:
    """Retire the accounts' live proposals of older runs; return those of newer runs.

    A run's proposal supersedes every live one (pending, approved, held) of an earlier run of
    the account; when a later run already stored one, this run's is stored superseded instead
    (``{account id: newer run id}``). The accounts' rows are locked first, so two runs storing
    the same account one after the other see each other's proposals, and the unique index
    ``proposal_one_live_per_account`` holds by construction.
    """
    if not account_ids:
        return {}
    list(Account.objects.select_for_update().filter(pk__in=account_ids).order_by("pk").values("pk"))
    live = Proposal.objects.filter(account_id__in=account_ids, status__in=LIVE_PROPOSAL_STATUSES)
    newer = dict(live.filter(run_id__gt=run.pk).values_list("account_id", "run_id"))
    live.filter(run_id__lt=run.pk).update(
        status=ProposalStatus.SUPERSEDED, status_reason=f"superseded by run #{run.pk}"
    )
    return newer


def _run_accounts_update(claimed: list[RunAccount]) -> None:
    """One UPDATE for the accounts done, one per distinct failure or skip reason."""
    by_outcome: dict[tuple[str, str], list[int]] = {}
    for run_account in claimed:
        key = (run_account.status, run_account.reason)
        by_outcome.setdefault(key, []).append(run_account.pk)
    now = timezone.now()
    for (status, reason), ids in by_outcome.items():
        RunAccount.objects.filter(pk__in=ids).update(status=status, reason=reason, updated_at=now)


def _finish_if_done(run: RebalanceRun) -> None:
    if run.status == RunStatus.RUNNING and run.remaining_accounts == 0:
        run.status = RunStatus.COMPLETED
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "finished_at"])


@transaction.atomic
def rebalance_run_cancel(*, run: RebalanceRun, acting_user: Any) -> RebalanceRun:
    """Stop a run: accounts not yet optimized are marked skipped ("cancelled"); audited.

    Raises:
        ApplicationError: the run has already finished.
    """
    require_tenant_schema()
    run = RebalanceRun.objects.select_for_update().get(pk=run.pk)
    if run.status in (RunStatus.COMPLETED, RunStatus.CANCELLED):
        raise ApplicationError("the run has finished", code=TradingErrorCode.RUN_FINISHED)
    cancelled = (
        RunAccount.objects.select_for_update()
        .filter(run=run, status=RunAccountStatus.PENDING)
        .update(status=RunAccountStatus.SKIPPED, reason="cancelled")
    )
    run.is_cancel_requested = True
    run.status = RunStatus.CANCELLED
    run.skipped_accounts += cancelled
    run.finished_at = timezone.now()
    run.save()
    audit_event_record(
        action="rebalance_run.cancel",
        acting_user=acting_user,
        obj=run,
        payload={"accounts_cancelled": cancelled},
    )
    return run


@transaction.atomic
def rebalance_chunk_fail(*, run_id: int, chunk: int, reason: str) -> int:
    """Record that a chunk's task gave up: its still-pending accounts fail with the reason.

    Called by the task's failure handler (retries exhausted or an unexpected error), so a run
    always finishes: one bad chunk never leaves a run running forever. Returns how many.
    """
    require_tenant_schema()
    run = RebalanceRun.objects.select_for_update().get(pk=run_id)
    failed = RunAccount.objects.filter(
        run=run, chunk=chunk, status=RunAccountStatus.PENDING
    ).update(status=RunAccountStatus.FAILED, reason=f"task failed: {reason}"[:2000])
    if failed:
        RebalanceRun.objects.filter(pk=run.pk).update(failed_accounts=F("failed_accounts") + failed)
        run.refresh_from_db()
        _finish_if_done(run)
        audit_event_record(
            action="rebalance_run.chunk_failed",
            acting_user=None,
            obj=run,
            payload={"chunk": chunk, "accounts": failed, "reason": reason[:500]},
        )
    return failed


def rebalance_runs_resume(*, stalled_after_s: int) -> list[int]:
    """Re-enqueue the work of runs that made no progress for ``stalled_after_s`` seconds.

    Chunk messages can be lost (a broker restarted without persistence, a queue purged); the run
    would then wait forever. Re-sending is safe: chunks only work on accounts still pending.
    Returns the ids of the runs resumed.
    """
    require_tenant_schema()
    cutoff = timezone.now() - timedelta(seconds=stalled_after_s)
    resumed = []
    active = RebalanceRun.objects.filter(
        status__in=(RunStatus.QUEUED, RunStatus.RUNNING), is_cancel_requested=False
    ).annotate(last_progress=Max("run_accounts__updated_at"))
    for run in active:
        last = max(t for t in (run.last_progress, run.started_at, run.created_at) if t is not None)
        if last >= cutoff:
            continue
        chunks = rebalance_run_start(run_id=run.pk)
        audit_event_record(
            action="rebalance_run.resume",
            acting_user=None,
            obj=run,
            payload={"chunks": chunks, "stalled_since": last.isoformat()},
        )
        resumed.append(run.pk)
    return resumed
