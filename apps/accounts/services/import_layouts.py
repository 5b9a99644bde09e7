"""Custodian file layouts: bytes in, plain internal rows and line-numbered problems out.

No database here: this module decodes a file, finds its header, and maps each layout
(ours, Schwab-like, Fidelity-like) to the same internal rows. ``imports.py`` checks the rows
against the books and applies them. The layouts, their sources and our assumptions are in
``docs/custodian-files.md``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from apps.common.csv_out import formula_leading, formula_leading_message
from apps.common.limits import (
    DATE_RANGE_MESSAGE,
    ISO_DATE_RE,
    MONEY_MAX_INTEGER_DIGITS,
    NUMBER_RE,
    SHARES_MAX_INTEGER_DIGITS,
    US_DATE_RE,
    date_in_range,
)

MAX_FILE_BYTES = 50 * 1024 * 1024
CASH_SYMBOL = "CASH"
_HEADER_SEARCH_LINES = 10
_SHARES_PLACES = 6
_MONEY_PLACES = 2
_RATE_PLACES = 8
_SYMBOL_RE = re.compile(r"[A-Z0-9][A-Z0-9.\-/]{0,15}")
_EXTERNAL_ID_MAX = 128 - len("lot:")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n"}


class ImportKind(StrEnum):
    """What a file holds."""

    POSITIONS = "positions"
    LOTS = "lots"
    TRANSACTIONS = "transactions"
    ACCOUNTS = "accounts"


class ImportLayout(StrEnum):
    """Whose column layout a file follows."""

    GENERIC = "generic"
    SCHWAB = "schwab"
    FIDELITY = "fidelity"


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One thing wrong with a file: the line (0 or 1 for the whole file), the field, why."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


@dataclass(frozen=True, slots=True)
class TransactionRow:
    """A ledger entry read from a file (transactions, or an opening lot from a lots file).

    ``amount`` is positive (a buy's total cost, a sell's net proceeds); ``order`` ranks rows of
    the same date in the order they happened.
    """

    line: int
    order: int
    custodian: str
    account_number: str
    external_id: str
    kind: str
    trade_on: date
    symbol: str = ""
    shares: Decimal | None = None
    amount: Decimal = Decimal(0)
    lot_method: str = ""
    lot_picks: tuple[tuple[str, Decimal], ...] = ()
    is_opening_lot: bool = False
    is_basis_unknown: bool = False
    holding_period_start_on: date | None = None
    wash_adjustment_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PositionRow:
    """A custodian's holding of one symbol (shares) or of cash (``CASH``: the amount in USD)."""

    line: int
    custodian: str
    account_number: str
    symbol: str
    shares: Decimal
    cost_basis: Decimal | None = None
    as_of: date | None = None


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account (and its household) to create or update; ``values`` are model field values."""

    line: int
    household_id: str
    household_name: str
    custodian: str
    account_number: str
    values: dict[str, Any]


@dataclass
class ParsedFile:
    """What a layout parser read: rows, rows skipped on purpose, problems, the file's as-of."""

    rows: list[Any] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    skipped: int = 0
    as_of: date | None = None
    data_lines: int = 0
    custodian: str = ""  # fixed by the layout; empty for ours (a column)
    # Accounts (custodian, number) with a row that did not parse: their holdings checks would
    # only echo that problem, so the service does not replay them.
    broken_accounts: set[tuple[str, str]] = field(default_factory=set)
    is_file_broken: bool = False  # encoding, header or CSV structure: no row can be trusted

    def note_broken(self, cells: dict[str, str]) -> None:
        """Remember the account of a row that did not parse (when its cells name one)."""
        number = (cells.get("account_number") or cells.get("Account Number") or "").strip()
        custodian = (cells.get("custodian") or self.custodian).strip().lower()
        if number:
            self.broken_accounts.add((custodian, number))


# --- decoding and CSV records ------------------------------------------------------------------


def decode_content(content: bytes) -> tuple[str | None, list[ImportProblem]]:
    """Decode UTF-8 (with or without BOM); refuse other encodings, binary and huge files."""
    if len(content) > MAX_FILE_BYTES:
        mb = MAX_FILE_BYTES // (1024 * 1024)
        return None, [ImportProblem(0, "file", f"is larger than {mb} MB; split it")]
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, [ImportProblem(0, "file", "is UTF-16; save it as UTF-8 (CSV UTF-8)")]
    if b"\x00" in content:
        return None, [ImportProblem(0, "file", "contains NUL bytes: a binary file, not CSV text")]
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        return None, [
            ImportProblem(
                line,
                "file",
                f"is not UTF-8 (byte 0x{content[exc.start]:02x} at offset {exc.start}); "
                "save it as UTF-8 (CSV UTF-8)",
            )
        ]
    if not text.strip():
        return None, [ImportProblem(1, "header", "the file is empty; a header row is required")]
    return text, []


class _BrokenCsvError(Exception):
    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on (CRLF, LF and quoted newlines handled)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _BrokenCsvError(reader.line_num or start, f"is not valid CSV: {exc}") from exc
        yield start, cells
        start = reader.line_num + 1


def _is_blank(cells: Sequence[str]) -> bool:
    return all(not cell.strip() for cell in cells)


def _norm(name: str) -> str:
    return " ".join(name.strip().lower().split())


