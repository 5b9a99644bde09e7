from django import forms

from apps.firms.models import FirmKind, FirmService


class FirmOnboardForm(forms.Form):
    """Platform staff onboard a firm from the console."""

    name = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=50, help_text="Short id; also the schema name.")
    domain = forms.CharField(max_length=253, required=False, help_text="Default: <slug>.localhost")
    admin_email = forms.EmailField(label="First firm admin's email")
    kind = forms.ChoiceField(choices=FirmKind.choices)
    service = forms.ChoiceField(choices=FirmService.choices)
    timezone = forms.CharField(max_length=64, initial="America/New_York")

    def clean_slug(self) -> str:
        """Schema names: lower-case letters, digits and underscores, starting with a letter."""
        slug: str = self.cleaned_data["slug"].lower()
        if not slug[:1].isalpha() or not slug.replace("_", "").isalnum() or slug == "public":
            raise forms.ValidationError("use lower-case letters, digits and _; start with a letter")
        return slug


class StaffEntryForm(forms.Form):
    """Why a staff member enters a firm (kept in the audit)."""

    reason = forms.CharField(max_length=300)
