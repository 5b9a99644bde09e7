"""Lists that sort, filter, page, total and export the same rows: one helper for every page.

A page declares its columns once (``Column``: label, ``?sort=`` key, value, whether summed,
how to format) and hands ``Table`` its filtered queryset. ``Table`` then

- reads ``?sort=key`` / ``?sort=-key`` against the declared keys only (anything else keeps the
  page's default order, never a 400 or a 500), with the primary key as the last tie-breaker so
  pages never overlap or skip rows;
- pages through sorted keys (``apps.common.pagination.key_page``), ``?page=``;
- adds the summed columns over the WHOLE filtered list, in one aggregate query (not the page);
- answers ``?format=csv`` with the same filtered, sorted rows through ``SafeCsvWriter``: money
  and shares as plain numbers, rates as fractions, dates ISO 8601;
- builds the header, pager and CSV links, each keeping the page's declared filters.

Values that are not columns of the database (an account's market value, computed for the
filtered accounts in one SQL aggregate) come in as ``computed``: ``{column key: {pk: value}}``.
They sort in Python over the filtered keys and add up in Python; the caller gives them for
exactly the filtered rows.
"""

import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import F, Model, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from apps.common.csv_out import SafeCsvWriter
from apps.common.limits import validate_date_in_range
from apps.common.pagination import key_page

M = TypeVar("M", bound=Model)

CSV_CHUNK_ROWS = 2000


class Kind(StrEnum):
    """How a column's values are shown and exported."""

    TEXT = "text"
    MONEY = "money"  # Decimal USD: 1,234.50 on the page, 1234.50 in CSV
    SHARES = "shares"  # Decimal shares, trailing zeros dropped
    RATE = "rate"  # Decimal fraction: 1.25% on the page, 0.0125 in CSV
    INTEGER = "integer"
    DATE = "date"  # ISO 8601
    DATETIME = "datetime"  # UTC, ISO 8601 in CSV


NUMBER_KINDS = frozenset({Kind.MONEY, Kind.SHARES, Kind.RATE, Kind.INTEGER})


@dataclass(frozen=True)
class Column:
    """One column of a list.

    Attributes:
        key: the ``?sort=`` key and the column's name in code.
        label: the header (also the CSV header).
        field: ORM path of its value (a model field or an annotation, ``household__name``):
            what it sorts by and what ``is_summed`` adds up. Empty for computed columns.
        value: the cell's value from a row when it is not the field (a display name, a list).
        kind: how values are formatted.
        is_sortable: offered as a sort (needs a field, or ``is_computed``).
        is_summed: added up over the whole filtered list in the totals row.
        is_computed: values come from ``Table(computed={key: {pk: value}})``.
        link: the cell's link (a URL from the row).
    """

    key: str
    label: str
    field: str = ""
    value: Callable[[Any], object] | None = None
    kind: Kind = Kind.TEXT
    is_sortable: bool = True
    is_summed: bool = False
    is_computed: bool = False
    link: Callable[[Any], str] | None = None

    @property
    def is_number(self) -> bool:
        """Right-aligned on the page."""
        return self.kind in NUMBER_KINDS

    @property
    def can_sort(self) -> bool:
        """Whether ``?sort=`` accepts this column's key."""
        return self.is_sortable and (self.is_computed or bool(self.field))


@dataclass(frozen=True)
class Cell:
    """A formatted cell of the page."""

    text: str
    url: str = ""
    is_number: bool = False


@dataclass(frozen=True)
class Row(Generic[M]):
    """A page row: the object and its formatted cells, in column order."""

    obj: M
    cells: list[Cell]


@dataclass(frozen=True)
class Header:
    """A column header: its sort link (empty when not sortable) and current direction."""

    label: str
    url: str
    sort: str  # "ascending", "descending" or "" (aria-sort)
    is_number: bool


def format_value(value: object, kind: Kind) -> str:
    """The page's text for a value (empty for ``None``)."""
    if value is None or value == "":
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if kind is Kind.MONEY and isinstance(value, Decimal | int):
        return f"{value:,.2f}"
    if kind is Kind.SHARES and isinstance(value, Decimal):
        return f"{value.normalize():,f}"
    if kind is Kind.RATE and isinstance(value, Decimal):
        return f"{value:.2%}"
    if kind is Kind.INTEGER and isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_value(value: object) -> object:
    """A value for CSV: Decimals as plain numbers (no exponent), dates ISO 8601, lists joined."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return value


class ListFilterForm(forms.Form):
    """Base of a list's filters (GET): every field optional; an invalid one is ignored and shown.

    ``Table`` keeps the form's field names in its links.
    """

    def filters(self) -> dict[str, Any]:
        """The valid, non-empty filters (an invalid field drops out; the page shows its error)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: value for name, value in data.items() if value not in (None, "")}


