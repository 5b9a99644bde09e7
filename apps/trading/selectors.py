"""Reads of runs and proposals, and the accounts a run's scope covers."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from apps.accounts.models import Account, TaxLot
from apps.accounts.selectors import held_symbols
from apps.common.bulk import id_batches
from apps.common.money import ZERO
from apps.common.tenancy import require_tenant_schema
from apps.models.models import ModelPortfolio
from apps.models.selectors import model_flatten
from apps.restrictions.selectors import substitutes_map
from apps.trading.models import (
    DailyScan,
    Proposal,
    ProposalStatus,
    RebalanceRun,
    RunAccount,
    RunAccountStatus,
    RunChunk,
    RunScope,
    RunStatus,
    ScanItem,
)


def scope_accounts(*, scope: str, scope_ids: Sequence[int]) -> list[tuple[int, int]]:
    """(account id, household id) of the accounts a scope covers (one query).

    In (household, account id) order: a household's accounts together.
    """
    accounts = Account.objects.all()
    if scope == RunScope.ACCOUNT:
        accounts = accounts.filter(pk__in=scope_ids)
    elif scope == RunScope.HOUSEHOLD:
        accounts = accounts.filter(household_id__in=scope_ids)
    elif scope == RunScope.MODEL:
        accounts = accounts.filter(model_id__in=scope_ids)
    return list(accounts.order_by("household_id", "pk").values_list("pk", "household_id"))


def scope_models(*, account_ids: Sequence[int]) -> list[ModelPortfolio]:
    """The models the accounts follow (accounts without a model add none)."""
    model_ids: set[int] = set()
    for part in id_batches(account_ids):
        model_ids.update(
            Account.objects.filter(pk__in=part, model__isnull=False)
            .order_by()
            .values_list("model_id", flat=True)
            .distinct()
        )
    return list(ModelPortfolio.objects.filter(pk__in=model_ids).order_by("code"))


def run_universe_symbols(
    *, account_ids: Sequence[int], as_of: date, is_whole_book: bool = False
) -> list[str]:
    """Every name a run may hold or buy: holdings, the models' targets and their substitutes.

    ``is_whole_book``: the accounts are all the firm's, so the holdings are every lot's symbol
    (``held_symbols``, an index probe per name instead of reading every lot).
    """
    symbols: set[str] = held_symbols() if is_whole_book else set()
    if not is_whole_book:
        for part in id_batches(account_ids):
            # order_by(): the models' default ordering would join DISTINCT and return every lot.
            symbols.update(
                TaxLot.objects.filter(account_id__in=part)
                .order_by()
                .values_list("symbol", flat=True)
                .distinct()
            )
    for model in scope_models(account_ids=account_ids):
        symbols |= set(model_flatten(model=model, as_of=as_of).weights)
    for alternatives in substitutes_map(symbols=symbols).values():
        symbols |= set(alternatives)
    return sorted(symbols)


# A run's universe snapshot (prices and risk model of every name, up to megabytes) is read only
# by the chunk tasks; lists and pages defer it.
_RUN_SNAPSHOT_FIELDS = ("universe_snapshot", "universe_symbols")


def run_list() -> QuerySet[RebalanceRun]:
    """Runs, newest first, without their universe snapshot."""
    return RebalanceRun.objects.select_related("requested_by").defer(*_RUN_SNAPSHOT_FIELDS)


@dataclass(frozen=True)
class RunTotals:
    """A run's proposals added up from their stored trades and figures (USD)."""

    proposals: int = 0
    proposals_with_trades: int = 0
    buy_amount: Decimal = ZERO
    sell_amount: Decimal = ZERO
    realized_gain_amount: Decimal = ZERO  # the sells' gains less losses
    estimated_tax_amount: Decimal = ZERO
    naive_tax_amount: Decimal = ZERO  # a tax-naive rebalance to the same targets

    @property
    def tax_avoided_amount(self) -> Decimal:
        """Tax of the tax-naive rebalance less the run's own estimate."""
        return self.naive_tax_amount - self.estimated_tax_amount


def run_totals(*, run_ids: Sequence[int]) -> dict[int, RunTotals]:
    """Totals of these runs' proposals, as stored by their chunks; a run with none is absent.

    Each chunk adds its proposals' figures to the run in the transaction that stores them
    (``services.runs``): one read of the runs, where adding up a 20,000-account run's trades
    took a second.
    """
    return {
        run.pk: RunTotals(
            proposals=run.proposal_count,
            proposals_with_trades=run.proposals_with_trades,
            buy_amount=run.buy_amount,
            sell_amount=run.sell_amount,
            realized_gain_amount=run.realized_gain_amount,
            estimated_tax_amount=run.estimated_tax_amount,
            naive_tax_amount=run.naive_tax_amount,
        )
        for run in RebalanceRun.objects.filter(pk__in=run_ids, proposal_count__gt=0).only(
            "proposal_count",
            "proposals_with_trades",
            "buy_amount",
            "sell_amount",
            "realized_gain_amount",
            "estimated_tax_amount",
            "naive_tax_amount",
        )
    }


