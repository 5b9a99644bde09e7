"""CSV of a model version: ``symbol_or_model,weight`` rows (one cash row ``CASH``).

A row names a security by symbol, or a sleeve as ``model:<CODE>`` (a bare code is accepted when
no security has that symbol). Weights are fractions (``0.25``) or percentages (``25%``). A file
is accepted whole or rejected whole, with every bad line listed.
"""

import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from apps.common.csv_out import SafeCsvWriter, formula_leading, formula_leading_message
from apps.common.limits import NUMBER_RE
from apps.ingest.problems import FileRejectedError, Problem
from apps.ingest.reading import BrokenCsvError, is_blank, records
from apps.models.errors import ModelsErrorCode

HEADER = ("symbol_or_model", "weight")
CASH_ROW = "CASH"
SLEEVE_PREFIX = "model:"
_PLACES = Decimal("1e-8")  # common.money.WEIGHT


@dataclass
class ParsedTargets:
    """Targets read from a CSV: securities and sleeves by name, and the cash weight."""

    cash_weight: Decimal = Decimal("0")
    security_weights: dict[str, Decimal] = field(default_factory=dict)
    sleeve_weights: dict[str, Decimal] = field(default_factory=dict)
    bare_names: set[str] = field(default_factory=set)  # neither "model:" nor CASH: resolve later


def _weight(raw: str) -> Decimal:
    text = raw.strip()
    scale = Decimal(1)
    if text.endswith("%"):
        text, scale = text[:-1].strip(), Decimal(100)
    if not NUMBER_RE.fullmatch(text):
        raise InvalidOperation(text)  # "1e3", "NaN", other scripts' digits
    value = Decimal(text) / scale
    if not value.is_finite():
        raise InvalidOperation
    return value


def _target(parsed: ParsedTargets, line: int, cells: list[str], seen: set[str]) -> Problem | None:
    """Read one ``name,weight`` record into ``parsed``; its problem, if any."""
    if len(cells) != len(HEADER):
        return Problem(line, "row", "expected 2 columns: symbol_or_model,weight")
    name, raw = cells
    if formula_leading(name):
        return Problem(line, "symbol_or_model", formula_leading_message(name))
    try:
        weight = _weight(raw)
    except (InvalidOperation, ValueError):
        return Problem(line, "weight", f"weight {raw!r} is not a number")
    if weight < 0:
        return Problem(line, "weight", "weight must not be negative")
    key = name.upper() if not name.lower().startswith(SLEEVE_PREFIX) else name.lower()
    if key in seen:
        return Problem(line, "symbol_or_model", f"{name} appears twice")
    seen.add(key)
    if name.upper() == CASH_ROW:
        parsed.cash_weight = weight
    elif name.lower().startswith(SLEEVE_PREFIX):
        code = name[len(SLEEVE_PREFIX) :].strip().upper()
        if not code:
            return Problem(line, "symbol_or_model", "model: needs a code")
        parsed.sleeve_weights[code] = weight
    elif not name:
        return Problem(line, "symbol_or_model", "empty symbol")
    else:
        parsed.security_weights[name.upper()] = weight
        parsed.bare_names.add(name.upper())
    return None


def targets_csv_parse(text: str) -> ParsedTargets:
    """Read a version's CSV (a header row is optional; ``#`` starts a comment line).

    Raises:
        FileRejectedError: ``CSV_INVALID`` with ``extra["lines"]`` = ``{line number: message}``.
    """
    parsed = ParsedTargets()
    problems: list[Problem] = []
    seen: set[str] = set()
    try:
        for line, row in records(text.lstrip("\ufeff")):
            cells = [cell.strip() for cell in row]
            if is_blank(cells) or cells[0].startswith("#"):
                continue
            if line == 1 and tuple(c.lower() for c in cells[: len(HEADER)]) == HEADER:
                continue
            problem = _target(parsed, line, cells, seen)
            if problem is not None:
                problems.append(problem)
    except BrokenCsvError as exc:
        problems.append(Problem(exc.line, "file", exc.reason))
    if problems:
        raise FileRejectedError(
            problems,
            message=f"CSV rejected: {len(problems)} bad line(s)",
            code=ModelsErrorCode.CSV_INVALID,
            extra={"lines": {p.line: p.reason for p in problems}},
        )
    return parsed


def targets_csv_write(*, cash_weight: Decimal, targets: list[tuple[str, Decimal]]) -> str:
    """Write rows ``label,weight`` (labels ``SYMBOL`` or ``model:CODE``) and the cash row."""
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for label, weight in targets:
        writer.writerow((label, format(weight.quantize(_PLACES), "f")))
    writer.writerow((CASH_ROW, format(cash_weight.quantize(_PLACES), "f")))
    return buffer.getvalue()
