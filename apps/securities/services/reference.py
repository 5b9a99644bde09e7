"""The reference-data load: the S&P 500 master, real and synthetic prices, demo basket funds."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from django.db import transaction

from apps.ingest.problems import Problem
from apps.securities import reference_data as ref
from apps.securities.models import SecurityKind
from apps.securities.services.funds import FundHoldingLine, FundHoldingsReport, fund_holdings_set
from apps.securities.services.master import (
    ImportReport,
    PriceRow,
    file_rejected,
    prices_upsert,
    securities_upsert,
    security_row_errors,
)


@dataclass(frozen=True, slots=True)
class ReferenceLoadReport:
    """What ``reference_data_load`` did."""

    securities: ImportReport
    prices: ImportReport
    real_price_rows: int
    synthetic_price_rows: int
    basket_price_rows: int
    fund_holdings: FundHoldingsReport
    synthetic_from: date
    end_on: date
    seconds: float
    notes: list[str] = field(default_factory=list)


def _reference_price_rows(
    *, securities: Sequence[ref.ReferenceSecurity], end_on: date, synthetic_from: date, seed: int
) -> tuple[list[PriceRow], int, int, dict[str, float]]:
    """Real and synthetic closes, the counts of each, and every close on the anchor day."""
    real = ref.skfolio_real_prices()
    rows: list[PriceRow] = []
    for day, closes in zip(real.dates, real.closes, strict=True):
        rows.extend(
            PriceRow(symbol, day, Decimal(close), False, ref.SKFOLIO_SOURCE)
            for symbol, close in zip(real.symbols, closes, strict=True)
        )
    real_count = len(rows)

    real_last_close = {symbol: float(real.closes[-1][j]) for j, symbol in enumerate(real.symbols)}
    funds = {fund.symbol: fund for fund in ref.FUND_SPECS}
    specs: list[ref.SyntheticSpec] = []
    for security in securities:
        if security.symbol in funds:
            specs.append(ref.fund_spec(funds[security.symbol]))
        else:
            specs.append(
                ref.stock_spec(
                    symbol=security.symbol,
                    sector=security.sector,
                    seed=seed,
                    start_price=real_last_close.get(security.symbol),
                )
            )
    calendar = ref.synthetic_calendar(
        real_dates=real.dates, end=max(end_on, ref.SYNTHETIC_ANCHOR_ON)
    )
    paths = ref.synthetic_price_paths(
        specs=specs, calendar=calendar, seed=seed, real_market_log_returns=real.market_log_returns
    )
    source = ref.synthetic_source(seed)
    real_end = real.dates[-1]
    anchor_row = calendar.index(ref.SYNTHETIC_ANCHOR_ON)
    anchors = {
        spec.symbol: real_last_close.get(spec.symbol)
        or float(ref.format_price(paths[anchor_row, column]))
        for column, spec in enumerate(specs)
    }
    for column, spec in enumerate(specs):
        first_day = (
            real_end + timedelta(days=1) if spec.symbol in real_last_close else synthetic_from
        )
        label = ref.CONSTANT_NAV_SOURCE if spec.is_constant_nav else source
        rows.extend(
            PriceRow(spec.symbol, day, Decimal(ref.format_price(paths[index, column])), True, label)
            for index, day in enumerate(calendar)
            if first_day <= day <= end_on
        )
    return rows, real_count, len(rows) - real_count, anchors


def _basket_rows(
    *,
    stocks: Sequence[ref.ReferenceSecurity],
    rows: Sequence[PriceRow],
    anchors: dict[str, float],
    from_on: date,
    end_on: date,
) -> tuple[list[FundHoldingLine], list[PriceRow]]:
    """The demo basket funds' holdings, and their closes on each day every holding has one."""
    symbols = sorted(s.symbol for s in stocks if s.kind == SecurityKind.STOCK)
    column = {symbol: j for j, symbol in enumerate(symbols)}
    days = sorted({r.priced_on for r in rows if from_on <= r.priced_on <= end_on})
    day_row = {day: i for i, day in enumerate(days)}
    closes = np.full((len(days), len(symbols)), np.nan)
    for r in rows:
        i, j = day_row.get(r.priced_on), column.get(r.symbol)
        if i is not None and j is not None:
            closes[i, j] = float(r.close_price)
    anchor = np.array([anchors[symbol] for symbol in symbols])
    large_caps = ref.sp100_symbols()
    source = ref.basket_source()
    holdings: list[FundHoldingLine] = []
    prices: list[PriceRow] = []
    for fund in ref.BASKET_FUNDS:
        members = ref.basket_members(fund.rule, stocks=stocks, large_caps=large_caps)
        weights = ref.equal_weights(len(members))
        holdings.extend(
            FundHoldingLine(len(holdings) + k, fund.symbol, ref.BASKET_HOLDINGS_ON, symbol, w)
            for k, (symbol, w) in enumerate(zip(members, weights, strict=True), start=1)
        )
        columns = [column[symbol] for symbol in members]
        member_closes = closes[:, columns]
        priced = ~np.isnan(member_closes).any(axis=1)
        values = ref.basket_closes(
            weights=np.array([float(w) for w in weights]),
            closes=member_closes[priced],
            anchor_closes=anchor[columns],
        )
        priced_days = [day for day, ok in zip(days, priced, strict=True) if ok]
        prices.extend(
            PriceRow(fund.symbol, day, Decimal(ref.format_price(value)), True, source)
            for day, value in zip(priced_days, values, strict=True)
        )
    return holdings, prices


