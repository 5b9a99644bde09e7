from django import forms

from apps.reports.models import ReportKind


class ReportBatchForm(forms.Form):
    """Generate reports: a kind, a tax year, a valuation date, optionally one account."""

    kind = forms.ChoiceField(choices=ReportKind.choices, initial=ReportKind.CLIENT)
    year = forms.IntegerField(min_value=2000, max_value=2100)
    as_of = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    account_id = forms.IntegerField(
        required=False, min_value=1, help_text="Client reports: one account (blank: all)."
    )
