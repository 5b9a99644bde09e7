"""Taxes saved by tax-aware management against a tax-naive shadow (``docs/taxes-saved.md``).

Pure: plain frozen dataclasses in, Decimal out; no Django, no clock, no I/O. Amounts are USD;
rates are fractions (0.238, not 23.8).

Per account and tax year y, from two paths read the same way (``apps.reports.shadow``): ours (the
account's ledger: only filled quantities) and the shadow's (the tax-naive advisor on the same
flows, targets and rebalance dates):

    realized tax        R = Schedule D tax of the year's gains, each path with its own loss
                            carryforward (a loss is worth something only in the year it is used)
    liability           N = max(unrealized gain - carryforward left, 0) x long rate, at year end
    difference          dR_y = R_shadow - R_ours;   D_y = N_ours - N_shadow (tax we deferred)
    deferred this year  dD_y = D_y - D_(y-1)        (D before the first year is 0: same lots)
    permanent           P_y = dR_y - dD_y           (harvested losses used, short->long conversion)
    present-value factor f = (1 + discount rate) ** -horizon years
    deferral value      V_y = dD_y x (1 - f)        (the deferred tax is still owed, later)
    taxes saved         S_y = P_y + V_y             (= dR_y - f x dD_y)
    extra trading cost  K_y = cost rate x (our traded amount - the shadow's traded amount)
    fees                F_y = (advisory + model fee rate) x average value x share of the year
    net                 S_y - K_y - F_y;  "saved more than fees" means S_y - K_y > F_y
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

ZERO = Decimal(0)
CENT = Decimal("0.01")


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
class DeferralTerms:
    """How a deferred tax is valued: paid after ``horizon_years``, discounted at ``discount_rate``.

    Attributes:
        discount_rate: annual rate, a fraction (0.05 is 5%).
        horizon_years: years until the deferred gains are assumed realized, >= 0.
    """

    discount_rate: Decimal
    horizon_years: int

    def __post_init__(self) -> None:
        if not ZERO <= self.discount_rate < Decimal(1) or self.horizon_years < 0:
            raise ValueError("a discount rate in [0, 1) and a horizon of 0 years or more")

    @property
    def present_value_factor(self) -> Decimal:
        """What a dollar of tax owed at the horizon is worth now: (1 + d) ** -h."""
        return Decimal(1) / (Decimal(1) + self.discount_rate) ** self.horizon_years


@dataclass(frozen=True, slots=True)
class PathFigures:
    """One path's tax year (USD, cents).

    Net gains by term are signed (a net loss is negative); ``losses_realized`` is the magnitude
    of the loss pieces sold; market value and unrealized gain (value minus adjusted basis, 0 in
    a tax-deferred account) are at the year's end; ``traded_amount`` adds buys and sells.
    """

    year: int
    short_gain: Decimal
    long_gain: Decimal
    losses_realized: Decimal
    market_value: Decimal
    unrealized_gain: Decimal
    traded_amount: Decimal


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
class Carryforward:
    """Capital losses carried into a year, by character (magnitudes, USD)."""

    short: Decimal = ZERO
    long: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        """Both characters."""
        return self.short + self.long


@dataclass(frozen=True, slots=True)
class YearTaxesSaved:
    """One account's taxes saved in one year, rounded to cents at this boundary."""

    year: int
    rebalances: int
    losses_harvested: Decimal
    counterfactual_tax: Decimal
    tax_on_gains: Decimal
    realized_difference: Decimal
    deferred_this_year: Decimal
    deferred_liability: Decimal
    deferred_liability_pv: Decimal
    permanent: Decimal
    deferral_value: Decimal
    saved: Decimal
    trading_costs: Decimal
    advisory_fee: Decimal
    model_fee: Decimal
    fees: Decimal
    net_saved: Decimal
    carryforward_ours: Decimal
    carryforward_shadow: Decimal

    @property
    def saved_after_costs(self) -> Decimal:
        """Taxes saved (present value) net of the extra trading costs."""
        return self.saved - self.trading_costs

    @property
    def saved_exceeds_fees(self) -> bool:
        """Whether taxes saved, net of trading costs, exceed the fees paid."""
        return self.saved_after_costs > self.fees


def schedule_d_tax(
    *, short_gain: Decimal, long_gain: Decimal, carry: Carryforward, rates: TaxRates
) -> tuple[Decimal, Carryforward]:
    """Tax on a year's net gains after the loss carried in, and the loss carried out.

    Netting as on Schedule D (IRC §1222; IRS Publication 550, ch. 4): the carryforward keeps its
    character (IRC §1212(b)(1)); net short and net long are each offset by the other's net loss;
    a net short gain is taxed at the short rate, a net long gain at the long rate (IRC §1(h)). A
    net loss is carried forward whole, by character: the $3,000 deduction against ordinary
    income (IRC §1211(b)) is not counted (conservative, the same for both paths).

    Returns:
        (tax, carryforward out), unrounded.
    """
    net_short = short_gain - carry.short
    net_long = long_gain - carry.long
    if net_short >= ZERO and net_long >= ZERO:
        return net_short * rates.short_rate + net_long * rates.long_rate, Carryforward()
    total = net_short + net_long
    if net_short < ZERO and net_long < ZERO:
        return ZERO, Carryforward(short=-net_short, long=-net_long)
    if total <= ZERO:  # one character's loss exceeds the other's gain: the rest carries on
        if net_short < ZERO:
            return ZERO, Carryforward(short=-total)
        return ZERO, Carryforward(long=-total)
    rate = rates.long_rate if net_long > ZERO else rates.short_rate
    return total * rate, Carryforward()


