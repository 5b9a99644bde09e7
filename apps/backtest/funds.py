"""A fund model for the backtest (``--model funds``): documented baskets of the real price series.

These are **baskets, not real funds**: each "fund" holds, at equal weights rebalanced daily,
the names of the 20-stock dataset that a sector rule picks, and its price is the basket's value
less its expense ratio accrued daily. They overlap the way real funds do (a total-market fund
and a large-cap fund share most of their holdings), which is what gains deferral across funds
needs; the optimizer sees them through their holdings (``core.lookthrough``).

* ``TMF`` "total market": every name of the dataset; 0.03% a year.
* ``LCF`` "core": every name outside Energy, Industrials and Consumer Discretionary (70% of
  TMF); 0.05%.
* ``DIVF`` "dividend": Consumer Staples, Energy and the pharmaceutical companies; 0.35%.
* ``TECH`` "technology": Information Technology; 0.10%.

The model holds TMF 40%, LCF 30%, DIVF 20%, TECH 9% and the book's 1% cash. ``--model
funds-priced`` is the same model with each fund's risk estimated from its own prices only (no
look-through): what look-through adds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from apps.backtest.data import PriceData
from apps.optimizer.core.lookthrough import FUND_SECTOR
from apps.optimizer.core.types import FloatArray

TRADING_DAYS_PER_YEAR = 252


def _total(sector: str, industry: str) -> bool:
    return True


def _core(sector: str, industry: str) -> bool:
    return sector not in ("Energy", "Industrials", "Consumer Discretionary")


def _dividend(sector: str, industry: str) -> bool:
    return sector in ("Consumer Staples", "Energy") or industry == "Pharmaceuticals"


def _technology(sector: str, industry: str) -> bool:
    return sector == "Information Technology"


# symbol: (name, rule on (sector, industry), expense ratio a year, model weight)
FUNDS: dict[str, tuple[str, Callable[[str, str], bool], float, float]] = {
    "TMF": ("Total market basket", _total, 0.0003, 0.40),
    "LCF": ("Core basket", _core, 0.0005, 0.30),
    "DIVF": ("Dividend basket", _dividend, 0.0035, 0.20),
    "TECH": ("Technology basket", _technology, 0.0010, 0.09),
}


def fund_holdings(stocks: PriceData) -> dict[str, dict[str, float]]:
    """Each fund's holdings: its rule's names of ``stocks`` at equal weights."""
    out: dict[str, dict[str, float]] = {}
    for fund, (_, rule, _, _) in FUNDS.items():
        held = [
            s
            for s, sector, industry in zip(
                stocks.symbols, stocks.sectors, stocks.industries, strict=True
            )
            if rule(sector, industry)
        ]
        if not held:
            raise ValueError(f"{fund}: no name of the dataset matches its rule")
        out[fund] = dict.fromkeys(held, 1.0 / len(held))
    return out


def fund_closes(stocks: PriceData, holdings: dict[str, dict[str, float]]) -> FloatArray:
    """Daily closes of the funds: 100 on the first day, then the basket's return less fees."""
    column = {s: j for j, s in enumerate(stocks.symbols)}
    returns = stocks.closes[1:] / stocks.closes[:-1] - 1.0
    out = np.empty((len(stocks.dates), len(FUNDS)))
    for f, (fund, (_, _, expense, _)) in enumerate(FUNDS.items()):
        weights = np.zeros(len(stocks.symbols))
        for symbol, weight in holdings[fund].items():
            weights[column[symbol]] = weight
        daily = (1.0 + returns @ weights) * (1.0 - expense / TRADING_DAYS_PER_YEAR)
        out[:, f] = 100.0 * np.concatenate([[1.0], np.cumprod(daily)])
    return out


def fund_dataset(stocks: PriceData, *, look_through: bool = True) -> PriceData:
    """The funds as the backtest's universe, seen through ``stocks`` (their holdings' prices).

    ``look_through=False`` (``--model funds-priced``, the ablation) models each fund from its
    own prices alone, like a stock with no sector.
    """
    holdings = fund_holdings(stocks)
    symbols = tuple(FUNDS)
    if not look_through:
        return PriceData(
            dates=stocks.dates,
            symbols=symbols,
            closes=fund_closes(stocks, holdings),
            sectors=(FUND_SECTOR,) * len(symbols),
            source=f"{stocks.source}; funds: documented baskets of it, priced only",
        )
    return PriceData(
        dates=stocks.dates,
        symbols=symbols,
        closes=fund_closes(stocks, holdings),
        sectors=(FUND_SECTOR,) * len(symbols),
        source=f"{stocks.source}; funds: documented baskets of it (apps/backtest/funds.py)",
        industries=(FUND_SECTOR,) * len(symbols),
        holdings=holdings,
        underlying=stocks,
    )


def fund_model_weights(cash_target_weight: float) -> FloatArray:
    """The fund model's targets in ``FUNDS`` order, scaled to sum to 1 − the cash target."""
    raw = np.array([weight for *_, weight in FUNDS.values()])
    out: FloatArray = raw / raw.sum() * (1.0 - cash_target_weight)
    return out
