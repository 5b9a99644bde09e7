"""CSV of a model version: ``symbol_or_model,weight`` rows (one cash row ``CASH``).

A row names a security by symbol, or a sleeve as ``model:<CODE>`` (a bare code is accepted when
no security has that symbol). Weights are fractions (``0.25``) or percentages (``25%``). A file
is accepted whole or rejected whole, with every bad line listed.
"""

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from apps.common.csv_out import SafeCsvWriter, formula_leading, formula_leading_message
from apps.common.exceptions import ApplicationError
from apps.common.limits import NUMBER_RE
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


def targets_csv_parse(text: str) -> ParsedTargets:
    """Read a version's CSV (a header row is optional).

    Raises:
        ApplicationError: ``CSV_INVALID`` with ``extra["lines"]`` = ``{line number: message}``.
    """
    parsed = ParsedTargets()
    errors: dict[int, str] = {}
    seen: set[str] = set()
    for number, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and tuple(c.lower() for c in cells[:2]) == HEADER:
            continue
        if len(cells) != 2:
            errors[number] = "expected 2 columns: symbol_or_model,weight"
            continue
        name, raw = cells
        if formula_leading(name):
            errors[number] = formula_leading_message(name)
            continue
        try:
            weight = _weight(raw)
        except (InvalidOperation, ValueError):
            errors[number] = f"weight {raw!r} is not a number"
            continue
        if weight < 0:
            errors[number] = "weight must not be negative"
            continue
        key = name.upper() if not name.lower().startswith(SLEEVE_PREFIX) else name.lower()
        if key in seen:
            errors[number] = f"{name} appears twice"
            continue
        seen.add(key)
        if name.upper() == CASH_ROW:
            parsed.cash_weight = weight
        elif name.lower().startswith(SLEEVE_PREFIX):
            code = name[len(SLEEVE_PREFIX) :].strip().upper()
            if not code:
                errors[number] = "model: needs a code"
                continue
            parsed.sleeve_weights[code] = weight
        elif not name:
            errors[number] = "empty symbol"
        else:
            parsed.security_weights[name.upper()] = weight
            parsed.bare_names.add(name.upper())
    if errors:
        raise ApplicationError(
            f"CSV rejected: {len(errors)} bad line(s)",
            code=ModelsErrorCode.CSV_INVALID,
            extra={"lines": errors},
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
