"""Lot relief, wash-sale matching, tacking and chains through ``apps.taxlots.engine.replay``."""

from decimal import Decimal

import pytest

from apps.taxlots.engine import (
    AccountSpec,
    AccountType,
    LotMethod,
    ReplayError,
    ReplayParams,
    WashKind,
    replay,
)
from apps.taxlots.rules import Term
from tests.unit.taxlots.builders import (
    D,
    buy,
    d,
    matches_of,
    only_open,
    open_rows,
    row,
    run,
    sell,
)

# Three lots bought far (> 30 days) before the sale, so no wash sale interferes.
LOTS = (
    buy("a", "2023-01-03", 10, 1000),  # $100/share
    buy("b", "2023-03-01", 10, 1500),  # $150/share
    buy("c", "2023-05-01", 10, 1200),  # $120/share
)


def sold_lots(method: LotMethod | None) -> list[tuple[str, Decimal]]:
    result = run(*LOTS, sell("s", "2023-08-01", 15, 3000, lot_method=method))
    return [(r.lot_id, r.quantity) for r in result.realized]


def test_fifo_is_the_default() -> None:
    assert sold_lots(None) == [("a", D(10)), ("b", D(5))]
    assert sold_lots(LotMethod.FIFO) == [("a", D(10)), ("b", D(5))]


def test_lifo_relieves_the_latest_lot_first() -> None:
    assert sold_lots(LotMethod.LIFO) == [("c", D(10)), ("b", D(5))]


def test_hifo_relieves_the_highest_cost_per_share_first() -> None:
    assert sold_lots(LotMethod.HIFO) == [("b", D(10)), ("c", D(5))]


def test_params_lot_method_applies_when_the_trade_names_none() -> None:
    result = run(*LOTS, sell("s", "2023-08-01", 5, 1000), params=ReplayParams(LotMethod.LIFO))
    assert [r.lot_id for r in result.realized] == ["c"]


def test_specific_identification_relieves_the_named_lots() -> None:
    result = run(*LOTS, sell("s", "2023-08-01", 6, 1200, lots=[("c", 4), ("a", 2)]))
    assert [(r.lot_id, r.quantity) for r in result.realized] == [("c", D(4)), ("a", D(2))]
    assert only_open(result, "c").quantity == D(6)
    assert only_open(result, "a").quantity == D(8)


def test_proceeds_and_basis_split_exactly_to_the_cent() -> None:
    result = run(
        buy("a", "2023-01-03", 3, "100.00"),
        buy("b", "2023-01-04", 3, "100.00"),
        sell("s", "2023-08-01", 4, "200.00"),
    )
    a, b = row(result, "s", "a"), row(result, "s", "b")
    assert (a.proceeds, b.proceeds) == (D("150.00"), D("50.00"))
    assert (a.cost_basis, b.cost_basis) == (D("100.00"), D("33.33"))
    assert only_open(result, "b").adjusted_basis == D("66.67")


def test_fractional_shares() -> None:
    result = run(
        buy("a", "2023-01-03", "10.5", "1050.00"),
        sell("s", "2023-02-15", "3.333333", "250.00"),
        buy("r", "2023-03-01", "1.25", "90.00"),
    )
    loss = row(result, "s", "a")
    assert loss.cost_basis == D("333.33")  # 1050 x 3.333333 / 10.5 = 333.3333
    assert loss.gain_loss == D("-83.33")
    assert loss.disallowed_quantity == D("1.25")
    # 83.33 x 1.25 / 3.333333 = 31.2488 -> 31.25
    assert loss.wash_sale_disallowed == D("31.25")
    assert only_open(result, "r").adjusted_basis == D("121.25")
    assert only_open(result, "a").quantity == D("7.166667")


# ------------------------------------------------------------------ wash-sale window boundaries


@pytest.mark.parametrize(
    ("replacement_on", "is_wash"),
    [
        ("2020-01-31", True),  # 30 days before 2020-03-01 (the window crosses Feb 29)
        ("2020-01-30", False),  # 31 days before
        ("2020-03-31", True),  # 30 days after
        ("2020-04-01", False),  # 31 days after
        ("2020-03-01", True),  # same day, bought after the sale
    ],
)
def test_replacement_on_day_30_washes_and_on_day_31_does_not(
    replacement_on: str, is_wash: bool
) -> None:
    before = d(replacement_on) < d("2020-03-01")
    trades = [buy("old", "2019-06-03", 100, 1000)]
    replacement = buy("new", replacement_on, 100, 700)
    loss = sell("s", "2020-03-01", 100, 600, lots=[("old", 100)])
    trades += [replacement, loss] if before else [loss, replacement]
    result = run(*trades)
    assert row(result, "s", "old").wash_sale_disallowed == (D(400) if is_wash else D(0))
    assert only_open(result, "new").wash_adjustment == (D(400) if is_wash else D(0))