def date_filter(label: str) -> forms.DateField:
    """An optional ISO date filter within the supported business dates."""
    return forms.DateField(
        label=label,
        required=False,
        input_formats=["%Y-%m-%d"],
        validators=[validate_date_in_range],
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class Table(Generic[M]):
    """A sorted, filtered, paged, totalled list of ``queryset`` with its CSV export."""

    def __init__(
        self,
        request: HttpRequest,
        *,
        queryset: QuerySet[M],
        columns: Sequence[Column],
        default_order: Sequence[str],
        filter_form: ListFilterForm | None = None,
        per_page: int = 50,
        computed: Mapping[str, Mapping[Any, object]] | None = None,
        name: str = "rows",
    ) -> None:
        """Read ``?sort=``, ``?page=`` and ``?format=`` from the request.

        Args:
            request: the page's request.
            queryset: the rows, already filtered (by ``filter_form``'s values).
            columns: the declared columns, in display order.
            default_order: ORM ordering when no valid ``?sort=`` is given.
            filter_form: the page's filters; their names are kept in every link.
            per_page: rows per page.
            computed: values of the computed columns, per primary key of the filtered rows.
            name: what the rows are, for the pager ("accounts").
        """
        self.request = request
        self.queryset = queryset
        self.columns = list(columns)
        self.filter_form = filter_form
        self.per_page = per_page
        self.computed = computed or {}
        self.name = name
        self._by_key = {column.key: column for column in self.columns if column.can_sort}
        raw = request.GET.get("sort", "")
        key = raw.removeprefix("-")
        self.sort_column = self._by_key.get(key)
        self.is_descending = self.sort_column is not None and raw.startswith("-")
        self.sort = raw if self.sort_column is not None else ""
        order = list(default_order)
        if not {"pk", "-pk", "id", "-id"} & set(order):
            order.append("pk")
        self.default_order = order
        self._page: Page[M] | None = None

    # -- links ---------------------------------------------------------------------------

    def _params(self, **overrides: str) -> dict[str, str]:
        names = list(self.filter_form.fields) if self.filter_form is not None else []
        params = {n: self.request.GET[n] for n in names if self.request.GET.get(n, "") != ""}
        if self.sort:
            params["sort"] = self.sort
        params.update(overrides)
        return {k: v for k, v in params.items() if v != ""}

    def url(self, **overrides: str) -> str:
        """This list's query string with its filters and sort kept (``?…``)."""
        return "?" + urlencode(self._params(**overrides))

    @property
    def csv_url(self) -> str:
        """The CSV export of the filtered, sorted list."""
        return self.url(format="csv")

    @property
    def headers(self) -> list[Header]:
        """Headers: a sortable one links to its ascending sort, or descending when it is on."""
        headers = []
        for column in self.columns:
            url, sort = "", ""
            if column.can_sort:
                is_current = self.sort_column is column
                url = self.url(
                    sort=f"-{column.key}" if is_current and not self.is_descending else column.key
                )
                if is_current:
                    sort = "descending" if self.is_descending else "ascending"
            headers.append(Header(column.label, url, sort, column.is_number))
        return headers

    def page_url(self, number: int) -> str:
        """A page of the list, filters and sort kept."""
        return self.url(page=str(number))

    @property
    def previous_url(self) -> str:
        """The previous page's link, or empty."""
        page = self.page
        return self.page_url(page.previous_page_number()) if page.has_previous() else ""

    @property
    def next_url(self) -> str:
        """The next page's link, or empty."""
        page = self.page
        return self.page_url(page.next_page_number()) if page.has_next() else ""

    # -- rows ----------------------------------------------------------------------------

    def ordered(self) -> QuerySet[M]:
        """The filtered rows in the requested order (database columns only)."""
        column = self.sort_column
        if column is None or column.is_computed:
            return self.queryset.order_by(*self.default_order)
        expression = F(column.field)
        if self.is_descending:
            return self.queryset.order_by(expression.desc(nulls_last=True), "-pk")
        return self.queryset.order_by(expression.asc(nulls_last=True), "pk")

    def _computed_keys(self) -> list[Any]:
        """Keys of the filtered rows, sorted by the computed column (missing values last)."""
        assert self.sort_column is not None  # noqa: S101  # nosec B101 - only called when sorted
        values = self.computed.get(self.sort_column.key, {})
        keys = list(self.queryset.order_by().values_list("pk", flat=True))
        present = sorted(
            (k for k in keys if values.get(k) is not None),
            key=lambda k: (values[k], k),
            reverse=self.is_descending,
        )
        missing = sorted((k for k in keys if values.get(k) is None), reverse=self.is_descending)
        return present + missing

    def _in_order(self, keys: list[Any]) -> list[M]:
        rows = self.queryset.order_by().in_bulk(keys)
        return [rows[key] for key in keys if key in rows]

    @property
    def page(self) -> "Page[M]":
        """The requested page (out of range gives the last)."""
        if self._page is None:
            number = self.request.GET.get("page")
            if self.sort_column is not None and self.sort_column.is_computed:
                page = Paginator(self._computed_keys(), self.per_page).get_page(number)
                page.object_list = self._in_order(list(page.object_list))
                self._page = page
            else:
                self._page = key_page(self.ordered(), per_page=self.per_page, number=number)
        return self._page

    def value(self, column: Column, obj: M) -> object:
        """A row's raw value in a column."""
        if column.is_computed:
            return self.computed.get(column.key, {}).get(obj.pk)
        if column.value is not None:
            return column.value(obj)
        value: object = obj
        for name in column.field.split("__"):  # a missing relation gives None, not an error
            if value is None:
                return None
            value = getattr(value, name)
        return value

    def cells(self, obj: M) -> list[Cell]:
        """A row's formatted cells."""
        return [
            Cell(
                format_value(self.value(column, obj), column.kind),
                column.link(obj) if column.link is not None else "",
                column.is_number,
            )
            for column in self.columns
        ]

    @property
    def rows(self) -> list[Row[M]]:
        """The page's rows with their cells."""
        return [Row(obj, self.cells(obj)) for obj in self.page]

    # -- totals --------------------------------------------------------------------------

    def totals(self) -> dict[str, Decimal | int]:
        """The summed columns over the whole filtered list (one aggregate query), by key."""
        summed = [c for c in self.columns if c.is_summed]
        if not summed:
            return {}
        in_database = [c for c in summed if not c.is_computed]
        found: dict[str, Any] = {}
        if in_database:
            found = self.queryset.order_by().aggregate(**{c.key: Sum(c.field) for c in in_database})
        totals: dict[str, Decimal | int] = {}
        for column in summed:
            if column.is_computed:
                values = self.computed.get(column.key, {}).values()
                totals[column.key] = sum((v for v in values if isinstance(v, Decimal | int)), 0)
            else:
                totals[column.key] = found[column.key] or 0
        return totals

    @property
    def total_cells(self) -> list[Cell]:
        """The totals row (empty when no column is summed); its first cell says what it is."""
        totals = self.totals()
        if not totals:
            return []
        cells = [
            Cell(
                format_value(totals[c.key], c.kind) if c.key in totals else "",
                is_number=c.is_number,
            )
            for c in self.columns
        ]
        if not cells[0].text:
            cells[0] = Cell(f"Total of {self.page.paginator.count:,} {self.name}")
        return cells

    # -- CSV -----------------------------------------------------------------------------

    @property
    def wants_csv(self) -> bool:
        """Whether the request asks for the CSV export (``?format=csv``)."""
        return self.request.GET.get("format") == "csv"

    def all_rows(self) -> Iterator[M]:
        """Every filtered row in the page's order (read in chunks)."""
        if self.sort_column is not None and self.sort_column.is_computed:
            keys = self._computed_keys()
            for start in range(0, len(keys), CSV_CHUNK_ROWS):
                yield from self._in_order(keys[start : start + CSV_CHUNK_ROWS])
        else:
            yield from self.ordered().iterator(chunk_size=CSV_CHUNK_ROWS)

    def csv_text(self) -> str:
        """The filtered, sorted rows as CSV: a header of labels, then one line per row."""
        buffer = io.StringIO()
        writer = SafeCsvWriter(buffer)
        writer.writerow(column.label for column in self.columns)
        for obj in self.all_rows():
            writer.writerow(csv_value(self.value(column, obj)) for column in self.columns)
        return buffer.getvalue()

    def csv_response(self, filename: str) -> HttpResponse:
        """The CSV export as a download (``Cache-Control: no-store`` comes from the middleware)."""
        response = HttpResponse(self.csv_text(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
