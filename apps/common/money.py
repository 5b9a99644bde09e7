"""Money, prices, shares and rates: field sizes and the only Decimal<->float conversions.

Money is Decimal at rest and on the wire; floats exist only inside the solver (STYLE.md §7).
"""

import math
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Final

MONEY: Final = {"max_digits": 20, "decimal_places": 2}
PRICE: Final = {"max_digits": 20, "decimal_places": 6}
SHARES: Final = {"max_digits": 20, "decimal_places": 6}
WEIGHT: Final = {"max_digits": 9, "decimal_places": 8}
RATE: Final = WEIGHT

ZERO: Final = Decimal(0)
CENT: Final = Decimal("0.01")
SHARE_QUANTUM: Final = Decimal("0.000001")


def to_decimal(value: float | int | str) -> Decimal:
    """Convert a solver float (or an int/str) to Decimal through its shortest repr.

    Args:
        value: a number; floats are converted via ``repr`` so 0.1 stays 0.1.

    Returns:
        The exact Decimal of the value's shortest decimal representation.
    """
    if isinstance(value, float):  # numpy floats too: repr(float(x)) is the shortest digits
        if not math.isfinite(value):
            raise ValueError(f"not a finite amount: {value!r}")
        return Decimal(repr(float(value)))
    return Decimal(value)


def to_float(value: Decimal) -> float:
    """Convert a Decimal to float for the solver (the only place this happens)."""
    return float(value)


def round_money(value: Decimal) -> Decimal:
    """Round an amount to cents, half to even (account currency)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def round_shares_down(value: Decimal, *, whole: bool) -> Decimal:
    """Round a share count toward zero: to whole shares or to the share quantum (1e-6)."""
    quantum = Decimal(1) if whole else SHARE_QUANTUM
    return value.quantize(quantum, rounding=ROUND_DOWN)
