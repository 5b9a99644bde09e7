"""Estimated federal + state tax on a year's netted capital results, at the client's own rates.

Sources: IRS Publication 550, ch. 4 "Capital Gains Tax Rates" and Schedule D (Form 1040)
instructions: a net short-term gain is taxed as ordinary income; the net capital gain (net
long-term gain over any net short-term loss) at the capital gains rate; a net capital loss is
deductible against ordinary income up to the limit of IRC §1211(b), the rest carries forward.
The rates are the account's combined marginal rates (fractions), not a top-bracket assumption.
"""

from decimal import Decimal

from apps.taxlots.rules import YearResult

ZERO = Decimal(0)


def estimated_tax(year: YearResult, *, short_rate: Decimal, long_rate: Decimal) -> Decimal:
    """Tax owed (+) or saved (-) on the year's netted results, unrounded USD.

    Args:
        year: Schedule D netting of the year (after carryovers in), from ``schedule_d_year``.
        short_rate: marginal rate on ordinary income and short-term gains, a fraction.
        long_rate: rate on net capital gain (long-term), a fraction.

    Returns:
        The estimated tax: positive on a net gain, negative (a saving) on the deductible part of
        a net loss, which offsets ordinary income at ``short_rate``.
    """
    st, lt = year.net_short_term, year.net_long_term
    if year.net_capital < ZERO:
        return -year.deduction_against_ordinary_income * short_rate
    if st >= ZERO and lt >= ZERO:
        return st * short_rate + lt * long_rate
    if st < ZERO:  # a short-term loss reduces the long-term gain (Schedule D line 16)
        return (lt + st) * long_rate
    return (st + lt) * short_rate  # a long-term loss reduces the short-term gain


def combined_rate(federal_rate: Decimal, state_rate: Decimal) -> Decimal:
    """The account's rate on a gain of one term: its federal rate plus its state's.

    States tax capital gains as ordinary income at the same rate for both terms (e.g.
    California FTB Publication 1001; New York Form IT-201 instructions), so the state rate adds
    to the federal short-term and long-term rates alike. The sum ignores the federal deduction of
    state tax, which the SALT cap (IRC §164(b)(6), $10,000 through 2025) makes marginal for the
    clients of a wealth manager.
    """
    return federal_rate + state_rate


def budget_used(year: YearResult, *, tax: Decimal, in_tax: bool) -> Decimal:
    """What the year's realized results use of an annual budget, unrounded USD (never < 0).

    A gains budget counts the net capital gain after Schedule D netting (IRS Publication 550,
    ch. 4: losses of either term offset gains before any is taxed; a net loss uses nothing); a
    tax budget counts the estimated tax of the year (``estimated_tax``; a saving uses nothing).
    """
    return max(tax, ZERO) if in_tax else max(year.net_capital, ZERO)


def cap_used(net: Decimal) -> Decimal:
    """What one term's net gain uses of a cap on that term: the gain; a net loss uses nothing."""
    return max(net, ZERO)