def test_window_days_parameter() -> None:
    trades = (
        buy("old", "2020-01-02", 100, 1000),
        sell("s", "2020-03-01", 100, 600),
        buy("new", "2020-03-11", 100, 700),
    )
    assert run(*trades).totals.wash_disallowed_total == D(400)
    assert (
        run(*trades, params=ReplayParams(wash_sale_window_days=9)).totals.wash_disallowed_total == 0
    )


# ----------------------------------------------------------------- what may replace what


def test_the_sold_lots_own_remaining_shares_never_replace_it() -> None:
    result = run(buy("a", "2024-01-02", 100, 1000), sell("s", "2024-01-12", 50, 400))
    assert row(result, "s", "a").wash_sale_disallowed == 0
    assert result.wash_matches == ()


def test_shares_of_the_same_buy_group_never_replace_each_other() -> None:
    fills = (
        buy("f1", "2024-01-02", 60, 600, buy_group="order-7"),
        buy("f2", "2024-01-02", 40, 400, buy_group="order-7"),
    )
    grouped = run(*fills, sell("s", "2024-01-20", 60, 480, lots=[("f1", 60)]))
    assert grouped.wash_matches == ()
    assert grouped.totals.short_term == D(-120)
    # The same fills as two separate orders: f2 is a replacement for 40 of the 60 loss shares.
    separate = run(
        buy("f1", "2024-01-02", 60, 600, buy_group="order-7"),
        buy("f2", "2024-01-02", 40, 400, buy_group="order-8"),
        sell("s", "2024-01-20", 60, 480, lots=[("f1", 60)]),
    )
    assert row(separate, "s", "f1").wash_sale_disallowed == D(80)


def test_replacement_in_another_taxable_account_of_the_household() -> None:
    result = run(
        buy("a", "2024-01-02", 10, 1000),
        sell("s", "2024-05-01", 10, 800),
        buy("j", "2024-05-20", 10, 850, account="joint"),
    )
    [match] = matches_of(result, "s")
    assert (match.replacement_lot_id, match.kind) == ("j", WashKind.DEFERRED)
    assert only_open(result, "j").adjusted_basis == D(1050)


def test_other_symbols_are_not_substantially_identical() -> None:
    result = run(
        buy("a", "2024-01-02", 10, 1000),
        sell("s", "2024-05-01", 10, 800),
        buy("x", "2024-05-02", 10, 800, symbol="N"),
    )
    assert result.wash_matches == ()


def test_shares_sold_before_the_loss_sale_do_not_replace_it() -> None:
    # The rule (docs/tax-rules.md §2, "Replacements bought before the loss sale"): shares bought
    # within 30 days before a loss sale replace it only if still held when the loss is realized.
    result = run(
        buy("a", "2024-01-02", 10, 1000),
        buy("b", "2024-04-20", 10, 900),
        sell("g", "2024-04-25", 10, 950, lots=[("b", 10)]),
        sell("s", "2024-05-01", 10, 800, lots=[("a", 10)]),
    )
    assert result.wash_matches == ()
    assert result.totals.short_term == D(50 - 200)


# Issue #17 item 5d: 100 bought on day 1 (the loss lot), 100 more on day 10, the day-10 shares
# sold on day 15, the day-1 lot sold at a loss on day 20.
DAY_1, DAY_10, DAY_15, DAY_20 = "2024-03-01", "2024-03-10", "2024-03-15", "2024-03-20"


def test_day_10_shares_sold_on_day_15_do_not_replace_the_day_20_loss() -> None:
    result = run(
        buy("day1", DAY_1, 100, 5000),
        buy("day10", DAY_10, 100, 4500),
        sell("g", DAY_15, 100, 4600, lots=[("day10", 100)]),  # a gain of 100
        sell("s", DAY_20, 100, 4000, lots=[("day1", 100)]),  # a loss of 1000
    )
    assert result.wash_matches == ()
    assert row(result, "g", "day10").gain_loss == D(100)  # the earlier sale is never reopened
    assert row(result, "s", "day1").reportable_gain_loss == D(-1000)
    assert result.totals.short_term == D(-900)


