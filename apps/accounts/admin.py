from django.contrib import admin

from apps.access.admin_sites import firm_admin_site
from apps.accounts.models import (
    Account,
    Household,
    RealizedGain,
    TaxLot,
    Transaction,
    WashSaleMatch,
)


class _DerivedAdmin(admin.ModelAdmin):
    """Rows the ledger derives: read-only (change the ledger, not these)."""

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Household, site=firm_admin_site)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ("name", "external_id", "created_at")
    search_fields = ("name", "external_id")


@admin.register(Account, site=firm_admin_site)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "custodian", "number", "registration", "household", "cash_amount")
    list_filter = ("registration", "custodian")
    search_fields = ("name", "number", "household__name")
    readonly_fields = ("cash_amount", "created_at")
    list_select_related = ("household",)


@admin.register(Transaction, site=firm_admin_site)
class TransactionAdmin(_DerivedAdmin):
    """The ledger changes only through imports and fills, which replay it."""

    list_display = ("trade_on", "account", "kind", "symbol", "shares", "amount", "external_id")
    list_filter = ("kind",)
    search_fields = ("external_id", "symbol", "account__number")
    list_select_related = ("account",)


@admin.register(TaxLot, site=firm_admin_site)
class TaxLotAdmin(_DerivedAdmin):
    list_display = ("account", "symbol", "shares", "adjusted_basis_amount", "acquired_on")
    search_fields = ("symbol", "account__number")
    list_select_related = ("account",)


@admin.register(RealizedGain, site=firm_admin_site)
class RealizedGainAdmin(_DerivedAdmin):
    list_display = (
        "sold_on",
        "account",
        "symbol",
        "reportable_gain_amount",
        "term",
        "form8949_code",
    )
    list_filter = ("term", "form8949_code")
    list_select_related = ("account",)


@admin.register(WashSaleMatch, site=firm_admin_site)
class WashSaleMatchAdmin(_DerivedAdmin):
    list_display = (
        "loss_lot_key",
        "replacement_lot_key",
        "shares",
        "disallowed_amount",
        "is_permanent",
    )
