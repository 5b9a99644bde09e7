from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest

from apps.access.admin_audit import AuditedModelAdmin, AuditTrailAdmin
from apps.access.admin_sites import firm_admin_site, public_admin_site
from apps.access.models import AuditEvent, Membership
from apps.access.permissions import signed_in_user
from apps.access.roles import ASSIGNABLE_ROLE_CHOICES, Role
from apps.access.services import firm_user_set_role

User = get_user_model()


class LoginAdmin(AuditedModelAdmin, UserAdmin):  # type: ignore[type-arg]
    """Logins are deactivated, never deleted, on both admin sites.

    Django's delete collector follows every relation to the user model by id through the
    schemas on the search path: on the platform's site it queries tenant tables that ``public``
    lacks (a 500); on a firm's site it reaches public rows (platform staff entries) whose user
    has the same id as the firm's user, and would list them on the confirmation page.
    """

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        """Never: deactivate the login instead (its audit trail stays attributable)."""
        return False


class LoginGroupAdmin(AuditedModelAdmin, GroupAdmin):
    """Permission groups, audited."""


# Logins exist per schema: platform staff in public, firm users in each firm's schema.
for site in (public_admin_site, firm_admin_site):
    site.register(User, LoginAdmin)
    site.register(Group, LoginGroupAdmin)


class MembershipForm(forms.ModelForm):  # type: ignore[type-arg]
    """A role, among those the users page gives (``ASSIGNABLE_ROLES``)."""

    role = forms.TypedChoiceField(choices=ASSIGNABLE_ROLE_CHOICES, coerce=Role)

    class Meta:
        model = Membership
        fields = ("role",)


@admin.register(Membership, site=firm_admin_site)
class MembershipAdmin(AuditedModelAdmin):
    """Roles change through ``firm_user_set_role`` (as on the users page); logins are made there."""

    form = MembershipForm
    list_display = ("user", "role", "created_at")
    list_filter = ("role",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Logins and their first role are made on the users page."""
        return False

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        """Set the role through the service (which also sets the admin flags, and audits)."""
        firm_user_set_role(user=obj.user, role=Role(obj.role), acting_user=signed_in_user(request))


@admin.register(AuditEvent, site=firm_admin_site)
class AuditEventAdmin(AuditTrailAdmin):
    """The firm's audit trail: append-only through services."""
