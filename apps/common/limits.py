"""Input limits that match storage: the one place every bound on a user's input comes from.

Forms, API serializers, file imports and query parameters check their values against these, so
a value the database cannot hold is refused with a clear message (a form error, a 400, an import
problem on its line) instead of failing in PostgreSQL with a 500.

- **Shares**: ``TaxLot.shares_micro`` stores shares × 10^6 in a bigint, so a lot holds fewer
  than (2^63 − 1) / 10^6 ≈ 9.2 × 10^12 shares: counts are refused from 10^12 (``SHARES_MAX``).
- **Money**: ``TaxLot.basis_cents`` stores the basis × 100 in a bigint: amounts are refused
  from 10^16 USD (``MONEY_MAX``), far below the (20, 2) columns' 10^18.
- **Dates**: business dates (trade, as-of, price, restriction dates) lie in 1900-01-01 ..
  2200-12-31; beyond them date arithmetic overflows (``date.min`` − 30 days) and nothing real
  happens there.
- **Files**: an uploaded or imported file is at most ``FILE_MAX_BYTES`` (50 MB).
- **Lists of ids** in one request: at most ``IDS_MAX`` (10,000); each id is a query parameter
  and PostgreSQL takes at most 65,535 a statement.
- **Pages**: ``limit`` 1 .. ``PAGE_LIMIT_MAX``, ``offset`` 0 .. ``OFFSET_MAX``.
- **Text**: no NUL or other control character (PostgreSQL refuses NUL in text); numbers and
  dates in ASCII digits only (``Decimal("١٢٣")`` and ``int("١٢٣")`` read Arabic-Indic digits as
  123).
"""

import re
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any, Final

from django.core.exceptions import BadRequest, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpRequest
from django.utils.deconstruct import deconstructible

from apps.common.money import MICRO_DIGITS

BIGINT_MAX: Final = 2**63 - 1


def _integer_digits_fitting(scale: int) -> int:
    """The most integer digits a value may have so that value × ``scale`` fits a bigint."""
    return len(str(BIGINT_MAX // scale)) - 1


SHARES_MAX_INTEGER_DIGITS: Final = _integer_digits_fitting(10**MICRO_DIGITS)  # 12
SHARES_MAX: Final = Decimal(10) ** SHARES_MAX_INTEGER_DIGITS  # exclusive
MONEY_MAX_INTEGER_DIGITS: Final = _integer_digits_fitting(100)  # 16
MONEY_MAX: Final = Decimal(10) ** MONEY_MAX_INTEGER_DIGITS  # exclusive
PRICE_MAX_INTEGER_DIGITS: Final = 14  # common.money.PRICE is (20, 6); no generated column

DATE_MIN: Final = date(1900, 1, 1)
DATE_MAX: Final = date(2200, 12, 31)
DATE_RANGE_MESSAGE: Final = f"a date between {DATE_MIN} and {DATE_MAX}"
YEAR_MIN: Final = DATE_MIN.year
YEAR_MAX: Final = DATE_MAX.year

FILE_MAX_BYTES: Final = 50 * 1024 * 1024

# The highest tracking error target a model or an account may set (annualised fraction): above
# it a "target" no longer keeps the account near its model.
TRACKING_ERROR_TARGET_MAX: Final = Decimal("0.20")

IDS_MAX: Final = 10_000
PAGE_LIMIT_MAX: Final = 500
OFFSET_MAX: Final = 10**9

# A plain decimal number, ASCII digits only (``\d`` alone would take any script's digits).
NUMBER_RE: Final = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", re.ASCII)
ISO_DATE_RE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
US_DATE_RE: Final = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})", re.ASCII)

# The same rules as JSON Schema patterns, for the OpenAPI schema (clients and the fuzz test).
DATE_PATTERN: Final = r"^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
TEXT_PATTERN: Final = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

# C0 controls and DEL, except tab, line feed and carriage return (multi-line notes keep them).
_CONTROL_RE: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Digits of any script with signs and separators: how numbers, dates and ids are written.
_NUMERIC_TEXT_RE: Final = re.compile(r"\s*[+\-]?[\d.,/:\-\s]*\d[\d.,/:\-\s]*")


def date_in_range(value: date) -> bool:
    """Whether a business date lies within ``DATE_MIN`` .. ``DATE_MAX``."""
    return DATE_MIN <= value <= DATE_MAX


def validate_date_in_range(value: date | None) -> None:
    """Field validator: a business date within ``DATE_MIN`` .. ``DATE_MAX``."""
    if value is not None and not date_in_range(value):
        raise ValidationError(DATE_RANGE_MESSAGE, code="date_range")


