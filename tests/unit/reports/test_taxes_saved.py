"""The taxes-saved arithmetic on hand-checked cases (docs/taxes-saved.md, worked examples)."""

import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest

from apps.reports.taxes_saved import (
    AccountOutcome,
    ExecutedRebalance,
    FeeBasis,
    TaxRates,
    firm_share,
    harvest_value,
    since_inception,
    taxes_saved_year,
    year_fraction,
)

RATES = TaxRates(
    short_rate=Decimal("0.40"), long_rate=Decimal("0.20")
)  # 35% + 5% state, 15% + 5% state
NO_FEES = FeeBasis(
    advisory_fee_rate=Decimal(0),
    model_fee_rate=Decimal(0),
    average_value=Decimal(0),
    year_fraction=Decimal(1),
)


def _rebalance(on=date(2024, 3, 1), naive="0", sg="0", lg="0", sl="0", ll="0"):
    return ExecutedRebalance(
        executed_on=on,
        naive_tax=Decimal(naive),
        short_gain=Decimal(sg),
        long_gain=Decimal(lg),
        short_loss=Decimal(sl),
        long_loss=Decimal(ll),
    )


def test_deferral_only():
    # Naive: sells $10,000 of long-term gain -> 2,000 tax. We realize $2,500 long -> 500.
    result = taxes_saved_year(
        year=2024, rebalances=[_rebalance(naive="2000", lg="2500")], rates=RATES, fees=NO_FEES
    )
    assert result.counterfactual_tax == Decimal("2000.00")
    assert result.tax_on_gains == Decimal("500.00")
    assert result.deferral_saved == Decimal("1500.00")
    assert result.harvest_value == Decimal("0.00")
    assert result.gross_saved == Decimal("1500.00")


def test_losses_offset_like_character_first_then_the_other():
    # Gains: short 1,000, long 3,000. Losses: short 1,500, long 1,000.
    # Short loss 1,000 vs short gain 1,000 (at 40%) = 400; long loss 1,000 vs long gain (20%) = 200;
    # remaining short loss 500 vs remaining long gain 2,000 (20%) = 100. Nothing carried.
    offset_short, offset_long, carried, value = harvest_value(
        short_gain=Decimal(1000),
        long_gain=Decimal(3000),
        short_loss=Decimal(1500),
        long_loss=Decimal(1000),
        rates=RATES,
    )
    assert (offset_short, offset_long, carried) == (Decimal(1000), Decimal(1500), Decimal(0))
    assert value == Decimal("700.00")


def test_long_loss_against_short_gain_is_worth_the_short_rate():
    # Only short gains (2,000) and a long loss (500): the loss offsets short gain at 40% = 200.
    offset_short, offset_long, carried, value = harvest_value(
        short_gain=Decimal(2000),
        long_gain=Decimal(0),
        short_loss=Decimal(0),
        long_loss=Decimal(500),
        rates=RATES,
    )
    assert (offset_short, offset_long, carried, value) == (
        Decimal(500),
        Decimal(0),
        Decimal(0),
        Decimal("200.00"),
    )


def test_excess_loss_is_carried_forward_at_the_long_rate():
    # Harvest 5,000 short-term losses with 1,200 long gains realized by the same rebalance:
    # 1,200 offset at 20% = 240; 3,800 carried forward at 20% = 760; harvest value 1,000.
    # Naive would have realized nothing taxable (0); our tax on gains is 240.
    result = taxes_saved_year(
        year=2024,
        rebalances=[_rebalance(naive="0", lg="1200", sl="5000")],
        rates=RATES,
        fees=NO_FEES,
    )
    assert result.tax_on_gains == Decimal("240.00")
    assert result.deferral_saved == Decimal("-240.00")
    assert result.losses_offset_long == Decimal("1200.00")
    assert result.offset_value == Decimal("240.00")
    assert result.loss_carried_forward == Decimal("3800.00")
    assert result.carryforward_value == Decimal("760.00")
    assert result.harvest_value == Decimal("1000.00")
    assert result.gross_saved == Decimal("760.00")  # the loss pays for the gain and 760 more


