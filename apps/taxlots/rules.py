"""Dated tax rules: holding period and term, the wash-sale window, Schedule D netting and carryover.

Pure functions over ``date`` and ``Decimal``; no clock, no I/O. Sources for every rule are listed in
``docs/tax-rules.md``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from apps.taxlots.errors import CarryforwardError, Problem, shortened

ZERO = Decimal(0)
#: USD amounts are below this in size (exclusive), as in the ledger's numeric(20, 2) columns;
#: sums of them rounded to cents stay within Decimal's default 28 digits.
MAX_AMOUNT = Decimal(10**18)

#: IRC §1222: "more than 1 year".
LONG_TERM_MONTHS = 12
#: IRC §1091(a): "30 days before ... and ending 30 days after".
WASH_SALE_WINDOW_DAYS = 30


class Term(StrEnum):
    """Character of a capital gain or loss (IRC §1222)."""

    SHORT = "short"
    LONG = "long"


def add_months(start: dt.date, months: int) -> dt.date:
    """Return ``start`` moved by whole calendar months, clamped to the target month's last day.

    Args:
        start: any date.
        months: calendar months to add (may be negative).

    Returns:
        The same day of the month ``months`` later; when that month is shorter (Feb 29 + 12
        months, Jan 31 + 1 month) the last day of that month.
    """
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(start.day, last_day))


def long_term_start(holding_period_start: dt.date, months: int = LONG_TERM_MONTHS) -> dt.date:
    """Return the first sale date on which shares are long-term ("held more than" ``months``).

    The rule (IRC §1222(3): "held for more than 1 year"):

    * The holding period excludes the acquisition day and includes the sale day, both trade
      dates (Rev. Rul. 66-97; Rev. Rul. 70-598): it begins the day after ``holding_period_start``.
    * It is counted in calendar months, not days (Rev. Rul. 66-7, 1966-1 C.B. 188): ``months``
      months beginning on day D of a month end the day before day D of the month ``months``
      later, so shares are long-term from that day D. Bought 2019-03-15: the period begins
      2019-03-16, a year of it ends 2020-03-15 (short-term), long-term from 2020-03-16.
    * When that month has no day D (a period beginning on the 29th, 30th or 31st), the months
      end with that month and long-term begins on the first day of the next month. (No ruling
      states this case; it is the one reading under which a sale on the anniversary is never
      "more than" the period, as Pub 550 "Holding Period" requires: bought Feb 5, sold Feb 5 of
      the next year is short-term.)
    * So a lot acquired on the **last day of a month** begins its holding period on the first
      day of the next month and is long-term from the first day of the month after the month
      ``months`` after the acquisition month (Rev. Rul. 66-7; *Caspe v. United States*, 694
      F.2d 1116 (8th Cir. 1982): bought 1972-11-30, sold 1973-05-31 was held six months, not
      "more than six months"). Bought 2019-02-28: long-term from 2020-03-01, not 2020-02-29.

    Every case is one formula: the day after ``holding_period_start`` moved ``months`` calendar
    months later, or the first day of the following month when the target month is too short.
    (Clamping to the month's last day instead would make a lot bought 2020-02-28, or 03-30 for
    6 months, long-term on its anniversary, which is not "more than" the period.)

    Args:
        holding_period_start: the acquisition (trade) date, or the tacked date after a wash sale
            (a computed date, treated as an acquisition on that date: see
            :func:`tacked_holding_period_start`).
        months: holding period required, in calendar months (12 under IRC §1222).

    Returns:
        The earliest long-term sale date.

    Raises:
        OverflowError, ValueError: when that date would be after 9999-12-31.
    """
    first_day = holding_period_start + dt.timedelta(days=1)
    index = first_day.year * 12 + (first_day.month - 1) + months
    year, month0 = divmod(index, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    if first_day.day <= last_day:
        return dt.date(year, month0 + 1, first_day.day)
    return dt.date(year, month0 + 1, last_day) + dt.timedelta(days=1)


def is_long_term(
    holding_period_start: dt.date, sold_on: dt.date, months: int = LONG_TERM_MONTHS
) -> bool:
    """Return whether shares held from ``holding_period_start``, sold on ``sold_on``, are long-term.

    Args:
        holding_period_start: the acquisition (trade) date, or the tacked date after a wash sale.
        sold_on: the sale (trade) date.
        months: holding period required, in calendar months.
    """
    return sold_on >= long_term_start(holding_period_start, months)


def term_of(
    holding_period_start: dt.date, sold_on: dt.date, months: int = LONG_TERM_MONTHS
) -> Term:
    """Return the term (short or long) of shares sold on ``sold_on``; see :func:`is_long_term`."""
    return Term.LONG if is_long_term(holding_period_start, sold_on, months) else Term.SHORT


def wash_sale_window(
    sold_on: dt.date, days: int = WASH_SALE_WINDOW_DAYS
) -> tuple[dt.date, dt.date]:
    """Return the wash-sale window of a loss sale, both ends inclusive (IRC §1091(a)).

    Args:
        sold_on: the loss sale's trade date.
        days: calendar days on each side (30: the 61-day period of Treas. Reg. 1.1091-1(a)).

    Returns:
        ``(sold_on - days, sold_on + days)``, each end cut at the calendar's ends (0001-01-01,
        9999-12-31: a window reaching past them holds no other date; docs/tax-rules.md §2).
    """
    delta = dt.timedelta(days=days)
    first = sold_on - delta if sold_on - dt.date.min >= delta else dt.date.min
    last = sold_on + delta if dt.date.max - sold_on >= delta else dt.date.max
    return first, last


def tacked_holding_period_start(
    replacement_acquired_on: dt.date, sold_holding_period_start: dt.date, sold_on: dt.date
) -> dt.date:
    """Return a wash-sale replacement's holding-period start (IRC §1223(3)).

    The replacement's holding period includes the period the sold shares were held (IRC
    §1223(3); Pub 550 "Wash Sales": "your holding period for the new stock ... includes the
    holding period of the stock ... sold"), so it starts at its own acquisition date minus the
    days the sold shares were held (``sold_on - sold_holding_period_start``: the sold shares'
    acquisition day excluded, their sale day included, Rev. Rul. 66-97). Days are the only unit
    in which the two periods add exactly; no source adds them in months.

    The result is a computed date, used as the replacement's acquisition date: the long-term
    test counts calendar months from the day after it like any other (:func:`long_term_start`),
    the month-end rule of Rev. Rul. 66-7 included when the computed date is a month's last day.
    Example: shares bought 2019-01-31 (a month end), sold at a loss 2019-03-15 (43 days held)
    and replaced 2019-03-20: the replacement starts 2019-02-05 and is long-term from 2020-02-06.

    Args:
        replacement_acquired_on: trade date of the replacement shares.
        sold_holding_period_start: holding-period start of the shares sold at a loss (their
            own, possibly imported or already tacked, start, not their acquisition date).
        sold_on: trade date of the loss sale.
    """
    return replacement_acquired_on - (sold_on - sold_holding_period_start)


# ------------------------------------------------------------------ Schedule D netting, carryover


class FilingStatus(StrEnum):
    """Form 1040 filing status; only married-filing-separately changes the loss limit."""

    SINGLE = "single"
    MARRIED_FILING_JOINTLY = "married_filing_jointly"
    MARRIED_FILING_SEPARATELY = "married_filing_separately"
    HEAD_OF_HOUSEHOLD = "head_of_household"
    QUALIFYING_SURVIVING_SPOUSE = "qualifying_surviving_spouse"


def capital_loss_limit(filing_status: FilingStatus) -> Decimal:
    """Return the most net capital loss deductible against ordinary income (IRC §1211(b)), USD."""
    if filing_status is FilingStatus.MARRIED_FILING_SEPARATELY:
        return Decimal(1500)
    return Decimal(3000)


@dataclass(frozen=True, slots=True)
class YearInput:
    """One tax year's capital results before carryover, in USD.

    Attributes:
        year: the tax year.
        short_term_net: net short-term gain (+) or loss (-) of the year (Schedule D lines 1a-5).
        long_term_net: net long-term gain (+) or loss (-) of the year (Schedule D lines 8a-13).
        carryover_in_short_term: short-term loss carried in, a positive amount (line 6); ``None``
            means "not stated": zero for the first year, the previous year's carryover after it.
        carryover_in_long_term: long-term loss carried in, a positive amount (line 14).
    """

    year: int
    short_term_net: Decimal
    long_term_net: Decimal
    carryover_in_short_term: Decimal | None = None
    carryover_in_long_term: Decimal | None = None


@dataclass(frozen=True, slots=True)
class YearResult:
    """Schedule D for one year, unrounded USD amounts.

    Attributes:
        net_short_term: Schedule D line 7 (after the short-term carryover in).
        net_long_term: Schedule D line 15 (after the long-term carryover in).
        net_capital: line 16, the sum of the two.
        deduction_against_ordinary_income: line 21, a positive amount (at most 3,000 or 1,500).
        carryover_out_short_term: short-term loss carried to next year (worksheet line 8), >= 0.
        carryover_out_long_term: long-term loss carried to next year (worksheet line 13), >= 0.
    """

    year: int
    carryover_in_short_term: Decimal
    carryover_in_long_term: Decimal
    net_short_term: Decimal
    net_long_term: Decimal
    net_capital: Decimal
    deduction_against_ordinary_income: Decimal
    carryover_out_short_term: Decimal
    carryover_out_long_term: Decimal


def schedule_d_year(
    *,
    year: int,
    filing_status: FilingStatus,
    short_term_net: Decimal,
    long_term_net: Decimal,
    carryover_in_short_term: Decimal,
    carryover_in_long_term: Decimal,
) -> YearResult:
    """Net one year's gains and losses and split the unused loss by character.

    Follows Schedule D (lines 7, 15, 16, 21) and its Capital Loss Carryover Worksheet, assuming
    taxable income before the deduction is at least the deduction (worksheet line 3 >= line 2):
    the allowed deduction uses the short-term loss first, so long-term loss is what mostly carries.

    Args:
        year: the tax year (carried into the result).
        filing_status: sets the limit (1,500 married filing separately, else 3,000).
        short_term_net: the year's net short-term result, USD.
        long_term_net: the year's net long-term result, USD.
        carryover_in_short_term: short-term loss carried in, positive USD.
        carryover_in_long_term: long-term loss carried in, positive USD.

    Returns:
        The year's netting and carryovers, unrounded.
    """
    net_short = short_term_net - carryover_in_short_term
    net_long = long_term_net - carryover_in_long_term
    net = net_short + net_long
    deduction = min(-net, capital_loss_limit(filing_status)) if net < ZERO else ZERO

    carry_short = carry_long = ZERO
    if net < ZERO:
        short_loss = -net_short if net_short < ZERO else ZERO  # worksheet line 5
        if short_loss > ZERO:
            long_gain = net_long if net_long > ZERO else ZERO  # line 6
            carry_short = max(short_loss - (deduction + long_gain), ZERO)  # lines 7-8
        if net_long < ZERO:
            short_gain = net_short if net_short > ZERO else ZERO  # line 10
            deduction_left = max(deduction - short_loss, ZERO)  # line 11
            carry_long = max(-net_long - (short_gain + deduction_left), ZERO)  # lines 12-13
    return YearResult(
        year=year,
        carryover_in_short_term=carryover_in_short_term,
        carryover_in_long_term=carryover_in_long_term,
        net_short_term=net_short,
        net_long_term=net_long,
        net_capital=net,
        deduction_against_ordinary_income=deduction,
        carryover_out_short_term=carry_short,
        carryover_out_long_term=carry_long,
    )


def carryforward(filing_status: FilingStatus | str, years: Sequence[YearInput]) -> list[YearResult]:
    """Run Schedule D netting year by year, each year's carryover out flowing into the next.

    Args:
        filing_status: a :class:`FilingStatus` or its value (``"single"``...).
        years: consecutive tax years in increasing order. The first year's carryover in defaults
            to zero; a later year's carryover in is the previous year's carryover out, and may be
            stated only if it agrees (zero counts as "not stated").

    Returns:
        One :class:`YearResult` per input year, in order.

    Raises:
        CarryforwardError: listing every problem (unknown status, gaps between years, negative
            carryovers, amounts of 10**18 USD or more, stated carryovers that disagree with the
            previous year's).
    """
    problems: list[Problem] = []
    status: FilingStatus | None
    try:
        status = FilingStatus(filing_status)
    except ValueError:
        allowed = ", ".join(s.value for s in FilingStatus)
        problems.append(
            Problem("input", "filing_status", f"{filing_status!r} is not one of {allowed}")
        )
        status = None
    if not years:
        problems.append(Problem("input", "years", "at least one year is required"))
    for index, item in enumerate(years):
        where = f"year {item.year} (years[{index}])"
        if index and item.year != years[index - 1].year + 1:
            problems.append(
                Problem(where, "year", f"must follow {years[index - 1].year} with no gap")
            )
        for field in (
            "short_term_net",
            "long_term_net",
            "carryover_in_short_term",
            "carryover_in_long_term",
        ):
            value = getattr(item, field)
            if value is None:
                continue
            if not value.is_finite() or value.copy_abs() >= MAX_AMOUNT:
                text = shortened(str(value))
                problems.append(Problem(where, field, f"must be below 10**18 USD, got {text}"))
            elif field.startswith("carryover") and value < ZERO:
                problems.append(Problem(where, field, "must be a positive loss amount or 0"))
    if problems or status is None:
        raise CarryforwardError(problems)

    results: list[YearResult] = []
    for index, item in enumerate(years):
        carry_short = item.carryover_in_short_term or ZERO
        carry_long = item.carryover_in_long_term or ZERO
        if results:
            previous = results[-1]
            for field, stated, flowed in (
                ("carryover_in_short_term", carry_short, previous.carryover_out_short_term),
                ("carryover_in_long_term", carry_long, previous.carryover_out_long_term),
            ):
                if stated not in (ZERO, flowed):
                    problems.append(
                        Problem(
                            f"year {item.year} (years[{index}])",
                            field,
                            f"states {stated} but {previous.year} carries out {flowed}",
                        )
                    )
            carry_short = previous.carryover_out_short_term
            carry_long = previous.carryover_out_long_term
        results.append(
            schedule_d_year(
                year=item.year,
                filing_status=status,
                short_term_net=item.short_term_net,
                long_term_net=item.long_term_net,
                carryover_in_short_term=carry_short,
                carryover_in_long_term=carry_long,
            )
        )
    if problems:
        raise CarryforwardError(problems)
    return results
