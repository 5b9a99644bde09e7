"""Pages of long lists whose rows are wide (JSON columns, joined rows)."""

from collections.abc import Sequence
from typing import Any, TypeVar

from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.common.limits import OFFSET_MAX, PAGE_LIMIT_MAX

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


class ApiPagination(LimitOffsetPagination):
    """The API's limit/offset pagination: ``limit`` 1..500, ``offset`` 0..10^9, else a 400.

    DRF's own silently ignores a malformed value and passes any size on to the database, where
    an offset past a bigint is a 500; the bounds come from ``apps.common.limits`` and are in the
    schema (``minimum``/``maximum``), so a client learns them there.
    """

    max_limit = PAGE_LIMIT_MAX

    def get_limit(self, request: Request) -> int:
        """The requested page size (the default when absent)."""
        default = self.default_limit or PAGE_LIMIT_MAX  # PAGE_SIZE (50)
        return self._bounded(request, self.limit_query_param, 1, PAGE_LIMIT_MAX, default)

    def get_offset(self, request: Request) -> int:
        """The requested first row (0 when absent)."""
        return self._bounded(request, self.offset_query_param, 0, OFFSET_MAX, 0)

    @staticmethod
    def _bounded(request: Request, name: str, low: int, high: int, default: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(high))) or not (
            low <= int(raw) <= high
        ):
            raise ValidationError({name: [f"a whole number from {low} to {high}"]})
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """``limit`` and ``offset`` with their bounds."""
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: (1, PAGE_LIMIT_MAX),
            self.offset_query_param: (0, OFFSET_MAX),
        }
        for parameter in parameters:
            low, high = bounds[parameter["name"]]
            parameter["schema"] = {**parameter["schema"], "minimum": low, "maximum": high}
        return parameters


class KeyLimitOffsetPagination(ApiPagination):
    """The API's pagination, sorting primary keys only (as ``key_page`` does)."""

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
