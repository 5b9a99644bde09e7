"""Invariants over random trade histories (hypothesis): conservation, determinism, holdings."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.taxlots.engine import (
    LotMethod,
    LotPick,
    ReplayError,
    ReplayParams,
    ReplayResult,
    Side,
    Trade,
    WashKind,
    replay,
)
from apps.taxlots.replay_format import serialize_replay_result
from tests.unit.taxlots.builders import ACCOUNTS

TAXABLE = {"taxable", "joint"}
ACCOUNT_IDS = [a.id for a in ACCOUNTS]
START = dt.date(2020, 1, 1)


@st.composite
def histories(draw: st.DrawFn) -> list[Trade]:
    """Valid histories: 2 symbols, 4 accounts, small gaps so wash sales fire, no oversells."""
    steps = draw(st.integers(min_value=1, max_value=40))
    fractional = draw(st.booleans())
    day = START
    held: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    trades: list[Trade] = []
    for n in range(steps):
        day += dt.timedelta(days=draw(st.integers(min_value=0, max_value=25)))
        account = draw(st.sampled_from(ACCOUNT_IDS))
        symbol = draw(st.sampled_from(["A", "B"]))
        price = Decimal(draw(st.integers(min_value=500, max_value=1500))) / 100
        if held[(account, symbol)] and draw(st.booleans()):
            quantity = min(held[(account, symbol)], _quantity(draw, fractional))
            amount = (price * quantity).quantize(Decimal("0.01"))
            method = draw(st.sampled_from([None, *LotMethod, "specific"]))
            picks = _picks(trades, account, symbol, quantity) if method == "specific" else None
            trades.append(
                Trade(f"s{n}", day, account, symbol, Side.SELL, quantity, amount, lots=picks,
                      lot_method=None if method == "specific" else method)  # type: ignore[arg-type]
            )  # fmt: skip
            held[(account, symbol)] -= quantity
        else:
            quantity = _quantity(draw, fractional)
            amount = (price * quantity).quantize(Decimal("0.01"))
            group = draw(st.sampled_from([None, None, "g1", "g2"]))
            trades.append(
                Trade(f"b{n}", day, account, symbol, Side.BUY, quantity, amount, buy_group=group)
            )
            held[(account, symbol)] += quantity
    return trades


def _quantity(draw: st.DrawFn, fractional: bool) -> Decimal:
    whole = Decimal(draw(st.integers(min_value=1, max_value=60)))
    if fractional:
        return whole + Decimal(draw(st.integers(min_value=0, max_value=999))) / 1000
    return whole


def _picks(
    trades: list[Trade], account: str, symbol: str, quantity: Decimal
) -> tuple[LotPick, ...]:
    """Name open lots, newest first (any valid identification will do)."""
    open_by_lot: dict[str, Decimal] = defaultdict(Decimal)
    for lot in replay(ACCOUNTS, trades).lots_open:
        if (lot.account, lot.symbol) == (account, symbol):
            open_by_lot[lot.lot_id] += lot.quantity
    picks, left = [], quantity
    for lot_id, lot_quantity in reversed(open_by_lot.items()):
        take = min(left, lot_quantity)
        picks.append(LotPick(lot_id, take))
        left -= take
        if not left:
            break
    return tuple(picks)


def replay_all(trades: list[Trade], params: ReplayParams | None = None) -> ReplayResult:
    return replay(ACCOUNTS, trades, params or ReplayParams())


# A and B substantially identical (issue #17): purchases of either replace losses of both.
PARAMS = pytest.mark.parametrize(
    "params",
    [ReplayParams(), ReplayParams(substantially_identical=(frozenset({"A", "B"}),))],
    ids=["symbols", "A and B one group"],
)


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PARAMS
@PROPERTY
@given(trades=histories())
def test_basis_is_conserved_to_the_cent(trades: list[Trade], params: ReplayParams) -> None:
    result = replay_all(trades, params)
    purchases = sum(
        (t.amount for t in trades if t.side is Side.BUY and t.account in TAXABLE), Decimal(0)
    )
    deferred = sum(
        (m.disallowed_loss for m in result.wash_matches if m.kind is WashKind.DEFERRED), Decimal(0)
    )
    realized_basis = sum((r.cost_basis for r in result.realized), Decimal(0))
    open_basis = sum(
        (lot.adjusted_basis for lot in result.lots_open if lot.account in TAXABLE), Decimal(0)
    )
    assert realized_basis + open_basis == purchases + deferred
    assert all(lot.adjusted_basis == lot.cost_basis_unadjusted + lot.wash_adjustment
               for lot in result.lots_open)  # fmt: skip


@PARAMS
@PROPERTY
@given(trades=histories())
def test_rows_are_consistent_and_disallowed_losses_are_fully_placed(
    trades: list[Trade], params: ReplayParams
) -> None:
    result = replay_all(trades, params)
    for row in result.realized:
        assert row.reportable_gain_loss == row.gain_loss + row.wash_sale_disallowed
        assert row.gain_loss == row.proceeds - row.cost_basis
        assert Decimal(0) <= row.disallowed_quantity <= row.quantity
        assert row.wash_sale_disallowed >= 0
        assert row.form8949_code == ("W" if row.disallowed_quantity else "")
        assert row.account in TAXABLE
    for sell in (t for t in trades if t.side is Side.SELL and t.account in TAXABLE):
        rows = [r for r in result.realized if r.sell_id == sell.id]
        assert sum((r.proceeds for r in rows), Decimal(0)) == sell.amount
        assert sum((r.quantity for r in rows), Decimal(0)) == sell.quantity
    assert sum((m.disallowed_loss for m in result.wash_matches), Decimal(0)) == (
        result.totals.wash_disallowed_total
    )
    assert sum((m.quantity for m in result.wash_matches), Decimal(0)) == sum(
        (r.disallowed_quantity for r in result.realized), Decimal(0)
    )
    assert result.totals.short_term + result.totals.long_term == sum(
        (r.reportable_gain_loss for r in result.realized), Decimal(0)
    )


@PROPERTY
@given(histories())
def test_open_quantities_are_positive_and_match_the_trades(trades: list[Trade]) -> None:
    result = replay_all(trades)
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for t in trades:
        expected[(t.account, t.symbol)] += t.quantity if t.side is Side.BUY else -t.quantity
    held: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for lot in result.lots_open:
        assert lot.quantity > 0
        held[(lot.account, lot.symbol)] += lot.quantity
    assert {k: v for k, v in expected.items() if v} == dict(held)


@PROPERTY
@given(histories())
def test_replay_is_deterministic(trades: list[Trade]) -> None:
    assert serialize_replay_result(replay_all(trades)) == serialize_replay_result(
        replay_all(list(trades))
    )


@PROPERTY
@given(histories(), st.integers(min_value=1, max_value=5))
def test_selling_more_than_is_held_is_reported(trades: list[Trade], extra: int) -> None:
    held: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for t in trades:
        held[(t.account, t.symbol)] += t.quantity if t.side is Side.BUY else -t.quantity
    (account, symbol), quantity = max(held.items(), key=lambda item: item[1])
    oversell = Trade("over", trades[-1].date, account, symbol, Side.SELL,
                     quantity + extra, Decimal(1))  # fmt: skip
    with pytest.raises(ReplayError) as caught:
        replay_all([*trades, oversell])
    [problem] = caught.value.problems
    assert problem.where == f"trade over (trades[{len(trades)}])"
    assert problem.field == "quantity"
