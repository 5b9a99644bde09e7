from django import forms
from django.contrib.auth.password_validation import validate_password

from apps.access.roles import ASSIGNABLE_ROLE_CHOICES, Role


class FirmUserCreateForm(forms.Form):
    """A firm admin adds a login with a role."""

    email = forms.EmailField()
    password = forms.CharField(widget=forms.PasswordInput, validators=[validate_password])
    role = forms.TypedChoiceField(choices=ASSIGNABLE_ROLE_CHOICES, coerce=Role)


class RoleForm(forms.Form):
    """Change a user's role."""

    role = forms.TypedChoiceField(choices=ASSIGNABLE_ROLE_CHOICES, coerce=Role)


class ApiTokenCreateForm(forms.Form):
    """A user names a new API token and, optionally, how long it lives."""

    name = forms.CharField(max_length=100, help_text="what the token is for")
    lifetime_days = forms.IntegerField(
        required=False, min_value=1, label="Lifetime (days)", help_text="default 30"
    )


class TotpConfirmForm(forms.Form):
    """The code an authenticator app shows, to confirm its enrolment."""

    code = forms.CharField(max_length=8, label="Code from the app")