def test_when_the_day_15_sale_is_itself_a_loss_the_day_1_shares_replace_it_once() -> None:
    # Day 15: a loss of 100 on the day-10 shares; the day-1 shares, bought 14 days before and
    # still held, replace it (basis 5100, days tacked). Day 20: the day-1 lot's loss (1100,
    # with the deferred 100) finds no share held or bought in its window: allowed, so the whole
    # economic loss (5000 + 4500 - 4400 - 4000 = 1100) is reported once, not chained back.
    result = run(
        buy("day1", DAY_1, 100, 5000),
        buy("day10", DAY_10, 100, 4500),
        sell("g", DAY_15, 100, 4400, lots=[("day10", 100)]),
        sell("s", DAY_20, 100, 4000, lots=[("day1", 100)]),
    )
    [match] = result.wash_matches
    assert (match.loss_sell_id, match.replacement_lot_id, match.disallowed_loss) == (
        "g",
        "day1",
        D(100),
    )
    last = row(result, "s", "day1")
    assert (last.cost_basis, last.gain_loss, last.wash_sale_disallowed) == (D(5100), D(-1100), 0)
    assert last.holding_period_start == d(DAY_1) - (d(DAY_15) - d(DAY_10))
    assert result.totals.short_term == D(-1100)


def test_day_10_shares_partly_sold_replace_the_day_20_loss_with_what_is_left() -> None:
    # 60 of the day-10 shares sold on day 15, 40 still held on day 20: 40 of the 100 loss
    # shares are replaced (Reg. 1.1091-1(c)), the rest of the loss is allowed.
    result = run(
        buy("day1", DAY_1, 100, 5000),
        buy("day10", DAY_10, 100, 4500),
        sell("g", DAY_15, 60, 2760, lots=[("day10", 60)]),
        sell("s", DAY_20, 100, 4000, lots=[("day1", 100)]),
    )
    sold = row(result, "s", "day1")
    assert (sold.disallowed_quantity, sold.wash_sale_disallowed) == (D(40), D(400))
    left = only_open(result, "day10")
    assert (left.quantity, left.adjusted_basis, left.wash_adjustment) == (D(40), D(2200), D(400))


def test_ira_shares_bought_and_sold_before_the_loss_sale_do_not_replace_it() -> None:
    # The same rule across the household: the IRA's day-10 shares, gone by day 20, disallow
    # nothing; still held on day 20 they would disallow the loss permanently (Rev. Rul. 2008-5).
    gone = run(
        buy("day1", DAY_1, 100, 5000),
        buy("day10", DAY_10, 100, 4500, account="ira"),
        sell("g", DAY_15, 100, 4600, account="ira"),
        sell("s", DAY_20, 100, 4000),
    )
    assert gone.wash_matches == ()
    assert gone.totals.short_term == D(-1000)
    held = run(
        buy("day1", DAY_1, 100, 5000),
        buy("day10", DAY_10, 100, 4500, account="ira"),
        sell("s", DAY_20, 100, 4000),
    )
    [match] = held.wash_matches
    assert (match.kind, match.disallowed_loss) == (WashKind.PERMANENT, D(1000))


def test_replacement_bought_after_the_sale_is_found_and_can_be_sold_in_the_window() -> None:
    result = run(
        buy("a", "2024-01-02", 10, 1000),
        sell("s", "2024-05-01", 10, 800),
        buy("b", "2024-05-10", 10, 750),
        sell("t", "2024-05-20", 10, 760),  # sold with its adjusted basis 950: a loss of 190
    )
    assert row(result, "s", "a").wash_sale_disallowed == D(200)
    second = row(result, "t", "b")
    assert second.cost_basis == D(950)
    assert second.gain_loss == D(-190)
    assert second.wash_sale_disallowed == 0  # b's own shares; nothing else bought
    assert result.totals.short_term == D(-200 - 40 + 50)


