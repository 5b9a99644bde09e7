"""The taxes-saved arithmetic and the tax-naive shadow (docs/taxes-saved.md), at the pure level."""

import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.reports.shadow import CashFlow, RebalanceDay, path_years, shadow_build
from apps.reports.taxes_saved import (
    AccountOutcome,
    Carryforward,
    DeferralTerms,
    FeeBasis,
    PathFigures,
    TaxRates,
    firm_share,
    schedule_d_tax,
    since_inception,
    taxes_saved_years,
    year_fraction,
)
from apps.taxlots import engine

D = Decimal
RATES = TaxRates(short_rate=D("0.40"), long_rate=D("0.20"))
TERMS = DeferralTerms(discount_rate=D("0.05"), horizon_years=10)
NO_FEES = FeeBasis(D(0), D(0), D(0), D(0))
TAXABLE = engine.AccountType.TAXABLE


def _path(year=2024, short="0", long="0", losses="0", unrealized="0", traded="0"):
    return PathFigures(year, D(short), D(long), D(losses), D(0), D(unrealized), D(traded))


def _one_year(ours, shadow, **kwargs):
    (year,) = taxes_saved_years(
        ours=[ours],
        shadow=[shadow],
        rebalances={2024: 1},
        rates=RATES,
        fees={2024: kwargs.pop("fees", NO_FEES)},
        cost_rate=kwargs.pop("cost_rate", D(0)),
        deferral=TERMS,
        **kwargs,
    )
    return year


# --- Schedule D netting and carryforward (IRC §1222, §1211(b), §1212(b); Pub 550 ch. 4) ---


@pytest.mark.parametrize(
    ("short", "long", "carry", "tax", "carry_out"),
    [
        ("1000", "3000", (0, 0), "1000", (0, 0)),  # 1,000 x 40% + 3,000 x 20%
        ("-1500", "3000", (0, 0), "300", (0, 0)),  # net long gain 1,500 at 20%
        ("2000", "-500", (0, 0), "600", (0, 0)),  # net short gain 1,500 at 40%
        ("-5000", "1200", (0, 0), "0", (3800, 0)),  # net short loss carried as short
        ("1000", "-4000", (0, 0), "0", (0, 3000)),  # net long loss carried as long
        ("-100", "-200", (0, 0), "0", (100, 200)),
        ("1000", "1000", (500, 1200), "120", (0, 0)),  # carried long loss offsets short gain
        ("1000", "0", (1000, 0), "0", (0, 0)),  # boundary: exactly used up
    ],
)
def test_schedule_d_tax(short, long, carry, tax, carry_out):
    got, out = schedule_d_tax(
        short_gain=D(short),
        long_gain=D(long),
        carry=Carryforward(D(carry[0]), D(carry[1])),
        rates=RATES,
    )
    assert got == D(tax)
    assert (out.short, out.long) == (D(carry_out[0]), D(carry_out[1]))


def test_present_value_factor():
    assert TERMS.present_value_factor == D(1) / D("1.05") ** 10
    assert DeferralTerms(discount_rate=D("0.05"), horizon_years=0).present_value_factor == 1
    with pytest.raises(ValueError):
        DeferralTerms(discount_rate=D("-0.01"), horizon_years=5)


# --- The decomposition ---


def test_deferral_is_valued_at_present_value_not_as_a_permanent_saving():
    # The shadow realizes a 10,000 long gain; we keep it unrealized: 2,000 deferred, still owed.
    year = _one_year(_path(unrealized="10000"), _path(long="10000"))
    assert year.realized_difference == D("2000.00")
    assert year.deferred_this_year == D("2000.00")
    assert year.permanent == 0
    factor = TERMS.present_value_factor
    assert year.deferral_value == (D(2000) * (1 - factor)).quantize(D("0.01"))
    assert year.deferred_liability_pv == (D(2000) * factor).quantize(D("0.01"))
    assert year.saved == year.deferral_value < D(2000)


def test_a_harvested_loss_is_permanent_only_for_the_rate_difference():
    # We sell a 5,000 short-term loss against 5,000 of short gains both paths realize, and
    # rebuy: the basis falls 5,000, so 5,000 x 20% more is owed later at the long rate.
    year = _one_year(_path(short="0", losses="5000", unrealized="5000"), _path(short="5000"))
    assert year.realized_difference == D("2000.00")  # 5,000 x 40%
    assert year.deferred_this_year == D("1000.00")  # 5,000 x 20% owed later
    assert year.permanent == D("1000.00")  # short-term rate turned long-term rate
    assert year.losses_harvested == D("5000.00")


def test_an_unused_carryforward_is_worth_only_what_it_can_offset():
    # We harvest 8,000 that nothing uses; our unrealized gain is 3,000: the loss is worth
    # 3,000 x 20% against it (later), nothing beyond.
    year = _one_year(
        _path(short="-8000", losses="8000", unrealized="3000"), _path(unrealized="3000")
    )
    assert year.realized_difference == 0
    assert year.carryforward_ours == D("8000.00")
    assert year.deferred_liability == D("-600.00")  # our liability 0 against the shadow's 600
    assert year.permanent == D("600.00")
    assert year.saved == D("600.00") + year.deferral_value
    assert year.deferral_value < 0  # the 600 comes later: worth less today


