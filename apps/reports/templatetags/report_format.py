"""Number formats for printed reports: money with separators, percentages, signed amounts."""

from decimal import ROUND_HALF_EVEN, Decimal

from django import template

register = template.Library()


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


@register.filter
def money(value: object) -> str:
    """``1234.5`` -> ``$1,234.50``; negatives as ``-$1,234.50``; None as a dash."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    cents = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents):,.2f}"


@register.filter
def money0(value: object) -> str:
    """Whole dollars: ``1234.5`` -> ``$1,234``."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    whole = amount.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    sign = "-" if whole < 0 else ""
    return f"{sign}${abs(whole):,.0f}"


@register.filter
def pct(value: object, places: int = 1) -> str:
    """A fraction as a percentage: ``0.1234`` -> ``12.3%``."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    return f"{amount * 100:.{int(places)}f}%"


@register.filter
def shares(value: object) -> str:
    """Share counts without trailing zeros: ``12.500000`` -> ``12.5``."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    text = f"{amount:,.6f}".rstrip("0").rstrip(".")
    return text or "0"


@register.filter
def minus(value: float, other: float) -> float:
    """``value - other`` for statistics shown side by side (e.g. return versus the model)."""
    return float(value) - float(other)
