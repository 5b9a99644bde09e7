"""A run's universe: names priced, classified and risk-modelled once; the solver settings.

Funds are seen through their holdings (``core.lookthrough``).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any

import numpy as np
from django.conf import settings

from apps.common.money import to_float
from apps.optimizer.core import types as core
from apps.optimizer.core.lookthrough import FUND_SECTOR, build_look_through_risk_model
from apps.optimizer.core.problem import CompiledUniverse, compile_universe
from apps.optimizer.core.serialization import from_jsonable, to_jsonable
from apps.securities.models import FUND_KINDS
from apps.securities.selectors import (
    fund_holdings_get,
    price_history_get,
    price_map_get,
    security_map_get,
)


def solver_config() -> core.SolverConfig:
    """The core's configuration from settings (``OPTIMIZER_*`` environment variables)."""
    return core.SolverConfig(**settings.OPTIMIZER_SOLVER_CONFIG)


@dataclass(frozen=True)
class RunUniverse:
    """Everything shared by the accounts of one run: names, prices, risk model, compiled blocks."""

    universe: core.Universe
    risk_model: core.RiskModel
    compiled: CompiledUniverse
    priced_on: dict[str, date]
    index: dict[str, int] = field(default_factory=dict)

    @cached_property
    def sectors_by_symbol(self) -> dict[str, str]:
        """Each universe name's sector (harvest pairs are within a sector)."""
        return dict(zip(self.universe.symbols, self.universe.sectors, strict=True))

    def snapshot(self) -> dict[str, Any]:
        """The shared part of every proposal's input (stored once per run), as JSON data."""
        return {
            "universe": to_jsonable(self.universe),
            "risk_model": to_jsonable(self.risk_model),
            "priced_on": {s: d.isoformat() for s, d in self.priced_on.items()},
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> "RunUniverse":
        """Rebuild (and compile) a run's universe from its stored snapshot.

        Every chunk of a run, in any worker process, solves against the same prices and risk model.
        """
        universe = from_jsonable(core.Universe, data["universe"])
        risk_model = from_jsonable(core.RiskModel, data["risk_model"])
        return cls(
            universe=universe,
            risk_model=risk_model,
            compiled=compile_universe(universe, risk_model, solver_config()),
            priced_on={s: date.fromisoformat(d) for s, d in data["priced_on"].items()},
            index={s: i for i, s in enumerate(universe.symbols)},
        )


def run_universe_build(*, symbols: Iterable[str], as_of: date) -> RunUniverse:
    """Price, classify and risk-model the given names as of a date (a few queries).

    Names with no close on or before ``as_of`` are left out; accounts that hold or target them
    are skipped by the data-quality gate. A fund with holdings on file is seen through them
    (``core.lookthrough``): its risk is its holdings' (priced over the same history) plus its
    own residual; a fund without holdings is modelled from its own prices like a stock.
    """
    config = solver_config()
    quotes = price_map_get(symbols=symbols, as_of=as_of)
    names = tuple(sorted(quotes))
    holdings = {
        fund: {held: to_float(weight) for held, weight in weights.items()}
        for fund, weights in fund_holdings_get(funds=names, as_of=as_of).items()
    }
    held = sorted({s for weights in holdings.values() for s in weights} - set(names))
    securities = security_map_get(symbols=[*names, *held])
    history = price_history_get(
        symbols=[*names, *held],
        start=as_of - timedelta(days=settings.OPTIMIZER_RISK_HISTORY_DAYS),
        end=as_of,
    )
    held = [s for s in held if s in history.columns and not history[s].isna().all()]
    price_symbols = (*names, *held)
    frame = history.reindex(columns=list(price_symbols)).ffill().bfill()
    for symbol in names:  # a name without history: flat at its last close (floored variance)
        if frame[symbol].isna().all():
            frame[symbol] = to_float(quotes[symbol].close_price)
    holdings = {f: {s: w for s, w in ws.items() if s in frame} for f, ws in holdings.items()}

    def label(symbol: str, kind: str) -> str:
        security = securities[symbol]
        if security.kind in FUND_KINDS:
            return FUND_SECTOR
        return str(getattr(security, kind)) or "Unclassified"

    sectors = {s: label(s, "sector") for s in price_symbols}
    industries = {s: label(s, "industry") for s in price_symbols}
    risk_model = build_look_through_risk_model(
        symbols=names,
        holdings=holdings,
        price_symbols=price_symbols,
        sectors=sectors,
        industries=industries,
        price_history=frame.to_numpy(dtype=np.float64),
    )
    universe = core.Universe(
        symbols=names,
        prices=np.array([to_float(quotes[s].close_price) for s in names]),
        sectors=tuple(sectors[s] for s in names),
        industries=tuple(industries[s] for s in names),
    )
    return RunUniverse(
        universe=universe,
        risk_model=risk_model,
        compiled=compile_universe(universe, risk_model, config),
        priced_on={s: quotes[s].priced_on for s in names},
        index={s: i for i, s in enumerate(names)},
    )
