from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from apps.access.admin_sites import firm_admin_site, public_admin_site
from apps.access.models import AuditEvent, Membership

User = get_user_model()


class LoginAdmin(UserAdmin):
    """Logins are deactivated, never deleted, on both admin sites.

    Django's delete collector follows every relation to the user model by id through the
    schemas on the search path: on the platform's site it queries tenant tables that ``public``
    lacks (a 500); on a firm's site it reaches public rows (platform staff entries) whose user
    has the same id as the firm's user, and would list them on the confirmation page.
    """

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        """Never: deactivate the login instead (its audit trail stays attributable)."""
        return False


# Logins exist per schema: platform staff in public, firm users in each firm's schema.
for site in (public_admin_site, firm_admin_site):
    site.register(User, LoginAdmin)
    site.register(Group, GroupAdmin)


@admin.register(Membership, site=firm_admin_site)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "created_at")
    list_filter = ("role",)


@admin.register(AuditEvent, site=firm_admin_site)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "acting_username", "action", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("action", "acting_username", "object_id")

    def has_add_permission(self, request: object) -> bool:
        """The audit trail is append-only through services."""
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        """Audit rows never change."""
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        """Audit rows are kept."""
        return False
