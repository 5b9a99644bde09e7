"""Admin for the securities master: editable by platform staff, read-only for firms."""

from typing import Any

from django.http import HttpRequest

from apps.access.admin_audit import AuditedModelAdmin
from apps.access.admin_sites import firm_admin_site, public_admin_site
from apps.securities.models import Price, Security


class SecurityAdmin(AuditedModelAdmin):
    """Securities for platform staff: searchable and editable."""

    list_display = ("symbol", "name", "kind", "sector", "industry", "esg_tags", "is_active")
    list_filter = ("kind", "is_active", "sector")
    search_fields = ("symbol", "name", "cusip")
    readonly_fields = ("created_at", "updated_at")


class PriceAdmin(AuditedModelAdmin):
    """Daily closes for platform staff."""

    list_display = ("security", "priced_on", "close_price", "is_synthetic", "source")
    list_filter = ("is_synthetic", "source")
    search_fields = ("security__symbol",)
    date_hierarchy = "priced_on"
    list_select_related = ("security",)
    raw_id_fields = ("security",)
    # Hundreds of thousands of rows: skip the unfiltered COUNT(*) on every page.
    show_full_result_count = False


class ReadOnlyMixin:
    """Firm users may look at shared reference data but never edit it."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        """No adds from a firm's host."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """No edits from a firm's host."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """No deletes from a firm's host."""
        return False


class FirmSecurityAdmin(ReadOnlyMixin, SecurityAdmin):
    """Securities as a firm sees them: read-only."""


class FirmPriceAdmin(ReadOnlyMixin, PriceAdmin):
    """Daily closes as a firm sees them: read-only."""


public_admin_site.register(Security, SecurityAdmin)
public_admin_site.register(Price, PriceAdmin)
firm_admin_site.register(Security, FirmSecurityAdmin)
firm_admin_site.register(Price, FirmPriceAdmin)
