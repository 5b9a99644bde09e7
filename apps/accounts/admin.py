from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.access.admin_audit import AuditedModelAdmin
from apps.access.admin_sites import firm_admin_site
from apps.access.permissions import signed_in_user
from apps.accounts.models import (
    Account,
    Household,
    IdenticalGroup,
    IdenticalIndexOptOut,
    RealizedGain,
    TaxLot,
    Transaction,
    WashSaleMatch,
)
from apps.accounts.services.identical import (
    identical_group_create,
    identical_group_delete,
    identical_group_members_check,
    identical_group_update,
    identical_index_opt_out_check,
    identical_index_opt_out_create,
    identical_index_opt_out_delete,
)
from apps.common.exceptions import ApplicationError


class _DerivedAdmin(AuditedModelAdmin):
    """Rows the ledger derives: read-only (change the ledger, not these)."""

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Household, site=firm_admin_site)
class HouseholdAdmin(AuditedModelAdmin):
    list_display = ("name", "external_id", "created_at")
    search_fields = ("name", "external_id")


@admin.register(Account, site=firm_admin_site)
class AccountAdmin(AuditedModelAdmin):
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


class IdenticalGroupForm(forms.ModelForm):  # type: ignore[type-arg]
    """A group's symbols as one comma-separated field, checked as the service checks them."""

    symbols = forms.CharField(
        help_text="Two or more symbols of the security master, comma-separated (e.g. VOO, IVV)."
    )

    class Meta:
        model = IdenticalGroup
        fields = ("symbols", "reason", "source")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["symbols"] = ", ".join(
                self.instance.members.values_list("symbol", flat=True)
            )

    def clean_symbols(self) -> list[str]:
        """The symbols, upper-cased and sorted, or the service's reason for refusing them."""
        try:
            return identical_group_members_check(
                self.cleaned_data["symbols"].split(","), group_id=self.instance.pk
            )
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc


@admin.register(IdenticalGroup, site=firm_admin_site)
class IdenticalGroupAdmin(AuditedModelAdmin):
    """The firm's substantially identical groups.

    Changed through the audited services, which replay the ledgers a change touches.
    """

    form = IdenticalGroupForm
    list_display = ("id", "member_symbols", "reason", "source", "updated_at")
    search_fields = ("members__symbol", "reason", "source")

    def get_queryset(self, request: HttpRequest) -> QuerySet[IdenticalGroup]:
        """Groups with their members in one more query."""
        return super().get_queryset(request).prefetch_related("members")

    @admin.display(description="symbols")
    def member_symbols(self, obj: IdenticalGroup) -> str:
        """The group's symbols, comma-separated."""
        return ", ".join(sorted(m.symbol for m in obj.members.all()))

    def save_model(
        self, request: HttpRequest, obj: IdenticalGroup, form: Any, change: bool
    ) -> None:
        """Create or update through the service (audited)."""
        values = {
            "symbols": form.cleaned_data["symbols"],
            "reason": form.cleaned_data["reason"],
            "source": form.cleaned_data["source"],
            "acting_user": request.user,
        }
        if change:
            saved = identical_group_update(group=obj, **values)
        else:
            saved = identical_group_create(**values)
        obj.pk, obj.created_at, obj.updated_at = saved.pk, saved.created_at, saved.updated_at

    def delete_model(self, request: HttpRequest, obj: IdenticalGroup) -> None:
        """Delete through the service (audited)."""
        identical_group_delete(group=obj, acting_user=signed_in_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[IdenticalGroup]) -> None:
        """Delete each through the service (audited)."""
        for group in queryset:
            identical_group_delete(group=group, acting_user=signed_in_user(request))


class IdenticalIndexOptOutForm(forms.ModelForm):  # type: ignore[type-arg]
    """The fund's symbol, checked as the service checks it."""

    class Meta:
        model = IdenticalIndexOptOut
        fields = ("symbol", "reason", "source")

    def clean_symbol(self) -> str:
        """The symbol, upper-cased, or the service's reason for refusing it."""
        try:
            return identical_index_opt_out_check(self.cleaned_data["symbol"])[0]
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc


@admin.register(IdenticalIndexOptOut, site=firm_admin_site)
class IdenticalIndexOptOutAdmin(AuditedModelAdmin):
    """Funds the firm does not treat as identical to their index peers.

    Added and removed through the audited services, which replay the ledgers a change touches;
    an opt-out is not edited (remove it and add another).
    """

    form = IdenticalIndexOptOutForm
    list_display = ("symbol", "reason", "source", "created_at")
    search_fields = ("symbol", "reason", "source")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Read-only once recorded (the list and the form still show it)."""
        return obj is None and super().has_change_permission(request, obj)

    def save_model(
        self, request: HttpRequest, obj: IdenticalIndexOptOut, form: Any, change: bool
    ) -> None:
        """Create through the service (audited); its refusal is the form's error."""
        saved = identical_index_opt_out_create(
            symbol=form.cleaned_data["symbol"],
            reason=form.cleaned_data["reason"],
            source=form.cleaned_data["source"],
            acting_user=signed_in_user(request),
        )
        obj.pk, obj.created_at, obj.updated_at = saved.pk, saved.created_at, saved.updated_at

    def delete_model(self, request: HttpRequest, obj: IdenticalIndexOptOut) -> None:
        """Delete through the service (audited)."""
        identical_index_opt_out_delete(opt_out=obj, acting_user=signed_in_user(request))

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[IdenticalIndexOptOut]
    ) -> None:
        """Delete each through the service (audited)."""
        for opt_out in queryset:
            identical_index_opt_out_delete(opt_out=opt_out, acting_user=signed_in_user(request))
