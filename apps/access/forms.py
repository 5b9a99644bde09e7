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
