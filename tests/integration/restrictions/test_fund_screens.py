"""Screens through a fund's look-through holdings: the firm flags (default) or excludes."""

from datetime import date
from decimal import Decimal

import pytest

from apps.access.models import AuditEvent
from apps.access.roles import Role
from apps.restrictions.models import FundScreenPolicy
from apps.restrictions.selectors import effective_target_get, fund_screen_policy_get
from apps.restrictions.services import restriction_add, screen_settings_update
from tests.conftest import login_client
from tests.integration.models.conftest import weights

AS_OF = date(2024, 6, 28)


@pytest.fixture
def fund_account(design):
    """The design account on a model of a fund holding PM, plus AAPL; a tobacco screen on it."""
    from apps.models.services import model_assign, model_create, model_version_create
    from apps.securities.models import FundHolding, Price, Security

    admin = design["admin"]
    lcf = Security.objects.create(symbol="LCF", name="Large-cap fund", kind="etf")
    Price.objects.create(security=lcf, priced_on=AS_OF, close_price=Decimal(50), source="test")
    held = {"AAPL": "0.5", "PM": "0.012", "KO": "0.488"}
    FundHolding.objects.bulk_create(
        FundHolding(
            fund=lcf,
            as_of=date(2024, 1, 2),
            holding=Security.objects.get(symbol=s),
            weight=Decimal(w),
        )
        for s, w in held.items()
    )
    model = model_create(code="FUNDS", name="Funds", acting_user=admin)
    model_version_create(
        model=model,
        effective_on=date(2024, 1, 2),
        cash_weight=Decimal("0.02"),
        security_weights=weights(LCF="0.5", AAPL="0.3", MSFT="0.18"),
        acting_user=admin,
    )
    account = model_assign(account=design["account"], model=model, acting_user=admin)
    restriction_add(
        kind="exclude_esg",
        value="tobacco",
        starts_on=date(2024, 1, 1),
        account=account,
        reason="no tobacco",
        acting_user=admin,
    )
    return account


def test_by_default_a_fund_holding_screened_names_stays_and_the_target_says_so(fund_account):
    assert fund_screen_policy_get() == FundScreenPolicy.FLAG
    target = effective_target_get(account=fund_account, as_of=AS_OF)
    assert target.weights["LCF"] == Decimal("0.5")
    assert "LCF" not in target.blocked
    assert target.lines == (
        "LCF holds 1.20% screened by 'tobacco screen (account: no tobacco)' (PM 1.20%); "
        "kept: the firm flags funds, it does not exclude them",
    )


def test_the_firm_may_exclude_such_a_fund_as_restricted_by_the_screen(fund_account, design):
    screen_settings_update(fund_screen_policy="exclude", acting_user=design["admin"])
    target = effective_target_get(account=fund_account, as_of=AS_OF)
    assert "LCF" not in target.weights
    assert "LCF" in target.blocked  # never bought; held, it is sold as the screen says
    assert target.lines[0].startswith(
        "LCF removed: tobacco screen (account: no tobacco) through its holdings (PM 1.20%); "
        "weight 50.00% moved to"
    )
    assert AuditEvent.objects.get(action="screen_settings.update").payload == {
        "fund_screen_policy": {"before": "flag", "after": "exclude"}
    }


def test_model_managers_set_the_policy_on_the_firm_rules_page(fund_account, firms):
    advisor = login_client(firms["a"], Role.ADVISOR)
    assert (
        advisor.post("/restrictions/fund-screens/", {"fund_screen_policy": "exclude"}).status_code
        == 403
    )
    admin = login_client(firms["a"], Role.FIRM_ADMIN)
    assert "Funds holding screened names" in admin.get("/restrictions/").content.decode()
    response = admin.post("/restrictions/fund-screens/", {"fund_screen_policy": "exclude"})
    assert response.status_code == 302
    assert admin.post("/restrictions/fund-screens/", {"fund_screen_policy": "x"}).status_code == 400
