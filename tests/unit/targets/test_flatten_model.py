"""Nested models flatten exactly; cycles and bad weights are refused."""

import itertools
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.targets import (
    ModelCycleError,
    ModelSpec,
    UnknownModelError,
    WeightError,
    flatten_model,
    sleeve_cycle,
)

D = Decimal


def test_sleeves_blend_by_weight_and_cash_flows_through():
    specs = {
        "EQ": ModelSpec("EQ", D("0.02"), {"AAPL": D("0.49"), "MSFT": D("0.49")}),
        "FI": ModelSpec("FI", D("0"), {"BND": D("1")}),
        "BAL": ModelSpec("BAL", D("0.10"), {"AAPL": D("0.05")}, {"EQ": D("0.6"), "FI": D("0.25")}),
    }
    flat = flatten_model("BAL", specs)
    assert flat.weights == {"AAPL": D("0.344"), "BND": D("0.25"), "MSFT": D("0.294")}
    assert flat.cash_weight == D("0.112")
    assert flat.total == 1


def test_three_levels_deep_is_exact():
    specs = {
        "A": ModelSpec("A", D(0), {"X": D("0.33333333"), "Y": D("0.66666667")}),
        "B": ModelSpec("B", D("0.00000001"), {"Z": D("0.12345678")}, {"A": D("0.87654321")}),
        "C": ModelSpec("C", D(0), {"X": D("0.5")}, {"B": D("0.5")}),
    }
    flat = flatten_model("C", specs)
    # exact products: no rounding anywhere
    assert flat.weights["X"] == D("0.5") + D("0.5") * D("0.87654321") * D("0.33333333")
    assert flat.total == D(1)


def test_cycle_is_refused_with_its_path():
    specs = {
        "A": ModelSpec("A", D(0), {}, {"B": D(1)}),
        "B": ModelSpec("B", D(0), {"X": D("0.5")}, {"A": D("0.5")}),
    }
    with pytest.raises(ModelCycleError) as info:
        flatten_model("A", specs)
    assert info.value.path == ("A", "B", "A")


def test_self_sleeve_is_a_cycle():
    assert sleeve_cycle("A", {"A": {"A"}}) == ("A", "A")
    assert sleeve_cycle("A", {"A": {"B"}, "B": {"C"}}) is None


def test_missing_sleeve_and_bad_sum():
    with pytest.raises(UnknownModelError):
        flatten_model("A", {"A": ModelSpec("A", D(0), {}, {"GONE": D(1)})})
    with pytest.raises(WeightError):
        flatten_model("A", {"A": ModelSpec("A", D("0.1"), {"X": D("0.8")})})
    with pytest.raises(WeightError):
        flatten_model("A", {"A": ModelSpec("A", D("0.2"), {"X": D("1"), "Y": D("-0.2")})})


def _weights(draw, n: int) -> list[Decimal]:
    """n non-negative weights with 8 decimals summing to exactly one."""
    cuts = sorted(draw(st.lists(st.integers(0, 10**8), min_size=n - 1, max_size=n - 1)))
    bounds = [0, *cuts, 10**8]
    return [D(b - a) / D(10**8) for a, b in itertools.pairwise(bounds)]


@st.composite
def nested_models(draw):
    """A random DAG of models (sleeves only point to later-built models), 8-decimal weights."""
    symbols = ["AAA", "BBB", "CCC", "DDD", "EEE"]
    count = draw(st.integers(1, 5))
    specs: dict[str, ModelSpec] = {}
    for index in range(count):
        code = f"M{index}"
        earlier = list(specs)
        picked_symbols = draw(st.lists(st.sampled_from(symbols), unique=True, max_size=4))
        picked_sleeves = draw(st.lists(st.sampled_from(earlier), unique=True)) if earlier else []
        weights = _weights(draw, len(picked_symbols) + len(picked_sleeves) + 1)
        specs[code] = ModelSpec(
            code,
            weights[0],
            dict(zip(picked_symbols, weights[1:], strict=False)),
            dict(zip(picked_sleeves, weights[1 + len(picked_symbols) :], strict=False)),
        )
    return f"M{count - 1}", specs


def _reference(code: str, specs: dict[str, ModelSpec], scale: Fraction, out: dict[str, Fraction]):
    """A naive expansion with fractions, to compare against."""
    spec = specs[code]
    out["$cash"] = out.get("$cash", Fraction(0)) + scale * Fraction(spec.cash_weight)
    for symbol, weight in spec.security_weights.items():
        out[symbol] = out.get(symbol, Fraction(0)) + scale * Fraction(weight)
    for sleeve, weight in spec.sleeve_weights.items():
        _reference(sleeve, specs, scale * Fraction(weight), out)


@settings(max_examples=200, deadline=None)
@given(nested_models())
def test_nested_flatten_is_exact_and_sums_to_one(case):
    root, specs = case
    flat = flatten_model(root, specs)
    assert flat.total == D(1)
    expected: dict[str, Fraction] = {}
    _reference(root, specs, Fraction(1), expected)
    cash = expected.pop("$cash")
    assert Fraction(flat.cash_weight) == cash
    assert {s: Fraction(w) for s, w in flat.weights.items()} == {
        s: w for s, w in expected.items() if w != 0
    }