def test_same_day_sell_then_buy_is_a_wash_sale() -> None:
    # Trades are in intraday order: the buy after the loss sale is its replacement.
    result = run(
        buy("a", "2024-03-04", 100, 1000),
        sell("s", "2024-03-04", 100, 900),
        buy("b", "2024-03-04", 100, 905),
        sell("t", "2024-03-04", 100, 1010),
    )
    assert row(result, "s", "a").wash_sale_disallowed == D(100)
    assert row(result, "t", "b").gain_loss == D(1010 - 1005)
    assert result.totals.short_term == D(-100 + 100 + 5)


def test_losses_are_replaced_in_the_order_they_were_realized() -> None:
    # Treas. Reg. 1.1091-1(b): losses in the order of disposition.
    result = run(
        buy("a", "2024-01-02", 10, 1000),
        buy("b", "2024-01-03", 10, 1000, account="joint"),
        sell("s1", "2024-03-01", 10, 900),
        sell("s2", "2024-03-02", 10, 800, account="joint"),
        buy("r", "2024-03-10", 15, 1200),
    )
    assert [(m.loss_sell_id, m.quantity, m.disallowed_loss) for m in result.wash_matches] == [
        ("s1", D(10), D(100)),
        ("s2", D(5), D(100)),
    ]
    assert open_rows(result, "r")[0].holding_period_start == d("2024-03-10") - (
        d("2024-03-01") - d("2024-01-02")
    )


def test_one_replacement_share_absorbs_one_loss_share() -> None:
    result = run(
        buy("a", "2024-01-02", 10, 1000),
        buy("r", "2024-02-20", 10, 900),
        sell("s1", "2024-03-01", 5, 400, lots=[("a", 5)]),
        sell("s2", "2024-03-02", 5, 400, lots=[("a", 5)]),
        sell("s3", "2024-03-03", 5, 400, lots=[("r", 5)]),
    )
    # s1 and s2 each take 5 of r's 10 shares. s3 sells r's (already adjusted) shares at a loss;
    # the other 5 adjusted shares of r are r itself, so they cannot replace it.
    assert [m.loss_sell_id for m in result.wash_matches] == ["s1", "s2"]
    assert row(result, "s3", "r").cost_basis == D(450 + 100)


def test_cents_of_a_disallowed_loss_sum_exactly_to_the_row() -> None:
    result = run(
        buy("a", "2024-01-02", 3, "300.00"),
        sell("s", "2024-03-01", 3, "200.00"),
        buy("r1", "2024-03-02", 1, "60.00"),
        buy("r2", "2024-03-03", 1, "60.00"),
        buy("r3", "2024-03-04", 1, "60.00"),
    )
    parts = [m.disallowed_loss for m in result.wash_matches]
    assert parts == [D("33.33"), D("33.34"), D("33.33")]
    assert sum(parts) == row(result, "s", "a").wash_sale_disallowed == D(100)


def test_partial_replacement_splits_the_replacement_lot() -> None:
    result = run(
        buy("a", "2024-01-02", 40, 4000),
        sell("s", "2024-03-01", 40, 3600),
        buy("r", "2024-03-05", 100, 9000),
    )
    replaced, rest = open_rows(result, "r")
    assert (replaced.quantity, replaced.wash_adjustment, replaced.adjusted_basis) == (
        D(40),
        D(400),
        D(4000),
    )
    assert (rest.quantity, rest.wash_adjustment, rest.holding_period_start) == (
        D(60),
        D(0),
        d("2024-03-05"),
    )
    # Selling the lot FIFO relieves the adjusted (first) shares first.
    result = run(
        buy("a", "2024-01-02", 40, 4000),
        sell("s", "2024-03-01", 40, 3600),
        buy("r", "2024-03-05", 100, 9000),
        sell("t", "2024-06-05", 50, 5000),
    )
    rows = [r for r in result.realized if r.sell_id == "t"]
    assert [(r.quantity, r.cost_basis, r.holding_period_start) for r in rows] == [
        (D(40), D(4000), d("2024-03-05") - (d("2024-03-01") - d("2024-01-02"))),
        (D(10), D(900), d("2024-03-05")),
    ]


# ---------------------------------------------------------------- holding period, chains