@dataclass(frozen=True)
class _Column:
    """A column of a layout: its canonical name, accepted header spellings, required or not."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = True

    def spellings(self) -> tuple[str, ...]:
        return (_norm(self.name), *(_norm(a) for a in self.aliases))


@dataclass
class _Table:
    header_line: int
    index: dict[str, int]  # canonical column name -> position
    width: int
    preamble: list[list[str]]


def _find_header(
    records: Iterator[tuple[int, list[str]]],
    columns: Sequence[_Column],
    *,
    strict: bool,
    problems: list[ImportProblem],
) -> _Table | None:
    """Locate the header: the first record (ours) or the first of 10 naming every column."""
    preamble: list[list[str]] = []
    required = [c for c in columns if c.required]
    for seen, (line, cells) in enumerate(records):
        if _is_blank(cells) and not strict:
            continue
        names = [_norm(cell) for cell in cells]
        index: dict[str, int] = {}
        for column in columns:
            for spelling in column.spellings():
                if spelling in names:
                    index[column.name] = names.index(spelling)
                    break
        missing = [c.name for c in required if c.name not in index]
        if strict:
            if not any(names):
                problems.append(ImportProblem(line, "header", "the header row is empty"))
                return None
            known = {s for c in columns for s in c.spellings()}
            problems.extend(
                ImportProblem(line, "header", f"missing column {name!r}") for name in missing
            )
            problems.extend(
                ImportProblem(line, "header", f"unknown column {cell.strip()!r}")
                for cell, name in zip(cells, names, strict=True)
                if name not in known
            )
            duplicated = [name for name, count in Counter(names).items() if count > 1]
            problems.extend(
                ImportProblem(line, "header", f"column {name!r} appears twice")
                for name in duplicated
            )
            if problems:
                return None
            return _Table(line, index, len(cells), preamble)
        if not missing:
            return _Table(line, index, len(cells), preamble)
        preamble.append(cells)
        if seen + 1 >= _HEADER_SEARCH_LINES:
            break
    wanted = ", ".join(repr(c.name) for c in required)
    problems.append(
        ImportProblem(
            1, "header", f"no header row naming {wanted} in the first {_HEADER_SEARCH_LINES} lines"
        )
    )
    return None


@dataclass
class _Row:
    """One data record: cells by canonical column name, and the problems found reading it."""

    line: int
    cells: dict[str, str]
    problems: list[ImportProblem]

    def text(self, name: str) -> str:
        return self.cells.get(name, "").strip()

    def error(self, name: str, reason: str) -> None:
        self.problems.append(ImportProblem(self.line, name, reason))


def _data_rows(
    records: Iterator[tuple[int, list[str]]],
    table: _Table,
    *,
    strict: bool,
    parsed: ParsedFile,
    skip: Callable[[list[str]], bool] = lambda cells: False,
    footer_lines: list[str] | None = None,
) -> Iterator[_Row]:
    """Yield data records with their line numbers.

    Blank lines are ignored. ``skip`` rows (custodian totals) are counted and passed over. In
    custodian layouts, a blank line after data starts the footer: rows there with at most one
    value (disclaimers, "Date downloaded ...") are collected into ``footer_lines``; a row with
    more values is data again, so nothing that looks like data is ever dropped silently.
    """
    needed = max(table.index.values()) + 1
    after_blank = False
    for line, cells in records:
        if _is_blank(cells):
            after_blank = bool(parsed.data_lines)
            continue
        if not strict and after_blank and sum(1 for c in cells if c.strip()) <= 1:
            parsed.skipped += 1
            if footer_lines is not None:
                footer_lines.append(" ".join(cells))
            continue
        if skip(cells):
            parsed.skipped += 1
            continue
        parsed.data_lines += 1
        problems: list[ImportProblem] = []
        if strict and len(cells) != table.width:
            what = "truncated" if len(cells) < table.width else "too long"
            problems.append(
                ImportProblem(
                    line, "row", f"{what}: {len(cells)} values, the header has {table.width}"
                )
            )
        elif not strict and len(cells) < needed:
            problems.append(
                ImportProblem(
                    line, "row", f"truncated: {len(cells)} values, at least {needed} are needed"
                )
            )
        named = {name: cells[i] for name, i in table.index.items() if i < len(cells)}
        if problems:
            parsed.problems.extend(problems)
            parsed.note_broken(named)
            continue
        before = len(parsed.problems)
        yield _Row(line, named, parsed.problems)
        # The consumer has read the row when asked for the next: did it find problems?
        if len(parsed.problems) > before:
            parsed.note_broken(named)


# --- field parsers (each reports its own problem and returns None when the value is bad) --------


def _strip_money_format(text: str) -> str:
    """Custodian number formatting: ``-$1,234.50``, ``+$1.25``, ``($12.00)``, ``--`` (empty)."""
    text = text.strip()
    if text in {"--", "-", "N/A", "n/a"}:
        return ""
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1]
    text = text.replace("$", "").replace(",", "").replace(" ", "")
    if negative and text and text[0] not in "+-":
        text = "-" + text
    return text


def _decimal(
    row: _Row,
    name: str,
    *,
    places: int,
    max_integer_digits: int,
    custodian_format: bool = False,
    required: bool = True,
    text: str | None = None,
) -> Decimal | None:
    raw = row.text(name) if text is None else text.strip()
    value_text = _strip_money_format(raw) if custodian_format else raw
    if not value_text:
        if required:
            row.error(name, "is required")
        return None
    if not NUMBER_RE.fullmatch(value_text):
        row.error(name, f"{raw[:40]!r} is not a number")
        return None
    try:
        value = Decimal(value_text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        row.error(name, f"{raw[:40]!r} is not a number")
        return None
    if abs(value) >= Decimal(10) ** max_integer_digits:
        row.error(name, f"{raw[:40]!r} is too large")
        return None
    quantum = Decimal(1).scaleb(-places)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        if value != value.quantize(quantum):
            row.error(name, f"{raw[:40]!r} has more than {places} decimal places")
            return None
        value = value.quantize(quantum)
    return value


def _shares(row: _Row, name: str, **kwargs: Any) -> Decimal | None:
    return _decimal(
        row, name, places=_SHARES_PLACES, max_integer_digits=SHARES_MAX_INTEGER_DIGITS, **kwargs
    )


def _money(row: _Row, name: str, **kwargs: Any) -> Decimal | None:
    return _decimal(
        row, name, places=_MONEY_PLACES, max_integer_digits=MONEY_MAX_INTEGER_DIGITS, **kwargs
    )


def _positive(row: _Row, name: str, value: Decimal | None, *, allow_zero: bool = False) -> bool:
    if value is None:
        return False
    if value < 0 or (value == 0 and not allow_zero):
        row.error(name, f"must be {'>= 0' if allow_zero else '> 0'}, got {value}")
        return False
    return True


def _iso_date(row: _Row, name: str, *, required: bool = True) -> date | None:
    text = row.text(name)
    if not text:
        if required:
            row.error(name, "is required")
        return None
    if not ISO_DATE_RE.fullmatch(text):
        row.error(name, f"{text[:40]!r} is not a date (YYYY-MM-DD)")
        return None
    try:
        return _in_range(row, name, date.fromisoformat(text))
    except ValueError:
        row.error(name, f"{text[:40]!r} is not a real date")
        return None


def _in_range(row: _Row, name: str, value: date) -> date | None:
    if not date_in_range(value):
        row.error(name, f"{value.isoformat()} is not {DATE_RANGE_MESSAGE}")
        return None
    return value


def _us_date(row: _Row, name: str, *, prefer_as_of: bool = False) -> date | None:
    """``MM/DD/YYYY``; Schwab's ``MM/DD/YYYY as of MM/DD/YYYY`` gives the as-of date."""
    text = row.text(name)
    if not text:
        row.error(name, "is required")
        return None
    found = US_DATE_RE.findall(text)
    shape_ok = US_DATE_RE.match(text) is not None
    if not found or not shape_ok:
        row.error(name, f"{text[:40]!r} is not a date (MM/DD/YYYY)")
        return None
    month, day, year = found[-1] if prefer_as_of else found[0]
    try:
        return _in_range(row, name, date(int(year), int(month), int(day)))
    except ValueError:
        row.error(name, f"{text[:40]!r} is not a real date")
        return None


