"""Trading rows in the firm admin: read-only (runs, proposals, orders change through services)."""

from django.contrib import admin

from apps.access.admin_audit import ReadOnlyModelAdmin
from apps.access.admin_sites import firm_admin_site
from apps.trading.models import (
    DailyScan,
    FillImport,
    Order,
    OrderAllocation,
    Proposal,
    ProposedTrade,
    RebalanceRun,
    RunAccount,
    RunChunk,
    ScanItem,
    TradeFile,
)


@admin.register(RebalanceRun, site=firm_admin_site)
class RebalanceRunAdmin(ReadOnlyModelAdmin):
    list_display = (
        "pk",
        "scope",
        "mode",
        "as_of",
        "status",
        "requested_by_name",
        "total_accounts",
        "done_accounts",
        "failed_accounts",
        "created_at",
    )
    list_filter = ("status", "scope", "mode", "as_of")
    search_fields = ("=id", "requested_by_name", "idempotency_key", "failure_reason")
    exclude = ("universe_snapshot",)  # megabytes of prices: the run's page and API show them
    date_hierarchy = "created_at"


@admin.register(RunAccount, site=firm_admin_site)
class RunAccountAdmin(ReadOnlyModelAdmin):
    list_display = ("run", "account", "chunk", "status", "reason", "updated_at")
    list_filter = ("status",)
    search_fields = ("=run__id", "account__name", "account__number", "reason")
    list_select_related = ("run", "account")


@admin.register(RunChunk, site=firm_admin_site)
class RunChunkAdmin(ReadOnlyModelAdmin):
    list_display = ("run", "chunk", "sent_at", "heartbeat_at", "resent_count", "silent_s")
    search_fields = ("=run__id",)
    list_select_related = ("run",)


class ProposedTradeInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ProposedTrade
    fields = ("side", "symbol", "shares", "price", "amount", "realized_gain_amount", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Proposal, site=firm_admin_site)
class ProposalAdmin(ReadOnlyModelAdmin):
    list_display = (
        "pk",
        "run",
        "account",
        "status",
        "estimated_tax_amount",
        "turnover_amount",
        "decided_by",
        "created_at",
    )
    list_filter = ("status", "run__as_of")
    search_fields = ("=id", "=run__id", "account__name", "account__number", "summary")
    list_select_related = ("run", "account", "decided_by")
    inlines = (ProposedTradeInline,)
    date_hierarchy = "created_at"


@admin.register(ProposedTrade, site=firm_admin_site)
class ProposedTradeAdmin(ReadOnlyModelAdmin):
    list_display = ("proposal", "side", "symbol", "shares", "price", "amount", "term", "reason")
    list_filter = ("side", "term", "reason")
    search_fields = ("symbol", "=proposal__id", "proposal__account__number")
    list_select_related = ("proposal",)


@admin.register(Order, site=firm_admin_site)
class OrderAdmin(ReadOnlyModelAdmin):
    list_display = (
        "pk",
        "custodian",
        "symbol",
        "side",
        "total_shares",
        "filled_shares",
        "status",
        "trade_file",
        "created_at",
    )
    list_filter = ("status", "side", "custodian")
    search_fields = ("=id", "symbol")
    list_select_related = ("trade_file",)
    date_hierarchy = "created_at"


@admin.register(OrderAllocation, site=firm_admin_site)
class OrderAllocationAdmin(ReadOnlyModelAdmin):
    list_display = ("pk", "order", "account", "shares", "filled_shares", "fill_count", "is_open")
    list_filter = ("is_open", "lot_method")
    search_fields = ("=id", "=order__id", "order__symbol", "account__number", "account__name")
    list_select_related = ("order", "account")


@admin.register(TradeFile, site=firm_admin_site)
class TradeFileAdmin(ReadOnlyModelAdmin):
    list_display = ("filename", "custodian", "layout", "order_count", "line_count", "created_at")
    list_filter = ("custodian", "layout")
    search_fields = ("filename", "sha256")
    exclude = ("storage_name",)  # downloads go through the orders page, by id
    date_hierarchy = "created_at"


@admin.register(FillImport, site=firm_admin_site)
class FillImportAdmin(ReadOnlyModelAdmin):
    """The fills uploads: each file's counts (the fills are on the allocations)."""

    list_display = ("filename", "layout", "rows_read", "fills_applied", "applied_by", "applied_at")
    list_filter = ("layout",)
    search_fields = ("filename", "sha256")
    exclude = ("storage_name",)
    list_select_related = ("applied_by",)


@admin.register(DailyScan, site=firm_admin_site)
class DailyScanAdmin(ReadOnlyModelAdmin):
    list_display = ("scanned_on", "accounts_scanned", "run", "created_at")
    search_fields = ("=scanned_on",)
    date_hierarchy = "scanned_on"


@admin.register(ScanItem, site=firm_admin_site)
class ScanItemAdmin(ReadOnlyModelAdmin):
    list_display = ("scan", "account", "stake_amount", "is_drift", "is_harvest", "is_cash_due")
    list_filter = ("is_drift", "is_harvest", "is_cash_due", "scan__scanned_on")
    search_fields = ("account__name", "account__number")
    list_select_related = ("scan", "account")
