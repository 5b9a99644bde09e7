"""The model-field factories build the fields the models spelled out before (same migrations)."""

from decimal import Decimal

import pytest
from django.db import models

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
