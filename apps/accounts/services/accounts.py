"""Households and accounts: creation and profile changes, each audited with before/after."""

from typing import Any

from django.contrib.auth.models import User

from apps.access.services import object_fields_update
from apps.accounts.attention import account_positions_store
from apps.accounts.errors import AccountsErrorCode
from apps.accounts.models import Account
from apps.common.exceptions import ApplicationError
from apps.common.tenancy import firm_today
from apps.common.validation import full_clean_or_error

# What an advisor may change on an account (the "design the solution" fields).
PROFILE_FIELDS = (
    "name",
    "short_term_rate",
    "long_term_rate",
    "state_rate",
    "filing_status",
    "budget_kind",
    "annual_budget_amount",
    "short_term_gains_budget_amount",
    "long_term_gains_budget_amount",
    "carryforward_short_amount",
    "carryforward_long_amount",
    "carryforward_year",
    "transition_years",
    "transition_tolerance_rate",
    "tracking_error_target_rate",
    "turnover_budget_rate",
    "is_harvesting_enabled",
    "harvest_threshold_rate",
    "cash_reserve_amount",
    "withdrawal_amount",
    "withdrawal_frequency",
    "next_withdrawal_on",
    "drift_tolerance_rate",
    "min_trade_amount",
    "is_fractional_shares",
    "fee_rate",
    "lot_method",
    "lot_selection",
)


def transition_start_changes(account: Account, changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` plus the transition's start year when they set or change the horizon.

    A horizon set (or changed) today starts its transition this business year: ``transition_years
    = 3`` set in 2026 plans 2026, 2027 and 2028; clearing it ends the transition. The one place
    that keeps ``transition_start_year`` true (profile changes, account creation, imports).
    """
    if "transition_years" not in changes:
        return changes
    years = changes["transition_years"]
    if account.pk is not None and years == account.transition_years:
        return changes
    return {**changes, "transition_start_year": firm_today().year if years else None}


def _validated(obj: Any) -> None:
    full_clean_or_error(obj, code=AccountsErrorCode.INVALID)


def account_update_profile(
    *, account: Account, changes: dict[str, Any], acting_user: User | None
) -> Account:
    """Change an account's customization; the audit row keeps every before/after value.

    Raises:
        ApplicationError: an unknown field or an invalid value (nothing is saved).
    """
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ApplicationError(f"unknown fields {sorted(unknown)}", code=AccountsErrorCode.INVALID)
    updated: Account = object_fields_update(
        obj=account,
        changes=transition_start_changes(account, changes),
        allowed=(*PROFILE_FIELDS, "transition_start_year"),
        action="account.update_profile",
        acting_user=acting_user,
        code=AccountsErrorCode.INVALID,
    )
    # Model, tolerances, thresholds and cash needs change its stored position and attention.
    account_positions_store(as_of=firm_today(), account_ids=[updated.pk])
    return updated
