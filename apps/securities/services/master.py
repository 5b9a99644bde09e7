"""Writes to the securities master: the securities and prices CSV imports.

Imports are all-or-nothing: every row is validated first and every bad row is reported with its
line number, field and reason; nothing is written unless the whole file is good. Re-importing the
same file changes nothing. Prices are upserted in bulk (COPY into a temporary table, then one
INSERT ... ON CONFLICT), so 200k rows take seconds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, TextIO

from django.db import connection, transaction
from django.utils import timezone

from apps.common.bulk import sql_table
from apps.common.csv_out import formula_leading, formula_leading_message
from apps.common.limits import PRICE_MAX_INTEGER_DIGITS
from apps.common.money import RATE
from apps.ingest import fields
from apps.ingest.problems import FileRejectedError, Problem
from apps.ingest.reading import Layout, Reading, Row, columns, rows_read
from apps.securities import reference_data as ref
from apps.securities.models import (
    DOLLAR_TRADED_KINDS,
    FUND_KINDS,
    SYMBOL_PATTERN,
    Price,
    Security,
    SecurityKind,
)

# A fund's columns are optional: a file without one leaves that field of existing rows alone.
FUND_COLUMNS: dict[str, str] = {
    "tracked_index": "tracked_index",
    "expense_ratio": "expense_ratio_rate",
    "min_holding_days": "min_holding_days",
}
SECURITY_LAYOUT = Layout(
    columns(
        "symbol",
        "cusip",
        "name",
        "kind",
        "sector",
        "industry",
        "esg_tags",
        optional=tuple(FUND_COLUMNS),
    )
)
EXPENSE_RATIO_MAX_RATE = Decimal("0.1")  # the model's check constraint: 10% a year
MIN_HOLDING_DAYS_MAX = 365
PRICE_LAYOUT = Layout(columns("symbol", "date", "close", optional=("synthetic",)))
DEFAULT_PRICE_SOURCE = "csv import"

_SYMBOL_RE = re.compile(SYMBOL_PATTERN)
_PRICE_QUANTUM_PLACES = 6
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"", "0", "false", "no", "n"}


class SecuritiesErrorCode(StrEnum):
    """Error codes raised by the securities services."""

    INVALID_FILE = "invalid_file"


def file_rejected(problems: Sequence[Problem], *, report: Any = None) -> FileRejectedError:
    """The file's rejection: nothing was written; every problem by line (and the report)."""
    return FileRejectedError(
        sorted(problems, key=lambda p: p.line),
        message=f"{len(problems)} error(s); nothing was imported",
        code=SecuritiesErrorCode.INVALID_FILE,
        report=report,
    )


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did. ``rows_read`` counts data rows; identical duplicates are skipped."""

    rows_read: int
    created: int
    updated: int
    unchanged: int
    duplicates_skipped: int = 0
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class PriceRow:
    """A validated daily close, ready to upsert."""

    symbol: str
    priced_on: date
    close_price: Decimal
    is_synthetic: bool
    source: str


# --- securities -----------------------------------------------------------------------------------


def file_rows(source: TextIO | bytes, layout: Layout) -> tuple[Iterator[Row], Reading]:
    """The file's rows (bytes are decoded as every import's: UTF-8, BOM, size limit)."""
    reading = Reading()
    content = source if isinstance(source, bytes) else source.read()
    return rows_read(content, layout, reading), reading


def security_row_errors(row: ref.ReferenceSecurity) -> list[tuple[str, str]]:
    """What is wrong with one security row: ``(field, reason)`` pairs, none when it is good."""
    problems: list[tuple[str, str]] = []
    if not _SYMBOL_RE.fullmatch(row.symbol):
        problems.append(("symbol", f"{row.symbol!r} is not a ticker symbol (A-Z, 0-9, '.', '-')"))
    if row.cusip and not ref.is_valid_cusip(row.cusip):
        problems.append(
            ("cusip", f"{row.cusip!r} is not a valid CUSIP (9 characters, check digit)")
        )
    if not row.name:
        problems.append(("name", "required"))
    elif len(row.name) > Security._meta.get_field("name").max_length:  # type: ignore[operator]
        problems.append(("name", "longer than 200 characters"))
    if row.kind not in SecurityKind.values:
        problems.append(("kind", f"{row.kind!r} is not one of {', '.join(SecurityKind.values)}"))
    if row.sector and row.sector not in ref.GICS_INDUSTRIES:
        problems.append(("sector", f"{row.sector!r} is not a GICS sector"))
    elif row.industry and not row.sector:
        problems.append(("industry", "an industry needs a sector"))
    elif row.industry and row.industry not in ref.GICS_INDUSTRIES[row.sector]:
        problems.append(("industry", f"{row.industry!r} is not a GICS industry of {row.sector}"))
    problems.extend(
        ("esg_tags", f"unknown tag {tag!r} (known: {', '.join(ref.ESG_TAGS)})")
        for tag in row.esg_tags
        if tag not in ref.ESG_TAGS
    )
    problems.extend(_fund_field_errors(row))
    return problems


def _fund_field_errors(row: ref.ReferenceSecurity) -> list[tuple[str, str]]:
    """A fund's own fields: only on funds, in range; the minimum holding only on mutual funds."""
    problems: list[tuple[str, str]] = []
    is_fund = row.kind in FUND_KINDS
    if row.tracked_index:
        if not is_fund:
            problems.append(("tracked_index", f"only funds track an index, not a {row.kind}"))
        elif len(row.tracked_index) > Security._meta.get_field("tracked_index").max_length:  # type: ignore[operator]
            problems.append(("tracked_index", "longer than 100 characters"))
        elif formula_leading(row.tracked_index):
            problems.append(("tracked_index", formula_leading_message(row.tracked_index)))
    if row.expense_ratio_rate is not None:
        if not is_fund:
            problems.append(
                ("expense_ratio", f"only funds have an expense ratio, not a {row.kind}")
            )
        elif not 0 <= row.expense_ratio_rate <= EXPENSE_RATIO_MAX_RATE:
            problems.append(
                (
                    "expense_ratio",
                    f"{row.expense_ratio_rate} is not a fraction between 0 and "
                    f"{EXPENSE_RATIO_MAX_RATE} (write 0.0045 for 0.45%)",
                )
            )
    if row.min_holding_days is not None and row.kind not in DOLLAR_TRADED_KINDS:
        # ETFs trade on an exchange like stocks; a minimum holding period is a mutual fund's
        # short-term redemption rule.
        problems.append(
            ("min_holding_days", f"only mutual and money-market funds have one, not a {row.kind}")
        )
    return problems


