from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.access.admin_audit import AuditedModelAdmin
from apps.access.admin_sites import firm_admin_site
from apps.models.models import ModelPortfolio, ModelTarget, ModelVersion


class ModelTargetInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ModelTarget
    fields = ("symbol", "sleeve", "weight")
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ModelPortfolio, site=firm_admin_site)
class ModelPortfolioAdmin(AuditedModelAdmin):
    """Description fields only; targets change through new versions (pages, API, CSV)."""

    list_display = (
        "code",
        "name",
        "provider",
        "fee_bps",
        "tracking_error_target_rate",
        "is_active",
        "created_at",
    )
    list_filter = ("is_active",)
    search_fields = ("code", "name", "provider")
    readonly_fields = ("created_at",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The code names the model in CSVs and sleeves: fixed once created.
        return ("code", "created_at") if obj is not None else ("created_at",)


@admin.register(ModelVersion, site=firm_admin_site)
class ModelVersionAdmin(AuditedModelAdmin):
    """Versions are immutable: created by model_version_create, never edited or deleted."""

    list_display = ("model", "number", "effective_on", "cash_weight", "created_by", "created_at")
    list_filter = ("model",)
    list_select_related = ("model", "created_by")
    inlines = (ModelTargetInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
