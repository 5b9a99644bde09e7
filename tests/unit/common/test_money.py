from decimal import Decimal

import numpy as np
import pytest

from apps.common.money import round_money, round_shares_down, to_decimal, to_float


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
