"""Form fields in people's units, and error messages people can act on.

- Rates and weights are stored as fractions (``common.money.RATE``: 0.37) and typed and shown
  in percent (37): ``PercentField``. The stored value's validators (``common.limits``) stay the
  one source of the range; this field converts, runs them on the fraction and says the range
  in percent.
- Money is typed and shown with thousands separators ("5,000.00"; "$5,000" is accepted):
  ``MoneyField``.
- Business dates use the browser's date picker: ``DateInput``.
- ``PeopleModelForm`` picks these by the field naming rule of STYLE.md §6 (``*_rate`` and
  ``*_weight`` are fractions, ``*_amount`` is money, ``*_on`` a date).
- Their errors go through ``validation.plain_errors``: never a constraint's name.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import DecimalValidator
from django.db import models

from apps.common.limits import (
    MONEY_MAX,
    NUMBER_RE,
    FractionValidator,
    validate_date_in_range,
)
from apps.common.validation import plain_errors

HUNDRED: Final = Decimal(100)
_MONEY_NOISE: Final = str.maketrans("", "", ",$ \u00a0_")


def percent_text(fraction: Decimal) -> str:
    """A stored fraction as the percent people type: 0.37 -> "37", 0.0075 -> "0.75", 0 -> "0".

    Trailing zeros are trimmed and no exponent is ever shown (``Decimal("0E-8")`` is "0").
    """
    text = format((fraction * HUNDRED).normalize(), "f")
    return "0" if text in ("-0", "") else text


def money_text(amount: Decimal) -> str:
    """An amount with thousands separators and cents: Decimal("5000") -> "5,000.00"."""
    return f"{amount:,.2f}"


def _range_in_percent(validator: FractionValidator) -> str:
    low = "above 0" if validator.open_low else "from 0"
    upper = percent_text(validator.upper)
    high = f"to {upper}" if validator.closed_high else f"below {upper}"
    return f"enter a percent {low} {high} (37 for 37%)"


class PercentInput(forms.TextInput):
    """A text box for a percent: decimal keyboard, a "%" after it (CSS class ``percent``)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        """Decimal keyboard on phones; the template's CSS shows the unit."""
        super().__init__({"inputmode": "decimal", "class": "percent", **(attrs or {})})


