"""Terse trade builders for the tax-lot tests: amounts and quantities as text, never floats."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from apps.taxlots.engine import (
    AccountSpec,
    AccountType,
    LotMethod,
    LotPick,
    OpenLotRow,
    RealizedRow,
    ReplayParams,
    ReplayResult,
    Side,
    Trade,
    WashMatch,
    replay,
)

ACCOUNTS = (
    AccountSpec("taxable", AccountType.TAXABLE),
    AccountSpec("joint", AccountType.TAXABLE),
    AccountSpec("ira", AccountType.TRADITIONAL_IRA),
    AccountSpec("roth", AccountType.ROTH_IRA),
)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def D(value: str | int) -> Decimal:  # noqa: N802 - reads like a literal
    return Decimal(value)


def buy(
    trade_id: str,
    date: str,
    quantity: str | int,
    amount: str | int,
    *,
    account: str = "taxable",
    symbol: str = "M",
    buy_group: str | None = None,
    holding_period_start: str | None = None,
    wash_adjustment: str | None = None,
) -> Trade:
    return Trade(
        id=trade_id,
        date=d(date),
        account=account,
        symbol=symbol,
        side=Side.BUY,
        quantity=D(quantity),
        amount=D(amount),
        buy_group=buy_group,
        holding_period_start=d(holding_period_start) if holding_period_start else None,
        wash_adjustment=D(wash_adjustment) if wash_adjustment is not None else None,
    )


def sell(
    trade_id: str,
    date: str,
    quantity: str | int,
    amount: str | int,
    *,
    account: str = "taxable",
    symbol: str = "M",
    lots: Sequence[tuple[str, str | int]] | None = None,
    lot_method: LotMethod | None = None,
) -> Trade:
    return Trade(
        id=trade_id,
        date=d(date),
        account=account,
        symbol=symbol,
        side=Side.SELL,
        quantity=D(quantity),
        amount=D(amount),
        lots=tuple(LotPick(lot_id, D(q)) for lot_id, q in lots) if lots is not None else None,
        lot_method=lot_method,
    )


def run(*trades: Trade, params: ReplayParams | None = None) -> ReplayResult:
    return replay(ACCOUNTS, trades, params)


def row(result: ReplayResult, sell_id: str, lot_id: str) -> RealizedRow:
    rows = [r for r in result.realized if r.sell_id == sell_id and r.lot_id == lot_id]
    assert len(rows) == 1, rows
    return rows[0]


def open_rows(result: ReplayResult, lot_id: str) -> list[OpenLotRow]:
    return [lot for lot in result.lots_open if lot.lot_id == lot_id]


def only_open(result: ReplayResult, lot_id: str) -> OpenLotRow:
    rows = open_rows(result, lot_id)
    assert len(rows) == 1, rows
    return rows[0]


def matches_of(result: ReplayResult, sell_id: str) -> list[WashMatch]:
    return [m for m in result.wash_matches if m.loss_sell_id == sell_id]
