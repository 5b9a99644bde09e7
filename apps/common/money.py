"""Money, prices, shares and rates: field sizes and the only Decimal<->float conversions.

Money is Decimal at rest and on the wire; floats exist only inside the solver (STYLE.md §7).
"""

import math
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Final, TypedDict

import numpy as np
import numpy.typing as npt


class DecimalSize(TypedDict):
    """The size of a stored or transmitted Decimal (``DecimalField`` keyword arguments)."""

    max_digits: int
    decimal_places: int


MONEY: Final[DecimalSize] = {"max_digits": 20, "decimal_places": 2}
PRICE: Final[DecimalSize] = {"max_digits": 20, "decimal_places": 6}
SHARES: Final[DecimalSize] = {"max_digits": 20, "decimal_places": 6}
WEIGHT: Final[DecimalSize] = {"max_digits": 9, "decimal_places": 8}
RATE: Final[DecimalSize] = WEIGHT

ZERO: Final = Decimal(0)
CENT: Final = Decimal("0.01")
SHARE_QUANTUM: Final = Decimal("0.000001")
MICRO_DIGITS: Final = 6  # decimal places of SHARES and PRICE


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


def product_fits(shares_micro: npt.NDArray[np.int64], price_micro: npt.NDArray[np.int64]) -> bool:
    """Whether ``product_cents`` can take these arrays without overflowing int64."""
    if not len(shares_micro):
        return True
    if int(np.max(price_micro)) >= 2**40 or int(np.min(shares_micro)) < 0:
        return False  # fraction x price must stay far below 2^63; negative shares: Decimal path
    whole = (shares_micro // 10**MICRO_DIGITS).astype(np.float64)
    return float(np.max(whole * price_micro)) < 2.0**62


def product_cents(
    shares_micro: npt.NDArray[np.int64], price_micro: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """``round_money(shares × price)`` in integer cents, exactly, element by element.

    Args:
        shares_micro: shares × 10^6 (exact: SHARES has 6 decimal places), >= 0.
        price_micro: prices × 10^6 (exact: PRICE has 6 decimal places), >= 0.

    shares × price is a multiple of 10^-12 dollars; it is split so that no intermediate exceeds
    int64 (callers check ``product_fits`` first), then rounded half to even like ``round_money``.
    """
    whole, fraction = np.divmod(shares_micro, 10**MICRO_DIGITS)
    micro_dollars = whole * price_micro
    high, low = np.divmod(micro_dollars, 10**4)  # cents, and the rest in 10^-6 dollars
    rest = low * 10**6 + fraction * price_micro  # in 10^-12 dollars
    carry, remainder = np.divmod(rest, 10**10)
    cents = high + carry
    half = 5 * 10**9
    round_up = (remainder > half) | ((remainder == half) & (cents % 2 == 1))
    out: npt.NDArray[np.int64] = cents + round_up
    return out