def test_trading_costs_and_fees_are_netted():
    fees = FeeBasis(D("0.0075"), D("0.0025"), D(200000), D("0.5"))
    year = _one_year(
        _path(unrealized="10000", traded="60000"),
        _path(long="10000", traded="20000"),
        fees=fees,
        cost_rate=D("0.0005"),
    )
    assert year.trading_costs == D("20.00")  # 40,000 extra traded x 5 bps
    assert (year.advisory_fee, year.model_fee, year.fees) == (D("750.00"), D("250.00"), D(1000))
    assert year.net_saved == year.saved - D("20.00") - D(1000)
    assert year.saved_exceeds_fees is (year.saved - D(20) > D(1000))


def test_years_telescope_and_since_inception_adds_them():
    ours = [_path(2023, unrealized="10000"), _path(2024, long="10000")]
    shadow = [_path(2023, long="10000"), _path(2024)]
    years = taxes_saved_years(
        ours=ours,
        shadow=shadow,
        rebalances={},
        rates=RATES,
        fees={2023: NO_FEES, 2024: NO_FEES},
        cost_rate=D(0),
        deferral=TERMS,
    )
    # 2023: 2,000 deferred; 2024: we pay it. Over both years nothing was saved for good.
    assert [y.deferred_this_year for y in years] == [D(2000), D(-2000)]
    total = since_inception(years)
    assert total.permanent == 0
    assert total.saved == years[0].deferral_value + years[1].deferral_value == 0
    assert total.deferred_liability == 0
    with pytest.raises(ValueError):
        taxes_saved_years(
            ours=ours,
            shadow=shadow[:1],
            rebalances={},
            rates=RATES,
            fees={},
            cost_rate=D(0),
            deferral=TERMS,
        )


# --- The shadow ---

START = date(2020, 1, 2)
RUN = date(2024, 3, 28)


def _buy(i, symbol, shares, cost, on=START):
    return engine.Trade(
        id=f"a:{i}",
        date=on,
        account="a",
        symbol=symbol,
        side=engine.Side.BUY,
        quantity=D(shares),
        amount=D(cost),
    )


def _year_ends(prices):
    return {2024: (date(2024, 12, 31), prices)}


def test_three_quarterly_runs_at_the_same_prices_are_one_naive_move():
    # A large long-term overweight in AAA (bought at 20, now 100), the model 50/50 AAA/BBB.
    opening = [_buy(1, "AAA", "1000", "20000"), _buy(2, "BBB", "100", "10000")]
    prices = {"AAA": D(100), "BBB": D(100)}
    targets = {"AAA": D("0.5"), "BBB": D("0.5")}
    days = [
        RebalanceDay(on=RUN + timedelta(days=91 * q), targets=targets, prices=prices)
        for q in range(3)
    ]
    shadow = shadow_build(
        account="a",
        account_type=TAXABLE,
        opening=opening,
        opening_cash=D(0),
        flows=[],
        rebalances=days,
        quantity_places=0,
    )
    moves = shadow.trades[len(opening) :]
    assert {t.date for t in moves} == {RUN}  # runs 2 and 3 find it at target: no trade
    assert [(t.side, t.symbol, t.quantity) for t in moves] == [
        (engine.Side.SELL, "AAA", D(450)),
        (engine.Side.BUY, "BBB", D(450)),
    ]
    (year,) = path_years(
        account="a",
        account_type=TAXABLE,
        trades=shadow.trades,
        year_ends=_year_ends(prices),
        counted_from=RUN,
    )
    assert year.long_gain == D(450 * 80)  # one naive move: 36,000, not three times that
    assert year.short_gain == 0


def test_the_shadow_replays_to_the_same_lots_and_gains():
    opening = [_buy(1, "AAA", "300", "6000"), _buy(2, "AAA", "200", "30000", date(2023, 9, 1))]
    days = [
        RebalanceDay(RUN, {"AAA": D("0.3"), "BBB": D("0.6")}, {"AAA": D(120), "BBB": D(50)}),
        RebalanceDay(
            date(2024, 4, 20), {"AAA": D("0.5"), "BBB": D("0.5")}, {"AAA": D(90), "BBB": D(55)}
        ),
    ]
    flows = [CashFlow(date(2024, 4, 1), D(5000)), CashFlow(date(2024, 4, 20), D(-2000))]
    build = {
        "account": "a",
        "account_type": TAXABLE,
        "opening": opening,
        "opening_cash": D(1000),
        "flows": flows,
        "rebalances": days,
        "quantity_places": 3,
    }
    first, second = shadow_build(**build), shadow_build(**{**build, "rebalances": days[::-1]})
    assert first == second  # same inputs, any order: the same shadow
    again = engine.replay([engine.AccountSpec("a", TAXABLE)], first.trades)
    assert again == first.replay
    assert first.cash >= 0
    # FIFO relief: the first sale takes the 2020 lot (long-term) first.
    sale = next(r for r in first.replay.realized if r.sell_id.startswith("shadow:2024-03-28"))
    assert sale.lot_id == "a:1" and sale.term.value == "long"


