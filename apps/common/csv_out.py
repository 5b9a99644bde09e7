"""The one CSV writer of the project: no cell can start a spreadsheet formula (CSV injection).

OWASP's CSV injection guidance: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is read as a formula by spreadsheet programs (``=HYPERLINK(…)`` leaks data,
``=cmd|…`` ran commands in old Excel). Such a cell is written with a single quote in front,
which spreadsheets show as text and never evaluate. We also treat a line feed and the
full-width forms (``＝ ＋ － ＠``, which some spreadsheet input methods turn into the ASCII ones)
as formula-leading.

A plain number (``-12.50``, ``+3``, ``-1e-05``: ASCII digits, one optional sign, an optional
decimal point and exponent) is left as it is: it is a number to every spreadsheet, never a
formula, and custodians and the tax software read our signed amounts as numbers.

Identifiers (account numbers, symbols, external ids) are refused at import when they are
formula-leading (``formula_leading``), so a neutralized cell in a file we send is the sign of
a value stored before that rule, not something custodians see in normal operation.
"""

import csv
import re
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_LEADING_CHARACTERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class _TextSink(Protocol):
    def write(self, text: str, /) -> Any: ...


def formula_leading(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula (it starts with = + - @ tab CR LF).

    Use it to refuse identifiers at the doors (imports, forms, serializers); plain numbers are
    not identifiers and are not exempted here.
    """
    return text.startswith(FORMULA_LEADING_CHARACTERS)


def formula_leading_message(text: str) -> str:
    """The reason given when an identifier is refused for its first character."""
    return (
        f"{text[:40]!r} starts with {text[:1]!r}: identifiers may not start with "
        "= + - @ or a tab or line break (spreadsheets read them as formulas)"
    )


def safe_cell(value: object) -> str:
    """The cell's text, with a ``'`` in front when it is formula-leading and not a plain number.

    ``None`` is the empty cell.
    """
    text = "" if value is None else str(value)
    if formula_leading(text) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class SafeCsvWriter:
    """``csv.writer`` whose every cell goes through ``safe_cell``."""

    def __init__(self, sink: _TextSink, *, lineterminator: str = "\r\n") -> None:
        """Write to ``sink`` (a text buffer or file opened with ``newline=""``)."""
        self._writer = csv.writer(sink, lineterminator=lineterminator)

    def writerow(self, row: Iterable[object]) -> None:
        """Write one row."""
        self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        """Write every row."""
        for row in rows:
            self.writerow(row)
