"""Bytes in, rows out: decode a file, find its header by its declared layout, yield its data rows.

No database here. A ``Layout`` maps our field names to the file's columns; every row's cells
are keyed by our field, and every problem names the column the user sees in the file.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from apps.common.limits import FILE_MAX_BYTES
from apps.ingest.problems import Problem

HEADER_SEARCH_LINES = 10


def norm(name: str) -> str:
    """A header cell or label compared loosely: trimmed, lower case, single spaces."""
    return " ".join(name.strip().lower().split())


@dataclass(frozen=True)
class Column:
    """A column of a file: the header the user sees, other accepted spellings, required or not."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = True

    def spellings(self) -> tuple[str, ...]:
        """Every accepted header spelling, normalized."""
        return (norm(self.name), *(norm(a) for a in self.aliases))


class Header(StrEnum):
    """How a layout's header row is found and checked."""

    STRICT = "strict"  # the first line; unknown, missing or repeated columns are problems
    FIRST = "first"  # the first non-blank line; columns not in the layout are ignored
    SEARCH = "search"  # the first of 10 lines naming every required column (custodian exports)


@dataclass(frozen=True)
class Layout:
    """How a source writes a file: our field -> its column, and how its header and rows are found.

    ``total_rows``: first cells (normalized) of a custodian's total rows, skipped and counted.
    """

    columns: Mapping[str, Column]
    header: Header = Header.STRICT
    total_rows: frozenset[str] = frozenset()

    def column_name(self, name: str) -> str:
        """The file's column for our field ``name`` (``name`` itself when it has none)."""
        column = self.columns.get(name)
        return column.name if column is not None else name


def columns(*required: str, optional: Sequence[str] = ()) -> dict[str, Column]:
    """Columns of one of our layouts, whose headers are our field names."""
    made = {name: Column(name) for name in required}
    made.update({name: Column(name, required=False) for name in optional})
    return made


@dataclass
class Reading:
    """What reading a file found besides its rows: problems, rows skipped, title and footer."""

    problems: list[Problem] = field(default_factory=list)
    skipped: int = 0
    data_lines: int = 0
    preamble: list[list[str]] = field(default_factory=list)  # lines above a searched header
    footer_lines: list[str] = field(default_factory=list)  # one-value lines after the data
    broken_rows: list[dict[str, str]] = field(default_factory=list)  # cells of bad rows
    is_file_broken: bool = False  # encoding, header or CSV structure: no row can be trusted

    def file_problem(self, line: int, name: str, reason: str) -> None:
        """A problem with the file as a whole: no row of it can be trusted."""
        self.problems.append(Problem(line, name, reason))
        self.is_file_broken = True


@dataclass
class Row:
    """One data record: cells by our field name; problems are reported under the file's column."""

    line: int
    cells: dict[str, str]
    layout: Layout
    problems: list[Problem]

    def text(self, name: str) -> str:
        """The cell of field ``name``, trimmed ("" when the file has no such column)."""
        return self.cells.get(name, "").strip()

    def error(self, name: str, reason: str) -> None:
        """Report a problem with field ``name`` on this row."""
        self.problems.append(Problem(self.line, self.layout.column_name(name), reason))


def decode_content(content: bytes, reading: Reading) -> str | None:
    """Decode UTF-8 (with or without BOM); refuse other encodings, binary and huge files."""
    if len(content) > FILE_MAX_BYTES:
        reading.file_problem(0, "file", f"is larger than {FILE_MAX_BYTES // 2**20} MB; split it")
        return None
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        reading.file_problem(0, "file", "is UTF-16; save it as UTF-8 (CSV UTF-8)")
        return None
    if b"\x00" in content:
        reading.file_problem(0, "file", "contains NUL bytes: a binary file, not CSV text")
        return None
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        reading.file_problem(
            content[: exc.start].count(b"\n") + 1,
            "file",
            f"is not UTF-8 (byte 0x{content[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8 (CSV UTF-8)",
        )
        return None
    return text


class BrokenCsvError(Exception):
    """The text is not CSV (an unclosed quote): no record from ``line`` on can be read."""

    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line = line
        self.reason = reason


def records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on (CRLF, LF and quoted newlines handled)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise BrokenCsvError(reader.line_num or start, f"is not valid CSV: {exc}") from exc
        yield start, cells
        start = reader.line_num + 1


def is_blank(cells: Sequence[str]) -> bool:
    """Whether a record has no value."""
    return all(not cell.strip() for cell in cells)


@dataclass
class _Table:
    header_line: int
    index: dict[str, int]  # our field -> position
    width: int