def fees_for_year(fees: FeeBasis) -> tuple[Decimal, Decimal]:
    """Advisory and third-party model fees for the part of the year covered, unrounded."""
    base = fees.average_value * fees.year_fraction
    return base * fees.advisory_fee_rate, base * fees.model_fee_rate


def liability(*, unrealized_gain: Decimal, carry: Carryforward, rates: TaxRates) -> Decimal:
    """Tax still owed on a path's unrealized gain at the long-term rate, net of carried losses.

    The carryforward is valued only as it is expected to be used: against the path's own
    unrealized gains when they are realized. A loss beyond them is given no value.
    """
    return max(unrealized_gain - carry.total, ZERO) * rates.long_rate


def taxes_saved_years(
    *,
    ours: Sequence[PathFigures],
    shadow: Sequence[PathFigures],
    rebalances: Mapping[int, int],
    rates: TaxRates,
    fees: Mapping[int, FeeBasis],
    cost_rate: Decimal,
    deferral: DeferralTerms,
    carry_in: Carryforward = Carryforward(),
) -> list[YearTaxesSaved]:
    """Taxes saved per year by our path against the shadow's (see the module docstring).

    Args:
        ours: our path's years, ascending and consecutive.
        shadow: the shadow's, the same years.
        rebalances: rebalance dates per year (shown only).
        rates: the client's own rates (0 for a tax-deferred account).
        fees: the fee basis per year.
        cost_rate: trading cost per dollar traded, a fraction (5 bps is 0.0005).
        deferral: how a deferred tax is valued.
        carry_in: losses carried into the first year (both paths start with them).

    Raises:
        ValueError: the paths do not cover the same years.
    """
    if [y.year for y in ours] != [y.year for y in shadow]:
        raise ValueError("both paths must cover the same years")
    factor = deferral.present_value_factor
    carry_o = carry_s = carry_in
    previous = ZERO
    years = []
    for o, s in zip(ours, shadow, strict=True):
        tax_o, carry_o = schedule_d_tax(
            short_gain=o.short_gain, long_gain=o.long_gain, carry=carry_o, rates=rates
        )
        tax_s, carry_s = schedule_d_tax(
            short_gain=s.short_gain, long_gain=s.long_gain, carry=carry_s, rates=rates
        )
        deferred = _cents(
            liability(unrealized_gain=o.unrealized_gain, carry=carry_o, rates=rates)
            - liability(unrealized_gain=s.unrealized_gain, carry=carry_s, rates=rates)
        )
        realized = _cents(tax_s) - _cents(tax_o)
        change = deferred - previous
        previous = deferred
        permanent = realized - change
        value = _cents(change * (Decimal(1) - factor))
        saved = permanent + value
        costs = _cents(cost_rate * (o.traded_amount - s.traded_amount))
        advisory, model = (_cents(f) for f in fees_for_year(fees[o.year]))
        years.append(
            YearTaxesSaved(
                year=o.year,
                rebalances=rebalances.get(o.year, 0),
                losses_harvested=_cents(o.losses_realized),
                counterfactual_tax=_cents(tax_s),
                tax_on_gains=_cents(tax_o),
                realized_difference=realized,
                deferred_this_year=change,
                deferred_liability=deferred,
                deferred_liability_pv=_cents(deferred * factor),
                permanent=permanent,
                deferral_value=value,
                saved=saved,
                trading_costs=costs,
                advisory_fee=advisory,
                model_fee=model,
                fees=advisory + model,
                net_saved=saved - costs - advisory - model,
                carryforward_ours=_cents(carry_o.total),
                carryforward_shadow=_cents(carry_s.total),
            )
        )
    return years


@dataclass(frozen=True, slots=True)
class SinceInception:
    """Totals over the years shown (cents); the deferred liability is the last year's."""

    years: int
    permanent: Decimal
    deferral_value: Decimal
    saved: Decimal
    trading_costs: Decimal
    fees: Decimal
    net_saved: Decimal
    losses_harvested: Decimal
    deferred_liability: Decimal
    deferred_liability_pv: Decimal

    @property
    def saved_after_costs(self) -> Decimal:
        """Taxes saved (present value) net of the extra trading costs."""
        return self.saved - self.trading_costs


def since_inception(years: Sequence[YearTaxesSaved]) -> SinceInception:
    """Add up the years (each already rounded to cents, so the total matches the table)."""

    def total(name: str) -> Decimal:
        return sum((getattr(y, name) for y in years), ZERO)

    return SinceInception(
        years=len(years),
        permanent=total("permanent"),
        deferral_value=total("deferral_value"),
        saved=total("saved"),
        trading_costs=total("trading_costs"),
        fees=total("fees"),
        net_saved=total("net_saved"),
        losses_harvested=total("losses_harvested"),
        deferred_liability=years[-1].deferred_liability if years else ZERO,
        deferred_liability_pv=years[-1].deferred_liability_pv if years else ZERO,
    )


@dataclass(frozen=True, slots=True)
class AccountOutcome:
    """One account for the firm headline: its value, taxes saved net of trading costs, fees."""

    value: Decimal
    saved_after_costs: Decimal
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

    "Saved" is the present value net of extra trading costs; an account is ahead when it is
    strictly greater than its fees. Shares are None when there is no account (or no assets);
    they are unrounded fractions.
    """
    ahead = [o for o in outcomes if o.saved_after_costs > o.fees]
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