def test_year_accumulates_rebalances_and_nets_fees():
    # Two rebalances: (naive 900, long gain 1,000) and (naive 300, short loss 800).
    # Tax on gains 1,000 x 20% = 200; deferral 1,200 - 200 = 1,000.
    # Loss 800 short offsets long gain 800 at 20% = 160. Gross 1,160.
    # Fees: (0.75% + 0.25%) x 200,000 x 0.5 year = 750 + 250 = 1,000. Net 160.
    fees = FeeBasis(
        advisory_fee_rate=Decimal("0.0075"),
        model_fee_rate=Decimal("0.0025"),
        average_value=Decimal("200000"),
        year_fraction=Decimal("0.5"),
    )
    result = taxes_saved_year(
        year=2024,
        rebalances=[
            _rebalance(on=date(2024, 2, 1), naive="900", lg="1000"),
            _rebalance(on=date(2024, 9, 1), naive="300", sl="800"),
        ],
        rates=RATES,
        fees=fees,
    )
    assert result.rebalances == 2
    assert result.deferral_saved == Decimal("1000.00")
    assert result.harvest_value == Decimal("160.00")
    assert result.gross_saved == Decimal("1160.00")
    assert (result.advisory_fee, result.model_fee, result.fees) == (
        Decimal("750.00"),
        Decimal("250.00"),
        Decimal("1000.00"),
    )
    assert result.net_saved == Decimal("160.00")
    assert result.saved_exceeds_fees


def test_tax_deferred_account_saves_nothing_and_pays_fees():
    fees = FeeBasis(
        advisory_fee_rate=Decimal("0.01"),
        model_fee_rate=Decimal(0),
        average_value=Decimal(50000),
        year_fraction=Decimal(1),
    )
    result = taxes_saved_year(
        year=2024,
        rebalances=[_rebalance(naive="0", lg="0")],
        rates=TaxRates(short_rate=Decimal(0), long_rate=Decimal(0)),
        fees=fees,
    )
    assert (result.gross_saved, result.fees, result.net_saved) == (
        Decimal(0),
        Decimal("500.00"),
        Decimal("-500.00"),
    )
    assert not result.saved_exceeds_fees


def test_rounding_to_cents_half_even_at_the_boundary():
    rates = TaxRates(short_rate=Decimal("0.333"), long_rate=Decimal("0.238"))
    result = taxes_saved_year(
        year=2024, rebalances=[_rebalance(naive="10.005", lg="0.125")], rates=rates, fees=NO_FEES
    )
    # tax on gains 0.125 x 0.238 = 0.02975 -> 0.03; deferral 10.005 - 0.02975 = 9.97525 -> 9.98
    assert result.tax_on_gains == Decimal("0.03")
    assert result.deferral_saved == Decimal("9.98")
    assert result.counterfactual_tax == Decimal("10.00")  # 10.005 half-even -> 10.00


def test_rebalance_outside_the_year_is_refused():
    with pytest.raises(ValueError, match="executed in 2024"):
        taxes_saved_year(
            year=2024, rebalances=[_rebalance(on=date(2023, 12, 31))], rates=RATES, fees=NO_FEES
        )


def test_inputs_are_validated():
    with pytest.raises(ValueError, match="fraction"):
        TaxRates(short_rate=Decimal("37"), long_rate=Decimal("0.2"))
    with pytest.raises(ValueError, match="magnitude"):
        _rebalance(sl="-5")


def test_since_inception_adds_the_rounded_years():
    years = [
        taxes_saved_year(year=2023, rebalances=[], rates=RATES, fees=NO_FEES),
        taxes_saved_year(
            year=2024, rebalances=[_rebalance(naive="100", lg="100")], rates=RATES, fees=NO_FEES
        ),
    ]
    total = since_inception(years)
    assert (total.years, total.gross_saved, total.net_saved) == (
        2,
        Decimal("80.00"),
        Decimal("80.00"),
    )


def test_firm_share_counts_accounts_and_dollars_ahead_of_fees():
    # 3 of 4 accounts ahead (75%); dollars ahead 900k of 1,000k (90%).
    outcomes = [
        AccountOutcome(value=Decimal(500000), gross_saved=Decimal(6000), fees=Decimal(4000)),
        AccountOutcome(value=Decimal(300000), gross_saved=Decimal(3000), fees=Decimal(2000)),
        AccountOutcome(value=Decimal(100000), gross_saved=Decimal(800), fees=Decimal(700)),
        AccountOutcome(
            value=Decimal(100000), gross_saved=Decimal(700), fees=Decimal(700)
        ),  # equal: not ahead
    ]
    share = firm_share(outcomes)
    assert (share.accounts, share.accounts_ahead) == (4, 3)
    assert share.account_share == Decimal("0.75")
    assert share.asset_share == Decimal("0.9")
    assert firm_share([]).account_share is None


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, date(2024, 12, 31), Decimal(1)),
        (date(2024, 7, 1), date(2024, 12, 31), Decimal(184) / Decimal(366)),  # leap year
        (None, date(2023, 6, 30), Decimal(181) / Decimal(365)),
        (date(2025, 1, 1), date(2024, 12, 31), Decimal(0)),
    ],
)
def test_year_fraction(start, end, expected):
    assert year_fraction(year=end.year if start is None else 2024, start=start, end=end) == (
        expected
    )


def test_the_module_imports_no_django():
    code = "import sys, apps.reports.taxes_saved; print('django' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
