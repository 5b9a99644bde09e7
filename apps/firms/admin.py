from django.contrib import admin

from apps.access.admin_audit import AuditedModelAdmin, AuditTrailAdmin
from apps.access.admin_sites import public_admin_site
from apps.firms.models import Domain, Firm, PlatformAuditEvent, StaffEntry
from apps.firms.services import platform_audit_event_record

# The platform admin's changes are audited in the public schema (see PublicAdminSite).
public_admin_site.audit_recorder = platform_audit_event_record


class DomainInline(admin.TabularInline[Domain, Firm]):
    model = Domain
    extra = 0


@admin.register(Firm, site=public_admin_site)
class FirmAdmin(AuditedModelAdmin):
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
class StaffEntryAdmin(AuditedModelAdmin):
    list_display = ("requested_at", "staff_username", "firm", "reason", "used_at")
    list_filter = ("firm",)
    readonly_fields = ("firm", "staff_user", "staff_username", "reason", "requested_at", "used_at")

    def has_add_permission(self, request: object) -> bool:
        """Entries are written by the console only."""
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        """Entries are the audit of staff entering firms: kept forever."""
        return False


@admin.register(PlatformAuditEvent, site=public_admin_site)
class PlatformAuditEventAdmin(AuditTrailAdmin):
    """The platform admin's audit trail: written by the admin sites only."""