def _symbol(row: _Row, name: str, *, required: bool = True) -> str | None:
    text = row.text(name).upper()
    if not text:
        if required:
            row.error(name, "is required")
            return None
        return ""
    if not _SYMBOL_RE.fullmatch(text):
        row.error(name, f"{text[:40]!r} is not a ticker symbol (options are not supported)")
        return None
    return text


def _identifier(row: _Row, name: str, *, max_length: int = 64) -> str | None:
    text = row.text(name)
    if not text:
        row.error(name, "is required")
        return None
    if len(text) > max_length:
        row.error(name, f"is longer than {max_length} characters")
        return None
    if any(ch.isspace() for ch in text) and name in {"external_id", "lot_id"}:
        row.error(name, "must not contain spaces")
        return None
    if formula_leading(text):
        row.error(name, formula_leading_message(text))
        return None
    return text


def _boolean(row: _Row, name: str) -> bool | None:
    text = row.text(name).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    row.error(name, f"{text[:40]!r} is not yes/no")
    return None


def _choice(row: _Row, name: str, choices: Sequence[str], *, upper: bool = False) -> str | None:
    text = row.text(name)
    text = text.upper() if upper else text.lower()
    if text not in choices:
        row.error(name, f"{text[:40]!r} is not one of {', '.join(choices)}")
        return None
    return text


def _lot_picks(row: _Row, name: str) -> tuple[tuple[str, Decimal], ...] | None:
    """``b1:10;b2:5``: lot ids (the buys' external ids) and shares to relieve from each."""
    text = row.text(name)
    picks: list[tuple[str, Decimal]] = []
    for part in (p.strip() for p in text.split(";")):
        lot_id, sep, quantity = part.rpartition(":")
        if not part or not sep or not lot_id.strip():
            row.error(name, f"{part[:40]!r} is not lot_id:shares")
            return None
        if formula_leading(lot_id.strip()):
            row.error(name, formula_leading_message(lot_id.strip()))
            return None
        shares = _shares(row, name, text=quantity)
        if shares is None or not _positive(row, name, shares):
            return None
        picks.append((lot_id.strip(), shares))
    return tuple(picks)


def _derived_id(prefix: str, parts: Sequence[str], seen: Counter[str]) -> str:
    """A stable id for custodian rows that carry none: content hash plus occurrence number."""
    key = "|".join(parts)
    seen[key] += 1
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{prefix}:{digest}:{seen[key]}"


# --- generic layout (ours) ---------------------------------------------------------------------

_GENERIC_TRANSACTION_COLUMNS = (
    _Column("account_number"),
    _Column("custodian"),
    _Column("external_id"),
    _Column("trade_date"),
    _Column("kind"),
    _Column("symbol"),
    _Column("shares"),
    _Column("amount"),
    _Column("lot_method", required=False),
    _Column("lot_ids", required=False),
)
_GENERIC_LOT_COLUMNS = (
    _Column("account_number"),
    _Column("custodian"),
    _Column("lot_id"),
    _Column("symbol"),
    _Column("shares"),
    _Column("cost_basis"),
    _Column("acquired_date"),
    _Column("holding_period_start", required=False),
    _Column("wash_adjustment", required=False),
)
_GENERIC_POSITION_COLUMNS = (
    _Column("account_number"),
    _Column("custodian"),
    _Column("symbol"),
    _Column("shares"),
    _Column("cost_basis", required=False),
    _Column("as_of", required=False),
)
TRADE_KINDS = ("buy", "sell")
CASH_KINDS = ("deposit", "withdrawal", "dividend", "fee")
LOT_METHODS = ("FIFO", "LIFO", "HIFO")


def _account_key(row: _Row) -> tuple[str, str] | None:
    number = _identifier(row, "account_number")
    custodian = _identifier(row, "custodian", max_length=32)
    if number is None or custodian is None:
        return None
    return custodian.lower(), number


def _generic_transaction(row: _Row, index: int) -> TransactionRow | None:
    before = len(row.problems)
    key = _account_key(row)
    external_id = _identifier(row, "external_id", max_length=_EXTERNAL_ID_MAX)
    trade_on = _iso_date(row, "trade_date")
    kind = _choice(row, "kind", TRADE_KINDS + CASH_KINDS)
    is_trade = kind in TRADE_KINDS
    symbol = _symbol(row, "symbol", required=is_trade)
    if kind in ("deposit", "withdrawal", "fee") and symbol:
        row.error("symbol", f"a {kind} carries no symbol")
    shares: Decimal | None = None
    if is_trade:
        shares = _shares(row, "shares")
        _positive(row, "shares", shares)
    elif row.text("shares"):
        row.error("shares", f"a {kind} carries no shares")
    amount = _money(row, "amount")
    if amount is not None and amount < 0:
        row.error("amount", f"must be >= 0 (the kind gives the direction), got {amount}")
    lot_method = row.text("lot_method").upper()
    picks: tuple[tuple[str, Decimal], ...] | None = ()
    if lot_method and lot_method not in LOT_METHODS:
        row.error("lot_method", f"{lot_method[:40]!r} is not one of {', '.join(LOT_METHODS)}")
    if row.text("lot_ids"):
        picks = _lot_picks(row, "lot_ids")
    if kind != "sell" and (lot_method or row.text("lot_ids")):
        field_name = "lot_method" if lot_method else "lot_ids"
        row.error(field_name, "only a sell names a lot method or lots")
    if len(row.problems) > before:
        return None
    assert key is not None and external_id is not None and trade_on is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
    assert kind is not None and amount is not None and picks is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
    return TransactionRow(
        line=row.line,
        order=index,
        custodian=key[0],
        account_number=key[1],
        external_id=external_id,
        kind=kind,
        trade_on=trade_on,
        symbol=symbol or "",
        shares=shares,
        amount=amount,
        lot_method=lot_method,
        lot_picks=picks,
    )


