from django import forms

from apps.trading.models import RunMode, RunScope, TradingSettings
from apps.trading.services.review import SETTINGS_FIELDS


class RunCreateForm(forms.Form):
    """Start a run: what to rebalance, how, as of which business date."""

    scope = forms.ChoiceField(choices=RunScope.choices, initial=RunScope.BOOK)
    scope_id = forms.IntegerField(
        required=False, min_value=1, help_text="Account, household or model id (not for the book)."
    )
    mode = forms.ChoiceField(choices=RunMode.choices, initial=RunMode.FULL_REBALANCE)
    as_of = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, object]:
        """A scope other than the whole book needs an id."""
        data = super().clean() or {}
        if data.get("scope") != RunScope.BOOK and not data.get("scope_id"):
            self.add_error("scope_id", "give the id of the account, household or model")
        return data


class DecisionForm(forms.Form):
    """Approve or reject one or many proposals."""

    proposal_ids = forms.TypedMultipleChoiceField(coerce=int, choices=())
    decision = forms.ChoiceField(choices=(("approve", "Approve"), ("reject", "Reject")))
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: object, ids: list[int], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["proposal_ids"].choices = [(i, str(i)) for i in ids]  # type: ignore[attr-defined]


class TradingSettingsForm(forms.ModelForm):
    """The firm's approval policy, exception thresholds and daily scan behaviour."""

    class Meta:
        model = TradingSettings
        fields = SETTINGS_FIELDS
        labels = {  # noqa: RUF012
            "is_auto_approve": "Approve proposals with no exception flag automatically",
            "large_tax_rate": "Flag estimated tax above (fraction of account value)",
            "large_drift_rate": "Flag drift left above (fraction)",
            "big_trade_rate": "Flag a single trade above (fraction of account value)",
            "is_scan_starting_runs": "The daily scan starts a run for the accounts it finds",
        }