def test_a_missing_price_is_refused():
    with pytest.raises(ValueError, match="no price for AAA, BBB"):
        shadow_build(
            account="a",
            account_type=TAXABLE,
            opening=[_buy(1, "AAA", "10", "100")],
            opening_cash=D(0),
            flows=[],
            rebalances=[RebalanceDay(RUN, {"BBB": D(1)}, {})],
            quantity_places=0,
        )


_SYMBOLS = ("AAA", "BBB", "CCC")
_price = st.integers(min_value=5, max_value=400).map(D)


@st.composite
def _histories(draw):
    opening = [
        _buy(
            i,
            draw(st.sampled_from(_SYMBOLS)),
            draw(st.integers(1, 500)),
            draw(st.integers(100, 50000)),
            START + timedelta(days=draw(st.integers(0, 1400))),
        )
        for i in range(draw(st.integers(1, 5)))
    ]
    opening.sort(key=lambda t: t.date)
    days = []
    on = date(2024, 1, 2)
    for _ in range(draw(st.integers(1, 4))):
        on += timedelta(days=draw(st.integers(1, 120)))
        raw = [draw(st.integers(0, 10)) for _ in _SYMBOLS]
        total = sum(raw) + draw(st.integers(0, 3))
        targets = (
            {s: D(r) / D(total) for s, r in zip(_SYMBOLS, raw, strict=False) if r} if total else {}
        )
        targets = {s: w.quantize(D("1e-9"), rounding="ROUND_DOWN") for s, w in targets.items()}
        days.append(RebalanceDay(on, targets, {s: draw(_price) for s in _SYMBOLS}))
    flows = [
        CashFlow(
            date(2024, 1, 2) + timedelta(days=draw(st.integers(0, 300))),
            D(draw(st.integers(-2000, 20000))),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    return opening, days, flows


@settings(max_examples=40, deadline=None)
@given(history=_histories(), cost_bps=st.integers(0, 50))
def test_a_tax_blind_account_saves_nothing(history, cost_bps):
    """A tax-blind account (FIFO, no harvesting, no budget) trades as its shadow: zero saved."""
    opening, days, flows = history
    shadow = shadow_build(
        account="a",
        account_type=TAXABLE,
        opening=opening,
        opening_cash=D(0),
        flows=flows,
        rebalances=days,
        quantity_places=0,
    )
    # The tax-blind account's ledger: its own ids, sells naming no lots, relieved by its FIFO
    # lot method (the account's setting, not the shadow's per-trade FIFO).
    ids = {
        t.id: f"fill:{k}" if t.id.startswith("shadow:") else t.id
        for k, t in enumerate(shadow.trades)
    }
    ledger = [replace(t, id=ids[t.id], lot_method=None, buy_group=None) for t in shadow.trades]
    prices = {s: D(100) for s in _SYMBOLS}
    ends = {y: (date(y, 12, 31), prices) for y in range(2024, days[-1].on.year + 1)}
    figures = [
        path_years(
            account="a",
            account_type=TAXABLE,
            trades=p,
            year_ends=ends,
            counted_from=days[0].on,
        )
        for p in (ledger, shadow.trades)
    ]
    years = taxes_saved_years(
        ours=figures[0],
        shadow=figures[1],
        rebalances={},
        rates=RATES,
        fees=dict.fromkeys(ends, NO_FEES),
        cost_rate=D(cost_bps) / 10000,
        deferral=TERMS,
    )
    for year in years:
        assert (year.saved, year.permanent, year.deferred_liability, year.trading_costs) == (
            0,
            0,
            0,
            0,
        )


# --- Firm share, year fraction, purity ---


def test_firm_share_counts_accounts_and_dollars_ahead_of_fees():
    # 3 of 4 accounts ahead (75%); dollars ahead 900k of 1,000k (90%).
    outcomes = [
        AccountOutcome(value=D(500000), saved_after_costs=D(6000), fees=D(4000)),
        AccountOutcome(value=D(300000), saved_after_costs=D(3000), fees=D(2000)),
        AccountOutcome(value=D(100000), saved_after_costs=D(800), fees=D(700)),
        AccountOutcome(value=D(100000), saved_after_costs=D(700), fees=D(700)),  # equal: not
    ]
    share = firm_share(outcomes)
    assert (share.accounts, share.accounts_ahead) == (4, 3)
    assert share.account_share == D("0.75")
    assert share.asset_share == D("0.9")
    assert firm_share([]).account_share is None


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, date(2024, 12, 31), D(1)),
        (date(2024, 7, 1), date(2024, 12, 31), D(184) / D(366)),  # leap year
        (None, date(2023, 6, 30), D(181) / D(365)),
        (date(2025, 1, 1), date(2024, 12, 31), D(0)),
    ],
)
def test_year_fraction(start, end, expected):
    assert year_fraction(year=end.year if start is None else 2024, start=start, end=end) == (
        expected
    )


def test_the_modules_import_no_django():
    code = (
        "import sys, apps.reports.taxes_saved, apps.reports.shadow; print('django' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