def _fund_cells(raw: Row) -> dict[str, object]:
    """The fund columns the file has (blank clears), by model field; problems on ``raw``."""
    values: dict[str, object] = {}
    if "tracked_index" in raw.cells:
        values["tracked_index"] = raw.text("tracked_index")
    if "expense_ratio" in raw.cells:
        values["expense_ratio_rate"] = fields.decimal(
            raw,
            "expense_ratio",
            places=RATE["decimal_places"],
            max_integer_digits=RATE["max_digits"] - RATE["decimal_places"],
            required=False,
        )
    if "min_holding_days" in raw.cells:
        text = raw.text("min_holding_days")
        days: int | None = None
        if text and (not text.isdigit() or not 1 <= int(text) <= MIN_HOLDING_DAYS_MAX):
            raw.error(
                "min_holding_days", f"{text[:40]!r} is not a whole number of days from 1 to 365"
            )
        elif text:
            days = int(text)
        values["min_holding_days"] = days
    return values


def _parse_security_csv(
    source: TextIO | bytes,
) -> tuple[list[tuple[int, ref.ReferenceSecurity]], list[Problem], int, frozenset[str]]:
    rows, reading = file_rows(source, SECURITY_LAYOUT)
    parsed: list[tuple[int, ref.ReferenceSecurity]] = []
    present: set[str] = set()
    for raw in rows:
        before = len(reading.problems)
        fund = _fund_cells(raw)
        present.update(fund)
        tags = tuple(
            sorted({tag.strip() for tag in raw.text("esg_tags").split(";") if tag.strip()})
        )
        row = ref.ReferenceSecurity(
            symbol=raw.text("symbol").upper(),
            cusip=raw.text("cusip").upper(),
            name=raw.text("name"),
            kind=raw.text("kind").lower(),
            sector=raw.text("sector"),
            industry=raw.text("industry"),
            esg_tags=tags,
            **fund,  # type: ignore[arg-type]
        )
        problems = security_row_errors(row)
        for name, reason in problems:
            raw.error(name, reason)
        if len(reading.problems) == before:
            parsed.append((raw.line, row))
    return parsed, reading.problems, reading.data_lines, frozenset(present)


