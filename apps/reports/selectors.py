"""Reads for reports: executed rebalances, batches and files, the firm's branding."""

from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from apps.accounts.models import Account, Registration
from apps.reports.models import FirmBranding, ReportBatch, ReportFile
from apps.trading.models import OrderAllocation, Proposal, ProposedTrade


def executed_proposal_list(
    *, account_ids: Iterable[int] | None = None, year: int | None = None
) -> QuerySet[Proposal]:
    """Executed rebalances: proposals at least one of whose trades has a fill, oldest first.

    The one definition of "executed" for the taxes-saved method (``docs/taxes-saved.md``): an
    approved or ordered proposal that never traded saved nothing. The year is the run's
    business date (``as_of``). Trades are prefetched in one extra query.
    """
    filled = OrderAllocation.objects.filter(
        proposed_trade__proposal=OuterRef("pk"), filled_shares__gt=0
    )
    proposals = (
        Proposal.objects.filter(Exists(filled))
        .select_related("run", "account")
        .prefetch_related(Prefetch("trades", queryset=ProposedTrade.objects.order_by("pk")))
        .order_by("run__as_of", "pk")
    )
    if account_ids is not None:
        proposals = proposals.filter(account_id__in=list(account_ids))
    if year is not None:
        proposals = proposals.filter(run__as_of__year=year)
    return proposals


def report_account_list(*, account_ids: Iterable[int] | None = None) -> QuerySet[Account]:
    """Accounts a client batch covers (all when none are named), with household and model."""
    accounts = Account.objects.select_related("household", "model").order_by("pk")
    if account_ids:
        accounts = accounts.filter(pk__in=list(account_ids))
    return accounts


def taxable_managed_account_list() -> QuerySet[Account]:
    """The firm report's population: taxable accounts on a model (IRAs save no tax now)."""
    return report_account_list().filter(registration=Registration.TAXABLE, model__isnull=False)


def report_batch_list() -> QuerySet[ReportBatch]:
    """Batches, newest first."""
    return ReportBatch.objects.select_related("requested_by")


def report_file_list(*, batch: ReportBatch | None = None) -> QuerySet[ReportFile]:
    """Rendered files with their accounts, optionally of one batch."""
    files = ReportFile.objects.select_related("account", "batch")
    if batch is not None:
        files = files.filter(batch=batch)
    return files


def firm_branding_get() -> FirmBranding:
    """The firm's branding row (defaults when the firm has not set one; not saved)."""
    return FirmBranding.objects.order_by("pk").first() or FirmBranding()
