"""Our layout (``docs/custodian-files.md``, "Generic layout"): exact headers, one row per entry."""

from apps.accounts.layouts.declaration import CustodianLayout
from apps.ingest.reading import columns

# Optional profile columns of an accounts file: (column, parser kind). Rates are fractions
# (0.238, not 23.8); "?" marks a column whose empty cell clears the value.
ACCOUNT_PROFILE_COLUMNS: dict[str, str] = {
    "currency": "currency",
    "opened_on": "date?",
    "short_term_rate": "rate",
    "long_term_rate": "rate",
    "state_rate": "rate",
    "filing_status": "choice:filing_status",
    "budget_kind": "choice:budget_kind",
    "annual_budget_amount": "money?",
    "short_term_gains_budget_amount": "money?",
    "long_term_gains_budget_amount": "money?",
    "carryforward_short_amount": "money",
    "carryforward_long_amount": "money",
    "carryforward_year": "int?",
    "transition_years": "int?",
    "transition_tolerance_rate": "rate",
    "is_harvesting_enabled": "bool",
    "harvest_threshold_rate": "rate",
    "cash_reserve_amount": "money",
    "withdrawal_amount": "money",
    "withdrawal_frequency": "choice:withdrawal_frequency",
    "next_withdrawal_on": "date?",
    "drift_tolerance_rate": "rate",
    "min_trade_amount": "money",
    "is_fractional_shares": "bool",
    "fee_rate": "rate",
    "lot_method": "choice:lot_method",
    "lot_selection": "choice:lot_selection",
}

GENERIC = CustodianLayout(
    name="generic",
    label="Generic CSV (ours)",
    custodian="",
    transactions=columns(
        "custodian",
        "external_id",
        "trade_date",
        "kind",
        "symbol",
        "shares",
        "amount",
        optional=("lot_method", "lot_ids"),
    ),
    lots=columns(
        "custodian",
        "lot_id",
        "symbol",
        "shares",
        "cost_basis",
        "acquired_date",
        optional=("holding_period_start", "wash_adjustment"),
    ),
    positions=columns("custodian", "symbol", "shares", optional=("cost_basis", "as_of")),
    accounts=columns(
        "household_id",
        "household_name",
        "custodian",
        "name",
        "registration",
        optional=tuple(ACCOUNT_PROFILE_COLUMNS),
    ),
)