def _dedupe_securities(
    rows: Sequence[tuple[int, ref.ReferenceSecurity]],
) -> tuple[list[ref.ReferenceSecurity], list[Problem], int]:
    first: dict[str, tuple[int, ref.ReferenceSecurity]] = {}
    cusip_owner: dict[str, tuple[int, str]] = {}
    errors: list[Problem] = []
    duplicates = 0
    for line, row in rows:
        if row.symbol in first:
            first_line, first_row = first[row.symbol]
            if first_row == row:
                duplicates += 1
            else:
                errors.append(
                    Problem(
                        line,
                        "symbol",
                        f"{row.symbol} repeats line {first_line} with different content",
                    )
                )
            continue
        if row.cusip:
            if row.cusip in cusip_owner:
                owner_line, owner = cusip_owner[row.cusip]
                errors.append(
                    Problem(line, "cusip", f"{row.cusip} is also {owner}'s on line {owner_line}")
                )
                continue
            cusip_owner[row.cusip] = (line, row.symbol)
        first[row.symbol] = (line, row)
    taken = dict(
        Security.objects.filter(cusip__in=list(cusip_owner))
        .exclude(symbol__in=list(first))
        .values_list("cusip", "symbol")
    )
    for cusip, owner in taken.items():
        line, _ = cusip_owner[cusip]
        errors.append(Problem(line, "cusip", f"{cusip} already belongs to {owner}"))
    return [row for _, row in first.values()], errors, duplicates


_SECURITY_FIELDS = ("cusip", "name", "kind", "sector", "industry", "esg_tags")
_FUND_FIELDS = frozenset(FUND_COLUMNS.values())


