"""Review of proposals: exception flags, the firm's approval policy, approve and reject."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.access.services import audit_event_record, object_fields_update
from apps.common.bulk import id_batches
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import require_tenant_schema
from apps.optimizer.adapters import ProposalData
from apps.trading.errors import TradingErrorCode
from apps.trading.models import Proposal, ProposalStatus, TradingSettings
from apps.trading.services.pretrade import proposals_currency

AUTO_APPROVED = "auto-approved: no exception flag"


def trading_settings_get() -> TradingSettings:
    """The firm's trading policy (created with defaults on first use)."""
    require_tenant_schema()
    settings, _ = TradingSettings.objects.get_or_create(pk=1)
    return settings


SETTINGS_FIELDS = (
    "is_auto_approve",
    "large_tax_rate",
    "large_drift_rate",
    "big_trade_rate",
    "is_scan_starting_runs",
)


def trading_settings_update(*, changes: dict[str, Any], acting_user: User) -> TradingSettings:
    """Change the firm's trading policy (audited with before/after)."""
    return object_fields_update(  # type: ignore[no-any-return]
        obj=trading_settings_get(),
        changes=changes,
        allowed=SETTINGS_FIELDS,
        action="trading_settings.update",
        acting_user=acting_user,
        code=TradingErrorCode.INVALID,
    )


def proposal_flags(*, data: ProposalData, policy: TradingSettings) -> list[str]:
    """Exception flags a trader should look at before the trades go out.

    ``large_tax``: estimated tax above the firm's threshold of account value; ``large_drift``:
    drift left after the trades above the threshold; ``relaxed``/``forced``: the optimizer had
    to soften a constraint or exceed a limit for restrictions; ``big_trade``: one trade above
    the threshold of account value; ``violation``: a constraint still violated after rounding;
    ``cash_short``: a withdrawal due or the reserve cannot be funded (the header says why).
    """
    value = Decimal(data.metrics["before"]["value_amount"])
    flags = []
    if value > 0 and data.estimated_tax_amount > policy.large_tax_rate * value:
        flags.append("large_tax")
    if Decimal(str(data.metrics["after"]["max_drift_weight"])) > policy.large_drift_rate:
        flags.append("large_drift")
    if data.metrics["relaxed"]:
        flags.append("relaxed")
    if data.metrics["forced"]:
        flags.append("forced")
    if value > 0 and any(t.amount > policy.big_trade_rate * value for t in data.trades):
        flags.append("big_trade")
    if data.metrics["violations"]:
        flags.append("violation")
    if data.metrics.get("cash_short"):
        flags.append("cash_short")
    return flags


@dataclass(frozen=True)
class Decisions:
    """What a decision did: how many proposals changed, how many already stood so, which are stale.

    ``stale``: proposal id -> why (its account changed since it was computed; re-run it).
    """

    decided: int
    unchanged: int
    stale: dict[int, str]


_DECIDABLE = (ProposalStatus.PENDING_APPROVAL, ProposalStatus.HELD)


@transaction.atomic
def proposals_decide(
    *, proposal_ids: list[int], approve: bool, acting_user: User, note: str = ""
) -> Decisions:
    """Approve or reject live proposals (one or in bulk); each decision is audited.

    Idempotent: a proposal already approved (or rejected) by the same decision is left as it is
    (a double click, a second browser, a retried API call). An approval re-checks that the
    account is as it was computed (``pretrade.proposals_currency``); a proposal whose account
    changed turns ``stale`` with the reason instead, and the others are approved.

    Raises:
        ApplicationError: a proposal is unknown or not live (superseded, stale, ordered, or
            decided the other way); nothing is changed.
    """
    require_tenant_schema()
    wanted = sorted(set(proposal_ids))
    proposals = [
        proposal
        for part in id_batches(wanted)
        for proposal in Proposal.objects.select_for_update().filter(pk__in=part).order_by("pk")
    ]
    status = ProposalStatus.APPROVED if approve else ProposalStatus.REJECTED
    unchanged = [p for p in proposals if p.status == status]
    refused = [p for p in proposals if p.status != status and p.status not in _DECIDABLE]
    if refused or len(proposals) != len(wanted):
        missing = sorted(set(wanted) - {p.pk for p in proposals})
        raise ApplicationError(
            "only proposals pending approval or held back can be decided: "
            + "; ".join(
                f"#{p.pk} is {p.get_status_display().lower()}"
                + (f" ({p.status_reason})" if p.status_reason else "")
                for p in refused[:20]
            )
            + (f"; unknown: {missing[:20]}" if missing else ""),
            code=TradingErrorCode.NOT_PENDING,
            extra={"not_pending": [p.pk for p in refused], "unknown": missing},
        )
    todo = [p for p in proposals if p.status in _DECIDABLE]
    stale: dict[int, str] = {}
    if approve and todo:
        currency = proposals_currency(todo)
        stale = {pk: c.stale_reason for pk, c in currency.items() if c.stale_reason}
    now = timezone.now()
    for proposal in todo:
        if proposal.pk in stale:
            proposal.status, proposal.status_reason = ProposalStatus.STALE, stale[proposal.pk]
            continue
        proposal.status, proposal.decided_by, proposal.decided_at = status, acting_user, now
        proposal.decision_note, proposal.status_reason = note[:300], ""
    Proposal.objects.bulk_update(
        todo, ["status", "status_reason", "decided_by", "decided_at", "decision_note"]
    )
    for proposal in todo:
        is_stale = proposal.pk in stale
        audit_event_record(
            action="proposal.stale"
            if is_stale
            else "proposal.approve"
            if approve
            else "proposal.reject",
            acting_user=acting_user,
            obj=proposal,
            payload={
                "account_id": proposal.account_id,
                "run_id": proposal.run_id,
                "note": note,
                **({"reason": stale[proposal.pk]} if is_stale else {}),
            },
        )
    return Decisions(decided=len(todo) - len(stale), unchanged=len(unchanged), stale=stale)
