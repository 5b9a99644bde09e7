"""The seeded factor model: deterministic, positive, anchored, stable as the window grows."""

from datetime import date

import numpy as np
import pytest

from apps.securities import reference_data as ref


def _specs(seed: int = 0) -> list[ref.SyntheticSpec]:
    return [
        ref.stock_spec(symbol="AAA", sector="Energy", seed=seed),
        ref.stock_spec(symbol="BBB", sector="Energy", seed=seed),
        ref.stock_spec(symbol="CCC", sector="Utilities", seed=seed, start_price=50.0),
        ref.fund_spec(next(f for f in ref.FUND_SPECS if f.symbol == "CASH")),
    ]


@pytest.fixture(scope="module")
def calendar() -> list[date]:
    real_dates = ref.business_days(date(2019, 1, 1), ref.SYNTHETIC_ANCHOR_ON)
    return ref.synthetic_calendar(real_dates=real_dates, end=date(2024, 12, 31))


def test_same_seed_gives_the_same_prices(calendar):
    first = ref.synthetic_price_paths(specs=_specs(), calendar=calendar, seed=7)
    second = ref.synthetic_price_paths(specs=_specs(), calendar=calendar, seed=7)
    np.testing.assert_array_equal(first, second)
    other = ref.synthetic_price_paths(specs=_specs(), calendar=calendar, seed=8)
    assert not np.allclose(first[:, :3], other[:, :3])


def test_prices_are_positive_and_anchored(calendar):
    paths = ref.synthetic_price_paths(specs=_specs(), calendar=calendar, seed=0)
    assert paths.shape == (len(calendar), 4)
    assert (paths >= ref.MIN_SYNTHETIC_PRICE).all()
    anchor = calendar.index(ref.SYNTHETIC_ANCHOR_ON)
    assert paths[anchor, 2] == pytest.approx(50.0)
    assert (paths[:, 3] == 1.0).all()


def test_a_longer_window_does_not_change_earlier_prices(calendar):
    short = ref.synthetic_price_paths(specs=_specs(), calendar=calendar[:-100], seed=3)
    long = ref.synthetic_price_paths(specs=_specs(), calendar=calendar, seed=3)
    np.testing.assert_array_equal(short, long[:-100])


def test_a_series_does_not_depend_on_the_other_symbols(calendar):
    together = ref.synthetic_price_paths(specs=_specs(), calendar=calendar, seed=1)
    alone = ref.synthetic_price_paths(specs=_specs()[2:3], calendar=calendar, seed=1)
    np.testing.assert_array_equal(together[:, 2], alone[:, 0])


def test_names_in_one_sector_move_together(calendar):
    specs = [ref.SyntheticSpec(f"S{i}", "Energy", 0.0, 0.001, 100.0) for i in range(2)]
    specs += [ref.SyntheticSpec("U0", "Utilities", 0.0, 0.001, 100.0)]
    returns = np.diff(
        np.log(ref.synthetic_price_paths(specs=specs, calendar=calendar, seed=0)), axis=0
    )
    correlation = np.corrcoef(returns.T)
    assert correlation[0, 1] > 0.9
    assert abs(correlation[0, 2]) < 0.2


def test_real_market_returns_drive_the_market_factor(calendar):
    spec = ref.SyntheticSpec("MKT", "", 1.0, 0.0, 100.0)
    market = np.full(len(calendar) - 1, 0.001)
    paths = ref.synthetic_price_paths(
        specs=[spec], calendar=calendar, seed=0, real_market_log_returns=market
    )
    np.testing.assert_allclose(np.diff(np.log(paths[:, 0])), market)


def test_business_days_skip_weekends():
    days = ref.business_days(date(2024, 11, 29), date(2024, 12, 3))
    assert days == [date(2024, 11, 29), date(2024, 12, 2), date(2024, 12, 3)]


def test_skfolio_real_prices_are_the_shipped_strings():
    real = ref.skfolio_real_prices()
    assert len(real.symbols) == 20
    assert "RRC" in real.symbols
    assert real.dates[0] == date(1990, 1, 2)
    assert real.dates[-1] == ref.SYNTHETIC_ANCHOR_ON
    assert len(real.dates) == 8313
    assert real.closes[-1][real.symbols.index("AAPL")] == "125.674"
    assert real.market_log_returns.shape == (8312,)
    assert np.isfinite(real.market_log_returns).all()


def test_format_price_keeps_four_places():
    assert ref.format_price(12.345678) == "12.3457"


def test_reference_stock_prices_stay_at_plausible_levels():
    """Every synthetic S&P 500 close at the end of 2026 is a price real members trade at.

    Before the levels were log-normal around $75 and the specific component mean-reverted,
    a utility (AEE) closed at $1,065 and the dearest name at $7,800.
    """
    real = ref.skfolio_real_prices()
    last_close = {s: float(real.closes[-1][j]) for j, s in enumerate(real.symbols)}
    specs = [
        ref.stock_spec(
            symbol=s.symbol, sector=s.sector, seed=0, start_price=last_close.get(s.symbol)
        )
        for s in ref.reference_securities()
        if s.kind == "stock"
    ]
    calendar = ref.synthetic_calendar(real_dates=real.dates, end=date(2026, 12, 31))
    closes = ref.synthetic_price_paths(
        specs=specs, calendar=calendar, seed=0, real_market_log_returns=real.market_log_returns
    )[-1]
    assert closes.min() >= 10.0
    assert closes.max() <= 2_000.0
    assert np.percentile(closes, 99) <= 1_000.0
    assert 50.0 <= np.median(closes) <= 300.0


def test_synthetic_levels_are_log_normal_within_the_documented_range():
    levels = np.array(
        [ref.stock_spec(symbol=f"S{i}", sector="", seed=0).start_price for i in range(2000)]
    )
    assert levels.min() >= ref.START_PRICE_RANGE[0]
    assert levels.max() <= ref.START_PRICE_RANGE[1]
    assert np.median(levels) == pytest.approx(ref.START_PRICE_MEDIAN, rel=0.1)
