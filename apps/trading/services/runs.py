"""Rebalance runs: create, fan out to Celery in chunks, execute a chunk, cancel.

Idempotent by construction: ``RunAccount`` and ``Proposal`` are unique per (run, account); a
chunk only works on its accounts still ``pending``, claimed under ``select_for_update``; tasks
are ``acks_late``, so a chunk whose worker died is delivered again and finishes the job.
"""

import gc
import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from psycopg.types.json import Jsonb

from apps.access.outbox import outbox_enqueue, outbox_enqueue_many
from apps.access.services import audit_event_record
from apps.accounts.models import Account
from apps.common.bulk import copy_rows, next_ids
from apps.common.exceptions import ApplicationError, ConflictError
from apps.common.money import ZERO
from apps.common.tenancy import current_schema, firm_today, require_tenant_schema
from apps.models.selectors import model_flatten
from apps.optimizer import adapters
from apps.optimizer.core.errors import OptimizerError
from apps.optimizer.core.locks import RecentTrade
from apps.optimizer.core.solve import solve_rebalance
from apps.securities.selectors import price_history_reaches
from apps.trading.errors import TradingErrorCode
from apps.trading.models import (
    FINISHED_RUN_STATUSES,
    LIVE_PROPOSAL_STATUSES,
    Proposal,
    ProposalStatus,
    ProposedTrade,
    RebalanceRun,
    RunAccount,
    RunAccountStatus,
    RunChunk,
    RunMode,
    RunScope,
    RunStatus,
    TradeSide,
)
from apps.trading.orders.selectors import reservations_for
from apps.trading.selectors import run_universe_symbols, scope_accounts, scope_models
from apps.trading.services.review import AUTO_APPROVED, proposal_flags, trading_settings_get
from apps.trading.services.universes import run_universe_get, run_universe_remember

logger = logging.getLogger(__name__)
START_TASK = "apps.trading.tasks.rebalance_run_start"
CHUNK_TASK = "apps.trading.tasks.rebalance_chunk_execute"