@transaction.atomic
def reference_data_load(
    *, end_on: date, synthetic_from: date | None = None, seed: int = 0
) -> ReferenceLoadReport:
    """Load the S&P 500 (+RRC), funds and cash, real skfolio closes and synthetic prices.

    Then the demo basket funds (``reference_data.BASKET_FUNDS``): their holdings through
    ``fund_holdings_set`` (the import's writer) and their closes, each day's basket value.

    Idempotent: a second run with the same arguments creates and updates nothing.

    Args:
        end_on: last date to generate synthetic prices for (the caller's "today").
        synthetic_from: first synthetic date for names without real prices; default two years
            before ``end_on``. The 20 real names continue synthetically from their last real close.
        seed: the factor model's seed (stored in ``Price.source``).
    """
    started = time.perf_counter()
    synthetic_from = synthetic_from or end_on - timedelta(days=730)
    stocks_and_funds = ref.reference_securities()
    securities = [*stocks_and_funds, *ref.basket_fund_securities()]
    errors = [
        Problem(line, name, f"{row.symbol}: {reason}")
        for line, row in enumerate(securities, start=1)
        for name, reason in security_row_errors(row)
    ]
    if errors:
        raise file_rejected(errors)
    created, updated, unchanged = securities_upsert(securities)
    securities_report = ImportReport(len(securities), created, updated, unchanged)

    price_started = time.perf_counter()
    rows, real_count, synthetic_count, anchors = _reference_price_rows(
        securities=stocks_and_funds, end_on=end_on, synthetic_from=synthetic_from, seed=seed
    )
    holdings, basket_prices = _basket_rows(
        stocks=stocks_and_funds,
        rows=rows,
        anchors=anchors,
        from_on=synthetic_from,
        end_on=end_on,
    )
    rows.extend(basket_prices)
    created, updated, unchanged = prices_upsert(rows)
    prices_report = ImportReport(
        len(rows), created, updated, unchanged, seconds=time.perf_counter() - price_started
    )
    return ReferenceLoadReport(
        securities=securities_report,
        prices=prices_report,
        real_price_rows=real_count,
        synthetic_price_rows=synthetic_count,
        basket_price_rows=len(basket_prices),
        fund_holdings=fund_holdings_set(lines=holdings),
        synthetic_from=synthetic_from,
        end_on=end_on,
        seconds=time.perf_counter() - started,
        notes=[
            "synthetic dates are business days (Mon-Fri); exchange holidays are not removed",
        ],
    )
