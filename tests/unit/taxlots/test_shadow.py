"""Shadow rates of realised gains and losses (apps.taxlots.shadow): netting, bank, deferral."""

from __future__ import annotations

import pytest

from apps.taxlots.rules import FilingStatus
from apps.taxlots.shadow import AccountTaxPosition, carryforward_rate, shadow_rates

ST, LT = 0.408, 0.238


def rates(**kwargs: float) -> AccountTaxPosition:
    return AccountTaxPosition(short_term_rate=ST, long_term_rate=LT, **kwargs)


def test_gains_cost_their_own_rate_when_nothing_offsets_them() -> None:
    shadow = shadow_rates(rates(), discount_rate=0.05, horizon_years=None)
    assert shadow.gain_short_term == pytest.approx(ST)
    assert shadow.gain_long_term == pytest.approx(LT)
    assert shadow.deferral_rate == 0.0


def test_a_loss_offsets_this_years_gains_at_their_rate() -> None:
    # 50k of short-term gains realised: a short-term loss saves the short-term rate, a long-term
    # loss too (after long-term gains, none here, it offsets short-term: Schedule D line 16).
    shadow = shadow_rates(
        rates(realized_short_term_amount=50_000.0), discount_rate=0.05, horizon_years=None
    )
    assert shadow.loss_short_term == pytest.approx(ST)
    assert shadow.loss_long_term == pytest.approx(ST)
    # Long-term gains only: any loss saves the long-term rate.
    shadow = shadow_rates(
        rates(realized_long_term_amount=50_000.0), discount_rate=0.05, horizon_years=None
    )
    assert shadow.loss_short_term == pytest.approx(LT)
    assert shadow.loss_long_term == pytest.approx(LT)


def test_the_3000_deduction_boundary() -> None:
    # IRC §1211(b): a net loss of up to 3,000 offsets ordinary income; one dollar more carries.
    inside = shadow_rates(
        rates(realized_long_term_amount=-2_999.0), discount_rate=0.05, horizon_years=None
    )
    assert inside.loss_long_term == pytest.approx(ST)
    beyond = shadow_rates(
        rates(realized_long_term_amount=-3_000.0), discount_rate=0.05, horizon_years=None
    )
    assert beyond.loss_long_term == pytest.approx(beyond.carryforward_rate)
    # With no gains expected, it is used next year against ordinary income: a year's discount.
    assert beyond.loss_long_term == pytest.approx(ST / 1.05 ** (1 + 1 / 3_000), rel=1e-6)
    # Married filing separately: 1,500.
    separate = AccountTaxPosition(
        short_term_rate=ST,
        long_term_rate=LT,
        realized_long_term_amount=-1_500.0,
        filing_status=FilingStatus.MARRIED_FILING_SEPARATELY,
    )
    assert shadow_rates(
        separate, discount_rate=0.05, horizon_years=None
    ).loss_long_term == pytest.approx(
        carryforward_rate(separate, discount_rate=0.05, bank_amount=1.0)
    )


def test_a_bigger_bank_makes_the_next_loss_worth_less() -> None:
    small = shadow_rates(
        rates(carryforward_long_term_amount=10_000.0, expected_gain_amount_per_year=20_000.0),
        discount_rate=0.05,
        horizon_years=None,
    )
    large = shadow_rates(
        rates(carryforward_long_term_amount=500_000.0, expected_gain_amount_per_year=20_000.0),
        discount_rate=0.05,
        horizon_years=None,
    )
    # Used at the mix of the ordinary deduction and the expected long-term gains, later.
    use = 3_000.0 + 20_000.0
    mix = (3_000.0 * ST + 20_000.0 * LT) / use
    assert large.loss_long_term < small.loss_long_term < mix
    # 497k carried out (3k deducted this year) at 23k a year: used after ~22.6 years.
    assert large.loss_long_term == pytest.approx(mix / 1.05 ** (1 + 497_001.0 / use), rel=1e-6)


def test_a_gain_absorbed_by_the_bank_costs_the_banks_value_not_the_rate() -> None:
    shadow = shadow_rates(
        rates(carryforward_long_term_amount=100_000.0, expected_gain_amount_per_year=10_000.0),
        discount_rate=0.05,
        horizon_years=None,
    )
    assert shadow.gain_long_term == pytest.approx(shadow.carryforward_rate)
    assert shadow.gain_short_term == pytest.approx(shadow.carryforward_rate)


def test_deferral_lowers_both_sides_by_the_discounted_long_term_rate() -> None:
    shadow = shadow_rates(
        rates(realized_long_term_amount=50_000.0), discount_rate=0.05, horizon_years=10.0
    )
    deferral = LT / 1.05**10
    assert shadow.deferral_rate == pytest.approx(deferral)
    assert shadow.gain_long_term == pytest.approx(LT - deferral)
    assert shadow.loss_long_term == pytest.approx(LT - deferral)
    # A short-term gain realised now pays the short-term rate; held, it pays the long-term one.
    assert shadow.gain_short_term == pytest.approx(ST - deferral)


def test_the_chord_averages_over_the_kink() -> None:
    # A 10,000 loss from zero: 3,000 at the ordinary rate, 7,000 carried.
    shadow = shadow_rates(rates(), discount_rate=0.05, horizon_years=None, step_amount=10_000.0)
    expected = (3_000.0 * ST + 7_000.0 * shadow.carryforward_rate) / 10_000.0
    assert shadow.loss_long_term == pytest.approx(expected, rel=1e-6)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        shadow_rates(rates(), discount_rate=0.05, horizon_years=None, step_amount=0.0)
    with pytest.raises(ValueError):
        shadow_rates(rates(), discount_rate=-0.01, horizon_years=None)