def proposal_list(*, run: RebalanceRun | None = None, status: str = "") -> QuerySet[Proposal]:
    """Proposals with their account, optionally of one run and one status.

    The replay snapshot (``snapshot``, kilobytes per proposal) and the run's universe
    snapshot are deferred: pages and the API never show them, and a list of proposals would
    otherwise carry megabytes (the run's snapshot once per row).
    """
    proposals = (
        Proposal.objects.select_related("account", "run")
        .defer("snapshot")
        .defer(*(f"run__{field}" for field in _RUN_SNAPSHOT_FIELDS))
    )
    if run is not None:
        proposals = proposals.filter(run=run)
    if status:
        proposals = proposals.filter(status=status)
    return proposals


EXCEPTION_QUEUE_ORDER = ("status", "-flags", "-created_at", "-pk")  # "held" sorts before "pending"


def exception_queue() -> QuerySet[Proposal]:
    """Proposals waiting for a trader: held back ones, then flagged ones, then the rest.

    A stable order, for pagination. Held back: approved once, kept out of the orders by a
    pre-trade check (``status_reason`` says which).
    """
    return (
        proposal_list()
        .filter(status__in=(ProposalStatus.HELD, ProposalStatus.PENDING_APPROVAL))
        .order_by(*EXCEPTION_QUEUE_ORDER)
    )


def stale_proposal_list(*, limit: int = 50) -> list[Proposal]:
    """The newest stale proposals of accounts not run again since (to re-run them)."""
    newer = Proposal.objects.filter(
        account_id=OuterRef("account_id"), run_id__gt=OuterRef("run_id")
    )
    return list(
        proposal_list(status=ProposalStatus.STALE).exclude(Exists(newer)).order_by("-pk")[:limit]
    )


def scan_item_list(*, scan: DailyScan) -> QuerySet[ScanItem]:
    """A scan's to-do list: cash short first, then the most money at stake.

    ``is_cash_short``: a proposal pending approval or approved says (``metrics["cash_short"]``)
    that the withdrawals due plus the reserve could not be funded; then by stake, then name.
    """
    cash_short = Proposal.objects.filter(
        account_id=OuterRef("account_id"),
        status__in=(ProposalStatus.PENDING_APPROVAL, ProposalStatus.APPROVED),
        metrics__cash_short__0__isnull=False,
    )
    return (
        scan.items.select_related("account")
        .annotate(is_cash_short=Exists(cash_short))
        .order_by("-is_cash_short", "-stake_amount", "account__name")
    )


def latest_transition_plan(*, account_id: int) -> tuple[Proposal, dict[str, Any]] | None:
    """The account's latest proposal that followed a transition plan, and that plan (or None).

    Superseded and stale proposals count: the plan is what the last run planned, whatever
    became of its trades.
    """
    require_tenant_schema()
    proposal = (
        Proposal.objects.filter(account_id=account_id, metrics__has_key="transition_plan")
        .select_related("run")
        .order_by("-run__as_of", "-pk")
        .first()
    )
    if proposal is None:
        return None
    return proposal, proposal.metrics["transition_plan"]


@dataclass(frozen=True)
class ChunkStall:
    """A chunk of a running run with pending accounts that went silent or was sent again."""

    chunk: int
    silent_s: int  # seconds since its last sign of life (sent or a worker's heartbeat)
    resent_count: int
    resent_at: datetime | None
    silent_before_resend_s: int  # the silence that made the resume send it again


def run_chunk_stalls(*, run: RebalanceRun, stalled_after_s: int) -> list[ChunkStall]:
    """Chunks with pending accounts that were re-sent or are silent past ``stalled_after_s``."""
    if run.status != RunStatus.RUNNING:
        return []
    pending = set(
        RunAccount.objects.filter(run=run, status=RunAccountStatus.PENDING)
        .order_by()
        .values_list("chunk", flat=True)
        .distinct()
    )
    now = timezone.now()
    born = run.started_at or run.created_at
    stalls = []
    for state in RunChunk.objects.filter(run=run, chunk__in=pending).order_by("chunk"):
        last = max(t for t in (born, state.sent_at, state.heartbeat_at) if t is not None)
        silent_s = round((now - last).total_seconds())
        if state.resent_count or silent_s > stalled_after_s:
            stalls.append(
                ChunkStall(
                    chunk=state.chunk,
                    silent_s=silent_s,
                    resent_count=state.resent_count,
                    resent_at=state.resent_at,
                    silent_before_resend_s=state.silent_s,
                )
            )
    return stalls
