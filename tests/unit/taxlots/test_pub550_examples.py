"""Worked examples from IRS Publication 550 ("Wash Sales") and Rev. Rul. 70-231, to the cent.

The publication gives amounts and, in some editions, dates; where it gives none, dates are chosen
inside the window and labelled. Every figure the source states is asserted.
"""

from decimal import Decimal

from apps.taxlots.engine import WashKind
from apps.taxlots.rules import Term
from tests.unit.taxlots.builders import buy, d, matches_of, only_open, open_rows, row, run, sell


def test_basic_wash_sale() -> None:
    # Pub 550, Wash Sales, Example 1 (also IRS VITA Link & Learn "Case Study 1: Wash Sales"):
    # buy 100 X for $1,000; sell them for $750 and within 30 days buy 100 for $800. The $250
    # loss is disallowed and added to the new stock's basis: $800 + $250 = $1,050.
    result = run(
        buy("b1", "2024-01-10", 100, 1000, symbol="X"),
        sell("s1", "2024-03-04", 100, 750, symbol="X"),
        buy("b2", "2024-03-20", 100, 800, symbol="X"),  # dates: ours, within the window
    )
    realized = row(result, "s1", "b1")
    assert realized.gain_loss == Decimal(-250)
    assert realized.wash_sale_disallowed == Decimal(250)
    assert realized.reportable_gain_loss == Decimal(0)
    assert realized.form8949_code == "W"
    replacement = only_open(result, "b2")
    assert replacement.adjusted_basis == Decimal(1050)
    assert replacement.wash_adjustment == Decimal(250)
    assert replacement.cost_basis_unadjusted == Decimal(800)
    # Pub 550: the new stock's holding period includes the old stock's (54 days held).
    assert replacement.holding_period_start == d("2024-03-20") - (d("2024-03-04") - d("2024-01-10"))


def test_more_stock_sold_than_bought_disallows_proportionally_in_acquisition_order() -> None:
    # Pub 550, Wash Sales, "More or less stock bought than sold", Example 1: 100 shares of M for
    # $5,000; within 30 days before selling them for $4,000 you bought 50 shares for $2,750 and
    # then 25 shares for $1,125. Of the $1,000 loss, $750 (75 shares) is disallowed and $250 is
    # deductible; new bases $2,750 + $500 = $3,250 and $1,125 + $250 = $1,375.
    result = run(
        buy("b1", "2024-09-20", 100, 5000),
        buy("b2", "2024-12-13", 50, 2750),
        buy("b3", "2024-12-20", 25, 1125),
        sell("s1", "2025-01-03", 100, 4000, lots=[("b1", 100)]),
    )
    realized = row(result, "s1", "b1")
    assert (realized.gain_loss, realized.wash_sale_disallowed) == (Decimal(-1000), Decimal(750))
    assert realized.disallowed_quantity == Decimal(75)
    assert realized.reportable_gain_loss == Decimal(-250)
    assert only_open(result, "b2").adjusted_basis == Decimal(3250)
    assert only_open(result, "b3").adjusted_basis == Decimal(1375)
    assert [
        (m.replacement_lot_id, m.quantity, m.disallowed_loss) for m in matches_of(result, "s1")
    ] == [
        ("b2", Decimal(50), Decimal(500)),
        ("b3", Decimal(25), Decimal(250)),
    ]
    assert result.totals.short_term == Decimal(-250)


def test_more_stock_bought_than_sold_uses_the_first_shares_bought() -> None:
    # Pub 550, "More or less stock bought than sold", Example 2: 100 shares sold at a $1,000
    # loss, then 50 shares bought on each of 4 days within 30 days: the whole loss is disallowed,
    # half ($500) added to the basis of the first 50 shares bought, half to the second 50; the
    # last two purchases are untouched. (Amounts per share and dates: ours.)
    result = run(
        buy("b0", "2024-09-16", 100, 2000),
        sell("s1", "2025-01-29", 100, 1000),
        buy("b1", "2025-02-03", 50, 600),
        buy("b2", "2025-02-04", 50, 600),
        buy("b3", "2025-02-05", 50, 600),
        buy("b4", "2025-02-06", 50, 600),
    )
    realized = row(result, "s1", "b0")
    assert realized.wash_sale_disallowed == Decimal(1000)
    assert realized.reportable_gain_loss == Decimal(0)
    assert [only_open(result, lot).adjusted_basis for lot in ("b1", "b2", "b3", "b4")] == [
        Decimal(1100),
        Decimal(1100),
        Decimal(600),
        Decimal(600),
    ]


def test_loss_and_gain_on_same_day() -> None:
    # Pub 550, Wash Sales, "Loss and gain on same day" (from Rev. Rul. 70-231): 100 shares bought
    # on each of three occasions at $158, $100 and $95 a share; all 300 sold the same day at $125;
    # 250 identical shares bought within 30 days after. The $33-a-share loss on the first block
    # ($3,300) is disallowed and cannot reduce the gains on the second and third blocks
    # ($2,500 + $3,000). Dates from Rev. Rul. 70-231 (1967 purchases: ours within 1967).
    result = run(
        buy("b1", "1967-02-01", 100, 15800),
        buy("b2", "1967-06-01", 100, 10000),
        buy("b3", "1967-10-02", 100, 9500),
        sell("s1", "1969-12-22", 300, 37500),
        buy("b4", "1970-01-08", 250, 31250),
    )
    first, second, third = (row(result, "s1", lot) for lot in ("b1", "b2", "b3"))
    assert (first.gain_loss, first.wash_sale_disallowed, first.reportable_gain_loss) == (
        Decimal(-3300),
        Decimal(3300),
        Decimal(0),
    )
    assert (second.reportable_gain_loss, third.reportable_gain_loss) == (
        Decimal(2500),
        Decimal(3000),
    )
    assert second.wash_sale_disallowed == third.wash_sale_disallowed == Decimal(0)
    assert result.totals.long_term == Decimal(5500)
    assert {r.term for r in result.realized} == {Term.LONG}
    # Only 100 of the 250 new shares replace the loss shares: the lot shows two rows.
    replaced, fresh = open_rows(result, "b4")
    assert (replaced.quantity, replaced.adjusted_basis) == (Decimal(100), Decimal(12500 + 3300))
    assert replaced.holding_period_start == d("1970-01-08") - (d("1969-12-22") - d("1967-02-01"))
    assert (fresh.quantity, fresh.adjusted_basis) == (Decimal(150), Decimal(18750))
    assert fresh.holding_period_start == d("1970-01-08")


def test_ira_replacement_disallows_permanently_without_basis_adjustment() -> None:
    # Rev. Rul. 2008-5 (also Pub 550, Wash Sales: stock bought for your IRA or Roth IRA): the
    # loss is disallowed and the basis of the IRA shares is not increased.
    for account in ("ira", "roth"):
        result = run(
            buy("b1", "2024-01-10", 100, 1000),
            sell("s1", "2024-06-03", 100, 600),
            buy("b2", "2024-06-14", 100, 620, account=account),
        )
        realized = row(result, "s1", "b1")
        assert realized.wash_sale_disallowed == Decimal(400)
        assert realized.reportable_gain_loss == Decimal(0)
        [match] = matches_of(result, "s1")
        assert match.kind is WashKind.PERMANENT
        assert match.replacement_holding_period_start == d("2024-06-14")
        ira_lot = only_open(result, "b2")
        assert (ira_lot.adjusted_basis, ira_lot.wash_adjustment) == (Decimal(620), Decimal(0))
        assert ira_lot.holding_period_start == d("2024-06-14")
        assert result.totals.wash_disallowed_total == Decimal(400)
