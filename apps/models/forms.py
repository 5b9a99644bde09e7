from decimal import Decimal
from typing import Any

from django import forms

from apps.common.forms import PeopleModelForm
from apps.ingest.forms import upload_size_check
from apps.ingest.reading import Reading, decode_content
from apps.models.models import ModelPortfolio
from apps.models.services import MODEL_FIELDS


class ModelCreateForm(forms.Form):
    """A new model (its targets come with its first version)."""

    code = forms.CharField(max_length=32)
    name = forms.CharField(max_length=200)
    provider = forms.CharField(max_length=200, required=False)
    fee_bps = forms.DecimalField(
        max_digits=7, decimal_places=2, min_value=Decimal(0), initial=Decimal(0)
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ModelDescribeForm(PeopleModelForm):
    """A model's description fields and how closely its accounts follow it (never its targets).

    The tracking error target and the bands are typed in percent (``common.forms``).
    """

    class Meta(PeopleModelForm.Meta):
        model = ModelPortfolio
        fields = MODEL_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}  # noqa: RUF012
        labels = {  # noqa: RUF012
            "tracking_error_target_rate": "Tracking error target (% a year)",
            "name_band_rate": "Band per name (% of its target)",
            "sector_band_weight": "Band per sector (percentage points)",
        }
        help_texts = {  # noqa: RUF012
            "tracking_error_target_rate": "How far accounts may stray from the model after "
            "trading, e.g. 1; an account may set its own. Empty: no target.",
            "name_band_rate": "No trade takes a name further from its target than this share of "
            "it, e.g. 25 (a 4% target within 3% to 5%); it never forces a trade. Empty: no band.",
            "sector_band_weight": "Each sector stays within this many percentage points of the "
            "model's weight, e.g. 2. Empty: no band.",
        }


class ModelVersionForm(forms.Form):
    """A new version from CSV text or an uploaded CSV file (the file wins)."""

    effective_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(max_length=500, required=False)
    csv_text = forms.CharField(
        label="Targets (symbol_or_model,weight; CASH row; sleeves as model:CODE)",
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
        required=False,
    )
    csv_file = forms.FileField(label="…or upload a CSV", required=False)

    def clean_csv_file(self) -> Any:
        """Refuse oversized uploads before reading them."""
        upload = self.cleaned_data.get("csv_file")
        return upload_size_check(upload) if upload is not None else None

    def clean(self) -> dict[str, object]:
        """One of the two sources."""
        data = super().clean() or {}
        upload = data.get("csv_file")
        if upload is not None:
            reading = Reading()
            text = decode_content(upload.read(), reading)
            if text is None:  # not UTF-8, binary or too large: refused, never altered
                raise forms.ValidationError(
                    "; ".join(f"{p.field} {p.reason}" for p in reading.problems)
                )
            data["csv_text"] = text
        if not str(data.get("csv_text") or "").strip():
            raise forms.ValidationError("paste the targets or upload a CSV")
        return data
