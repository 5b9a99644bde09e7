"""Evidence you can quote (issue 16, item 4): seeds, point-in-time rates, the summary line,
the baseline variants and the composite membership rule, on tiny books and ledgers."""

import math
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import numpy as np
import pytest

from apps.backtest import BacktestOptions, run_backtest, run_seeds
from apps.backtest.book import make_book, model_weights
from apps.backtest.data import skfolio_dataset
from apps.backtest.ledger import AccountLedger
from apps.backtest.metrics import LINE_FIELDS, composite_years, summary_line
from apps.backtest.policies import SWAP_DAYS, BaselinePolicy, Market, holdings
from apps.backtest.rates import rates_in, year_rates
from apps.backtest.seeds import PERCENTILE_FROM, SeedFigures
from apps.backtest.simulate import SimulationSettings, simulate
from apps.taxlots.engine import Side
from tests.unit.backtest.datasets import skfolio_window_files

SYMBOLS = ("X", "Y", "Z")
EQUAL = np.array([0.33, 0.33, 0.33])
EQUAL_20 = model_weights(20, "equal", 0)


# ------------------------------------------------------------------------------ rate table


def test_long_term_rate_falls_from_28_to_20_percent_in_1997() -> None:
    # IRC §1(h) 28% maximum before the Taxpayer Relief Act of 1997 (P.L. 105-34 §311).
    assert year_rates(1996).long_term == (0.28, 0.28, 0.28, 0.28)
    assert year_rates(1997).long_term == (0.20, 0.20, 0.20, 0.20)
    assert year_rates(1996).ordinary == year_rates(1997).ordinary == (0.28, 0.31, 0.36, 0.396)


def test_jgtrra_2003_lowers_ordinary_and_long_term_rates() -> None:
    # EGTRRA 2002: 27/30/35/38.6%; JGTRRA (P.L. 108-27) 2003: 25/28/33/35%, long-term 15%.
    assert year_rates(2002).ordinary == (0.27, 0.30, 0.35, 0.386)
    assert year_rates(2003).ordinary == (0.25, 0.28, 0.33, 0.35)
    assert rates_in(2002, 3, 0.0) == pytest.approx((0.386, 0.20))
    assert rates_in(2003, 3, 0.0) == pytest.approx((0.35, 0.15))


def test_2013_adds_the_niit_and_a_20_percent_top_long_term_rate() -> None:
    # ATRA (P.L. 112-240) 39.6% / 20%; IRC §1411 3.8% from taxable years after 2012.
    assert rates_in(2012, 3, 0.05) == pytest.approx((0.35 + 0.05, 0.15 + 0.05))
    assert rates_in(2013, 3, 0.05) == pytest.approx((0.396 + 0.038 + 0.05, 0.20 + 0.038 + 0.05))
    assert rates_in(2012, 0, 0.0) == pytest.approx((0.25, 0.15))
    assert rates_in(2013, 0, 0.0) == pytest.approx((0.28 + 0.038, 0.15 + 0.038))


def test_years_outside_the_table_are_refused() -> None:
    with pytest.raises(ValueError, match="1992"):
        year_rates(1992)
    with pytest.raises(ValueError, match="2027"):
        year_rates(2027)


def test_an_account_keeps_its_bracket_position_across_years() -> None:
    full = skfolio_dataset()
    start = full.index_on_or_after(date(2002, 1, 2))
    book = make_book(
        full,
        accounts=8,
        seed=2,
        start=start,
        end=start + 300,
        targets=model_weights(20, "equal", 1),
    )
    for account in book:
        expected = rates_in(2002, account.bracket, account.state_rate)
        assert account.rates(2002) == pytest.approx(expected)
        assert account.rates(2003)[1] == pytest.approx(0.15 + account.state_rate)


# ----------------------------------------------------------------------------------- seeds


def _figures(value: float) -> dict[str, float]:
    return {name: value for name, _ in LINE_FIELDS} | {"taxes_saved": value}


