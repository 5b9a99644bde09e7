"""What one more dollar of realised gain or loss is worth to an account: its shadow prices.

The optimizer prices each lot's gain with these rates instead of the statutory rate alone, so
that a loss is valued at the rate at which it will actually be used, and when:

* **Netting** (IRC §1222; Schedule D lines 7, 15, 16 and the Capital Loss Carryover Worksheet,
  through ``rules.schedule_d_year``): a loss first offsets gains of its own character, then of
  the other; a net loss offsets up to 3,000 USD of ordinary income (IRC §1211(b)), taxed at the
  short-term (ordinary) rate; the rest is carried forward (IRC §1212(b)).
* **Carryforward** (IRC §1212(b)): a carried dollar is used in a later year, against the
  account's expected yearly use (the ordinary-income deduction plus the gains it expects to
  realise a year); the last dollar of a bank of B is used after B / use years, so it is worth the
  usage rate discounted that long. A bank larger than any expected use makes the next loss worth
  little (Constantinides 1983, "Capital market equilibrium with personal tax", Econometrica 51:
  the option to realise losses is worth what the offsets are worth when they are used).
* **Deferral**: every position is eventually sold (``horizon_years`` from now, at the long-term
  rate) unless the basis steps up at death (IRC §1014; ``horizon_years=None``). Realising a gain
  now instead of then costs the rate now minus the discounted rate then; harvesting a loss saves
  the rate now minus the same discounted rate, since the replacement's basis is lower by the loss
  (Berkin and Ye 2003, "Tax management, loss harvesting, and HIFO accounting", Financial Analysts
  Journal 59(4); Chaudhuri, Burnham and Lo 2020, "An empirical evaluation of tax-loss-harvesting
  alpha", Financial Analysts Journal 76(3): harvesting alpha is the deferral and the rate gap).

The shadow prices are chord slopes of the account's tax as a function of today's net realised
gains, over a step ``step_amount`` (a dollar gives the exact marginal rate; a larger step, e.g. a
typical day's trade, averages over the kinks of the netting). Units: rates are fractions per
dollar of gain; amounts are USD. Floats: these feed the solver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from apps.taxlots.rules import FilingStatus, capital_loss_limit, schedule_d_year

__all__ = ["AccountTaxPosition", "ShadowRates", "carryforward_rate", "shadow_rates"]


@dataclass(frozen=True, slots=True)
class AccountTaxPosition:
    """An account's year so far and its bank, USD (gains positive, losses negative).

    Attributes:
        short_term_rate: Rate on net short-term gain and on ordinary income (fraction).
        long_term_rate: Rate on net long-term gain (fraction).
        realized_short_term_amount: Net short-term gain realised this year so far.
        realized_long_term_amount: Net long-term gain realised this year so far.
        carryforward_short_term_amount: Short-term loss carried into this year, >= 0.
        carryforward_long_term_amount: Long-term loss carried into this year, >= 0.
        expected_gain_amount_per_year: Net gains the account expects to realise a year in
            later years (what a carried loss will offset), >= 0.
        filing_status: Sets the ordinary-income deduction (IRC §1211(b)).
    """

    short_term_rate: float
    long_term_rate: float
    realized_short_term_amount: float = 0.0
    realized_long_term_amount: float = 0.0
    carryforward_short_term_amount: float = 0.0
    carryforward_long_term_amount: float = 0.0
    expected_gain_amount_per_year: float = 0.0
    filing_status: FilingStatus = FilingStatus.MARRIED_FILING_JOINTLY


@dataclass(frozen=True, slots=True)
class ShadowRates:
    """Tax per dollar of gain realised today, by side and character, net of deferral.

    A gain of g dollars costs ``gain_* × g``; a loss of l dollars (l > 0) saves ``loss_* × l``.
    ``deferral_rate`` (already subtracted) is the discounted long-term tax the position would pay
    at the horizon anyway.
    """

    gain_short_term: float
    gain_long_term: float
    loss_short_term: float
    loss_long_term: float
    deferral_rate: float
    carryforward_rate: float  # what a dollar added to the bank is worth today


def _year_cost(position: AccountTaxPosition, short: float, long: float, bank_rate: float) -> float:
    """This year's tax minus the present value of the loss it carries out, USD."""
    year = schedule_d_year(
        year=2000,  # the year only labels the result
        filing_status=position.filing_status,
        short_term_net=Decimal(repr(short)),
        long_term_net=Decimal(repr(long)),
        carryover_in_short_term=Decimal(repr(position.carryforward_short_term_amount)),
        carryover_in_long_term=Decimal(repr(position.carryforward_long_term_amount)),
    )
    net_short, net_long = float(year.net_short_term), float(year.net_long_term)
    if net_short >= 0.0 and net_long >= 0.0:
        tax = position.short_term_rate * net_short + position.long_term_rate * net_long
    elif float(year.net_capital) >= 0.0:
        # One character's loss offsets the other's gain; what is left is taxed at its rate.
        rate = position.long_term_rate if net_long > 0.0 else position.short_term_rate
        tax = rate * float(year.net_capital)
    else:
        tax = -position.short_term_rate * float(year.deduction_against_ordinary_income)
    carried = float(year.carryover_out_short_term + year.carryover_out_long_term)
    return tax - bank_rate * carried


