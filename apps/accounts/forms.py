from typing import Any

from apps.accounts.models import Account
from apps.common.forms import PeopleModelForm, percent_text


class AccountProfileForm(PeopleModelForm):
    """Cash needs, tax settings and trading preferences of an account (the advisor's design).

    Rates are typed in percent and amounts in USD with separators (``common.forms``); the
    model's validators decide the ranges.
    """

    class Meta(PeopleModelForm.Meta):
        model = Account
        fields = (
            "withdrawal_amount",
            "withdrawal_frequency",
            "next_withdrawal_on",
            "cash_reserve_amount",
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
            "drift_tolerance_rate",
            "min_trade_amount",
            "is_fractional_shares",
            "fee_rate",
            "lot_method",
            "lot_selection",
        )
        labels = {  # noqa: RUF012
            "withdrawal_amount": "Withdrawal (USD each time)",
            "withdrawal_frequency": "Withdrawal schedule",
            "next_withdrawal_on": "Next withdrawal on",
            "cash_reserve_amount": "Cash reserve (USD)",
            "short_term_rate": "Short-term gains tax rate (%)",
            "long_term_rate": "Long-term gains tax rate (%)",
            "state_rate": "State tax rate (%)",
            "filing_status": "Filing status",
            "budget_kind": "The annual budget caps",
            "annual_budget_amount": "Annual tax budget (USD)",
            "short_term_gains_budget_amount": "Short-term gains cap (USD a year)",
            "long_term_gains_budget_amount": "Long-term gains cap (USD a year)",
            "carryforward_short_amount": "Short-term loss carried forward (USD)",
            "carryforward_long_amount": "Long-term loss carried forward (USD)",
            "carryforward_year": "Carryforward tax year",
            "transition_years": "Transition horizon (years)",
            "transition_tolerance_rate": "Transition done at tracking error (%)",
            "tracking_error_target_rate": "Tracking error target (% a year)",
            "turnover_budget_rate": "Turnover budget (% of value a year)",
            "is_harvesting_enabled": "Harvest tax losses",
            "harvest_threshold_rate": "Harvest a lot from a loss of (%)",
            "drift_tolerance_rate": "Drift tolerance (%)",
            "min_trade_amount": "Smallest trade (USD)",
            "is_fractional_shares": "Fractional shares allowed",
            "fee_rate": "Annual advisory fee (%)",
            "lot_method": "Custodian's lot method",
            "lot_selection": "Lot instructions on sells",
        }
        help_texts = {  # noqa: RUF012
            "withdrawal_amount": "Paid out each period, e.g. 5,000.",
            "withdrawal_frequency": "How often the client takes the withdrawal.",
            "next_withdrawal_on": "The day the next withdrawal is due.",
            "cash_reserve_amount": "Cash always kept in the account, e.g. 10,000.",
            "short_term_rate": "Federal plus state rate on gains held a year or less, e.g. 37.",
            "long_term_rate": "Federal rate on gains held over a year, e.g. 20.",
            "state_rate": "State and local rate, e.g. 5 (0 if none).",
            "filing_status": "Sets the yearly capital loss limit ($3,000 or $1,500).",
            "budget_kind": "Whether the annual budget limits realized gains or the tax on them.",
            "annual_budget_amount": "Empty: no cap this year.",
            "short_term_gains_budget_amount": "This year's net short-term gain cap. Empty: none.",
            "long_term_gains_budget_amount": "This year's net long-term gain cap. Empty: none.",
            "carryforward_short_amount": "Short-term loss carried into this year (positive).",
            "carryforward_long_amount": "Long-term loss carried into this year (positive).",
            "carryforward_year": "The tax year the carryforward amounts apply to, e.g. 2024.",
            "transition_years": (
                "Spread a legacy portfolio's move to the model over this many years (1 to 10). "
                "Empty: move now."
            ),
            "transition_tolerance_rate": "The transition is done once the tracking error to the "
            "model is below this, e.g. 1.",
            "tracking_error_target_rate": "How far the account may stray from its model after "
            "trading, e.g. 1. Empty: the model's target.",
            "turnover_budget_rate": "Most the account may trade (buys and sells) in a calendar "
            "year, e.g. 150. Empty: no budget.",
            "is_harvesting_enabled": "Sell lots at a loss to offset gains (wash sales avoided).",
            "harvest_threshold_rate": "Harvest a lot once its loss exceeds this share of its "
            "cost, e.g. 5.",
            "drift_tolerance_rate": "Rebalance once a holding is this far from its target, e.g. 3.",
            "min_trade_amount": "Trades smaller than this are not proposed, e.g. 100.",
            "is_fractional_shares": "Trade fractions of a share (the custodian must allow it).",
            "fee_rate": "Charged on the account's value each year, e.g. 0.75.",
            "lot_method": "How the custodian picks the lots of a sale that names none.",
            "lot_selection": "Whether sells name their lots or the custodian's method picks them.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Say what an empty tracking error target means for this account: its model's."""
        super().__init__(*args, **kwargs)
        model = self.instance.model if self.instance.model_id is not None else None
        if model is not None:
            target = model.tracking_error_target_rate
            inherited = f"{percent_text(target)}%" if target is not None else "no target"
            self.fields["tracking_error_target_rate"].help_text = (
                f"How far the account may stray from its model after trading, e.g. 1. "
                f"Empty: the model's ({model.code}: {inherited})."
            )