def test_interval_is_min_max_below_20_seeds_and_nan_seeds_are_left_out() -> None:
    figures = SeedFigures(
        accounts=3,
        seeds=(4, 5, 6, 7),
        per_seed=(_figures(1.0), _figures(5.0), _figures(2.0), _figures(math.nan)),
    )
    assert figures.interval_kind == "min-max"
    assert figures.mean("tax_ours") == pytest.approx(8.0 / 3.0)
    assert figures.interval("tax_ours") == (1.0, 5.0)
    assert figures.values("tax_ours") == [1.0, 5.0, 2.0]
    assert "(3 of 4 seeds)" in figures.table()[1]


def test_interval_is_the_5th_to_95th_percentile_from_20_seeds() -> None:
    values = [float(v) for v in range(PERCENTILE_FROM)]
    figures = SeedFigures(
        accounts=3,
        seeds=tuple(range(PERCENTILE_FROM)),
        per_seed=tuple(_figures(v) for v in values),
    )
    assert figures.interval_kind == "5th-95th percentile"
    low, high = figures.interval("te_naive")
    assert (low, high) == pytest.approx(tuple(np.percentile(values, [5, 95])))
    assert 0.0 < low < 1.0 and 18.0 < high < 19.0  # not the min-max


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory):
    return skfolio_window_files(
        tmp_path_factory.mktemp("prices"), date(2007, 1, 2), date(2008, 12, 31)
    )


def test_seeds_run_the_books_seeded_s_to_s_plus_n_minus_1(files) -> None:
    options = BacktestOptions(
        start=date(2008, 9, 2), end=date(2008, 10, 31), accounts=2, seed=5, workers=1
    )
    figures = run_seeds(*files, options, 2)
    assert figures.seeds == (5, 6)
    for seed, per_seed in zip(figures.seeds, figures.per_seed, strict=True):
        alone = run_backtest(*files, BacktestOptions(**{**_fields(options), "seed": seed}))
        assert per_seed == pytest.approx(alone.figures(), nan_ok=True)
    line = figures.summary_line()
    assert line.endswith(" seeds=2")
    mean_tax = (figures.per_seed[0]["tax_ours"] + figures.per_seed[1]["tax_ours"]) / 2
    assert f" tax_ours={mean_tax:.0f} " in line
    with pytest.raises(ValueError, match="at least 1"):
        run_seeds(*files, options, 0)


def _fields(options: BacktestOptions) -> dict[str, object]:
    return {name: getattr(options, name) for name in options.__dataclass_fields__}


# --------------------------------------------------------------------------- summary line


def test_the_last_line_keeps_todays_fields_first_then_the_new_ones_in_order() -> None:
    line = summary_line(7, {name: 1.0 for name, _ in LINE_FIELDS}, seeds=3)
    keys = [part.split("=")[0] for part in line.split()[1:]]
    assert keys == [
        "accounts",
        "dispersion_ours",
        "dispersion_naive",
        "tax_ours",
        "tax_naive",
        "te_ours",
        "te_naive",
        "harvest_peak_month_pct",
        "liq_tax_ours",
        "liq_tax_naive",
        "after_tax_ours",
        "after_tax_naive",
        "dispersion_composite_ours",
        "dispersion_composite_naive",
        "seeds",
    ]
    assert line.startswith("backtest accounts=7 ") and line.endswith(" seeds=3")