def _opening_lot(
    row: _Row,
    *,
    index: int,
    key: tuple[str, str],
    lot_id: str,
    symbol: str,
    shares: Decimal,
    cost_basis: Decimal | None,
    acquired_on: date,
    holding_period_start_on: date | None = None,
    wash_adjustment_amount: Decimal | None = None,
) -> TransactionRow:
    return TransactionRow(
        line=row.line,
        order=index,
        custodian=key[0],
        account_number=key[1],
        external_id=f"lot:{lot_id}",
        kind="buy",
        trade_on=acquired_on,
        symbol=symbol,
        shares=shares,
        amount=cost_basis if cost_basis is not None else Decimal(0),
        is_opening_lot=True,
        is_basis_unknown=cost_basis is None,
        holding_period_start_on=holding_period_start_on,
        wash_adjustment_amount=wash_adjustment_amount,
    )


def _generic_lot(row: _Row, index: int) -> TransactionRow | None:
    before = len(row.problems)
    key = _account_key(row)
    lot_id = _identifier(row, "lot_id", max_length=_EXTERNAL_ID_MAX)
    symbol = _symbol(row, "symbol")
    if symbol == CASH_SYMBOL:
        row.error("symbol", "cash has no lots")
    shares = _shares(row, "shares")
    _positive(row, "shares", shares)
    cost_basis = _money(row, "cost_basis", required=False)
    _positive(row, "cost_basis", cost_basis, allow_zero=True)
    acquired_on = _iso_date(row, "acquired_date")
    hps = _iso_date(row, "holding_period_start", required=False)
    wash = _money(row, "wash_adjustment", required=False)
    _positive(row, "wash_adjustment", wash, allow_zero=True)
    if hps is not None and acquired_on is not None and hps > acquired_on:
        row.error("holding_period_start", "must be on or before the acquired date")
    if wash is not None and cost_basis is None and row.text("cost_basis") == "":
        row.error("wash_adjustment", "needs a cost basis")
    if len(row.problems) > before:
        return None
    assert key and lot_id and symbol and shares is not None and acquired_on  # noqa: S101, PT018 - the row has no problems  # nosec B101
    return _opening_lot(
        row,
        index=index,
        key=key,
        lot_id=lot_id,
        symbol=symbol,
        shares=shares,
        cost_basis=cost_basis,
        acquired_on=acquired_on,
        holding_period_start_on=hps,
        wash_adjustment_amount=wash,
    )


def _generic_position(row: _Row, index: int) -> PositionRow | None:
    before = len(row.problems)
    key = _account_key(row)
    symbol = _symbol(row, "symbol")
    as_of = _iso_date(row, "as_of", required=False)
    if symbol == CASH_SYMBOL:
        # A cash row's "shares" is the cash balance in USD (one share of cash is one dollar).
        amount = _money(row, "shares")
        if row.text("cost_basis"):
            row.error("cost_basis", "cash has no cost basis")
        if len(row.problems) > before:
            return None
        assert key is not None and amount is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
        return PositionRow(row.line, key[0], key[1], CASH_SYMBOL, amount, None, as_of)
    shares = _shares(row, "shares")
    _positive(row, "shares", shares)
    cost_basis = _money(row, "cost_basis", required=False)
    _positive(row, "cost_basis", cost_basis, allow_zero=True)
    if len(row.problems) > before:
        return None
    assert key is not None and symbol and shares is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
    return PositionRow(row.line, key[0], key[1], symbol, shares, cost_basis, as_of)


# --- accounts (generic only) ------------------------------------------------------------------

# Optional profile columns: (column, parser kind). Rates are fractions (0.238, not 23.8).
ACCOUNT_PROFILE_COLUMNS: dict[str, str] = {
    "currency": "currency",
    "opened_on": "date?",
    "short_term_rate": "rate",
    "long_term_rate": "rate",
    "state_rate": "rate",
    "filing_status": "choice:filing_status",
    "budget_kind": "choice:budget_kind",
    "annual_budget_amount": "money?",
    "short_term_gains_budget_amount": "money?",
    "long_term_gains_budget_amount": "money?",
    "carryforward_short_amount": "money",
    "carryforward_long_amount": "money",
    "carryforward_year": "int?",
    "transition_years": "int?",
    "transition_tolerance_rate": "rate",
    "is_harvesting_enabled": "bool",
    "harvest_threshold_rate": "rate",
    "cash_reserve_amount": "money",
    "withdrawal_amount": "money",
    "withdrawal_frequency": "choice:withdrawal_frequency",
    "next_withdrawal_on": "date?",
    "drift_tolerance_rate": "rate",
    "min_trade_amount": "money",
    "is_fractional_shares": "bool",
    "fee_rate": "rate",
    "lot_method": "choice:lot_method",
    "lot_selection": "choice:lot_selection",
}
_GENERIC_ACCOUNT_COLUMNS = (
    _Column("household_id"),
    _Column("household_name"),
    _Column("account_number"),
    _Column("custodian"),
    _Column("name"),
    _Column("registration"),
    *(_Column(name, required=False) for name in ACCOUNT_PROFILE_COLUMNS),
)


