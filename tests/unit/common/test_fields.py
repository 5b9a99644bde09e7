"""The model-field factories build the fields the models spelled out before (same migrations)."""

from decimal import Decimal

import pytest
from django.db import models
from rest_framework import serializers

from apps.common.api import MoneyField, SharesField, WeightField
from apps.common.fields import money_field, price_field, rate_field, shares_field, weight_field


@pytest.mark.parametrize(
    ("field", "spelled_out"),
    [
        (money_field(), models.DecimalField(max_digits=20, decimal_places=2)),
        (price_field(), models.DecimalField(max_digits=20, decimal_places=6)),
        (shares_field(), models.DecimalField(max_digits=20, decimal_places=6)),
        (rate_field(), models.DecimalField(max_digits=9, decimal_places=8)),
        (weight_field(), models.DecimalField(max_digits=9, decimal_places=8)),
        (
            money_field(null=True, blank=True, help_text="h"),
            models.DecimalField(
                max_digits=20, decimal_places=2, null=True, blank=True, help_text="h"
            ),
        ),
        (
            weight_field(default=Decimal("0.05")),
            models.DecimalField(max_digits=9, decimal_places=8, default=Decimal("0.05")),
        ),
    ],
)
def test_factory_field_deconstructs_like_the_spelled_out_field(
    field: models.Field, spelled_out: models.Field
) -> None:
    assert field.deconstruct()[1:] == spelled_out.deconstruct()[1:]


def test_money_field_sends_a_string_with_cents() -> None:
    assert MoneyField().coerce_to_string is True  # not left to COERCE_DECIMAL_TO_STRING
    assert MoneyField().to_representation(Decimal("1234.5")) == "1234.50"
    assert SharesField().to_representation(Decimal("3")) == "3.000000"
    assert WeightField(min_value=Decimal(0)).run_validation("0.25") == Decimal("0.25")


@pytest.mark.parametrize("sent", ["1e30", "0.001"])
def test_money_field_refuses_amounts_outside_its_size(sent: str) -> None:
    with pytest.raises(serializers.ValidationError):
        MoneyField().run_validation(sent)
