from django import forms

from apps.restrictions.models import RestrictionKind
from apps.securities.reference_data import ESG_TAGS


class ModelAssignForm(forms.Form):
    """The model an account follows (blank: none)."""

    model = forms.CharField(max_length=32, required=False, label="Model (code)")


class RestrictionForm(forms.Form):
    """A restriction on the account or its household (firm-wide on the firm page)."""

    scope = forms.ChoiceField(
        choices=(("account", "This account"), ("household", "The whole household")),
        required=False,
    )
    kind = forms.ChoiceField(choices=RestrictionKind.choices)
    value = forms.CharField(
        max_length=100,
        help_text="A symbol, a GICS sector or industry, or an ESG tag: " + ", ".join(ESG_TAGS),
    )
    starts_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), required=False)
    reason = forms.CharField(max_length=300, required=False)


class OutsideHoldingForm(forms.Form):
    """An exposure held away: a symbol or sector:/industry: key, with an amount or a weight."""

    scope = forms.ChoiceField(
        choices=(("account", "This account"), ("household", "The whole household"))
    )
    exposure_key = forms.CharField(
        max_length=120, help_text="INTC, symbol:INTC, sector:Real Estate or industry:Banks"
    )
    amount = forms.DecimalField(max_digits=20, decimal_places=2, min_value=0, required=False)
    weight = forms.DecimalField(
        max_digits=9, decimal_places=8, min_value=0, max_value=1, required=False
    )
    reason = forms.CharField(max_length=300, required=False)

    def clean(self) -> dict[str, object]:
        """An amount or a weight, not both."""
        data = super().clean() or {}
        if (data.get("amount") is None) == (data.get("weight") is None):
            raise forms.ValidationError("give an amount (USD) or a weight (fraction), not both")
        return data


class SubstituteForm(forms.Form):
    """A symbol and its alternatives, first choice first."""

    symbol = forms.CharField(max_length=16)
    alternatives = forms.CharField(
        max_length=200, required=False, help_text="Comma-separated, in order; empty removes."
    )
