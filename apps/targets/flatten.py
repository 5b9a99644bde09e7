"""Nested model portfolios flattened to per-security weights, in exact Decimal arithmetic.

A model holds securities, cash and *sleeves* (other models) with weights that sum to one. A sleeve
of weight ``w`` contributes ``w x`` each of its own (flattened) weights, its cash included, so the
flattened weights also sum to exactly one. Cycles (a model reaching itself through sleeves) are
refused. Standard library only: this module knows nothing of Django or the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Context, Decimal, Inexact, InvalidOperation, Rounded

ZERO = Decimal(0)
ONE = Decimal(1)

# Products and sums of weights are exact: 200 significant digits hold any realistic nesting
# (8 decimal places per level), and the Inexact/Rounded traps turn any loss into an error
# instead of a silent rounding. A private context: the global decimal context is never changed.
EXACT = Context(prec=200, traps=[Inexact, Rounded, InvalidOperation])


class TargetError(Exception):
    """Base of the errors raised by the target core."""


class ModelCycleError(TargetError):
    """A model reaches itself through its sleeves; ``path`` lists the codes along the cycle."""

    def __init__(self, path: tuple[str, ...]) -> None:
        super().__init__("sleeve cycle: " + " -> ".join(path))
        self.path = path


class UnknownModelError(TargetError):
    """A sleeve names a model that has no (current) version."""

    def __init__(self, code: str, referenced_by: str | None) -> None:
        where = f" (sleeve of {referenced_by})" if referenced_by else ""
        super().__init__(f"model {code} has no current version{where}")
        self.code = code
        self.referenced_by = referenced_by


class WeightError(TargetError):
    """Weights are negative or do not sum to exactly one."""


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """Sum Decimals exactly (raises ``decimal.Inexact`` rather than round)."""
    total = ZERO
    for value in values:
        total = EXACT.add(total, value)
    return total


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One version of a model as the flattener sees it (fractions, summing to one with cash).

    Attributes:
        code: the model's code (unique in the firm).
        cash_weight: the cash target, a fraction.
        security_weights: symbol -> weight.
        sleeve_weights: code of another model -> weight; the sleeve follows that model's spec
            in the mapping handed to :func:`flatten_model` (its current version).
    """

    code: str
    cash_weight: Decimal = ZERO
    security_weights: Mapping[str, Decimal] = field(default_factory=dict)
    sleeve_weights: Mapping[str, Decimal] = field(default_factory=dict)

    def check(self) -> None:
        """Raise ``WeightError`` unless every weight is >= 0 and they sum to exactly one."""
        weights = [self.cash_weight, *self.security_weights.values(), *self.sleeve_weights.values()]
        if any(w < ZERO for w in weights):
            raise WeightError(f"model {self.code}: weights must not be negative")
        total = exact_sum(weights)
        if total != ONE:
            raise WeightError(f"model {self.code}: weights sum to {total}, not 1")


@dataclass(frozen=True, slots=True)
class FlatTarget:
    """Per-security weights and cash of a flattened model; they sum to exactly one.

    Symbols with a zero weight are omitted. ``weights`` is ordered by symbol.
    """

    weights: Mapping[str, Decimal]
    cash_weight: Decimal

    @property
    def total(self) -> Decimal:
        """Sum of the security weights and cash (exactly one for a valid model)."""
        return EXACT.add(exact_sum(self.weights.values()), self.cash_weight)


def sleeve_cycle(root: str, graph: Mapping[str, Iterable[str]]) -> tuple[str, ...] | None:
    """A cycle reachable from ``root`` in a model -> sleeves graph, or None.

    Args:
        root: the model code to start from.
        graph: code -> codes of the models it holds as sleeves (models absent have none).

    Returns:
        The codes along the first cycle found, first code repeated at the end
        (``("A", "B", "A")``), or None.
    """
    path: list[str] = []
    on_path: set[str] = set()
    done: set[str] = set()

    def visit(code: str) -> tuple[str, ...] | None:
        if code in on_path:
            return (*path[path.index(code) :], code)
        if code in done:
            return None
        path.append(code)
        on_path.add(code)
        for child in sorted(graph.get(code, ())):
            found = visit(child)
            if found is not None:
                return found
        path.pop()
        on_path.discard(code)
        done.add(code)
        return None

    return visit(root)


def flatten_model(code: str, specs: Mapping[str, ModelSpec]) -> FlatTarget:
    """Flatten a model and its sleeves, recursively, to per-security weights plus cash.

    Args:
        code: the model to flatten.
        specs: every model reachable from ``code``, by code (each model's current version).

    Returns:
        The flattened target; weights are exact products of the nested weights.

    Raises:
        ModelCycleError: a model reaches itself through sleeves.
        UnknownModelError: ``code`` or a sleeve has no spec.
        WeightError: a spec has a negative weight or does not sum to one.
    """
    graph = {c: frozenset(s.sleeve_weights) for c, s in specs.items()}
    cycle = sleeve_cycle(code, graph)
    if cycle is not None:
        raise ModelCycleError(cycle)
    memo: dict[str, tuple[dict[str, Decimal], Decimal]] = {}

    def flat(current: str, parent: str | None) -> tuple[dict[str, Decimal], Decimal]:
        if current in memo:
            return memo[current]
        spec = specs.get(current)
        if spec is None:
            raise UnknownModelError(current, parent)
        spec.check()
        weights: dict[str, Decimal] = {}
        for symbol, weight in spec.security_weights.items():
            weights[symbol] = EXACT.add(weights.get(symbol, ZERO), weight)
        cash = spec.cash_weight
        for sleeve, sleeve_weight in sorted(spec.sleeve_weights.items()):
            inner, inner_cash = flat(sleeve, current)
            for symbol, weight in inner.items():
                weights[symbol] = EXACT.add(
                    weights.get(symbol, ZERO), EXACT.multiply(sleeve_weight, weight)
                )
            cash = EXACT.add(cash, EXACT.multiply(sleeve_weight, inner_cash))
        memo[current] = (weights, cash)
        return weights, cash

    weights, cash = flat(code, None)
    result = FlatTarget(
        weights={s: w.normalize(EXACT) for s, w in sorted(weights.items()) if w != ZERO},
        cash_weight=cash.normalize(EXACT) if cash != ZERO else ZERO,
    )
    if result.total != ONE:  # pragma: no cover - guaranteed by check() and exact arithmetic
        raise WeightError(f"model {code}: flattened weights sum to {result.total}")
    return result
