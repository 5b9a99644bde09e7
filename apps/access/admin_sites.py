"""Two admin sites: the platform's (public schema) and each firm's (its own schema).

The default ``admin.site`` is not used: a model registered there would be reachable on both kinds
of host and query tables that do not exist in that schema.
"""

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest

from apps.access.login import AdminSignInForm


class PublicAdminSite(AdminSite):
    """Platform staff administer firms and the shared security master."""

    site_header = "Platform administration"
    site_title = "Platform admin"
    index_title = "Firms and reference data"
    login_form = AdminSignInForm


class FirmAdminSite(AdminSite):
    """A firm's own administration: only its firm admins, only its schema's tables."""

    site_header = "Firm administration"
    site_title = "Firm admin"
    index_title = "Your firm's records"
    login_form = AdminSignInForm

    def has_permission(self, request: HttpRequest) -> bool:
        """Firm admins only (role checked through the permission table)."""
        from apps.access.permissions import Action, user_can

        user: Any = request.user
        return bool(user.is_active and user.is_staff and user_can(user, Action.ADMIN_SITE))


public_admin_site = PublicAdminSite(name="public_admin")
firm_admin_site = FirmAdminSite(name="firm_admin")