def _account_row(row: _Row, choices: dict[str, Sequence[str]]) -> AccountRow | None:
    before = len(row.problems)
    household_id = _identifier(row, "household_id")
    household_name = _identifier(row, "household_name", max_length=200)
    key = _account_key(row)
    values: dict[str, Any] = {
        "name": _identifier(row, "name", max_length=200),
        "registration": _choice(row, "registration", choices["registration"]),
    }
    for name, parser in ACCOUNT_PROFILE_COLUMNS.items():
        if name not in row.cells:
            continue  # column absent: keep the model default (create) or the stored value
        text = row.text(name)
        nullable = parser.endswith("?")
        if not text:
            if nullable:
                values[name] = None
            continue  # empty cell in a non-nullable column: not given
        kind = parser.rstrip("?")
        if kind == "rate":
            values[name] = _decimal(row, name, places=_RATE_PLACES, max_integer_digits=1)
        elif kind == "money":
            values[name] = _money(row, name)
        elif kind == "date":
            values[name] = _iso_date(row, name)
        elif kind == "bool":
            values[name] = _boolean(row, name)
        elif kind == "int":
            if not (text.isascii() and text.isdigit()) or len(text) > 4:
                row.error(name, f"{text[:40]!r} is not a whole number")
            else:
                values[name] = int(text)
        elif kind == "currency":
            if not re.fullmatch(r"[A-Z]{3}", text.upper()):
                row.error(name, f"{text[:40]!r} is not an ISO 4217 code")
            else:
                values[name] = text.upper()
        else:
            choice_of = kind.split(":", 1)[1]
            values[name] = _choice(row, name, choices[choice_of], upper=choice_of == "lot_method")
    if len(row.problems) > before:
        return None
    assert household_id and household_name and key  # noqa: S101, PT018 - the row has no problems  # nosec B101
    return AccountRow(row.line, household_id, household_name, key[0], key[1], values)


# --- Schwab-like layout ------------------------------------------------------------------------

SCHWAB_CUSTODIAN = "schwab"
_SCHWAB_ACCOUNT = _Column("Account Number", aliases=("Account", "Account #"))
_SCHWAB_TRANSACTION_COLUMNS = (
    _SCHWAB_ACCOUNT,
    _Column("Date"),
    _Column("Action"),
    _Column("Symbol"),
    _Column("Quantity"),
    _Column("Amount"),
    _Column("Description", required=False),
    _Column("Price", required=False),
    _Column("Fees & Comm", required=False),
)
_SCHWAB_LOT_COLUMNS = (
    _SCHWAB_ACCOUNT,
    _Column("Symbol"),
    _Column("Open Date"),
    _Column("Quantity"),
    _Column("Cost Basis"),
)
_SCHWAB_POSITION_COLUMNS = (
    _SCHWAB_ACCOUNT,
    _Column("Symbol"),
    _Column("Quantity"),
    _Column("Cost Basis"),
    _Column("Market Value", required=False),
)
# Schwab action names (as shown in its CSV exports) -> our kind. "signed" cash moves become a
# deposit when the amount is positive and a withdrawal when it is negative.
_SCHWAB_ACTIONS: dict[str, str] = {
    "buy": "buy",
    "reinvest shares": "buy",
    "sell": "sell",
    "cash dividend": "dividend",
    "qualified dividend": "dividend",
    "non-qualified div": "dividend",
    "special dividend": "dividend",
    "pr yr special div": "dividend",
    "pr yr cash div": "dividend",
    "pr yr non-qual div": "dividend",
    "reinvest dividend": "dividend",
    "pr yr div reinvest": "dividend",
    "short term cap gain": "dividend",
    "long term cap gain": "dividend",
    "short term cap gain reinvest": "dividend",
    "long term cap gain reinvest": "dividend",
    "bank interest": "dividend",
    "credit interest": "dividend",
    "bond interest": "dividend",
    "journal": "signed",
    "moneylink transfer": "signed",
    "moneylink deposit": "signed",
    "wire funds": "signed",
    "wire received": "signed",
    "wire sent": "signed",
    "funds received": "signed",
    "bank transfer": "signed",
    "service fee": "fee",
    "adr mgmt fee": "fee",
    "margin interest": "fee",
    "foreign tax paid": "fee",
    "advisor fee": "fee",
}
_SCHWAB_SKIP_FIRST_CELLS = {"transactions total", "account total", "total"}


def _title_as_of(preamble: Sequence[Sequence[str]]) -> date | None:
    """Schwab's title line: ``"Positions for account ... as of 02:45 AM ET, 09/25/2020"``."""
    for cells in preamble:
        text = " ".join(cells)
        if "as of" not in text.lower():
            continue
        found = US_DATE_RE.findall(text.split("as of", 1)[-1])
        if found:
            month, day, year = found[-1]
            try:
                title_date = date(int(year), int(month), int(day))
            except ValueError:
                return None
            return title_date if date_in_range(title_date) else None
    return None


def _signed_trade(
    row: _Row,
    *,
    kind: str,
    quantity_name: str,
    amount_name: str,
) -> tuple[Decimal | None, Decimal | None]:
    """Custodian signs: a buy pays cash (amount <= 0), a sell receives it (amount >= 0)."""
    quantity = _shares(row, quantity_name, custodian_format=True)
    amount = _money(row, amount_name, custodian_format=True)
    if quantity is not None:
        if quantity == 0:
            row.error(quantity_name, "must not be 0")
            quantity = None
        elif kind == "buy" and quantity < 0:
            row.error(quantity_name, f"a buy must have a positive quantity, got {quantity}")
            quantity = None
        else:
            quantity = abs(quantity)  # sells: Schwab shows them positive, Fidelity negative
    if amount is not None:
        if kind == "buy" and amount > 0:
            row.error(amount_name, f"a buy pays cash: expected a negative amount, got {amount}")
            amount = None
        elif kind == "sell" and amount < 0:
            row.error(amount_name, f"a sell receives cash: expected >= 0, got {amount}")
            amount = None
        else:
            amount = abs(amount)
    return quantity, amount