def securities_upsert(
    rows: Sequence[ref.ReferenceSecurity], *, fund_fields: frozenset[str] = _FUND_FIELDS
) -> tuple[int, int, int]:
    """Create or update securities by symbol; ``fund_fields``: the fund fields to write.

    Returns:
        Counts of created, updated and unchanged securities.
    """
    existing = {s.symbol: s for s in Security.objects.filter(symbol__in=[r.symbol for r in rows])}
    now = timezone.now()
    to_create: list[Security] = []
    to_update: list[Security] = []
    for row in rows:
        values = {
            "cusip": row.cusip,
            "name": row.name,
            "kind": row.kind,
            "sector": row.sector,
            "industry": row.industry,
            "esg_tags": list(row.esg_tags),
            **{name: getattr(row, name) for name in sorted(fund_fields)},
        }
        security = existing.get(row.symbol)
        if security is None:
            to_create.append(Security(symbol=row.symbol, **values))
        elif any(getattr(security, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(security, name, value)
            security.updated_at = now
            to_update.append(security)
    Security.objects.bulk_create(to_create, batch_size=1000)
    Security.objects.bulk_update(
        to_update, fields=[*_SECURITY_FIELDS, *sorted(fund_fields), "updated_at"], batch_size=1000
    )
    return len(to_create), len(to_update), len(rows) - len(to_create) - len(to_update)


@transaction.atomic
def securities_import(*, source: TextIO | bytes) -> ImportReport:
    """Create or update securities from a CSV file (format in docs/reference-data.md).

    Args:
        source: the CSV (text, or bytes: UTF-8, BOM allowed) with the header
            ``symbol,cusip,name,kind,sector,industry,esg_tags`` and optionally a fund's
            ``tracked_index``, ``expense_ratio`` (a fraction) and ``min_holding_days``;
            ``esg_tags`` is ``;``-separated. A fund column the file lacks leaves that field
            of existing securities as it is.

    Returns:
        Counts of created, updated and unchanged securities.

    Raises:
        FileRejectedError: any row is bad; nothing was written.
    """
    started = time.perf_counter()
    parsed, errors, read, fund_fields = _parse_security_csv(source)
    rows, duplicate_errors, duplicates = _dedupe_securities(parsed)
    errors += duplicate_errors
    if errors:
        raise file_rejected(errors)
    created, updated, unchanged = securities_upsert(rows, fund_fields=fund_fields)
    return ImportReport(
        read, created, updated, unchanged, duplicates, time.perf_counter() - started
    )


# --- prices ---------------------------------------------------------------------------------------


def _price_row(raw: Row, known: set[str], price_source: str) -> PriceRow | None:
    before = len(raw.problems)
    symbol = raw.text("symbol").upper()
    if not symbol:
        raw.error("symbol", "required")
    elif symbol not in known:
        raw.error("symbol", f"unknown symbol {symbol}")
    priced_on = fields.iso_date(raw, "date")
    close = fields.decimal(
        raw, "close", places=_PRICE_QUANTUM_PLACES, max_integer_digits=PRICE_MAX_INTEGER_DIGITS
    )
    if close is not None and close <= 0:
        raw.error("close", f"{raw.text('close')} is not positive")
    synthetic_text = raw.text("synthetic").lower()
    if synthetic_text not in _TRUE | _FALSE:
        raw.error("synthetic", f"{synthetic_text!r} is not true/false")
    if len(raw.problems) > before:
        return None
    assert priced_on is not None and close is not None  # noqa: S101, PT018 -- checked above  # nosec B101
    return PriceRow(symbol, priced_on, close, synthetic_text in _TRUE, price_source)


def _parse_price_csv(
    *, source: TextIO | bytes, price_source: str
) -> tuple[list[PriceRow], list[Problem], int, int]:
    rows, reading = file_rows(source, PRICE_LAYOUT)
    raw_rows = list(rows)
    known = set(
        Security.objects.filter(
            symbol__in={raw.text("symbol").upper() for raw in raw_rows}
        ).values_list("symbol", flat=True)
    )
    first: dict[tuple[str, date], tuple[int, Decimal, bool]] = {}
    prices: list[PriceRow] = []
    duplicates = 0
    for raw in raw_rows:
        row = _price_row(raw, known, price_source)
        if row is None:
            continue
        key = (row.symbol, row.priced_on)
        if key in first:
            first_line, first_close, first_synthetic = first[key]
            if (first_close, first_synthetic) == (row.close_price, row.is_synthetic):
                duplicates += 1
            else:
                repeated = f"{row.symbol} {row.priced_on} repeats line {first_line}"
                raw.error("row", f"{repeated} with different content")
            continue
        first[key] = (raw.line, row.close_price, row.is_synthetic)
        prices.append(row)
    return prices, reading.problems, reading.data_lines, duplicates


def prices_upsert(rows: Iterable[PriceRow]) -> tuple[int, int, int]:
    """Upsert prices with COPY + one INSERT ... ON CONFLICT; returns created, updated, unchanged.

    Raw SQL (second reviewer): unqualified table names only, so ``search_path`` decides the
    schema (STYLE §5.7); the temporary table lives in pg_temp and is dropped at commit.
    """
    price_table, security_table = sql_table(Price), sql_table(Security)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS securities_price_load")
        cursor.execute(
            "CREATE TEMPORARY TABLE securities_price_load ("
            " symbol text NOT NULL, priced_on date NOT NULL, close_price numeric(20, 6) NOT NULL,"
            " is_synthetic boolean NOT NULL, source text NOT NULL) ON COMMIT DROP"
        )
        total = 0
        with cursor.copy(
            "COPY securities_price_load (symbol, priced_on, close_price, is_synthetic, source)"
            " FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(
                    (row.symbol, row.priced_on, row.close_price, row.is_synthetic, row.source)
                )
                total += 1
        cursor.execute(
            f"""
            WITH upserted AS (
                INSERT INTO {price_table}
                       (security_id, priced_on, close_price, is_synthetic, source)
                SELECT DISTINCT ON (s.id, l.priced_on)
                       s.id, l.priced_on, l.close_price, l.is_synthetic, l.source
                FROM securities_price_load l JOIN {security_table} s ON s.symbol = l.symbol
                ORDER BY s.id, l.priced_on
                ON CONFLICT (security_id, priced_on) DO UPDATE
                SET close_price = EXCLUDED.close_price,
                    is_synthetic = EXCLUDED.is_synthetic,
                    source = EXCLUDED.source
                WHERE ({price_table}.close_price, {price_table}.is_synthetic, {price_table}.source)
                      IS DISTINCT FROM
                      (EXCLUDED.close_price, EXCLUDED.is_synthetic, EXCLUDED.source)
                RETURNING (xmax = 0) AS is_created
            )
            SELECT count(*) FILTER (WHERE is_created), count(*) FILTER (WHERE NOT is_created)
            FROM upserted
            """  # noqa: S608 -- table names come from model metadata, values are parameters  # nosec B608
        )
        created, updated = cursor.fetchone()
        cursor.execute("DROP TABLE securities_price_load")
    return created, updated, total - created - updated


@transaction.atomic
def prices_import(
    *, source: TextIO | bytes, price_source: str = DEFAULT_PRICE_SOURCE
) -> ImportReport:
    """Create or update daily closes from a CSV file ``symbol,date,close[,synthetic]``.

    Args:
        source: the CSV (text or UTF-8 bytes); symbols must already exist; dates are ISO
            (YYYY-MM-DD); closes are positive decimals with at most 6 places.
        price_source: stored in ``Price.source`` for every row.

    Returns:
        Counts of created, updated and unchanged prices.

    Raises:
        FileRejectedError: any row is bad; nothing was written.
    """
    started = time.perf_counter()
    rows, errors, read, duplicates = _parse_price_csv(source=source, price_source=price_source)
    if errors:
        raise file_rejected(errors)
    created, updated, unchanged = prices_upsert(rows)
    return ImportReport(
        read, created, updated, unchanged, duplicates, time.perf_counter() - started
    )
