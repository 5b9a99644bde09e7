"""Form fields in people's units: percent for rates and weights, separators for money."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.common.forms import MoneyField, PercentField, percent_text
from apps.common.limits import fraction_validators, tracking_error_target_validators


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("37", "0.37"), ("37%", "0.37"), (" 0.75 ", "0.0075"), ("0", "0"), ("23.8", "0.238")],
)
def test_a_percent_is_typed_and_stored_as_a_fraction(typed, stored):
    assert PercentField(fraction_validators=fraction_validators()).clean(typed) == Decimal(stored)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [("0.37000000", "37"), ("0E-8", "0"), ("0.00750000", "0.75"), ("0.20000000", "20")],
)
def test_a_stored_fraction_is_shown_in_percent_without_trailing_zeros(stored, shown):
    assert PercentField().prepare_value(Decimal(stored)) == shown
    assert percent_text(Decimal(stored)) == shown


def test_typed_text_is_shown_as_typed_after_an_error():
    assert PercentField().prepare_value("150") == "150"


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("150", "enter a percent from 0 below 100"),
        ("-1", "enter a percent from 0 below 100"),
        ("abc", "enter a number of percent"),
        ("١٢", "enter a number of percent"),
        ("12.12345678", "at most 6 decimal places"),
    ],
)
def test_a_percent_out_of_range_is_refused_in_percent(typed, says):
    field = PercentField(fraction_validators=fraction_validators())
    with pytest.raises(ValidationError) as caught:
        field.clean(typed)
    message = " ".join(caught.value.messages)
    assert says in message
    assert "fraction" not in message and "Decimal(" not in message


@pytest.mark.parametrize(
    ("typed", "stored"), [("0.01", "0.0001"), ("1", "0.01"), ("20", "0.2"), ("20.01", None)]
)
def test_a_tracking_error_target_is_above_0_and_at_most_20_percent(typed, stored):
    field = PercentField(fraction_validators=tracking_error_target_validators())
    if stored is not None:
        assert field.clean(typed) == Decimal(stored)
        return
    with pytest.raises(ValidationError) as caught:
        field.clean(typed)
    assert caught.value.messages == ["enter a percent above 0 to 20 (37 for 37%)"]


def test_a_narrower_fraction_range_says_its_end_in_fractions_and_compares_by_it():
    narrow = tracking_error_target_validators()[0]
    with pytest.raises(ValidationError) as caught:
        narrow(Decimal("0.25"))
    assert caught.value.messages == ["a fraction above 0 to 0.2 (0.05 for 5%), got 0.25"]
    assert narrow != fraction_validators(open_low=True, closed_high=True)[0]
    assert narrow == tracking_error_target_validators()[0]
    # The validators of every field before ``high`` existed deconstruct as they did.
    assert fraction_validators()[0].deconstruct()[2] == {"closed_high": False, "open_low": False}


def test_a_percent_has_changed_only_when_the_fraction_changes():
    field = PercentField()
    assert not field.has_changed(Decimal("0.37000000"), "37")
    assert field.has_changed(Decimal("0.37000000"), "38")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("5,000", "5000"), ("$5,000.50", "5000.50"), ("5000", "5000"), ("1,234,567.89", "1234567.89")],
)
def test_money_takes_separators(typed, stored):
    assert MoneyField().clean(typed) == Decimal(stored)


def test_money_is_shown_with_separators():
    assert MoneyField().prepare_value(Decimal("1234567.5")) == "1,234,567.50"


@pytest.mark.parametrize("typed", ["abc", "1.2.3", "١٢٣", "1e5"])
def test_money_refuses_what_is_not_an_amount(typed):
    with pytest.raises(ValidationError, match="enter an amount in USD"):
        MoneyField().clean(typed)
