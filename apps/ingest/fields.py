"""Field parsers: each reads one cell of a ``Row``, reports its own problem, returns None if bad."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from apps.common.csv_out import formula_leading, formula_leading_message
from apps.common.limits import (
    DATE_RANGE_MESSAGE,
    MONEY_MAX_INTEGER_DIGITS,
    NUMBER_RE,
    SHARES_MAX_INTEGER_DIGITS,
    US_DATE_RE,
    date_in_range,
    parse_iso_date,
)
from apps.ingest.reading import Row

SHARES_PLACES = 6
MONEY_PLACES = 2
_SYMBOL_RE = re.compile(r"[A-Z0-9][A-Z0-9.\-/]{0,15}")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n"}


def strip_money_format(text: str) -> str:
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


def decimal(
    row: Row,
    name: str,
    *,
    places: int,
    max_integer_digits: int,
    custodian_format: bool = False,
    required: bool = True,
    signed: bool = True,
    text: str | None = None,
) -> Decimal | None:
    """A plain decimal (ASCII digits) of at most ``places`` places and ``max_integer_digits``.

    ``signed=False``: a number written with a sign is refused (fills: every number is positive).
    """
    raw = row.text(name) if text is None else text.strip()
    value_text = strip_money_format(raw) if custodian_format else raw
    if not value_text:
        if required:
            row.error(name, "is required")
        return None
    if not NUMBER_RE.fullmatch(value_text) or (not signed and value_text[0] in "+-"):
        row.error(name, f"{raw[:40]!r} is not {'a' if signed else 'a positive'} number")
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


def shares(row: Row, name: str, **kwargs: Any) -> Decimal | None:
    """A share count: 6 places, below ``SHARES_MAX``."""
    return decimal(
        row, name, places=SHARES_PLACES, max_integer_digits=SHARES_MAX_INTEGER_DIGITS, **kwargs
    )


def money(row: Row, name: str, **kwargs: Any) -> Decimal | None:
    """An amount in USD: 2 places, below ``MONEY_MAX``."""
    return decimal(
        row, name, places=MONEY_PLACES, max_integer_digits=MONEY_MAX_INTEGER_DIGITS, **kwargs
    )


def positive(row: Row, name: str, value: Decimal | None, *, allow_zero: bool = False) -> bool:
    """Whether a parsed number is > 0 (>= 0 with ``allow_zero``); reports it when not."""
    if value is None:
        return False
    if value < 0 or (value == 0 and not allow_zero):
        row.error(name, f"must be {'>= 0' if allow_zero else '> 0'}, got {value}")
        return False
    return True


def _in_range(row: Row, name: str, value: date) -> date | None:
    if not date_in_range(value):
        row.error(name, f"{value.isoformat()} is not {DATE_RANGE_MESSAGE}")
        return None
    return value


def iso_date(row: Row, name: str, *, required: bool = True) -> date | None:
    """``YYYY-MM-DD`` within the business date range."""
    text = row.text(name)
    if not text:
        if required:
            row.error(name, "is required")
        return None
    try:
        return parse_iso_date(text)
    except ValueError as exc:
        row.error(name, str(exc))
        return None


def us_date(row: Row, name: str, *, prefer_as_of: bool = False) -> date | None:
    """``MM/DD/YYYY``; Schwab's ``MM/DD/YYYY as of MM/DD/YYYY`` gives the as-of date."""
    text = row.text(name)
    if not text:
        row.error(name, "is required")
        return None
    found = US_DATE_RE.findall(text)
    if not found or US_DATE_RE.match(text) is None:
        row.error(name, f"{text[:40]!r} is not a date (MM/DD/YYYY)")
        return None
    month, day, year = found[-1] if prefer_as_of else found[0]
    try:
        return _in_range(row, name, date(int(year), int(month), int(day)))
    except ValueError:
        row.error(name, f"{text[:40]!r} is not a real date")
        return None


def symbol(row: Row, name: str, *, required: bool = True) -> str | None:
    """A ticker (upper-cased); options and other instruments are refused."""
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


def identifier(row: Row, name: str, *, max_length: int = 64, no_spaces: bool = False) -> str | None:
    """An id or name: required, bounded, never starting a spreadsheet formula."""
    text = row.text(name)
    if not text:
        row.error(name, "is required")
        return None
    if len(text) > max_length:
        row.error(name, f"is longer than {max_length} characters")
        return None
    if no_spaces and any(ch.isspace() for ch in text):
        row.error(name, "must not contain spaces")
        return None
    if formula_leading(text):
        row.error(name, formula_leading_message(text))
        return None
    return text


def boolean(row: Row, name: str) -> bool | None:
    """``yes``/``no`` (also 1/0, true/false, y/n)."""
    text = row.text(name).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    row.error(name, f"{text[:40]!r} is not yes/no")
    return None


def choice(row: Row, name: str, choices: Sequence[str], *, upper: bool = False) -> str | None:
    """One of ``choices`` (compared in lower case, or upper with ``upper``)."""
    text = row.text(name)
    text = text.upper() if upper else text.lower()
    if text not in choices:
        row.error(name, f"{text[:40]!r} is not one of {', '.join(choices)}")
        return None
    return text


def derived_id(prefix: str, parts: Sequence[str], seen: Counter[str]) -> str:
    """A stable id for custodian rows that carry none: content hash plus occurrence number."""
    key = "|".join(parts)
    seen[key] += 1
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{prefix}:{digest}:{seen[key]}"
