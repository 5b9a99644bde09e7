"""Which account and household settings drive what: the one list (issue 17, item 4).

Every concrete field of ``Account`` and ``Household`` is either **read by the engine** (with the
readers that act on it) or **display-only** (with the reason nothing acts on it).
``tests/unit/test_profile_fields.py`` fails when a model field is in neither list or a listed
field no longer exists, and ``tests/integration/trading/test_settings_reach_the_optimizer.py``
changes every field read by the optimizer on a real account and checks the optimizer's input
changes (and, for the harvesting, budget and transition settings, the trades). docs/operations.md
("Account settings") points here.
"""

from dataclasses import dataclass
from enum import StrEnum


class Reader(StrEnum):
    """A part of the engine that acts on a setting."""

    OPTIMIZER = "optimizer input"  # apps.optimizer.adapters.account_problems_build
    LEDGER = "ledger"  # ledger_rebuild (lot relief, wash sales) and the tax year so far
    SCAN = "to-do scan"  # apps.accounts.attention.accounts_needing_attention
    REPORTS = "reports"  # apps.reports (client report, taxes saved against fees)
    ORDERS = "orders and trade files"  # apps.trading orders, trade files, fills, pre-trade


@dataclass(frozen=True)
class EngineUse:
    """The readers of a setting and how each uses it."""

    readers: tuple[Reader, ...]
    how: str


_O, _L, _S, _R, _T = Reader.OPTIMIZER, Reader.LEDGER, Reader.SCAN, Reader.REPORTS, Reader.ORDERS
_BUDGET = "the year's budget left (realized_summaries) becomes a row of the optimizer"

ACCOUNT_ENGINE_FIELDS: dict[str, EngineUse] = {
    "household": EngineUse(
        (_O, _L),
        "accounts of a household are solved one after the other with shared wash-sale locks, "
        "household restrictions and outside holdings; the ledger replays a household's wash "
        "sales together (IRC §1091, Rev. Rul. 2008-5)",
    ),
    "custodian": EngineUse(
        (_O, _T),
        "share places the custodian takes (custodians.quantity_places); whether it takes "
        "specified lots (lot_selection custodian); orders and trade files per custodian",
    ),
    "number": EngineUse((_T,), "the account number on trade-file lines and in fills matching"),
    "registration": EngineUse(
        (_O, _L, _S),
        "taxable or not: tax rates, budgets and harvesting apply to taxable accounts only",
    ),
    "opened_on": EngineUse((_R,), "taxes saved against fees since inception (year fraction)"),
    "short_term_rate": EngineUse((_O, _L, _R), "rate on short-term lots; estimated tax"),
    "long_term_rate": EngineUse((_O, _L, _R), "rate on long-term lots; estimated tax"),
    "state_rate": EngineUse((_O, _L, _R), "added to both rates"),
    "filing_status": EngineUse(
        (_O, _L, _R),
        "capital loss limit in the year's netting (Schedule D; IRC §1211(b)), so what a loss "
        "is worth to the optimizer's shadow prices (TaxProfile.filing_status)",
    ),
    "budget_kind": EngineUse(
        (_O, _L, _S), "the annual budget caps net gains, or the tax on them at each lot's rate"
    ),
    "annual_budget_amount": EngineUse((_O, _L, _S), _BUDGET),
    "short_term_gains_budget_amount": EngineUse((_O, _L, _S), _BUDGET + " (short-term lots)"),
    "long_term_gains_budget_amount": EngineUse((_O, _L, _S), _BUDGET + " (long-term lots)"),
    "carryforward_short_amount": EngineUse(
        (_O, _L, _R),
        "netted into the year so far, so into the budgets left and the shadow prices of losses",
    ),
    "carryforward_long_amount": EngineUse(
        (_O, _L, _R),
        "netted into the year so far, so into the budgets left and the shadow prices of losses",
    ),
    "carryforward_year": EngineUse(
        (_O, _L), "the carryforward counts only in that year (or every year when empty)"
    ),
    "transition_years": EngineUse(
        (_O,), "the multi-year transition plan sets the run's gains budget from it"
    ),
    "transition_start_year": EngineUse(
        (_O,),
        "set by the accounts service when transition_years changes (the firm's business year); "
        "the years of the plan left (Account.transition_years_left)",
    ),
    "transition_tolerance_rate": EngineUse(
        (_O,),
        "the transition planner's target tracking error: its last year raises the risk "
        "aversion until the tracking error is within it",
    ),
    "tracking_error_target_rate": EngineUse(
        (_O,),
        "the tracking error the account may carry after trading (empty: its model's); the "
        "optimizer raises its risk aversion until it holds "
        "(RebalanceProblem.tracking_error_target)",
    ),
    "turnover_budget_rate": EngineUse(
        (_O,),
        "what the calendar year has left of it (buys and sells this year in the ledger) caps "
        "each run's trades (Constraints.turnover_cap_weight)",
    ),
    "is_harvesting_enabled": EngineUse(
        (_O, _S), "off: no sale for a tax loss (TaxProfile.harvest_threshold_rate None)"
    ),
    "harvest_threshold_rate": EngineUse(
        (_O, _S), "a lot this far under water is harvestable; its name goes harvest-side"
    ),
    "cash_reserve_amount": EngineUse((_O, _S), "cash floor after trading"),
    "withdrawal_amount": EngineUse((_O, _S), "withdrawals due within the horizon are raised"),
    "withdrawal_frequency": EngineUse((_O, _S), "withdrawals due within the horizon"),
    "next_withdrawal_on": EngineUse((_O, _S), "withdrawals due within the horizon"),
    "drift_tolerance_rate": EngineUse((_S,), "drift beyond it puts the account on the to-do list"),
    "min_trade_amount": EngineUse((_O,), "trades below it (position-relative) are dropped"),
    "is_fractional_shares": EngineUse((_O, _T), "share step of buys and sells"),
    "fee_rate": EngineUse((_R,), "advisory fee against taxes saved"),
    "lot_method": EngineUse(
        (_O, _L, _T),
        "lot relief of sells without lot instructions, the optimizer's lot order, and the cost "
        "basis method on their orders and trade-file lines",
    ),
    "lot_selection": EngineUse(
        (_O, _T),
        "whether sells carry lot instructions (Account.uses_specified_lots; custodian: the "
        "custodian's default): if not, the optimizer sells in the lot method's order and "
        "orders carry no lot instructions",
    ),
    "model": EngineUse((_O, _S, _R), "the target (flattened model, screens, outside holdings)"),
    "cash_amount": EngineUse((_O, _S), "cash before trading (derived from the ledger)"),
}

ACCOUNT_DISPLAY_ONLY: dict[str, str] = {
    "id": "the primary key: identity, not a setting",
    "name": "the client's label on pages and reports; no rule depends on it",
    "currency": "every account is in USD (Account.clean refuses another currency)",
    "created_at": "when the row was created, for the audit trail",
}

HOUSEHOLD_ENGINE_FIELDS: dict[str, EngineUse] = {}

HOUSEHOLD_DISPLAY_ONLY: dict[str, str] = {
    "id": "the primary key: identity (its accounts are read through Account.household)",
    "external_id": "the CRM key imports match households by; no rule depends on it",
    "name": "the family's label on pages and reports",
    "created_at": "when the row was created, for the audit trail",
}


def optimizer_fields() -> list[str]:
    """The account fields the optimizer reads, in registry order."""
    return [name for name, use in ACCOUNT_ENGINE_FIELDS.items() if Reader.OPTIMIZER in use.readers]
