from datetime import date
from typing import Any

from django import forms

from apps.accounts.selectors import (
    account_by_number,
    account_list,
    household_list,
    is_account_list_short,
)
from apps.common.forms import DateField, PeopleModelForm, RequestKeyField
from apps.models.selectors import model_list
from apps.trading.models import RunMode, RunScope, TradingSettings
from apps.trading.services.review import SETTINGS_FIELDS

BOOK = "book"


def run_target_choices(*, with_accounts: bool = True) -> list[tuple[str, Any]]:
    """What a run can cover, by name: the book, then accounts, households and models.

    Values are ``book`` or ``<scope>:<id>`` (``account:12``); a ``<select>`` finds a name as
    it is typed. Without ``with_accounts`` (a large book) only the book and the models.
    """
    listed: list[tuple[str, Any]] = [(BOOK, RunScope.BOOK.label)]
    if with_accounts:
        listed += [
            ("Accounts", [(f"account:{a.pk}", str(a)) for a in account_list().order_by("name")]),
            (
                "Households",
                [(f"household:{h.pk}", h.name) for h in household_list().order_by("name")],
            ),
        ]
    return [
        *listed,
        (
            "Models' accounts",
            [(f"model:{m.pk}", f"{m.name} ({m.code})") for m in model_list().order_by("name")],
        ),
    ]


class RunCreateForm(forms.Form):
    """Start a run: what to rebalance (by name), how, as of which business date."""

    target = forms.ChoiceField(
        label="What to rebalance",
        initial=BOOK,
        help_text="The whole book, one account, a household or every account of a model; "
        "type a name to jump to it.",
    )
    mode = forms.ChoiceField(
        label="Mode",
        choices=RunMode.choices,
        initial=RunMode.FULL_REBALANCE,
        help_text="A full rebalance trades back to the model; the others only harvest or "
        "raise cash.",
    )
    as_of = DateField(
        label="As of", help_text="The business day whose closing prices the run uses."
    )
    account_number = forms.CharField(
        label="Or one account, by number",
        required=False,
        max_length=64,
        help_text="The custodian's account number (a book this large is not listed by name).",
    )
    request_key = RequestKeyField()  # a double click starts one run

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        """Choices by name (a large book: by number); no day after the firm's ``today``."""
        super().__init__(*args, **kwargs)
        is_short = is_account_list_short()
        self.fields["target"].choices = run_target_choices(with_accounts=is_short)  # type: ignore[attr-defined]
        if is_short:
            del self.fields["account_number"]
        self.fields["as_of"].widget.attrs["max"] = today.isoformat()

    def clean(self) -> dict[str, Any]:
        """``scope`` and ``scope_ids`` from the chosen target or the account's number."""
        data = super().clean() or {}
        target = str(data.get("target") or "")
        number = str(data.get("account_number") or "")
        if number:
            account = account_by_number(number)
            if account is None:
                self.add_error("account_number", "no account (or several) has this number")
            else:
                data["scope"], data["scope_ids"] = RunScope.ACCOUNT, [account.pk]
        elif target:
            kind, _, pk = target.partition(":")
            data["scope"] = RunScope(kind)
            data["scope_ids"] = [int(pk)] if pk else []
        return data


class DecisionForm(forms.Form):
    """Approve or reject one or many proposals."""

    proposal_ids = forms.TypedMultipleChoiceField(coerce=int, choices=())
    decision = forms.ChoiceField(choices=(("approve", "Approve"), ("reject", "Reject")))
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: object, ids: list[int], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["proposal_ids"].choices = [(i, str(i)) for i in ids]  # type: ignore[attr-defined]


class TradingSettingsForm(PeopleModelForm):
    """The firm's approval policy, exception thresholds (percent) and daily scan behaviour."""

    class Meta(PeopleModelForm.Meta):
        model = TradingSettings
        fields = SETTINGS_FIELDS
        labels = {  # noqa: RUF012
            "is_auto_approve": "Approve proposals with no exception flag automatically",
            "large_tax_rate": "Flag estimated tax above (% of account value)",
            "large_drift_rate": "Flag drift left above (%)",
            "big_trade_rate": "Flag a single trade above (% of account value)",
            "is_scan_starting_runs": "The daily scan starts a run for the accounts it finds",
        }
        help_texts = {  # noqa: RUF012
            "is_auto_approve": "Proposals without a flag skip the trader's review.",
            "large_tax_rate": "A proposal whose estimated tax exceeds this is flagged, e.g. 1.",
            "large_drift_rate": "A proposal leaving a holding this far from target is flagged, "
            "e.g. 5.",
            "big_trade_rate": "A proposal with one trade this large is flagged, e.g. 25.",
            "is_scan_starting_runs": "Otherwise the scan only lists the accounts.",
        }