def test_tacked_holding_period_makes_a_replacement_long_term_sooner() -> None:
    result = run(
        buy("a", "2023-01-03", 10, 1000),
        sell("s", "2023-12-01", 10, 900),  # held 332 days: short-term loss, washed
        buy("r", "2023-12-05", 10, 880),
        sell("t", "2024-01-10", 10, 1100),  # r held 36 days + 332 tacked: > 1 year
    )
    assert row(result, "s", "a").term is Term.SHORT
    replacement = row(result, "t", "r")
    assert replacement.holding_period_start == d("2023-12-05") - (d("2023-12-01") - d("2023-01-03"))
    assert replacement.holding_period_start == d("2023-01-07")
    assert replacement.term is Term.LONG
    assert replacement.cost_basis == D(980)
    assert result.totals.long_term == D(120)
    assert result.totals.short_term == D(0)


def test_chain_of_wash_sales_defers_until_a_clean_sale() -> None:
    result = run(
        buy("l1", "2024-01-02", 10, 1000),
        sell("s1", "2024-02-01", 10, 900),  # loss 100 -> l2
        buy("l2", "2024-02-10", 10, 850),  # basis 950
        sell("s2", "2024-03-01", 10, 800),  # loss 150 (50 own + 100 carried) -> l3
        buy("l3", "2024-03-15", 10, 790),  # basis 940
        sell("s3", "2024-06-03", 10, 700),  # loss 240; nothing bought within 30 days
    )
    assert [
        row(result, s, lot).wash_sale_disallowed for s, lot in (("s1", "l1"), ("s2", "l2"))
    ] == [
        D(100),
        D(150),
    ]
    last = row(result, "s3", "l3")
    assert (last.cost_basis, last.gain_loss, last.wash_sale_disallowed) == (D(940), D(-240), D(0))
    # The whole economic loss (1000 + 850 + 790 - 900 - 800 - 700 = 240) is reported once.
    assert result.totals.short_term == D(-240)
    # Holding periods chain: l3 starts l2's days + l1's days before its purchase.
    l2_start = d("2024-02-10") - (d("2024-02-01") - d("2024-01-02"))
    assert row(result, "s2", "l2").holding_period_start == l2_start
    assert last.holding_period_start == d("2024-03-15") - (d("2024-03-01") - l2_start)


def test_ira_sales_are_not_tax_events_and_never_wash() -> None:
    result = run(
        buy("i1", "2024-01-02", 10, 1000, account="ira"),
        sell("s1", "2024-02-01", 10, 500, account="ira"),
        buy("i2", "2024-02-02", 10, 500, account="ira"),
        buy("t1", "2024-02-03", 10, 500),
    )
    assert result.realized == ()
    assert result.wash_matches == ()
    assert only_open(result, "t1").adjusted_basis == D(500)


def test_imported_lot_keeps_its_adjusted_basis_and_tacked_holding_period() -> None:
    result = run(
        buy("imp", "2023-11-01", 10, 800, holding_period_start="2022-12-15", wash_adjustment="150"),
        sell("s", "2023-12-20", 10, 1000),
    )
    sold = row(result, "s", "imp")
    assert (sold.cost_basis, sold.gain_loss, sold.term) == (D(950), D(50), Term.LONG)
    assert sold.acquired_date == d("2023-11-01")


def test_an_imported_holding_period_start_is_tacked_onto_the_replacement() -> None:
    # An opening lot transferred in on 2023-11-01 but held since 2022-06-15 (its imported
    # holding_period_start), sold at a loss and replaced: the replacement includes the days
    # since 2022-06-15 (IRC §1223(3)), not since the transfer date, and is long-term when sold.
    result = run(
        buy("imp", "2023-11-01", 10, 1000, holding_period_start="2022-06-15"),
        sell("s", "2023-12-20", 10, 800),
        buy("r", "2023-12-28", 10, 810),
        sell("t", "2024-01-10", 10, 1100),
    )
    loss = row(result, "s", "imp")
    assert (loss.holding_period_start, loss.term) == (d("2022-06-15"), Term.LONG)
    tacked = d("2023-12-28") - (d("2023-12-20") - d("2022-06-15"))
    assert tacked == d("2022-06-23")
    [match] = matches_of(result, "s")
    assert match.replacement_holding_period_start == tacked
    replacement = row(result, "t", "r")
    assert (replacement.holding_period_start, replacement.term) == (tacked, Term.LONG)
    assert replacement.cost_basis == D(1010)
    # The same lot without its imported start would tack from 2023-11-01: short-term.
    plain = run(
        buy("imp", "2023-11-01", 10, 1000),
        sell("s", "2023-12-20", 10, 800),
        buy("r", "2023-12-28", 10, 810),
        sell("t", "2024-01-10", 10, 1100),
    )
    assert row(plain, "t", "r").term is Term.SHORT


