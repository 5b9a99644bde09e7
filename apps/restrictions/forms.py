from django import forms

from apps.common.forms import DateField, MoneyField, PercentField
from apps.common.limits import fraction_validators
from apps.restrictions.models import FundScreenPolicy, RestrictionKind
from apps.securities.reference_data import ESG_TAGS


class ModelAssignForm(forms.Form):
    """The model an account follows (blank: none)."""

    model = forms.CharField(
        max_length=32,
        required=False,
        label="Model",
        help_text="The model's code, e.g. CORE8; empty: none.",
    )


class RestrictionForm(forms.Form):
    """A restriction on the account or its household (firm-wide on the firm page)."""

    scope = forms.ChoiceField(
        label="Applies to",
        choices=(("account", "This account"), ("household", "The whole household")),
        required=False,
        help_text="One account, or every account of its household.",
    )
    kind = forms.ChoiceField(
        label="Restriction", choices=RestrictionKind.choices, help_text="What it forbids."
    )
    value = forms.CharField(
        label="Security, sector or tag",
        max_length=100,
        help_text="A symbol, a GICS sector or industry, or an ESG tag: " + ", ".join(ESG_TAGS),
    )
    starts_on = DateField(label="From", help_text="The first day it applies.")
    ends_on = DateField(label="Until", required=False, help_text="Empty: until ended.")
    reason = forms.CharField(
        label="Reason", max_length=300, required=False, help_text="Kept with the audit trail."
    )


class OutsideHoldingForm(forms.Form):
    """An exposure held away: a symbol or sector:/industry: key, with an amount or a weight."""

    scope = forms.ChoiceField(
        label="Held away by",
        choices=(("account", "This account"), ("household", "The whole household")),
        help_text="Whose target it offsets.",
    )
    exposure_key = forms.CharField(
        label="Exposure",
        max_length=120,
        help_text="INTC, symbol:INTC, sector:Real Estate or industry:Banks",
    )
    amount = MoneyField(
        label="Amount (USD)", min_value=0, required=False, help_text="e.g. 25,000; or a weight."
    )
    weight = PercentField(
        label="Weight (%)",
        required=False,
        fraction_validators=fraction_validators(closed_high=True),
        help_text="Share of the account's value, e.g. 5; or an amount.",
    )
    reason = forms.CharField(
        label="Reason", max_length=300, required=False, help_text="Kept with the audit trail."
    )

    def clean(self) -> dict[str, object]:
        """An amount or a weight, not both."""
        data = super().clean() or {}
        if (data.get("amount") is None) == (data.get("weight") is None):
            raise forms.ValidationError("give an amount (USD) or a weight (%), not both")
        return data


class SubstituteForm(forms.Form):
    """A symbol and its alternatives, first choice first."""

    symbol = forms.CharField(
        label="Symbol", max_length=16, help_text="The security to replace, e.g. VTI."
    )
    alternatives = forms.CharField(
        label="Substitutes",
        max_length=200,
        required=False,
        help_text="Comma-separated, first choice first, e.g. ITOT, SCHB; empty removes them.",
    )


class FundScreenPolicyForm(forms.Form):
    """What a screen does to a fund whose look-through holdings it screens."""

    fund_screen_policy = forms.ChoiceField(
        choices=FundScreenPolicy.choices, label="Funds holding screened names"
    )
