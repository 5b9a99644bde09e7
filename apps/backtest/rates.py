"""Point-in-time federal tax rates of the backtest's accounts, by calendar year (fractions).

The book (``book.py``) gives each account a federal *bracket position* (0..3) and a state rate.
Position ``k`` is the ``k``-th of the year's four highest ordinary-income brackets, lowest first
(today: 24, 32, 35, 37%), so an account keeps its place near the top of the schedule while the
schedule itself changes with the law. Its long-term rate is the year's maximum rate on net
capital gain for a taxpayer in that bracket; from 2013 the 3.8% net investment income tax is
added to both terms (the book assumes every account is above the NIIT threshold); the state rate
is added to both terms, every year.

A law that changed a rate during a calendar year is applied to the whole year when it took
effect before 1 July (1997: 20% for sales after 6 May; 2003: 15% for sales on or after 6 May),
since the backtest nets gains per calendar year on Schedule D. Not modelled: the 1997-only 28%
"mid-term" rate on assets held 12-18 months and sold after 28 July 1997, the 2018+ long-term
thresholds that no longer follow the ordinary brackets (the 15/15/20/20% split below is the
book's approximation of them), the phase-outs, the AMT and the 1997 8/18% five-year rates.

Sources (each row cites its statute; the table values agree with the Tax Foundation's
"Federal Individual Income Tax Rates History, 1862-2021" and "Federal Capital Gains Tax Rates,
1988-2011" tables, and with IRS Publication 17 / Form 1040 instructions of each year):

* 1993-2000 ordinary 28/31/36/39.6%: Omnibus Budget Reconciliation Act of 1993, P.L. 103-66
  §13201-13202 (IRC §1(a)-(e)).
* Long-term 28% maximum to 1996: IRC §1(h) as enacted by OBRA 1990, P.L. 101-508 §11101.
* Long-term 20% from 7 May 1997: Taxpayer Relief Act of 1997, P.L. 105-34 §311 (IRC §1(h)).
* 2001 ordinary 27.5/30.5/35.5/39.1%, 2002 27/30/35/38.6%: Economic Growth and Tax Relief
  Reconciliation Act of 2001, P.L. 107-16 §101 (IRC §1(i)(2)).
* 2003-2012 ordinary 25/28/33/35%, long-term 15% from 6 May 2003: Jobs and Growth Tax Relief
  Reconciliation Act of 2003, P.L. 108-27 §105, §301; extended by P.L. 109-222 §102 and
  P.L. 111-312 §101-102.
* 2013-2017 ordinary 28/33/35/39.6%, long-term 20% in the 39.6% bracket: American Taxpayer
  Relief Act of 2012, P.L. 112-240 §101-102 (IRC §1(h)(1)(D)).
* 3.8% net investment income tax from 2013: IRC §1411, added by the Health Care and Education
  Reconciliation Act of 2010, P.L. 111-152 §1402.
* 2018 on ordinary 24/32/35/37%: Tax Cuts and Jobs Act, P.L. 115-97 §11001 (IRC §1(j)); made
  permanent from 2026 by P.L. 119-21 §70101.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FIRST_YEAR", "NIIT_FROM", "NIIT_RATE", "YearRates", "rates_in", "year_rates"]

NIIT_RATE = 0.038  # IRC §1411(a)(1)
NIIT_FROM = 2013  # IRC §1411 applies to taxable years beginning after 31 December 2012
FIRST_YEAR = 1993


@dataclass(frozen=True, slots=True)
class YearRates:
    """The four highest ordinary brackets of a year and the long-term rate in each (fractions)."""

    ordinary: tuple[float, float, float, float]
    long_term: tuple[float, float, float, float]


# (first year, last year) -> rates; every year from FIRST_YEAR to 2026 is covered once.
_TABLE: tuple[tuple[int, int, YearRates], ...] = (
    (1993, 1996, YearRates((0.28, 0.31, 0.36, 0.396), (0.28,) * 4)),
    (1997, 2000, YearRates((0.28, 0.31, 0.36, 0.396), (0.20,) * 4)),
    (2001, 2001, YearRates((0.275, 0.305, 0.355, 0.391), (0.20,) * 4)),
    (2002, 2002, YearRates((0.27, 0.30, 0.35, 0.386), (0.20,) * 4)),
    (2003, 2012, YearRates((0.25, 0.28, 0.33, 0.35), (0.15,) * 4)),
    (2013, 2017, YearRates((0.28, 0.33, 0.35, 0.396), (0.15, 0.15, 0.15, 0.20))),
    (2018, 2026, YearRates((0.24, 0.32, 0.35, 0.37), (0.15, 0.15, 0.20, 0.20))),
)


def year_rates(year: int) -> YearRates:
    """The federal rates of ``year`` (raises ``ValueError`` outside the table)."""
    for first, last, rates in _TABLE:
        if first <= year <= last:
            return rates
    raise ValueError(f"no federal rate table for {year} (covered: {FIRST_YEAR}-{_TABLE[-1][1]})")


def rates_in(year: int, bracket: int, state_rate: float) -> tuple[float, float]:
    """(short-term, long-term) combined marginal rates of an account in ``year``, fractions.

    Args:
        year: Calendar year of the sale (the Schedule D year).
        bracket: Position among the year's four highest ordinary brackets, 0 (lowest) to 3.
        state_rate: State rate added to both terms, a fraction.
    """
    rates = year_rates(year)
    niit = NIIT_RATE if year >= NIIT_FROM else 0.0
    return (
        rates.ordinary[bracket] + niit + state_rate,
        rates.long_term[bracket] + niit + state_rate,
    )
