"""Django-free target core: flatten nested models, then apply an account's restrictions.

Plain data in (Decimal fractions, symbols, classifications), plain data out; standard library
only, so the optimizer adapter, the pages and the tests all compute the same numbers.
"""

from apps.targets.effective import (
    CASH,
    Adjustment,
    AdjustmentKind,
    EffectiveTarget,
    FundScreen,
    Move,
    OutsideExposure,
    Route,
    Rule,
    RuleKind,
    SecurityInfo,
    effective_target,
    fund_screens,
    pct,
)
from apps.targets.flatten import (
    FlatTarget,
    ModelCycleError,
    ModelSpec,
    TargetError,
    UnknownModelError,
    WeightError,
    flatten_model,
    sleeve_cycle,
)

__all__ = [
    "CASH",
    "Adjustment",
    "AdjustmentKind",
    "EffectiveTarget",
    "FlatTarget",
    "FundScreen",
    "ModelCycleError",
    "ModelSpec",
    "Move",
    "OutsideExposure",
    "Route",
    "Rule",
    "RuleKind",
    "SecurityInfo",
    "TargetError",
    "UnknownModelError",
    "WeightError",
    "effective_target",
    "flatten_model",
    "fund_screens",
    "pct",
    "sleeve_cycle",
]