def _signed_cash(row: _Row, *, kind: str, amount_name: str) -> tuple[str, Decimal] | None:
    amount = _money(row, amount_name, custodian_format=True)
    if amount is None:
        return None
    if kind == "signed":
        if amount == 0:
            row.error(amount_name, "a transfer of 0 moves nothing")
            return None
        return ("deposit" if amount > 0 else "withdrawal"), abs(amount)
    if kind == "dividend" and amount < 0:
        row.error(amount_name, f"income must be positive, got {amount} (reversals unsupported)")
        return None
    if kind == "fee" and amount > 0:
        row.error(amount_name, f"a fee takes cash: expected a negative amount, got {amount}")
        return None
    return kind, abs(amount)


def _custodian_transaction(
    row: _Row,
    *,
    index: int,
    custodian: str,
    kind: str,
    trade_on: date | None,
    account_number: str | None,
    symbol_name: str,
    quantity_name: str,
    amount_name: str,
    id_parts: Sequence[str],
    seen: Counter[str],
    drop_symbol: bool = False,
) -> TransactionRow | None:
    before = len(row.problems)
    shares: Decimal | None = None
    amount: Decimal | None
    symbol: str | None
    if kind in TRADE_KINDS:
        symbol = _symbol(row, symbol_name)
        shares, amount = _signed_trade(
            row, kind=kind, quantity_name=quantity_name, amount_name=amount_name
        )
    else:
        symbol = "" if drop_symbol else _symbol(row, symbol_name, required=False)
        if kind == "signed" and _strip_money_format(row.text(quantity_name)):
            row.error(quantity_name, "security journals are not supported; import them as lots")
        cash = _signed_cash(row, kind=kind, amount_name=amount_name)
        kind, amount = cash if cash else (kind, None)
        if kind in ("deposit", "withdrawal", "fee"):
            symbol = ""
    if len(row.problems) > before or trade_on is None or not account_number:
        return None  # a bad date or account was reported by the caller
    assert symbol is not None and amount is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
    return TransactionRow(
        line=row.line,
        order=-index,  # custodian exports list the newest entry first
        custodian=custodian,
        account_number=account_number,
        external_id=_derived_id(custodian, [trade_on.isoformat(), *id_parts], seen),
        kind=kind,
        trade_on=trade_on,
        symbol=symbol,
        shares=shares,
        amount=amount,
    )


def _schwab_transactions(records: Iterator[tuple[int, list[str]]], parsed: ParsedFile) -> None:
    parsed.custodian = SCHWAB_CUSTODIAN
    table = _find_header(
        records, _SCHWAB_TRANSACTION_COLUMNS, strict=False, problems=parsed.problems
    )
    if table is None:
        return
    seen: Counter[str] = Counter()
    rows = _data_rows(records, table, strict=False, parsed=parsed, skip=_schwab_total)
    for index, row in enumerate(rows):
        account_number = _identifier(row, "Account Number")
        trade_on = _us_date(row, "Date", prefer_as_of=True)
        action = row.text("Action")
        kind = _SCHWAB_ACTIONS.get(_norm(action))
        if kind is None:
            row.error("Action", f"{action[:40]!r} is not a supported action")
            continue
        made = _custodian_transaction(
            row,
            index=index,
            custodian=SCHWAB_CUSTODIAN,
            kind=kind,
            trade_on=trade_on,
            account_number=account_number,
            symbol_name="Symbol",
            quantity_name="Quantity",
            amount_name="Amount",
            id_parts=[
                account_number or "",
                _norm(action),
                row.text("Symbol").upper(),
                row.text("Quantity"),
                row.text("Amount"),
            ],
            seen=seen,
        )
        if made is not None:
            parsed.rows.append(made)


def _schwab_total(cells: list[str]) -> bool:
    """Schwab's closing "Transactions Total" / "Account Total" / "Total" rows."""
    first = next((cell for cell in cells if cell.strip()), "")
    return _norm(first) in _SCHWAB_SKIP_FIRST_CELLS


def _schwab_lots(records: Iterator[tuple[int, list[str]]], parsed: ParsedFile) -> None:
    _custodian_lots(
        records,
        parsed,
        custodian=SCHWAB_CUSTODIAN,
        columns=_SCHWAB_LOT_COLUMNS,
        date_column="Open Date",
        skip=_schwab_total,
    )


def _custodian_lots(
    records: Iterator[tuple[int, list[str]]],
    parsed: ParsedFile,
    *,
    custodian: str,
    columns: Sequence[_Column],
    date_column: str,
    skip: Callable[[list[str]], bool] | None = None,
) -> None:
    """Open lots from a custodian's lot export (Schwab-like and Fidelity-like share the shape)."""
    parsed.custodian = custodian
    table = _find_header(records, columns, strict=False, problems=parsed.problems)
    if table is None:
        return
    seen: Counter[str] = Counter()
    rows = _data_rows(
        records, table, strict=False, parsed=parsed, **({"skip": skip} if skip else {})
    )
    for index, row in enumerate(rows):
        before = len(row.problems)
        account_number = _identifier(row, "Account Number")
        symbol = _symbol(row, "Symbol")
        acquired_on = _us_date(row, date_column)
        shares = _shares(row, "Quantity", custodian_format=True)
        _positive(row, "Quantity", shares)
        cost_basis = _money(row, "Cost Basis", custodian_format=True, required=False)
        _positive(row, "Cost Basis", cost_basis, allow_zero=True)
        if len(row.problems) > before:
            continue
        assert account_number and symbol and acquired_on and shares is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
        # The lot exports name no lot: the id is the symbol, open date and occurrence.
        lot_key = f"{symbol}-{acquired_on:%Y%m%d}"
        seen[f"{account_number}|{lot_key}"] += 1
        parsed.rows.append(
            _opening_lot(
                row,
                index=index,
                key=(custodian, account_number),
                lot_id=f"{lot_key}-{seen[f'{account_number}|{lot_key}']}",
                symbol=symbol,
                shares=shares,
                cost_basis=cost_basis,
                acquired_on=acquired_on,
            )
        )


