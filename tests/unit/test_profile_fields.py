"""The settings registry (apps.accounts.profile_fields) covers every Account and Household
field exactly once, and names only fields that exist."""

import pytest
from django.core.exceptions import ValidationError

from apps.accounts import profile_fields as registry
from apps.accounts.models import Account, Household


@pytest.mark.parametrize(
    ("model", "engine", "display"),
    [
        (Account, registry.ACCOUNT_ENGINE_FIELDS, registry.ACCOUNT_DISPLAY_ONLY),
        (Household, registry.HOUSEHOLD_ENGINE_FIELDS, registry.HOUSEHOLD_DISPLAY_ONLY),
    ],
)
def test_every_field_is_read_by_the_engine_or_display_only_with_a_reason(model, engine, display):
    fields = {f.name for f in model._meta.concrete_fields}
    listed = set(engine) | set(display)
    assert not fields - listed, f"{model.__name__} fields neither read nor display-only"
    assert not listed - fields, f"listed but not {model.__name__} fields"
    assert not set(engine) & set(display), "a field is either read or display-only"
    assert all(use.readers and use.how for use in engine.values())
    assert all(reason for reason in display.values())


def test_the_optimizer_reads_the_harvesting_budget_transition_and_lot_settings():
    assert {
        "is_harvesting_enabled",
        "harvest_threshold_rate",
        "budget_kind",
        "annual_budget_amount",
        "short_term_gains_budget_amount",
        "long_term_gains_budget_amount",
        "transition_years",
        "transition_start_year",
        "transition_tolerance_rate",
        "lot_method",
        "lot_selection",
    } <= set(registry.optimizer_fields())


def test_a_currency_other_than_usd_is_refused_not_ignored():
    account = Account(custodian="schwab", number="1", name="x", registration="taxable")
    account.clean()
    account.currency = "EUR"
    with pytest.raises(ValidationError, match="only USD"):
        account.clean()
