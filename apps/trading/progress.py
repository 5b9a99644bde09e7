"""Live progress of a run: counts, accounts per second and time left (for pages and the API)."""

from dataclasses import dataclass

from django.utils import timezone

from apps.trading.models import RebalanceRun


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands; ``rate_per_s`` and ``eta_s`` are None until there is something to say."""

    status: str
    total: int
    done: int
    failed: int
    skipped: int
    remaining: int
    percent: int
    rate_per_s: float | None
    eta_s: float | None
    solver_share: float | None


def run_progress(run: RebalanceRun) -> RunProgress:
    """Progress of a run from its counters (no query)."""
    finished = run.done_accounts + run.failed_accounts + run.skipped_accounts
    rate = eta = None
    if run.started_at and finished:
        end = run.finished_at or timezone.now()
        elapsed = max((end - run.started_at).total_seconds(), 1e-3)
        rate = finished / elapsed
        eta = run.remaining_accounts / rate if run.finished_at is None else 0.0
    share = run.solver_ms / run.compute_ms if run.compute_ms else None
    return RunProgress(
        status=run.status,
        total=run.total_accounts,
        done=run.done_accounts,
        failed=run.failed_accounts,
        skipped=run.skipped_accounts,
        remaining=run.remaining_accounts,
        percent=round(100 * finished / run.total_accounts) if run.total_accounts else 0,
        rate_per_s=round(rate, 2) if rate is not None else None,
        eta_s=round(eta, 1) if eta is not None else None,
        solver_share=round(share, 3) if share is not None else None,
    )