def test_imported_adjusted_lot_has_already_absorbed_a_loss() -> None:
    result = run(
        buy("imp", "2024-01-02", 10, 800, wash_adjustment="100"),
        buy("b", "2024-01-03", 10, 1000),
        sell("s", "2024-01-20", 10, 700, lots=[("b", 10)]),
    )
    assert result.wash_matches == ()


# -------------------------------------------------------------------------------- errors


def test_every_problem_is_reported_with_trade_and_field() -> None:
    accounts = (AccountSpec("taxable", AccountType.TAXABLE),)
    trades = (
        buy("b1", "2024-01-05", 10, 1000),
        buy("b1", "2024-01-06", 5, "10.001"),
        buy("b3", "2024-01-04", -1, 10, account="nowhere"),
        sell("s1", "2024-02-01", 20, 1000),
        sell("s2", "2024-02-02", 3, 300, lots=[("zz", 2), ("b1", 2)]),
    )
    with pytest.raises(ReplayError) as caught:
        replay(accounts, trades)
    assert caught.value.lines() == [
        "trade b1 (trades[1]): id: duplicate of trades[0]",
        "trade b1 (trades[1]): amount: has more than 2 decimal places (cents): 10.001",
        "trade b3 (trades[2]): account: unknown account 'nowhere'",
        "trade b3 (trades[2]): date: 2024-01-04 is before the previous trade's 2024-01-06: "
        "trades must be in the order they happened",
        "trade b3 (trades[2]): quantity: must be > 0 shares, got -1",
        "trade s2 (trades[4]): lots[0].lot_id: unknown lot 'zz': no earlier buy",
        "trade s2 (trades[4]): lots: quantities sum to 4, not the sell's 3",
    ]


def test_oversell_is_reported_not_replayed() -> None:
    with pytest.raises(ReplayError) as caught:
        run(
            buy("b1", "2024-01-05", 10, 1000),
            sell("s1", "2024-02-01", 6, 600),
            sell("s2", "2024-02-02", 6, 600),
            sell("s3", "2024-02-03", 5, 500, lots=[("b1", 5)]),
            sell("s4", "2024-02-04", 1, 100, account="joint"),
        )
    assert caught.value.lines() == [
        "trade s2 (trades[2]): quantity: sells 6 shares of M in account taxable but only 4 "
        "are held",
        "trade s3 (trades[3]): lots[0].quantity: sells 5 shares of lot b1 but only 4 are "
        "still held",
        "trade s4 (trades[4]): quantity: sells 1 shares of M in account joint but only 0 are held",
    ]


def test_specific_lot_must_be_in_the_same_account_and_symbol() -> None:
    with pytest.raises(ReplayError) as caught:
        run(
            buy("b1", "2024-01-05", 10, 1000, account="joint"),
            sell("s1", "2024-02-01", 5, 500, lots=[("b1", 5)]),
        )
    assert caught.value.lines() == [
        "trade s1 (trades[1]): lots[0].lot_id: lot 'b1' holds M in account joint, not M in taxable"
    ]


def test_bad_params_are_reported() -> None:
    with pytest.raises(ReplayError) as caught:
        run(buy("b1", "2024-01-05", 10, 1000), params=ReplayParams(wash_sale_window_days=-1))
    assert caught.value.lines() == ["params: wash_sale_window_days: must be an integer >= 0"]


def test_shares_sold_together_never_replace_each_other() -> None:
    # FIFO relieves a (old, loss) and b (bought 10 days before, loss) in one sell: b's shares
    # are sold, not held, so they cannot replace a's; r (bought after) replaces the first loss.
    result = run(
        buy("a", "2024-01-02", 10, 1000),
        buy("b", "2024-04-20", 10, 900),
        sell("s", "2024-05-01", 20, 1600),
        buy("r", "2024-05-10", 10, 800),
    )
    assert [(m.loss_lot_id, m.replacement_lot_id, m.quantity) for m in result.wash_matches] == [
        ("a", "r", D(10))
    ]
    assert row(result, "s", "b").wash_sale_disallowed == 0
    assert only_open(result, "r").adjusted_basis == D(1000)
