"""Golden cases: JSON inputs -> expected trades, replayed through the core.

Each fixture is ``{"input": problem_to_json payload, "expected": {...}, "tolerance_shares": x}``
(the same JSON a rebalance run stores). Regenerate after an intended behaviour change with
``OPTIMIZER_REGENERATE_GOLDEN=1 pytest tests/unit/optimizer/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from apps.optimizer.core.serialization import problem_from_json, problem_to_json
from apps.optimizer.core.solve import solve_household, solve_rebalance
from apps.optimizer.core.synthetic import make_account, make_universe
from apps.optimizer.core.types import (
    HouseholdProblem,
    RebalanceProblem,
    RebalanceResult,
    SolverConfig,
    TradeSide,
)
from tests.unit.optimizer.builders import lot, problem, universe
from tests.unit.optimizer.test_household import _household

FIXTURES = Path(__file__).parent / "fixtures"


def _march_2020() -> RebalanceProblem:
    prices = [50.0, 60.0, 70.0, 80.0, 55.0, 65.0] * 2
    u = universe(prices, ["A"] * 6 + ["B"] * 6)
    lots = [lot(f"L{i}", i, 150.0, 100.0, 90) for i in (0, 1, 2, 6, 7, 8)]
    return problem(u, lots, [0.99 / 12] * 12, cash=1_000.0)


def _synthetic_account() -> RebalanceProblem:
    return make_account(make_universe(30, seed=12), seed=5)


CASES: dict[str, Callable[[], RebalanceProblem | HouseholdProblem]] = {
    "march_2020": _march_2020,
    "synthetic_30_names_restricted": _synthetic_account,
    "household_taxable_and_ira": lambda: _household(location=True),
}


def _solve(p: RebalanceProblem | HouseholdProblem, config: SolverConfig) -> RebalanceResult:
    if isinstance(p, RebalanceProblem):
        return solve_rebalance(p, config)
    return solve_household(p, config)


def _trades(result: RebalanceResult) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in result.trades:
        key = f"sell:{t.lot_id}" if t.side is TradeSide.SELL else f"buy:{t.account_id}:{t.symbol}"
        out[key] = out.get(key, 0.0) + t.shares
    return out


def _regenerate() -> None:
    FIXTURES.mkdir(exist_ok=True)
    config = SolverConfig()
    for name, build in CASES.items():
        p = build()
        result = _solve(p, config)
        payload: dict[str, Any] = {
            "input": json.loads(problem_to_json(p, config)),
            "expected": {
                "trades": _trades(result),
                "estimated_tax_amount": result.taxes.estimated_tax_amount,
                "active_risk_after_rate": result.after.active_risk_rate,
            },
            "tolerance_shares": 1.0,
        }
        (FIXTURES / f"{name}.json").write_text(json.dumps(payload, indent=1, sort_keys=True))


if os.environ.get("OPTIMIZER_REGENERATE_GOLDEN") == "1":
    _regenerate()


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_case_replays(name: str) -> None:
    payload = json.loads((FIXTURES / f"{name}.json").read_text())
    p, config = problem_from_json(payload["input"])
    assert config is not None
    result = _solve(p, config)
    expected = payload["expected"]
    got = _trades(result)
    tolerance = payload["tolerance_shares"]
    for key in set(got) | set(expected["trades"]):
        assert got.get(key, 0.0) == pytest.approx(expected["trades"].get(key, 0.0), abs=tolerance)
    scale = max(abs(expected["estimated_tax_amount"]), 1.0)
    assert result.taxes.estimated_tax_amount == pytest.approx(
        expected["estimated_tax_amount"], rel=0.02, abs=0.02 * scale
    )
    assert result.after.active_risk_rate == pytest.approx(
        expected["active_risk_after_rate"], abs=2e-4
    )
    assert not result.violations


@pytest.mark.parametrize("name", sorted(CASES))
def test_json_round_trip_is_lossless(name: str) -> None:
    p = CASES[name]()
    text = problem_to_json(p, SolverConfig())
    again, config = problem_from_json(text)
    assert problem_to_json(again, config) == text
    assert type(again) is type(p)
    assert np.array_equal(again.target_weights, p.target_weights)
