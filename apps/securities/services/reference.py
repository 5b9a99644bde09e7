"""The reference-data load: the S&P 500 master, real and synthetic prices, demo basket funds."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from apps.ingest.problems import Problem
from apps.securities import reference_data as ref
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
    synthetic_from: date
    end_on: date
    seconds: float
    notes: list[str] = field(default_factory=list)


def _reference_price_rows(
    *, securities: Sequence[ref.ReferenceSecurity], end_on: date, synthetic_from: date, seed: int
) -> tuple[list[PriceRow], int, int]:
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
    return rows, real_count, len(rows) - real_count


@transaction.atomic
def reference_data_load(
    *, end_on: date, synthetic_from: date | None = None, seed: int = 0
) -> ReferenceLoadReport:
    """Load the S&P 500 (+RRC), funds and cash, real skfolio closes and synthetic prices.

    Idempotent: a second run with the same arguments creates and updates nothing.

    Args:
        end_on: last date to generate synthetic prices for (the caller's "today").
        synthetic_from: first synthetic date for names without real prices; default two years
            before ``end_on``. The 20 real names continue synthetically from their last real close.
        seed: the factor model's seed (stored in ``Price.source``).
    """
    started = time.perf_counter()
    synthetic_from = synthetic_from or end_on - timedelta(days=730)
    securities = ref.reference_securities()
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
    rows, real_count, synthetic_count = _reference_price_rows(
        securities=securities, end_on=end_on, synthetic_from=synthetic_from, seed=seed
    )
    created, updated, unchanged = prices_upsert(rows)
    prices_report = ImportReport(
        len(rows), created, updated, unchanged, seconds=time.perf_counter() - price_started
    )
    return ReferenceLoadReport(
        securities=securities_report,
        prices=prices_report,
        real_price_rows=real_count,
        synthetic_price_rows=synthetic_count,
        synthetic_from=synthetic_from,
        end_on=end_on,
        seconds=time.perf_counter() - started,
        notes=[
            "synthetic dates are business days (Mon-Fri); exchange holidays are not removed",
        ],
    )