def parse_iso_date(text: str) -> date:
    """A ``YYYY-MM-DD`` date within the supported range (query parameters, files).

    Raises:
        ValueError: not such a date, with the message to show.
    """
    if not ISO_DATE_RE.fullmatch(text):
        raise ValueError(f"{text[:40]!r} is not a date (YYYY-MM-DD)")
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a real date") from None
    if not date_in_range(value):
        raise ValueError(f"{text} is not {DATE_RANGE_MESSAGE}")
    return value


def page_date(request: HttpRequest, name: str = "as_of") -> date | None:
    """A page's date query parameter: None when absent or empty.

    Raises:
        BadRequest: a malformed date or one outside the range (the 400 page says which).
    """
    raw = request.GET.get(name) or request.POST.get(name) or ""
    if not raw:
        return None
    try:
        return parse_iso_date(raw.strip())
    except ValueError as exc:
        raise BadRequest(f"{name}: {exc}") from exc


def has_control_character(text: str) -> bool:
    """Whether the text holds NUL or another control character (tab and newlines allowed)."""
    return _CONTROL_RE.search(text) is not None


def reads_as_foreign_number(text: str) -> bool:
    """Whether the text is a number or date written with another script's digits.

    ``"١٢٣"``, ``"١٢٣.٠٠"``, ``"٢٠٢٤-٠١-٠٢"``: Python's ``int``, ``Decimal`` and Django's date
    parsing read them as ASCII numbers. Text that merely contains such a digit (a name) is fine.
    """
    return (
        not text.isascii()
        and _NUMERIC_TEXT_RE.fullmatch(text) is not None
        and any(not ch.isascii() for ch in text if unicodedata.decimal(ch, None) is not None)
    )


@deconstructible
class FractionValidator:
    """A rate that is a fraction: ``0 <= value < high`` (``open_low``: > 0; ``closed_high``: <=).

    ``high`` is 1 unless a setting has a narrower range (a tracking error target: at most 0.20).
    """

    def __init__(
        self, *, open_low: bool = False, closed_high: bool = False, high: Decimal | None = None
    ) -> None:
        """Which ends of [0, high] are allowed (``high`` None: 1)."""
        self.open_low = open_low
        self.closed_high = closed_high
        self.high = high

    @property
    def upper(self) -> Decimal:
        """The upper end of the range (a fraction)."""
        return Decimal(1) if self.high is None else self.high

    def __call__(self, value: Decimal | None) -> None:
        """Raise ValidationError outside the range."""
        if value is None:
            return
        low_ok = value > 0 if self.open_low else value >= 0
        high_ok = value <= self.upper if self.closed_high else value < self.upper
        if not (low_ok and high_ok):
            low = "above 0" if self.open_low else "from 0"
            high = f"{'to' if self.closed_high else 'below'} {self.upper.normalize():f}"
            raise ValidationError(
                f"a fraction {low} {high} (0.05 for 5%), got {value}", code="fraction_range"
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FractionValidator) and (
            other.open_low,
            other.closed_high,
            other.upper,
        ) == (self.open_low, self.closed_high, self.upper)

    def __hash__(self) -> int:
        return hash((self.open_low, self.closed_high, self.upper))


def fraction_validators(
    *, open_low: bool = False, closed_high: bool = False, high: Decimal | None = None
) -> list[Any]:
    """Validators of a rate field: a fraction in [0, high), (0, high) or [0, high] (high: 1)."""
    if high is None:  # as deconstructed in the migrations before ``high`` existed
        return [FractionValidator(open_low=open_low, closed_high=closed_high)]
    return [FractionValidator(open_low=open_low, closed_high=closed_high, high=high)]


def tracking_error_target_validators() -> list[Any]:
    """Validators of a tracking error target: above 0, at most ``TRACKING_ERROR_TARGET_MAX``."""
    return fraction_validators(open_low=True, closed_high=True, high=TRACKING_ERROR_TARGET_MAX)


TURNOVER_BUDGET_MAX: Final = Decimal(5)  # 500% of value a year


def turnover_budget_validators() -> list[Any]:
    """Validators of a yearly turnover budget: 0 to ``TURNOVER_BUDGET_MAX`` of value a year."""
    return fraction_validators(closed_high=True, high=TURNOVER_BUDGET_MAX)


def non_negative_money_validators() -> list[Any]:
    """Validators of an amount that cannot be negative (budgets, carryforwards, minimums)."""
    return [MinValueValidator(Decimal(0)), MaxValueValidator(MONEY_MAX - Decimal("0.01"))]