def _header_problems(
    layout: Layout, line: int, cells: list[str], index: dict[str, int]
) -> list[Problem]:
    names = [norm(cell) for cell in cells]
    known = {s for c in layout.columns.values() for s in c.spellings()}
    strict = layout.header is Header.STRICT
    problems = [
        Problem(line, "header", f"missing column {column.name!r}")
        for name, column in layout.columns.items()
        if column.required and name not in index
    ]
    if strict:
        problems.extend(
            Problem(line, "header", f"unknown column {cell.strip()!r}")
            for cell, name in zip(cells, names, strict=True)
            if name not in known
        )
    problems.extend(
        Problem(line, "header", f"column {name!r} appears twice")
        for name, count in Counter(names).items()
        if count > 1 and (strict or name in known)
    )
    return problems


def _index(layout: Layout, cells: list[str]) -> dict[str, int]:
    names = [norm(cell) for cell in cells]
    index: dict[str, int] = {}
    for name, column in layout.columns.items():
        found = next((names.index(s) for s in column.spellings() if s in names), None)
        if found is not None:
            index[name] = found
    return index


def _find_header(
    lines: Iterator[tuple[int, list[str]]], layout: Layout, reading: Reading
) -> _Table | None:
    """Locate the header: the first record, the first non-blank one, or a search (``Header``)."""
    required = [name for name, c in layout.columns.items() if c.required]
    for seen, (line, cells) in enumerate(lines):
        if is_blank(cells) and layout.header is not Header.STRICT:
            continue
        index = _index(layout, cells)
        if layout.header is Header.SEARCH:
            if all(name in index for name in required):
                return _Table(line, index, len(cells))
            reading.preamble.append(cells)
            if seen + 1 >= HEADER_SEARCH_LINES:
                break
            continue
        if is_blank(cells):
            reading.file_problem(line, "header", "the header row is empty")
            return None
        problems = _header_problems(layout, line, cells, index)
        for problem in problems:
            reading.file_problem(problem.line, problem.field, problem.reason)
        return None if problems else _Table(line, index, len(cells))
    wanted = ", ".join(repr(layout.columns[name].name) for name in required)
    reading.file_problem(
        1, "header", f"no header row naming {wanted} in the first {HEADER_SEARCH_LINES} lines"
    )
    return None


def _width_problem(layout: Layout, table: _Table, cells: list[str]) -> str:
    if layout.header is Header.STRICT and len(cells) != table.width:
        what = "truncated" if len(cells) < table.width else "too long"
        return f"{what}: {len(cells)} values, the header has {table.width}"
    needed = max(table.index.values()) + 1
    if len(cells) < needed:
        return f"truncated: {len(cells)} values, at least {needed} are needed"
    return ""


def _data_rows(
    lines: Iterator[tuple[int, list[str]]], table: _Table, layout: Layout, reading: Reading
) -> Iterator[Row]:
    """Yield data records with their line numbers.

    Blank lines are ignored; custodian total rows are counted and passed over. In searched
    (custodian) layouts a blank line after data starts the footer: rows there with at most one
    value (disclaimers, "Date downloaded ...") go to ``footer_lines``; a row with more values
    is data again, so nothing that looks like data is ever dropped silently.
    """
    after_blank = False
    searched = layout.header is Header.SEARCH
    for line, cells in lines:
        if is_blank(cells):
            after_blank = bool(reading.data_lines)
            continue
        if searched and after_blank and sum(1 for c in cells if c.strip()) <= 1:
            reading.skipped += 1
            reading.footer_lines.append(" ".join(cells))
            continue
        if norm(next((c for c in cells if c.strip()), "")) in layout.total_rows:
            reading.skipped += 1
            continue
        reading.data_lines += 1
        named = {name: cells[i] for name, i in table.index.items() if i < len(cells)}
        width = _width_problem(layout, table, cells)
        if width:
            reading.problems.append(Problem(line, "row", width))
            reading.broken_rows.append(named)
            continue
        before = len(reading.problems)
        yield Row(line, named, layout, reading.problems)
        # The consumer has read the row when asked for the next: did it find problems?
        if len(reading.problems) > before:
            reading.broken_rows.append(named)


def rows_read(content: bytes | str, layout: Layout, reading: Reading) -> Iterator[Row]:
    """Decode ``content`` (bytes) and yield its data rows; problems go to ``reading``."""
    text = content if isinstance(content, str) else decode_content(content, reading)
    if text is None:
        return
    if not text.strip():
        reading.file_problem(1, "header", "the file is empty; a header row is required")
        return
    lines = records(text)
    try:
        table = _find_header(lines, layout, reading)
        if table is not None:
            yield from _data_rows(lines, table, layout, reading)
    except BrokenCsvError as exc:
        reading.file_problem(exc.line, "file", exc.reason)
