from django.contrib import admin

from apps.access.admin_sites import public_admin_site
from apps.firms.models import Domain, Firm, StaffEntry


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Firm, site=public_admin_site)
class FirmAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "service", "timezone", "is_active", "created_at")
    list_filter = ("kind", "service", "is_active")
    search_fields = ("name", "slug")
    readonly_fields = ("schema_name", "created_at")
    inlines = (DomainInline,)

    def has_add_permission(self, request: object) -> bool:
        """Firms are created only by onboarding (firm_create), which makes the schema."""
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        """Schemas are never dropped from the admin."""
        return False


@admin.register(StaffEntry, site=public_admin_site)
class StaffEntryAdmin(admin.ModelAdmin):
    list_display = ("requested_at", "staff_username", "firm", "reason", "used_at")
    list_filter = ("firm",)
    readonly_fields = ("firm", "staff_user", "staff_username", "reason", "requested_at", "used_at")

    def has_add_permission(self, request: object) -> bool:
        """Entries are written by the console only."""
        return False