def _schwab_positions(records: Iterator[tuple[int, list[str]]], parsed: ParsedFile) -> None:
    parsed.custodian = SCHWAB_CUSTODIAN
    table = _find_header(records, _SCHWAB_POSITION_COLUMNS, strict=False, problems=parsed.problems)
    if table is None:
        return
    parsed.as_of = _title_as_of(table.preamble)
    for row in _data_rows(records, table, strict=False, parsed=parsed, skip=_schwab_total):
        symbol_text = _norm(row.text("Symbol"))
        before = len(row.problems)
        account_number = _identifier(row, "Account Number")
        if symbol_text.startswith("cash & cash investments"):
            if "Market Value" not in row.cells:
                row.error("Market Value", "the cash row needs the 'Market Value' column")
                continue
            amount = _money(row, "Market Value", custodian_format=True)
            if len(row.problems) > before:
                continue
            assert account_number and amount is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
            parsed.rows.append(
                PositionRow(row.line, SCHWAB_CUSTODIAN, account_number, CASH_SYMBOL, amount)
            )
            continue
        symbol = _symbol(row, "Symbol")
        shares = _shares(row, "Quantity", custodian_format=True)
        _positive(row, "Quantity", shares)
        cost_basis = _money(row, "Cost Basis", custodian_format=True, required=False)
        _positive(row, "Cost Basis", cost_basis, allow_zero=True)
        if len(row.problems) > before:
            continue
        assert account_number and symbol and shares is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
        parsed.rows.append(
            PositionRow(row.line, SCHWAB_CUSTODIAN, account_number, symbol, shares, cost_basis)
        )


# --- Fidelity-like layout ----------------------------------------------------------------------

FIDELITY_CUSTODIAN = "fidelity"
_FIDELITY_ACCOUNT = _Column("Account Number", aliases=("Account #",))
_FIDELITY_TRANSACTION_COLUMNS = (
    _FIDELITY_ACCOUNT,
    _Column("Run Date", aliases=("Date", "Trade Date")),
    _Column("Action"),
    _Column("Symbol"),
    _Column("Quantity"),
    _Column("Amount ($)", aliases=("Amount",)),
    _Column("Settlement Date", required=False),
)
_FIDELITY_LOT_COLUMNS = (
    _FIDELITY_ACCOUNT,
    _Column("Symbol"),
    _Column("Date Acquired", aliases=("Acquired", "Acquired Date", "Open Date")),
    _Column("Quantity"),
    _Column("Cost Basis", aliases=("Cost Basis Total", "Cost Basis ($)")),
)
_FIDELITY_POSITION_COLUMNS = (
    _FIDELITY_ACCOUNT,
    _Column("Symbol"),
    _Column("Quantity"),
    _Column("Cost Basis Total", aliases=("Cost Basis",)),
    _Column("Current Value", aliases=("Current value",), required=False),
)
# Action texts start with a verb phrase followed by the security, e.g.
# "YOU BOUGHT APPLE INC (AAPL) (Cash)"; longest prefixes are tried first.
_FIDELITY_ACTIONS: tuple[tuple[str, str], ...] = (
    ("YOU BOUGHT", "buy"),
    ("YOU SOLD", "sell"),
    ("REINVESTMENT", "buy"),
    ("DIVIDEND RECEIVED", "dividend"),
    ("INTEREST EARNED", "dividend"),
    ("LONG-TERM CAP GAIN", "dividend"),
    ("SHORT-TERM CAP GAIN", "dividend"),
    ("ELECTRONIC FUNDS TRANSFER RECEIVED", "signed"),
    ("ELECTRONIC FUNDS TRANSFER PAID", "signed"),
    ("CASH CONTRIBUTION", "signed"),
    ("DIRECT DEPOSIT", "signed"),
    ("TRANSFERRED FROM", "signed"),
    ("TRANSFERRED TO", "signed"),
    ("JOURNALED", "signed"),
    ("WIRE TRANSFER", "signed"),
    ("DEPOSIT", "signed"),
    ("ADVISORY FEE", "fee"),
    ("FEE CHARGED", "fee"),
    ("FOREIGN TAX PAID", "fee"),
    ("MARGIN INTEREST", "fee"),
    ("PURCHASE INTO CORE ACCOUNT", "sweep"),
    ("REDEMPTION FROM CORE ACCOUNT", "sweep"),
)
# Fidelity's core (sweep) money-market positions are cash, not securities: trades in them are
# cash moving to cash. Positions files flag them with a trailing "**".
FIDELITY_CORE_SYMBOLS = frozenset({"SPAXX", "FDRXX", "FZFXX", "SPRXX", "FCASH", "CORE"})
_DOWNLOADED_RE = re.compile(
    r"date downloaded\s+([A-Za-z]{3})-(\d{1,2})-(\d{4})", re.IGNORECASE | re.ASCII
)


def _fidelity_action(action: str) -> str | None:
    upper = " ".join(action.upper().split())
    return next((kind for prefix, kind in _FIDELITY_ACTIONS if upper.startswith(prefix)), None)


def _is_core(symbol_text: str) -> bool:
    text = symbol_text.strip().upper()
    return text.endswith("**") or text in FIDELITY_CORE_SYMBOLS


def _fidelity_transactions(records: Iterator[tuple[int, list[str]]], parsed: ParsedFile) -> None:
    parsed.custodian = FIDELITY_CUSTODIAN
    table = _find_header(
        records, _FIDELITY_TRANSACTION_COLUMNS, strict=False, problems=parsed.problems
    )
    if table is None:
        return
    seen: Counter[str] = Counter()
    rows = _data_rows(records, table, strict=False, parsed=parsed)
    for index, row in enumerate(rows):
        account_number = _identifier(row, "Account Number")
        trade_on = _us_date(row, "Run Date")
        action = row.text("Action")
        kind = _fidelity_action(action)
        if kind is None:
            row.error("Action", f"{action[:40]!r} is not a supported action")
            continue
        core = _is_core(row.text("Symbol"))
        if kind == "sweep" or (core and kind in TRADE_KINDS):
            parsed.skipped += 1
            continue
        made = _custodian_transaction(
            row,
            index=index,
            custodian=FIDELITY_CUSTODIAN,
            kind=kind,
            trade_on=trade_on,
            account_number=account_number,
            symbol_name="Symbol",
            quantity_name="Quantity",
            amount_name="Amount ($)",
            id_parts=[
                account_number or "",
                " ".join(action.upper().split()),
                row.text("Symbol").upper(),
                row.text("Quantity"),
                row.text("Amount ($)"),
            ],
            seen=seen,
            drop_symbol=core,
        )
        if made is not None:
            parsed.rows.append(made)