def carryforward_rate(
    position: AccountTaxPosition, *, discount_rate: float, bank_amount: float
) -> float:
    """What the last dollar of a carried bank of ``bank_amount`` USD is worth today (fraction).

    It is used after ``bank / yearly use`` years, next year at the earliest (IRC §1212(b)), at the
    mix of the ordinary-income deduction (short-term rate) and the expected gains (long-term rate).
    """
    limit = float(capital_loss_limit(position.filing_status))
    gains = max(position.expected_gain_amount_per_year, 0.0)
    use = limit + gains
    rate = (limit * position.short_term_rate + gains * position.long_term_rate) / use
    years = 1.0 + max(bank_amount, 0.0) / use
    return rate * math.exp(-years * math.log1p(discount_rate))  # no overflow for a huge bank


def shadow_rates(
    position: AccountTaxPosition,
    *,
    discount_rate: float,
    horizon_years: float | None,
    step_amount: float = 1.0,
) -> ShadowRates:
    """The account's shadow rates today (module docstring).

    Args:
        position: The account's rates, year so far and bank.
        discount_rate: Yearly rate at which later taxes are discounted (fraction, >= 0).
        horizon_years: When positions are assumed sold anyway (None: never, a step-up at death).
        step_amount: The chord's step, USD (> 0).

    Returns:
        The four rates net of deferral, the deferral rate and the bank's rate.
    """
    if step_amount <= 0.0 or discount_rate < 0.0:
        raise ValueError("step_amount must be > 0 and discount_rate >= 0")
    short0 = position.realized_short_term_amount
    long0 = position.realized_long_term_amount
    # The bank after this year: what the carryover worksheet would carry out at today's point,
    # plus the step (the marginal dollar joins the end of the bank).
    probe = schedule_d_year(
        year=2000,
        filing_status=position.filing_status,
        short_term_net=Decimal(repr(short0)),
        long_term_net=Decimal(repr(long0)),
        carryover_in_short_term=Decimal(repr(position.carryforward_short_term_amount)),
        carryover_in_long_term=Decimal(repr(position.carryforward_long_term_amount)),
    )
    bank = float(probe.carryover_out_short_term + probe.carryover_out_long_term)
    bank_rate = carryforward_rate(
        position, discount_rate=discount_rate, bank_amount=bank + step_amount
    )
    base = _year_cost(position, short0, long0, bank_rate)
    step = step_amount

    def slope(d_short: float, d_long: float) -> float:
        return (_year_cost(position, short0 + d_short, long0 + d_long, bank_rate) - base) / step

    deferral = 0.0
    if horizon_years is not None:
        deferral = position.long_term_rate / (1.0 + discount_rate) ** max(horizon_years, 0.0)
    return ShadowRates(
        gain_short_term=slope(step, 0.0) - deferral,
        gain_long_term=slope(0.0, step) - deferral,
        loss_short_term=-slope(-step, 0.0) - deferral,
        loss_long_term=-slope(0.0, -step) - deferral,
        deferral_rate=deferral,
        carryforward_rate=bank_rate,
    )
