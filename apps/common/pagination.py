"""Pages of long lists whose rows are wide (JSON columns, joined rows)."""

from collections.abc import Sequence
from typing import Any, TypeVar

from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.views import APIView

M = TypeVar("M", bound=Model)


def key_page(queryset: QuerySet[M], *, per_page: int, number: Any) -> "Page[M]":
    """Return page ``number`` of ``queryset``, sorting primary keys only, then reading the rows.

    PostgreSQL sorts whole rows: ordering thousands of proposals with their JSON metrics and
    joined accounts spilled to disk (~150 ms for 10,000 rows); the keys alone sort in memory.
    The page's objects keep the queryset's order, ``select_related`` and deferrals.

    Args:
        queryset: ordered, not sliced.
        per_page: rows per page.
        number: the requested page (``request.GET["page"]``); out of range gives the last.
    """
    page = Paginator(queryset.values_list("pk", flat=True), per_page).get_page(number)
    page.object_list = _rows_in_key_order(queryset, list(page.object_list))
    return page


def _rows_in_key_order(queryset: QuerySet[M], keys: list[Any]) -> list[M]:
    """The queryset's rows with these primary keys, in the keys' order (one unsorted read)."""
    rows = queryset.order_by().in_bulk(keys)
    return [rows[key] for key in keys]


class KeyLimitOffsetPagination(LimitOffsetPagination):
    """The API's limit/offset pagination, sorting primary keys only (as ``key_page`` does)."""

    def paginate_queryset(
        self,
        queryset: QuerySet[Any, Any] | Sequence[Any],
        request: Request,
        view: APIView | None = None,
    ) -> list[Any] | None:
        """The page's rows, in the queryset's order (``None`` when pagination is off)."""
        if not isinstance(queryset, QuerySet):
            return super().paginate_queryset(queryset, request, view)
        keys = super().paginate_queryset(queryset.values_list("pk", flat=True), request, view)
        if keys is None:
            return None
        return _rows_in_key_order(queryset, list(keys))
