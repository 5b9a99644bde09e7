from typing import Any

from django import forms

from apps.accounts.selectors import account_by_number, account_list, is_account_list_short
from apps.common.forms import DateField
from apps.reports.models import ReportKind


class ReportBatchForm(forms.Form):
    """Generate reports: a kind, a tax year, a valuation date, optionally one account by name."""

    kind = forms.ChoiceField(
        label="Report",
        choices=ReportKind.choices,
        initial=ReportKind.CLIENT,
        help_text="Client reports are one PDF per account; the others cover the firm.",
    )
    year = forms.IntegerField(
        label="Tax year",
        min_value=2000,
        max_value=2100,
        help_text="The year of realized gains and taxes, e.g. 2024.",
    )
    as_of = DateField(label="Values as of", help_text="The day holdings are valued at.")
    account_id = forms.TypedChoiceField(
        label="Account",
        coerce=int,
        empty_value=None,
        required=False,
        help_text="Client reports: one account (type its name), or all accounts.",
    )
    account_number = forms.CharField(
        label="Or one account, by number",
        required=False,
        max_length=64,
        help_text="The custodian's account number (a book this large is not listed by name).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Accounts by name (a large book: by number)."""
        super().__init__(*args, **kwargs)
        is_short = is_account_list_short()
        self.fields["account_id"].choices = [  # type: ignore[attr-defined]
            ("", "All accounts"),
            *((a.pk, str(a)) for a in (account_list().order_by("name") if is_short else ())),
        ]
        if is_short:
            del self.fields["account_number"]

    def clean(self) -> dict[str, Any]:
        """``account_id`` from the account's number when one is given."""
        data = super().clean() or {}
        number = str(data.get("account_number") or "")
        if number:
            account = account_by_number(number)
            if account is None:
                self.add_error("account_number", "no account (or several) has this number")
            else:
                data["account_id"] = account.pk
        return data


class BrandingForm(forms.Form):
    """How the firm's client reports look."""

    display_name = forms.CharField(
        label="Name on the reports",
        max_length=200,
        required=False,
        help_text="Blank: the firm name.",
    )
    primary_colour = forms.RegexField(
        label="Primary colour",
        regex=r"^#[0-9a-fA-F]{6}$",
        max_length=7,
        help_text="A hex colour, e.g. #1f5fbf.",
        error_messages={"invalid": "enter a hex colour such as #1f5fbf"},
    )
    secondary_colour = forms.RegexField(
        label="Secondary colour",
        regex=r"^#[0-9a-fA-F]{6}$",
        max_length=7,
        help_text="A hex colour, e.g. #5b6475.",
        error_messages={"invalid": "enter a hex colour such as #5b6475"},
    )
    disclaimer = forms.CharField(
        label="Disclaimer",
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="Printed at the foot of every client report.",
    )
    logo = forms.FileField(label="Logo", required=False, help_text="PNG or JPEG.")