class PercentField(forms.DecimalField):
    """A rate or weight typed in percent and cleaned to the stored fraction (37 -> 0.37).

    ``max_digits``/``decimal_places`` are those of the stored fraction (``RATE``: 9, 8); the
    typed percent may have two decimal places fewer. ``fraction_validators`` are the stored
    field's validators (the model's, or ``limits.fraction_validators()`` on a plain form); they
    run on the fraction, and a range error is said in percent.
    """

    widget = PercentInput

    def __init__(
        self,
        *,
        max_digits: int = 9,
        decimal_places: int = 8,
        fraction_validators: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Digits of the stored fraction; the validators of its range."""
        kwargs.pop("localize", None)
        super().__init__(max_digits=None, decimal_places=None, **kwargs)
        self.fraction_validators = list(fraction_validators or [])
        self.percent_validator = DecimalValidator(max_digits, decimal_places - 2)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        """The typed percent ("37", "37%", " 0.75 ") as a Decimal percent, or None if empty."""
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        text = str(value).strip().removesuffix("%").strip()
        if not NUMBER_RE.fullmatch(text):
            raise ValidationError("enter a number of percent, e.g. 37 or 0.75", code="invalid")
        return Decimal(text)

    def clean(self, value: Any) -> Decimal | None:
        """The stored fraction of the typed percent, validated in both units."""
        percent = self.to_python(value)
        self.validate(percent)  # type: ignore[arg-type]
        self.run_validators(percent)
        if percent is None:
            return None
        try:
            self.percent_validator(percent)
        except ValidationError:
            places = self.percent_validator.decimal_places
            raise ValidationError(
                f"enter a percent with at most {places} decimal places, below 1000",
                code="invalid",
            ) from None
        fraction = percent / HUNDRED
        for validator in self.fraction_validators:
            try:
                validator(fraction)
            except ValidationError as exc:
                if isinstance(validator, FractionValidator):
                    raise ValidationError(_range_in_percent(validator), code=exc.code) from None
                raise
        return fraction

    def prepare_value(self, value: Any) -> Any:
        """Show a stored fraction in percent; leave typed text (a bound form) as typed."""
        return percent_text(value) if isinstance(value, Decimal) else value

    def has_changed(self, initial: Any, data: Any) -> bool:
        """Compare fractions: the form shows "37" for 0.37000000."""
        try:
            typed = self.clean(data)
        except ValidationError:
            return True
        return bool(initial != typed)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        """No HTML number attributes: the box takes "37%" too."""
        return forms.Field.widget_attrs(self, widget)


class MoneyInput(forms.TextInput):
    """A text box for an amount in USD, shown with separators (CSS class ``money``)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        """Decimal keyboard on phones."""
        super().__init__({"inputmode": "decimal", "class": "money", **(attrs or {})})


class MoneyField(forms.DecimalField):
    """An amount in USD: "5,000", "$5,000.00" and "5000" are the same; shown as "5,000.00"."""

    widget = MoneyInput

    def __init__(self, **kwargs: Any) -> None:
        """Money columns are (20, 2); the bigint basis caps amounts below ``MONEY_MAX``."""
        kwargs.setdefault("max_digits", 20)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("max_value", MONEY_MAX - Decimal("0.01"))
        kwargs.pop("localize", None)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        """Drop separators and the dollar sign, then read the number (ASCII digits only)."""
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        text = str(value).strip().translate(_MONEY_NOISE)
        if not NUMBER_RE.fullmatch(text):
            raise ValidationError("enter an amount in USD, e.g. 5,000.00", code="invalid")
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - NUMBER_RE admits only valid numbers
            raise ValidationError("enter an amount in USD", code="invalid") from None

    def prepare_value(self, value: Any) -> Any:
        """Show a stored amount with separators; leave typed text as typed."""
        return money_text(value) if isinstance(value, Decimal) else value

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        """No HTML number attributes: the box takes separators."""
        return forms.Field.widget_attrs(self, widget)


def new_request_key() -> str:
    """A fresh key naming one submission of a form (hex, 32 characters)."""
    return uuid.uuid4().hex


class RequestKeyField(forms.CharField):
    """A hidden key made when the form is shown: submitting it twice is one request.

    The view passes it as the service's idempotency key, so a double click, a retry or the
    back button's resubmission finds the first request's result instead of repeating it.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            widget=forms.HiddenInput,
            initial=new_request_key,
            required=False,
            max_length=64,
            **kwargs,
        )


class DateInput(forms.DateInput):
    """The browser's date picker, in ISO format (what ``<input type="date">`` reads)."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        """ISO dates: the picker's format whatever the locale."""
        super().__init__(attrs, format="%Y-%m-%d")


class DateField(forms.DateField):
    """A business date picked in the browser, within the supported range."""

    widget = DateInput
    default_validators = [validate_date_in_range]  # noqa: RUF012


def people_formfield(db_field: models.Field[Any, Any], **kwargs: Any) -> forms.Field | None:
    """A model field's form field in people's units (the ``formfield_callback`` of forms here).

    ``*_rate``/``*_weight`` decimals -> ``PercentField``; ``*_amount`` decimals ->
    ``MoneyField``; dates -> the date picker.
    """
    name = db_field.name
    if isinstance(db_field, models.DecimalField) and name.endswith(("_rate", "_weight")):
        return db_field.formfield(
            form_class=PercentField, fraction_validators=db_field.validators, **kwargs
        )
    if isinstance(db_field, models.DecimalField) and name.endswith("_amount"):
        return db_field.formfield(form_class=MoneyField, **kwargs)
    if isinstance(db_field, models.DateField) and not isinstance(db_field, models.DateTimeField):
        return db_field.formfield(form_class=DateField, **kwargs)
    return db_field.formfield(**kwargs)


class PeopleModelForm(forms.ModelForm):  # type: ignore[type-arg]
    """A model form in people's units, whose errors never name a constraint."""

    class Meta:  # subclasses: ``class Meta(PeopleModelForm.Meta)``
        formfield_callback = staticmethod(people_formfield)

    def _update_errors(self, errors: ValidationError) -> None:
        super()._update_errors(plain_errors(errors))  # type: ignore[misc]