def test_liquidation_figures_come_from_the_accounts(files) -> None:
    result = run_backtest(
        *files,
        BacktestOptions(
            start=date(2008, 9, 2), end=date(2008, 10, 31), accounts=3, seed=1, workers=1
        ),
    )
    figures = result.figures()
    for policy in ("ours", "naive"):
        rows = [f for f in result.per_account if f.policy == policy]
        assert figures[f"liq_tax_{policy}"] == pytest.approx(sum(f.liquidation_tax for f in rows))
        expected = 100 * (1 + np.mean([f.after_tax_liquidation_return for f in rows]))
        assert figures[f"after_tax_{policy}"] == pytest.approx(expected)
    assert f"liq_tax_ours={figures['liq_tax_ours']:.0f} " in result.summary_line()
    assert figures["after_tax_ours_minus_naive"] == pytest.approx(
        figures["after_tax_ours"] - figures["after_tax_naive"]
    )
    ours = figures["tax_ours"] + figures["liq_tax_ours"]
    naive = figures["tax_naive"] + figures["liq_tax_naive"]
    assert figures["tax_with_liquidation_saved_pct"] == pytest.approx((1 - ours / naive) * 100)


# ------------------------------------------------------------------------ composite members


def test_composite_members_are_accounts_near_the_model_when_the_year_starts() -> None:
    model = np.array([0.33, 0.33, 0.33, 0.01])
    far = np.array([0.9, 0.05, 0.04, 0.01])  # active share 0.57
    years = {2020: (10, 20), 2021: (21, 30)}

    def run(funded: int, funded_weights, month_ends):
        return SimpleNamespace(
            funded_day=funded,
            funded_weights=funded_weights,
            month_end_days=[t for t, _ in month_ends],
            month_end_weights=[w for _, w in month_ends],
        )

    # Funded on the year's first day at the model: a member that year.
    assert composite_years(run(10, model, [(20, model)]), model, years) == {2020, 2021}
    # A legacy portfolio far from the model joins once it is within 10% active share.
    assert composite_years(run(10, far, [(20, model)]), model, years) == {2021}
    assert composite_years(run(10, far, [(20, far)]), model, years) == set()
    # Funded after the year's first day: not a member of that year.
    assert composite_years(run(12, model, [(20, model)]), model, years) == {2021}


# ---------------------------------------------------------------------- baseline variants


def _market(day: date, prices: tuple[float, ...]) -> Market:
    return Market(index=0, day=day, prices=np.array(prices))


def _three_lots_of_x() -> AccountLedger:
    ledger = AccountLedger("T")
    for n, cost in enumerate(("100.00", "200.00", "150.00")):  # 10, 20, 15 a share
        ledger.buy(date(2015, 1, 5 + n), "X", 10, Decimal(cost), acquired=date(2015, 1, 5 + n))
    return ledger


@pytest.mark.parametrize(("variant", "last_lot"), [("fifo", 3), ("hifo", 1)])
def test_hifo_relieves_the_highest_cost_lot_first(variant: str, last_lot: int) -> None:
    ledger = _three_lots_of_x()
    policy = BaselinePolicy(targets=EQUAL, variant=variant)
    assert policy.rebalance(ledger, _market(date(2020, 3, 2), (30.0, 30.0, 30.0)), SYMBOLS, 0.2)
    rows = ledger.realized_for("X")
    assert sum(r.quantity for r in rows) == 21  # 30 shares, 9 wanted
    partial = [r for r in rows if r.quantity == 1]
    assert [r.lot_id for r in partial] == [f"T-L{last_lot:06d}"]
    assert holdings(ledger, SYMBOLS)[1] > 0  # the proceeds bought the underweights


def test_the_baseline_honours_the_gains_budget() -> None:
    ledger = _three_lots_of_x()
    policy = BaselinePolicy(targets=EQUAL, variant="fifo")
    policy.rebalance(ledger, _market(date(2020, 3, 2), (30.0, 30.0, 30.0)), SYMBOLS, 0.2, 50.0)
    rows = ledger.realized_for("X")
    gain = sum(r.reportable_gain_loss for r in rows)
    assert sum(r.quantity for r in rows) == 2  # 19.985 a share on the oldest lot: 2 fit in 50
    assert Decimal(0) < gain <= 50


