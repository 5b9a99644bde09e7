"""Taxes saved by tax-aware rebalancing: the published arithmetic (``docs/taxes-saved.md``).

Pure: plain frozen dataclasses in, Decimal out; no Django, no clock, no I/O. Amounts are USD;
rates are fractions (0.238, not 23.8). Losses and gains are positive magnitudes.

Per account and tax year, over the executed rebalances of that year:

    counterfactual tax  N = sum of the optimizer's tax-naive counterfactuals (same targets,
                            FIFO relief, no harvesting, no deferral)
    tax on our gains    T = short gains x short rate + long gains x long rate
    deferral saved        = N - T
    harvested losses      offset this year's rebalance gains, like character first
                          (Schedule D), valued at the rate of the gain they offset; the rest is
                          carried forward and valued once, now, at the long-term rate
    gross saved         G = deferral saved + harvest value
    fees                F = (advisory fee rate + model fee rate) x average value x share of year
    net saved             = G - F;  "saved more than fees" means G > F
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

ZERO = Decimal(0)
CENT = Decimal("0.01")
BASIS_POINT = Decimal("0.0001")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class TaxRates:
    """The client's own combined marginal rates (federal + state), fractions."""

    short_rate: Decimal
    long_rate: Decimal

    def __post_init__(self) -> None:
        for rate in (self.short_rate, self.long_rate):
            if not ZERO <= rate < Decimal(1):
                raise ValueError(f"a rate is a fraction in [0, 1): {rate}")


@dataclass(frozen=True, slots=True)
class ExecutedRebalance:
    """One executed rebalance as the optimizer kept it (all amounts >= 0 except ``naive_tax``).

    ``naive_tax`` is the counterfactual's linear tax estimate (it may be negative when FIFO
    relief happens to sell a loss lot). Gains and losses are what our trades realized.
    """

    executed_on: date
    naive_tax: Decimal
    short_gain: Decimal
    long_gain: Decimal
    short_loss: Decimal
    long_loss: Decimal

    def __post_init__(self) -> None:
        for name in ("short_gain", "long_gain", "short_loss", "long_loss"):
            if getattr(self, name) < ZERO:
                raise ValueError(f"{name} is a magnitude (>= 0)")


@dataclass(frozen=True, slots=True)
class FeeBasis:
    """What the client paid for: rates per year, the average value and the share of the year."""

    advisory_fee_rate: Decimal
    model_fee_rate: Decimal
    average_value: Decimal
    year_fraction: Decimal

    def __post_init__(self) -> None:
        if not ZERO <= self.year_fraction <= Decimal(1):
            raise ValueError("year_fraction is a fraction of the year")
        if self.advisory_fee_rate < ZERO or self.model_fee_rate < ZERO or self.average_value < 0:
            raise ValueError("fees and value are not negative")


@dataclass(frozen=True, slots=True)
class YearTaxesSaved:
    """One account's taxes saved in one year, rounded to cents at this boundary."""

    year: int
    rebalances: int
    counterfactual_tax: Decimal
    tax_on_gains: Decimal
    deferral_saved: Decimal
    losses_harvested: Decimal
    losses_offset_short: Decimal
    losses_offset_long: Decimal
    offset_value: Decimal
    loss_carried_forward: Decimal
    carryforward_value: Decimal
    harvest_value: Decimal
    gross_saved: Decimal
    advisory_fee: Decimal
    model_fee: Decimal
    fees: Decimal
    net_saved: Decimal

    @property
    def saved_exceeds_fees(self) -> bool:
        """Whether taxes saved (gross) exceed the fees paid."""
        return self.gross_saved > self.fees


def harvest_value(
    *,
    short_gain: Decimal,
    long_gain: Decimal,
    short_loss: Decimal,
    long_loss: Decimal,
    rates: TaxRates,
) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """Value harvested losses against the same gains, then carried forward.

    Like character first (short losses against short gains, long against long), then the
    remainder against the other character, as Schedule D nets (IRS Publication 550, ch. 4).
    Each offset is worth the rate of the gain it offsets; what is left over is carried forward
    and valued at the long-term rate (a conservative choice: it may end up offsetting
    short-term gains or ordinary income at a higher rate).

    Returns:
        (losses offset against short gains, losses offset against long gains, loss carried
        forward, total value), unrounded.
    """
    used_ss = min(short_loss, short_gain)
    used_ll = min(long_loss, long_gain)
    left_short_loss, left_long_loss = short_loss - used_ss, long_loss - used_ll
    left_short_gain, left_long_gain = short_gain - used_ss, long_gain - used_ll
    used_sl = min(left_short_loss, left_long_gain)  # short loss against long gain
    used_ls = min(left_long_loss, left_short_gain)  # long loss against short gain
    offset_short = used_ss + used_ls
    offset_long = used_ll + used_sl
    carried = short_loss + long_loss - offset_short - offset_long
    value = offset_short * rates.short_rate + offset_long * rates.long_rate
    value += carried * rates.long_rate
    return offset_short, offset_long, carried, value


