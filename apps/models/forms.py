from decimal import Decimal
from typing import Any

from django import forms

from apps.ingest.forms import upload_size_check
from apps.ingest.reading import Reading, decode_content
from apps.models.models import ModelPortfolio


class ModelCreateForm(forms.Form):
    """A new model (its targets come with its first version)."""

    code = forms.CharField(max_length=32)
    name = forms.CharField(max_length=200)
    provider = forms.CharField(max_length=200, required=False)
    fee_bps = forms.DecimalField(
        max_digits=7, decimal_places=2, min_value=Decimal(0), initial=Decimal(0)
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ModelDescribeForm(forms.ModelForm):  # type: ignore[type-arg]
    """A model's description fields (never its targets)."""

    class Meta:
        model = ModelPortfolio
        fields = ("name", "description", "provider", "fee_bps", "is_active")
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}  # noqa: RUF012


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
