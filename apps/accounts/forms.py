from django import forms

from apps.accounts.models import Account


class AccountProfileForm(forms.ModelForm):
    """Cash needs, tax settings and trading preferences of an account (the advisor's design)."""

    class Meta:
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
            "is_harvesting_enabled",
            "harvest_threshold_rate",
            "drift_tolerance_rate",
            "min_trade_amount",
            "is_fractional_shares",
            "fee_rate",
            "lot_method",
            "lot_selection",
        )
        widgets = {"next_withdrawal_on": forms.DateInput(attrs={"type": "date"})}  # noqa: RUF012
        labels = {  # noqa: RUF012
            "withdrawal_amount": "Withdrawal amount (USD)",
            "next_withdrawal_on": "Next withdrawal on",
            "cash_reserve_amount": "Cash reserve (USD)",
            "short_term_rate": "Short-term rate (fraction, e.g. 0.37)",
            "long_term_rate": "Long-term rate (fraction, e.g. 0.20)",
            "state_rate": "State rate (fraction)",
            "annual_budget_amount": "Annual budget (USD, empty: no cap)",
            "short_term_gains_budget_amount": "Short-term gains cap (USD a year, empty: none)",
            "long_term_gains_budget_amount": "Long-term gains cap (USD a year, empty: none)",
            "transition_years": "Transition horizon (years)",
            "transition_tolerance_rate": "Transition done at tracking error (fraction, e.g. 0.01)",
            "harvest_threshold_rate": "Harvest threshold (fraction of basis)",
            "drift_tolerance_rate": "Drift tolerance (fraction)",
            "min_trade_amount": "Minimum trade (USD)",
            "fee_rate": "Annual fee (fraction of value)",
            "lot_method": "Custodian's lot method (sales naming no lots)",
            "lot_selection": "Lot instructions on sells",
        }