def fees_for_year(fees: FeeBasis) -> tuple[Decimal, Decimal]:
    """Advisory and third-party model fees for the part of the year covered, unrounded."""
    base = fees.average_value * fees.year_fraction
    return base * fees.advisory_fee_rate, base * fees.model_fee_rate


def taxes_saved_year(
    *,
    year: int,
    rebalances: Sequence[ExecutedRebalance],
    rates: TaxRates,
    fees: FeeBasis,
) -> YearTaxesSaved:
    """Taxes saved in one year by one account's executed rebalances, gross and net of fees.

    Args:
        year: the tax year; every rebalance must fall in it.
        rebalances: the year's executed rebalances.
        rates: the client's own rates (0 for a tax-deferred account).
        fees: the fee basis of the year.

    Raises:
        ValueError: a rebalance is outside ``year``.
    """
    if any(r.executed_on.year != year for r in rebalances):
        raise ValueError(f"every rebalance must be executed in {year}")
    naive = sum((r.naive_tax for r in rebalances), ZERO)
    short_gain = sum((r.short_gain for r in rebalances), ZERO)
    long_gain = sum((r.long_gain for r in rebalances), ZERO)
    short_loss = sum((r.short_loss for r in rebalances), ZERO)
    long_loss = sum((r.long_loss for r in rebalances), ZERO)
    tax_on_gains = short_gain * rates.short_rate + long_gain * rates.long_rate
    offset_short, offset_long, carried, value = harvest_value(
        short_gain=short_gain,
        long_gain=long_gain,
        short_loss=short_loss,
        long_loss=long_loss,
        rates=rates,
    )
    offset_value = offset_short * rates.short_rate + offset_long * rates.long_rate
    deferral = naive - tax_on_gains
    advisory, model = fees_for_year(fees)
    gross = _cents(deferral) + _cents(value)
    fee_total = _cents(advisory) + _cents(model)
    return YearTaxesSaved(
        year=year,
        rebalances=len(rebalances),
        counterfactual_tax=_cents(naive),
        tax_on_gains=_cents(tax_on_gains),
        deferral_saved=_cents(deferral),
        losses_harvested=_cents(short_loss + long_loss),
        losses_offset_short=_cents(offset_short),
        losses_offset_long=_cents(offset_long),
        offset_value=_cents(offset_value),
        loss_carried_forward=_cents(carried),
        carryforward_value=_cents(carried * rates.long_rate),
        harvest_value=_cents(value),
        gross_saved=gross,
        advisory_fee=_cents(advisory),
        model_fee=_cents(model),
        fees=fee_total,
        net_saved=gross - fee_total,
    )


@dataclass(frozen=True, slots=True)
class SinceInception:
    """Totals over the years shown (cents)."""

    years: int
    gross_saved: Decimal
    fees: Decimal
    net_saved: Decimal
    losses_harvested: Decimal


def since_inception(years: Sequence[YearTaxesSaved]) -> SinceInception:
    """Add up the years (each already rounded to cents, so the total matches the table)."""
    return SinceInception(
        years=len(years),
        gross_saved=sum((y.gross_saved for y in years), ZERO),
        fees=sum((y.fees for y in years), ZERO),
        net_saved=sum((y.net_saved for y in years), ZERO),
        losses_harvested=sum((y.losses_harvested for y in years), ZERO),
    )


@dataclass(frozen=True, slots=True)
class AccountOutcome:
    """One account's year for the firm report: its value and whether saved exceeded fees."""

    value: Decimal
    gross_saved: Decimal
    fees: Decimal


@dataclass(frozen=True, slots=True)
class FirmShare:
    """Share of accounts, and of assets, where taxes saved exceeded fees (fractions)."""

    accounts: int
    accounts_ahead: int
    account_share: Decimal | None
    assets: Decimal
    assets_ahead: Decimal
    asset_share: Decimal | None


def firm_share(outcomes: Sequence[AccountOutcome]) -> FirmShare:
    """The headline: in X% of accounts (Y% dollar-weighted) taxes saved exceeded fees.

    Shares are None when there is no account (or no assets); they are unrounded fractions.
    """
    ahead = [o for o in outcomes if o.gross_saved > o.fees]
    assets = sum((o.value for o in outcomes), ZERO)
    assets_ahead = sum((o.value for o in ahead), ZERO)
    return FirmShare(
        accounts=len(outcomes),
        accounts_ahead=len(ahead),
        account_share=Decimal(len(ahead)) / Decimal(len(outcomes)) if outcomes else None,
        assets=assets,
        assets_ahead=assets_ahead,
        asset_share=assets_ahead / assets if assets > ZERO else None,
    )


def year_fraction(*, year: int, start: date | None, end: date) -> Decimal:
    """Share of ``year`` from ``start`` (or January 1) through ``end`` (inclusive), in [0, 1]."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    begin = max(first, start) if start else first
    finish = min(last, end)
    if finish < begin:
        return ZERO
    return Decimal((finish - begin).days + 1) / Decimal((last - first).days + 1)
