"""Small hand-built problems for the optimizer unit tests."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from apps.optimizer.core.types import (
    Constraints,
    RebalanceMode,
    RebalanceProblem,
    RiskModel,
    TaxLot,
    TaxProfile,
    Universe,
    WashSaleLocks,
)

AS_OF = date(2024, 6, 28)


def universe(prices: list[float], sectors: list[str]) -> Universe:
    n = len(prices)
    return Universe(
        symbols=tuple(f"N{i}" for i in range(n)),
        prices=np.array(prices, dtype=float),
        sectors=tuple(sectors),
        industries=tuple(f"{s}-ind" for s in sectors),
    )


def risk_model(u: Universe, *, specific: float = 0.04) -> RiskModel:
    names = sorted(set(u.sectors))
    membership = np.array([[1.0 if s == name else 0.0 for name in names] for s in u.sectors])
    loadings = np.hstack([np.ones((u.size, 1)), membership])
    cov = np.diag([0.03] + [0.01] * len(names))
    return RiskModel(
        symbols=u.symbols,
        factor_names=("market", *(f"sector:{n}" for n in names)),
        loadings=loadings,
        factor_covariance=cov,
        specific_variance=np.full(u.size, specific),
    )


def lot(lot_id: str, i: int, shares: float, basis_per_share: float, age_days: int) -> TaxLot:
    return TaxLot(
        lot_id=lot_id,
        symbol_index=i,
        shares=shares,
        basis_amount=shares * basis_per_share,
        holding_period_start=AS_OF - timedelta(days=age_days),
        account_id="acct",
    )


def problem(
    u: Universe,
    lots: list[TaxLot],
    targets: list[float],
    *,
    cash: float,
    cash_target: float | None = None,
    rates: tuple[float, float] = (0.4, 0.2),
    budget: float | None = None,
    constraints: Constraints | None = None,
    locks: WashSaleLocks | None = None,
    reserve: float = 0.0,
    withdrawals: float = 0.0,
    mode: RebalanceMode = RebalanceMode.FULL_REBALANCE,
) -> RebalanceProblem:
    t = np.array(targets, dtype=float)
    return RebalanceProblem(
        as_of=AS_OF,
        universe=u,
        target_weights=t,
        cash_target_weight=1.0 - float(t.sum()) if cash_target is None else cash_target,
        lots=tuple(lots),
        cash_amount=cash,
        tax_profile=TaxProfile(
            short_term_rate=rates[0], long_term_rate=rates[1], gains_budget_amount=budget
        ),
        risk_model=risk_model(u),
        constraints=constraints or Constraints(),
        wash_sale_locks=locks or WashSaleLocks(),
        cash_reserve_amount=reserve,
        withdrawals_due_amount=withdrawals,
        mode=mode,
    )
