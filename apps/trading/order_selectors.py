"""Reads of block orders, allocations, trade files and fills imports (current firm's schema)."""

from django.db.models import Prefetch, QuerySet

from apps.trading.models import (
    FillImport,
    Order,
    OrderAllocation,
    OrderStatus,
    Proposal,
    ProposalStatus,
    TradeFile,
)


def order_list(*, status: str = "", custodian: str = "") -> QuerySet[Order]:
    """Block orders, newest first, with their allocations and accounts' numbers prefetched.

    An order can have thousands of allocations: of each account only its number is read.
    """
    allocations = (
        OrderAllocation.objects.select_related("account")
        .only(*(f.name for f in OrderAllocation._meta.concrete_fields), "account__number")
        .order_by("pk")
    )
    orders = Order.objects.select_related("trade_file").prefetch_related(
        Prefetch("allocations", queryset=allocations)
    )
    if status:
        orders = orders.filter(status=status)
    if custodian:
        orders = orders.filter(custodian=custodian)
    return orders


def allocation_list_for_order(*, order: Order) -> QuerySet[OrderAllocation]:
    """An order's allocations with their accounts, in id order."""
    return OrderAllocation.objects.filter(order=order).select_related("account").order_by("pk")


def trade_file_list() -> QuerySet[TradeFile]:
    """Generated trade files, newest first."""
    return TradeFile.objects.select_related("created_by")


def fill_import_list() -> QuerySet[FillImport]:
    """Applied fills files, newest first."""
    return FillImport.objects.select_related("applied_by")


def approved_unordered_count() -> int:
    """Approved proposals not yet turned into orders."""
    return Proposal.objects.filter(status=ProposalStatus.APPROVED).count()


def open_order_custodians() -> list[str]:
    """Custodians with open (unsent) orders, sorted."""
    return sorted(
        set(
            Order.objects.filter(status=OrderStatus.OPEN, trade_file__isnull=True).values_list(
                "custodian", flat=True
            )
        )
    )
