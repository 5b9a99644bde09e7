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


class BrandingForm(forms.Form):
    """How the firm's client reports look."""

    display_name = forms.CharField(
        max_length=200, required=False, help_text="Blank: the firm name."
    )
    primary_colour = forms.RegexField(regex=r"^#[0-9a-fA-F]{6}$", max_length=7)
    secondary_colour = forms.RegexField(regex=r"^#[0-9a-fA-F]{6}$", max_length=7)
    disclaimer = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    logo = forms.FileField(required=False, help_text="PNG or JPEG.")
