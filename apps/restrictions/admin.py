from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.access.admin_audit import AuditedModelAdmin
from apps.access.admin_sites import firm_admin_site
from apps.restrictions.models import OutsideHolding, Restriction, Substitute


@admin.register(Restriction, site=firm_admin_site)
class RestrictionAdmin(AuditedModelAdmin):
    """Read-only: restrictions change through the audited services (pages, API)."""

    list_display = ("scope", "kind", "value", "account", "household", "starts_on", "ends_on")
    list_filter = ("scope", "kind")
    search_fields = ("value", "reason", "account__number", "household__name")
    list_select_related = ("account", "household")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutsideHolding, site=firm_admin_site)
class OutsideHoldingAdmin(AuditedModelAdmin):
    list_display = ("exposure_key", "account", "household", "amount", "weight", "reason")
    search_fields = ("exposure_key", "account__number", "household__name")
    list_select_related = ("account", "household")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Substitute, site=firm_admin_site)
class SubstituteAdmin(AuditedModelAdmin):
    list_display = ("symbol", "rank", "alternative")
    search_fields = ("symbol", "alternative")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