@transaction.atomic
def rebalance_run_create(
    *,
    scope: RunScope,
    scope_ids: list[int],
    mode: RunMode,
    as_of: date,
    requested_by: Any | None,
    enqueue: bool = True,
    idempotency_key: str = "",
) -> RebalanceRun:
    """Record a run request and, unless ``enqueue`` is False, its start in the outbox.

    The start message is an outbox row committed with the run (``apps.access.outbox``): the run
    is accepted even when the broker is down, and starts when it is back. ``enqueue=False`` is
    for callers that execute the run in their own process (the ``rebalance --inline`` command,
    benchmarks' in-process baseline).

    Args:
        scope: which accounts (``scope_ids`` name them unless the scope is the book).
        scope_ids: account, household or model ids.
        mode: what the optimizer may do.
        as_of: the business date the run computes at.
        requested_by: the firm user asking (None for a schedule or command).
        enqueue: False when the caller executes the run in its own process.
        idempotency_key: the client's key for this request (unique in the firm): a retry with
            the same key and request returns the run the first one created.

    Raises:
        ApplicationError: the scope covers no account; ``INVALID_AS_OF``: the as-of date is in
            the future, before the price history or outside a model's life (no version in
            force).
        ConflictError: the idempotency key was used for another request.
    """
    require_tenant_schema()
    scope_ids = sorted(set(scope_ids))
    if idempotency_key:
        replayed = _run_for_key(
            key=idempotency_key, scope=scope, scope_ids=scope_ids, mode=mode, as_of=as_of
        )
        if replayed is not None:
            return replayed
    accounts = scope_accounts(scope=scope, scope_ids=scope_ids)
    if not accounts:
        raise ApplicationError("the scope covers no account", code=TradingErrorCode.EMPTY_SCOPE)
    run_as_of_check(as_of=as_of, account_ids=[account_id for account_id, _ in accounts])
    run = RebalanceRun(
        scope=scope,
        scope_ids=scope_ids,
        mode=mode,
        as_of=as_of,
        requested_by=requested_by,
        requested_by_name=requested_by.get_username() if requested_by else "schedule",
        idempotency_key=idempotency_key,
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
        outbox_enqueue(task=START_TASK, args=[run.pk])
    return run


def _run_for_key(
    *, key: str, scope: RunScope, scope_ids: list[int], mode: RunMode, as_of: date
) -> RebalanceRun | None:
    """The run an earlier request with this idempotency key created, if any.

    A transaction-level advisory lock on the key serializes two requests with the same key: the
    second waits for the first to commit, then finds its run.
    """
    digest = hashlib.blake2b(f"{current_schema()}:run:{key}".encode(), digest_size=8)
    lock_id = int.from_bytes(digest.digest(), "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])
    run = RebalanceRun.objects.filter(idempotency_key=key).first()
    if run is None:
        return None
    if (run.scope, run.scope_ids, run.mode, run.as_of) != (scope, scope_ids, mode, as_of):
        raise ConflictError(
            f"the idempotency key was used for run #{run.pk}, a different request",
            code=TradingErrorCode.IDEMPOTENCY_CONFLICT,
            extra={"run": run.pk},
        )
    return run


def run_as_of_check(*, as_of: date, account_ids: list[int]) -> None:
    """Refuse an as-of date a run or preview could not be computed at (nothing is stored).

    Raises:
        ApplicationError: ``INVALID_AS_OF``, with what is wrong and what to pick instead.
    """
    today = firm_today()
    if as_of > today:
        raise ApplicationError(
            f"as of {as_of} is in the future: pick {today} or earlier",
            code=TradingErrorCode.INVALID_AS_OF,
        )
    if not price_history_reaches(as_of=as_of):
        raise ApplicationError(
            f"as of {as_of} is before the price history (no close on or before that date): "
            "pick a later date or load older prices",
            code=TradingErrorCode.INVALID_AS_OF,
        )
    for model in scope_models(account_ids=account_ids):
        try:
            model_flatten(model=model, as_of=as_of)
        except ApplicationError as exc:
            raise ApplicationError(
                f"as of {as_of} is outside model {model.code}'s life: {exc.message}",
                code=TradingErrorCode.INVALID_AS_OF,
                extra={"model": model.code},
            ) from exc


def proposal_rerun(*, proposal: Proposal, acting_user: User) -> RebalanceRun:
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
    accounts (a restart after a crash between the commit and the enqueue). A run that cannot
    be prepared (a model with no version in force on its date, say) fails with the reason.

    Returns:
        The chunk numbers enqueued.
    """
    require_tenant_schema()
    with transaction.atomic():
        run = RebalanceRun.objects.select_for_update().get(pk=run_id)
        if run.status == RunStatus.QUEUED and not run.is_cancel_requested:
            try:
                with transaction.atomic():  # a refused preparation leaves nothing behind
                    _prepare(run)
            except ApplicationError as exc:
                run.refresh_from_db()
                _run_fail(run, reason=exc.message)
                return []
        chunks = _pending_chunks(run)
        if not chunks:
            _finish_if_done(run)
        if enqueue:
            _chunks_send(run, chunks)
    return chunks


def _pending_chunks(run: RebalanceRun) -> list[int]:
    return sorted(
        RunAccount.objects.filter(run=run, status=RunAccountStatus.PENDING)
        .order_by()  # no default ordering in the DISTINCT: one row per chunk
        .values_list("chunk", flat=True)
        .distinct()
    )


def _chunks_send(
    run: RebalanceRun, chunks: list[int], *, silent_s: dict[int, int] | None = None
) -> None:
    """Put the chunks' messages in the outbox (sent after commit); record when, and re-sends."""
    if not chunks:
        return
    now = timezone.now()
    RunChunk.objects.bulk_create(
        [RunChunk(run=run, chunk=chunk) for chunk in chunks], ignore_conflicts=True
    )
    if silent_s is None:
        RunChunk.objects.filter(run=run, chunk__in=chunks).update(sent_at=now)
    else:
        for chunk in chunks:
            RunChunk.objects.filter(run=run, chunk=chunk).update(
                sent_at=now,
                resent_at=now,
                resent_count=F("resent_count") + 1,
                silent_s=silent_s[chunk],
            )
    outbox_enqueue_many(task=CHUNK_TASK, args_list=[[run.pk, chunk] for chunk in chunks])


def _chunk_beat(*, run_id: int, chunk: int) -> None:
    """A worker is on the chunk now (the resume leaves a chunk that beats alone)."""
    RunChunk.objects.filter(run_id=run_id, chunk=chunk).update(heartbeat_at=timezone.now())


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
    _chunk_beat(run_id=run_id, chunk=chunk)
    beat_every_s, last_beat = settings.OPTIMIZER_CHUNK_HEARTBEAT_S, time.monotonic()
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
        if time.monotonic() - last_beat >= beat_every_s:
            _chunk_beat(run_id=run_id, chunk=chunk)
            last_beat = time.monotonic()
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
        **_chunk_totals(proposals, trades),
        done_accounts=F("done_accounts") + counts[RunAccountStatus.DONE],
        failed_accounts=F("failed_accounts") + counts[RunAccountStatus.FAILED],
        skipped_accounts=F("skipped_accounts") + counts[RunAccountStatus.SKIPPED],
        solver_ms=F("solver_ms") + solver_ms,
        compute_ms=F("compute_ms") + compute_ms,
    )
    run.refresh_from_db()
    _finish_if_done(run)


def _chunk_totals(
    proposals: list[tuple[Any, ...]], trades: dict[int, list[adapters.TradeData]]
) -> dict[str, Any]:
    """The run's totals (``selectors.run_totals``) plus what this chunk stores, as updates."""
    buys = sells = gains = ZERO
    for account_trades in trades.values():
        for trade in account_trades:
            if trade.side == TradeSide.BUY:
                buys += trade.amount
            else:
                sells += trade.amount
                gains += trade.realized_gain_amount or ZERO
    return {
        "proposal_count": F("proposal_count") + len(proposals),
        "proposals_with_trades": F("proposals_with_trades")
        + sum(1 for row in proposals if trades[row[1]]),
        "buy_amount": F("buy_amount") + buys,
        "sell_amount": F("sell_amount") + sells,
        "realized_gain_amount": F("realized_gain_amount") + gains,
        "estimated_tax_amount": F("estimated_tax_amount") + sum((r[5] for r in proposals), ZERO),
        "naive_tax_amount": F("naive_tax_amount") + sum((r[6] for r in proposals), ZERO),
    }


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
def rebalance_run_cancel(*, run: RebalanceRun, acting_user: User) -> RebalanceRun:
    """Stop a run: accounts not yet optimized are marked skipped ("cancelled"); audited.

    Raises:
        ApplicationError: the run has already finished.
    """
    require_tenant_schema()
    run = RebalanceRun.objects.select_for_update().get(pk=run.pk)
    if run.status in FINISHED_RUN_STATUSES:
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


@transaction.atomic
def rebalance_run_fail(*, run_id: int, reason: str) -> RebalanceRun:
    """Fail a run that cannot proceed: its pending accounts fail with the reason; audited.

    A run already finished is returned unchanged.
    """
    require_tenant_schema()
    run = RebalanceRun.objects.select_for_update().get(pk=run_id)
    if run.status not in FINISHED_RUN_STATUSES:
        _run_fail(run, reason=reason)
    return run


def _run_fail(run: RebalanceRun, *, reason: str) -> None:
    """Fail a locked, unfinished run with the reason (shown on its page)."""
    reason = reason[:2000]
    failed = RunAccount.objects.filter(run=run, status=RunAccountStatus.PENDING).update(
        status=RunAccountStatus.FAILED, reason=f"run failed: {reason}"[:2000]
    )
    run.failed_accounts += failed
    run.status = RunStatus.FAILED
    run.failure_reason = reason
    run.finished_at = timezone.now()
    run.save(update_fields=["failed_accounts", "status", "failure_reason", "finished_at"])
    audit_event_record(
        action="rebalance_run.fail",
        acting_user=None,
        obj=run,
        payload={"reason": reason[:500], "accounts_failed": failed},
    )


def rebalance_runs_resume(*, stalled_after_s: int) -> list[int]:
    """Re-send the work of this firm's runs that stalled; fail those that cannot proceed.

    Messages can be lost (a worker killed mid-chunk, a broker restarted without persistence,
    a queue purged); the run would then wait forever. Re-sending is safe: chunks only work on
    accounts still pending. A queued run is started when ``stalled_after_s`` has passed since
    its creation; a chunk of a running run is sent again when it has pending accounts and no
    sign of life (sent, or a worker's heartbeat) for ``stalled_after_s`` seconds, and either a
    worker had claimed it (and died), or a chunk sent with it or after it (queued behind it:
    the queue is first in, first out) was claimed while it was not (its message went to a
    worker that died before starting it, or was lost), or no chunk of the run shows life (the
    queue is not moving for it). A chunk merely waiting behind its run's others is left alone.

    Each run is handled in its own transaction: a run that cannot proceed is failed with the
    reason and the others are still resumed.

    Returns:
        The ids of the runs resumed.
    """
    require_tenant_schema()
    resumed = []
    active = RebalanceRun.objects.filter(
        status__in=(RunStatus.QUEUED, RunStatus.RUNNING), is_cancel_requested=False
    ).order_by("pk")
    for run_id in active.values_list("pk", flat=True):
        try:
            if _run_resume(run_id=run_id, stalled_after_s=stalled_after_s):
                resumed.append(run_id)
        except (OperationalError, InterfaceError):
            raise  # the database went away: the task retries the whole resume
        except Exception as exc:  # this run cannot proceed; it must not block the others
            logger.exception("run #%s cannot be resumed: failed", run_id)
            rebalance_run_fail(run_id=run_id, reason=f"{type(exc).__name__}: {exc}")
    return resumed


@transaction.atomic
def _run_resume(*, run_id: int, stalled_after_s: int) -> bool:
    """Resume one run if it stalled (see ``rebalance_runs_resume``); True when resumed."""
    run = RebalanceRun.objects.select_for_update().get(pk=run_id)
    if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING) or run.is_cancel_requested:
        return False
    now = timezone.now()
    cutoff = now - timedelta(seconds=stalled_after_s)
    if run.status == RunStatus.QUEUED:
        if run.created_at >= cutoff:
            return False
        chunks = rebalance_run_start(run_id=run.pk)
        run.refresh_from_db(fields=["status"])
        if run.status == RunStatus.FAILED:
            return False  # it cannot proceed: failed with its reason
        _resume_record(run, chunks=chunks, stalled_since=run.created_at)
        return True
    states = {c.chunk: c for c in RunChunk.objects.filter(run=run)}
    born = run.started_at or run.created_at
    run_life = max([born, *(c.heartbeat_at for c in states.values() if c.heartbeat_at)])
    stalled = {}
    for chunk in _pending_chunks(run):
        state = states.get(chunk)
        sent, beat = (state.sent_at, state.heartbeat_at) if state else (None, None)
        last = max(t for t in (born, sent, beat) if t is not None)
        is_claimed = beat is not None and (sent is None or beat >= sent)
        is_overtaken = sent is not None and any(
            later.chunk > chunk
            and later.sent_at is not None
            and later.sent_at >= sent
            and later.heartbeat_at is not None
            and later.heartbeat_at >= later.sent_at
            for later in states.values()
        )
        if last < cutoff and (is_claimed or is_overtaken or run_life < cutoff):
            stalled[chunk] = last
    if not stalled:
        return False
    silent_s = {chunk: round((now - last).total_seconds()) for chunk, last in stalled.items()}
    _chunks_send(run, sorted(stalled), silent_s=silent_s)
    _resume_record(run, chunks=sorted(stalled), stalled_since=min(stalled.values()))
    return True


def _resume_record(run: RebalanceRun, *, chunks: list[int], stalled_since: datetime) -> None:
    audit_event_record(
        action="rebalance_run.resume",
        acting_user=None,
        obj=run,
        payload={"chunks": chunks, "stalled_since": stalled_since.isoformat()},
    )