def _losers() -> AccountLedger:
    ledger = AccountLedger("T")
    ledger.buy(date(2019, 1, 2), "X", 10, Decimal("1000.00"), acquired=date(2019, 1, 2))
    ledger.buy(date(2019, 1, 2), "Y", 10, Decimal("1000.00"), acquired=date(2019, 1, 2))
    return ledger


def test_mechanical_sells_a_lot_at_80_percent_of_basis_holds_the_proxy_31_days() -> None:
    ledger = _losers()
    policy = BaselinePolicy(targets=EQUAL, variant="mechanical")
    day = date(2020, 3, 16)
    market = _market(day, (79.0, 85.0, 50.0))  # X at 79% of its basis, Y at 85%
    assert policy.harvests_on(market)
    swap = policy.harvest(ledger, market, SYMBOLS, set())
    assert swap is not None and swap.sold == {"X": 10}
    assert swap.back_on == day + timedelta(days=SWAP_DAYS) == date(2020, 4, 16)
    proxy = [t for t in ledger.trades if t.id in swap.proxy_lot_ids]
    assert {t.symbol for t in proxy} == {"Y", "Z"} and all(t.side is Side.BUY for t in proxy)
    assert holdings(ledger, SYMBOLS)[0] == 0
    assert [r.lot_id for r in ledger.realized()] == ["T-L000001"]  # Y's lot at 85% is kept
    policy.come_back(ledger, _market(swap.back_on, (80.0, 86.0, 51.0)), SYMBOLS, swap)
    # X is back with what the proxy's sale brought: 9 shares at 80.04 (10 would need 800.40).
    assert holdings(ledger, SYMBOLS)[0] == 9
    open_ids = {r.lot_id for r in ledger.open_lots()}
    assert not open_ids & set(swap.proxy_lot_ids) and "T-L000002" in open_ids
    assert all(r.wash_sale_disallowed == 0 for r in ledger.realized())


def test_yearend_harvest_sells_positions_at_a_loss_in_december_only() -> None:
    ledger = _losers()
    ledger.buy(date(2019, 2, 1), "X", 10, Decimal("600.00"), acquired=date(2019, 2, 1))
    policy = BaselinePolicy(targets=EQUAL, variant="yearend-harvest")
    assert not policy.harvests_on(_market(date(2020, 11, 30), (79.0, 120.0, 50.0)))
    december = _market(date(2020, 12, 7), (79.0, 120.0, 50.0))
    assert policy.harvests_on(december)
    swap = policy.harvest(ledger, december, SYMBOLS, set())
    # X: basis 1,600 for 1,580 of value: the whole position goes (its 60-a-share lot at a gain
    # too: the advisor harvests positions, not lots); Y, at a gain, stays.
    assert swap is not None and swap.sold == {"X": 20}
    assert holdings(ledger, SYMBOLS)[0] == 0
    assert {r.symbol for r in ledger.realized()} == {"X"}


def test_unknown_baseline_is_refused() -> None:
    with pytest.raises(ValueError, match="baseline"):
        BaselinePolicy(targets=EQUAL, variant="lifo")


def test_mechanical_baseline_runs_through_the_2008_crash(files) -> None:
    from apps.backtest.data import load_dataset

    data = load_dataset(*files)
    start = data.index_on_or_after(date(2008, 9, 2))
    end = data.index_on_or_before(date(2008, 12, 31))
    targets = model_weights(len(data.symbols), "equal", 2)
    book = make_book(data, accounts=3, seed=2, start=start, end=end, targets=targets)
    settings = SimulationSettings(
        start=start, end=end, targets=targets, workers=1, baseline="mechanical"
    )
    runs, _ = simulate(data, book, settings)
    naive = [r for r in runs if r.policy == "naive"]
    harvests = [t for r in naive for t in r.trades if t.side is Side.SELL and t.lots is not None]
    assert harvests  # specific-lot sales: the harvester's (rebalances sell FIFO)
    for run in naive:
        assert run.cash >= 0
        assert all(v > 0 for v in run.values)
