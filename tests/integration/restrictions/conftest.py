from datetime import date
from decimal import Decimal

import pytest

from apps.access.roles import Role
from tests.integration.models.conftest import make_universe, weights


@pytest.fixture
def design(firm_a):
    """A household with two accounts, a model with energy and tobacco names, prices."""
    from apps.accounts.models import Account, Household
    from apps.models.services import model_assign, model_create, model_version_create

    make_universe()
    admin = firm_a.users[Role.FIRM_ADMIN]
    model = model_create(code="CORE", name="Core", acting_user=admin)
    model_version_create(
        model=model,
        effective_on=date(2024, 1, 2),
        cash_weight=Decimal("0.02"),
        security_weights=weights(
            XOM="0.08",
            COP="0.04",
            CVX="0.04",
            AAPL="0.3",
            MSFT="0.2",
            PM="0.1",
            KO="0.1",
            PLD="0.12",
        ),
        acting_user=admin,
    )
    household = Household.objects.create(external_id="H-9", name="Okafor household")
    account = Account.objects.create(
        household=household,
        custodian="schwab",
        number="9001",
        name="Okafor joint",
        registration="taxable",
    )
    other = Account.objects.create(
        household=household,
        custodian="schwab",
        number="9002",
        name="Okafor IRA",
        registration="traditional_ira",
    )
    account = model_assign(account=account, model=model, acting_user=admin)
    return {
        "firm": firm_a,
        "admin": admin,
        "model": model,
        "household": household,
        "account": account,
        "other": other,
    }
