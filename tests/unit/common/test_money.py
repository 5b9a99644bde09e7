from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.common.money import (
    product_cents,
    product_fits,
    round_money,
    round_shares_down,
    to_decimal,
    to_float,
)


def test_to_decimal_uses_shortest_repr_for_python_and_numpy_floats():
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal(np.float64(2789.67)) == Decimal("2789.67")
    assert to_decimal(3) == Decimal(3)


def test_to_decimal_refuses_nan():
    with pytest.raises(ValueError, match="finite"):
        to_decimal(float("nan"))


def test_rounding_modes():
    assert round_money(Decimal("2.675")) == Decimal("2.68")  # half-even: 2.675 -> 2.68
    assert round_money(Decimal("2.665")) == Decimal("2.66")
    assert round_shares_down(Decimal("10.9999999"), whole=True) == Decimal(10)
    assert round_shares_down(Decimal("10.9999999"), whole=False) == Decimal("10.999999")
    assert to_float(Decimal("1.5")) == 1.5


# The array helpers must give exactly the Decimal path's results, ties included.

MICRO = st.integers(min_value=0, max_value=10**13)  # up to 10 million shares / dollars


def _decimal_product_cents(shares_micro: int, price_micro: int) -> int:
    product = Decimal(shares_micro).scaleb(-6) * Decimal(price_micro).scaleb(-6)
    return int(round_money(product).scaleb(2))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(MICRO, st.integers(min_value=0, max_value=10**10)), min_size=1))
def test_product_cents_equals_round_money_of_the_decimal_product(pairs):
    shares = np.array([s for s, _ in pairs], dtype=np.int64)
    prices = np.array([p for _, p in pairs], dtype=np.int64)
    assert product_fits(shares, prices)
    expected = [_decimal_product_cents(s, p) for s, p in pairs]
    assert product_cents(shares, prices).tolist() == expected


def test_product_cents_rounds_half_cents_to_even():
    # 1 share at 0.005, 0.015, 0.025 and 3 shares at 0.001500: exactly half a cent each time.
    shares = np.array([10**6, 10**6, 10**6, 3 * 10**6], dtype=np.int64)
    prices = np.array([5_000, 15_000, 25_000, 1_500], dtype=np.int64)
    assert product_cents(shares, prices).tolist() == [0, 2, 2, 0]


def test_product_fits_refuses_what_could_overflow():
    assert not product_fits(np.array([10**18], np.int64), np.array([10**9], np.int64))
    assert not product_fits(np.array([10**6], np.int64), np.array([2**41], np.int64))
    assert not product_fits(np.array([-1], np.int64), np.array([1], np.int64))
