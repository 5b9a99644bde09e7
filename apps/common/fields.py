"""Model fields for money, prices, shares, rates and weights: one size each, typed for mypy.

Each factory builds the same ``DecimalField`` the models spelled out before (the migrations see no
change); the sizes come from ``apps.common.money``. ``null=True`` gives a field whose value may be
``None``, and mypy knows which one a model has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Literal, TypeAlias, TypedDict, Unpack, overload

from django.db import models
from django.db.models.expressions import Combinable

from apps.common.money import MONEY, PRICE, RATE, SHARES, WEIGHT, DecimalSize

_Set = str | float | Decimal | Combinable
DecimalModelField: TypeAlias = "models.DecimalField[_Set, Decimal]"
NullableDecimalModelField: TypeAlias = "models.DecimalField[_Set | None, Decimal | None]"


class DecimalFieldOptions(TypedDict, total=False):
    """The ``DecimalField`` options the models pass besides the size and ``null``."""

    blank: bool
    default: Decimal | int
    help_text: str
    validators: Sequence[Callable[[Any], None]]
    verbose_name: str
    db_index: bool
    editable: bool


def _field(
    size: DecimalSize, *, null: bool, options: DecimalFieldOptions
) -> models.DecimalField[Any, Any]:
    """A ``DecimalField`` of this size (the overloads of each factory state its value type)."""
    return models.DecimalField(
        max_digits=size["max_digits"], decimal_places=size["decimal_places"], null=null, **options
    )


@overload
def money_field(
    *, null: Literal[False] = ..., **options: Unpack[DecimalFieldOptions]
) -> DecimalModelField: ...
@overload
def money_field(
    *, null: Literal[True], **options: Unpack[DecimalFieldOptions]
) -> NullableDecimalModelField: ...
def money_field(
    *, null: bool = False, **options: Unpack[DecimalFieldOptions]
) -> DecimalModelField | NullableDecimalModelField:
    """An amount in the account currency: 20 digits, cents."""
    return _field(MONEY, null=null, options=options)


@overload
def price_field(
    *, null: Literal[False] = ..., **options: Unpack[DecimalFieldOptions]
) -> DecimalModelField: ...
@overload
def price_field(
    *, null: Literal[True], **options: Unpack[DecimalFieldOptions]
) -> NullableDecimalModelField: ...
def price_field(
    *, null: bool = False, **options: Unpack[DecimalFieldOptions]
) -> DecimalModelField | NullableDecimalModelField:
    """A price per share: 20 digits, 6 decimal places."""
    return _field(PRICE, null=null, options=options)


@overload
def shares_field(
    *, null: Literal[False] = ..., **options: Unpack[DecimalFieldOptions]
) -> DecimalModelField: ...
@overload
def shares_field(
    *, null: Literal[True], **options: Unpack[DecimalFieldOptions]
) -> NullableDecimalModelField: ...
def shares_field(
    *, null: bool = False, **options: Unpack[DecimalFieldOptions]
) -> DecimalModelField | NullableDecimalModelField:
    """A share count: 20 digits, 6 decimal places (fractional shares)."""
    return _field(SHARES, null=null, options=options)


@overload
def rate_field(
    *, null: Literal[False] = ..., **options: Unpack[DecimalFieldOptions]
) -> DecimalModelField: ...
@overload
def rate_field(
    *, null: Literal[True], **options: Unpack[DecimalFieldOptions]
) -> NullableDecimalModelField: ...
def rate_field(
    *, null: bool = False, **options: Unpack[DecimalFieldOptions]
) -> DecimalModelField | NullableDecimalModelField:
    """A rate as a fraction (a tax rate, a cost per year): 9 digits, 8 decimal places."""
    return _field(RATE, null=null, options=options)


@overload
def weight_field(
    *, null: Literal[False] = ..., **options: Unpack[DecimalFieldOptions]
) -> DecimalModelField: ...
@overload
def weight_field(
    *, null: Literal[True], **options: Unpack[DecimalFieldOptions]
) -> NullableDecimalModelField: ...
def weight_field(
    *, null: bool = False, **options: Unpack[DecimalFieldOptions]
) -> DecimalModelField | NullableDecimalModelField:
    """A portfolio weight as a fraction: 9 digits, 8 decimal places."""
    return _field(WEIGHT, null=null, options=options)