def _fidelity_lots(records: Iterator[tuple[int, list[str]]], parsed: ParsedFile) -> None:
    _custodian_lots(
        records,
        parsed,
        custodian=FIDELITY_CUSTODIAN,
        columns=_FIDELITY_LOT_COLUMNS,
        date_column="Date Acquired",
    )


def _fidelity_positions(records: Iterator[tuple[int, list[str]]], parsed: ParsedFile) -> None:
    parsed.custodian = FIDELITY_CUSTODIAN
    table = _find_header(
        records, _FIDELITY_POSITION_COLUMNS, strict=False, problems=parsed.problems
    )
    if table is None:
        return
    footer_lines: list[str] = []
    for row in _data_rows(records, table, strict=False, parsed=parsed, footer_lines=footer_lines):
        symbol_text = row.text("Symbol")
        if _norm(symbol_text) == "pending activity":
            parsed.skipped += 1
            continue
        before = len(row.problems)
        account_number = _identifier(row, "Account Number")
        if _is_core(symbol_text):
            if "Current Value" not in row.cells:
                row.error("Current Value", "the core (cash) row needs 'Current Value'")
                continue
            amount = _money(row, "Current Value", custodian_format=True)
            if len(row.problems) > before:
                continue
            assert account_number and amount is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
            parsed.rows.append(
                PositionRow(row.line, FIDELITY_CUSTODIAN, account_number, CASH_SYMBOL, amount)
            )
            continue
        symbol = _symbol(row, "Symbol")
        shares = _shares(row, "Quantity", custodian_format=True)
        _positive(row, "Quantity", shares)
        cost_basis = _money(row, "Cost Basis Total", custodian_format=True, required=False)
        _positive(row, "Cost Basis Total", cost_basis, allow_zero=True)
        if len(row.problems) > before:
            continue
        assert account_number and symbol and shares is not None  # noqa: S101, PT018 - the row has no problems  # nosec B101
        parsed.rows.append(
            PositionRow(row.line, FIDELITY_CUSTODIAN, account_number, symbol, shares, cost_basis)
        )
    # The footer line "Date downloaded Apr-22-2026 9:29 p.m ET" dates the snapshot.
    for line in footer_lines:
        found = _DOWNLOADED_RE.search(line)
        if found:
            try:
                downloaded = datetime.strptime(  # noqa: DTZ007 - a calendar date only
                    f"{found[1]}-{found[2]}-{found[3]}", "%b-%d-%Y"
                ).date()
            except ValueError:
                downloaded = None
            parsed.as_of = downloaded if downloaded and date_in_range(downloaded) else None


# --- dispatch ----------------------------------------------------------------------------------


def _generic(
    columns: Sequence[_Column], make: Callable[[_Row, int], Any]
) -> Callable[[Iterator[tuple[int, list[str]]], ParsedFile], None]:
    def parse(records: Iterator[tuple[int, list[str]]], parsed: ParsedFile) -> None:
        table = _find_header(records, columns, strict=True, problems=parsed.problems)
        if table is None:
            return
        for index, row in enumerate(_data_rows(records, table, strict=True, parsed=parsed)):
            made = make(row, index)
            if made is not None:
                parsed.rows.append(made)

    return parse


def parse_file(
    *,
    kind: ImportKind,
    layout: ImportLayout,
    content: bytes,
    account_choices: dict[str, Sequence[str]] | None = None,
) -> ParsedFile:
    """Decode and parse a custodian file into internal rows; never raises on bad input.

    Args:
        kind: what the file holds.
        layout: whose columns it follows.
        content: the raw bytes (UTF-8, BOM allowed).
        account_choices: allowed values of the account choice fields (accounts files).

    Returns:
        The rows that parsed, the number skipped on purpose (totals, footers, cash sweeps,
        blank lines are not counted) and every problem with its line and field.
    """
    parsed = ParsedFile()
    text, problems = decode_content(content)
    if text is None:
        parsed.problems = problems
        parsed.is_file_broken = True
        return parsed
    parsers: dict[tuple[ImportLayout, ImportKind], Callable[..., None]] = {
        (ImportLayout.GENERIC, ImportKind.TRANSACTIONS): _generic(
            _GENERIC_TRANSACTION_COLUMNS, _generic_transaction
        ),
        (ImportLayout.GENERIC, ImportKind.LOTS): _generic(_GENERIC_LOT_COLUMNS, _generic_lot),
        (ImportLayout.GENERIC, ImportKind.POSITIONS): _generic(
            _GENERIC_POSITION_COLUMNS, _generic_position
        ),
        (ImportLayout.GENERIC, ImportKind.ACCOUNTS): _generic(
            _GENERIC_ACCOUNT_COLUMNS,
            lambda row, _index: _account_row(row, account_choices or {}),
        ),
        (ImportLayout.SCHWAB, ImportKind.TRANSACTIONS): _schwab_transactions,
        (ImportLayout.SCHWAB, ImportKind.LOTS): _schwab_lots,
        (ImportLayout.SCHWAB, ImportKind.POSITIONS): _schwab_positions,
        (ImportLayout.FIDELITY, ImportKind.TRANSACTIONS): _fidelity_transactions,
        (ImportLayout.FIDELITY, ImportKind.LOTS): _fidelity_lots,
        (ImportLayout.FIDELITY, ImportKind.POSITIONS): _fidelity_positions,
    }
    parser = parsers.get((layout, kind))
    if parser is None:
        parsed.problems.append(
            ImportProblem(0, "kind", f"the {layout} layout has no {kind} files (generic only)")
        )
        parsed.is_file_broken = True
        return parsed
    try:
        parser(_records(text), parsed)
    except _BrokenCsvError as exc:
        parsed.problems.append(ImportProblem(exc.line, "file", exc.reason))
        parsed.is_file_broken = True
    if any(p.field == "header" for p in parsed.problems):
        parsed.is_file_broken = True
    if not parsed.problems and not parsed.rows and not parsed.skipped:
        parsed.problems.append(ImportProblem(1, "file", "has a header but no data rows"))
    return parsed
