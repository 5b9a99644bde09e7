"""Books for run tests.

- ``run_book``: 8 names in 2 sectors with 300 days of seeded prices, one model, three accounts
  (rolled back with the test).
- ``worker_firm``: a committed firm with a synthetic book of 100 accounts, for tests that run
  real worker processes (other processes see only committed data); dropped at the module's end.
"""

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django_tenants.utils import schema_context

from apps.accounts.models import Account, Household
from apps.accounts.services.ledger import ledger_rebuild
from apps.firms.models import Firm
from apps.models.services import model_assign, model_create, model_version_create
from apps.trading.models import Proposal, RebalanceRun, RunAccount, RunAccountStatus, RunStatus
from tests.integration.accounts.conftest import entry

AS_OF = date(2024, 6, 28)
SECTORS = {
    "AAA": "Energy",
    "BBB": "Energy",
    "CCC": "Energy",
    "DDD": "Energy",
    "EEE": "Utilities",
    "FFF": "Utilities",
    "GGG": "Utilities",
    "HHH": "Utilities",
}


def _business_days(end: date, count: int) -> list[date]:
    days, day = [], end
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


@pytest.fixture
def priced_universe(firm_a):
    """Securities and prices (public tables, rolled back with the test)."""
    from apps.securities.models import Price, Security

    rng = np.random.default_rng(7)
    days = _business_days(AS_OF, 300)
    prices = []
    for i, (symbol, sector) in enumerate(SECTORS.items()):
        security = Security.objects.create(
            symbol=symbol, name=f"{symbol} Corp", sector=sector, industry=f"{sector} ind"
        )
        path = 50 * np.exp(np.cumsum(rng.normal(0.0002, 0.015, len(days)))) * (1 + i / 10)
        prices += [
            Price(security=security, priced_on=d, close_price=Decimal(f"{p:.2f}"), source="test")
            for d, p in zip(days, path, strict=True)
        ]
    Price.objects.bulk_create(prices)
    return {
        s: Price.objects.filter(security__symbol=s, priced_on=AS_OF).get().close_price
        for s in SECTORS
    }


def model_in_force(admin, code: str, weights: dict[str, Decimal]):
    """A model with one version in force since 2024-01-01: ``weights`` and 4% cash."""
    model = model_create(code=code, name=f"Model {code}", acting_user=admin)
    model_version_create(
        model=model,
        effective_on=date(2024, 1, 1),
        cash_weight=Decimal("0.04"),
        security_weights=weights,
        acting_user=admin,
    )
    return model


@pytest.fixture
def run_book(priced_universe, firms):
    """A model on the 8 names (12% each, 4% cash) and three accounts in it."""
    from apps.access.roles import Role

    admin = firms["a"].users[Role.FIRM_ADMIN]
    model = model_in_force(admin, "CORE8", {s: Decimal("0.12") for s in SECTORS})
    household = Household.objects.create(external_id="H-RUN", name="Run household")
    legacy = Account.objects.create(
        household=household, custodian="schwab", number="R1", name="Legacy", registration="taxable"
    )
    cash_only = Account.objects.create(
        household=household,
        custodian="schwab",
        number="R2",
        name="New money",
        registration="taxable",
    )
    no_basis = Account.objects.create(
        household=household,
        custodian="schwab",
        number="R3",
        name="No basis",
        registration="taxable",
    )
    entry(legacy, "dep", "deposit", date(2020, 1, 2), amount="20000")
    entry(legacy, "b-aaa", "buy", date(2020, 1, 2), "AAA", "400", "8000")  # big gain, overweight
    entry(legacy, "b-eee", "buy", date(2024, 1, 3), "EEE", "100", "9000")  # a loss
    entry(cash_only, "dep", "deposit", date(2024, 6, 1), amount="100000")
    entry(
        no_basis,
        "open-ccc",
        "buy",
        date(2015, 1, 5),
        "CCC",
        "50",
        "0",
        is_opening_lot=True,
        is_basis_unknown=True,
    )
    ledger_rebuild(household=household)
    for account in (legacy, cash_only, no_basis):
        model_assign(account=account, model=model, acting_user=admin)
    return {"model": model, "legacy": legacy, "cash_only": cash_only, "no_basis": no_basis}


def realize_aaa_gain(account: Account) -> None:
    """Sell 100 of the run book's AAA (bought at 20) at 30 on AS_OF: a 1,000 USD gain this year."""
    entry(account, "s-aaa", "sell", AS_OF, "AAA", "100", "3000")
    ledger_rebuild(household=account.household)


WORKER_SCHEMA = "firm_w"
WORKER_SYMBOLS = [f"WK{i:02d}" for i in range(12)]


def _worker_prices_seed() -> None:
    from apps.securities.models import Price, Security

    rng = np.random.default_rng(11)
    days = [
        AS_OF - timedelta(days=d) for d in range(120) if (AS_OF - timedelta(days=d)).weekday() < 5
    ]
    for i, symbol in enumerate(WORKER_SYMBOLS):
        security = Security.objects.create(
            symbol=symbol,
            name=f"Worker test {symbol}",
            sector=("Energy", "Utilities", "Materials")[i % 3],
        )
        path = 40 * np.exp(np.cumsum(rng.normal(0, 0.02, len(days))))
        Price.objects.bulk_create(
            Price(security=security, priced_on=d, close_price=Decimal(f"{p:.2f}"), source="test")
            for d, p in zip(days, path, strict=True)
        )


@pytest.fixture(scope="module")
def worker_firm(django_db_setup, django_db_blocker) -> Iterator[Firm]:
    """A committed firm with a synthetic book of 80 households (100 accounts) on a 10-name model."""
    from apps.firms.services import firm_create
    from apps.securities.models import Price, Security
    from apps.trading.services.synthetic_book import synthetic_book_create

    with django_db_blocker.unblock():
        _worker_prices_seed()
        firm = firm_create(
            name="Worker Test Wealth",
            slug=WORKER_SCHEMA,
            domain="firm-w.localhost",
            admin_email="admin@firm-w.test",
            admin_password="Worker-pass-123",
        ).firm
        with schema_context(WORKER_SCHEMA):
            synthetic_book_create(households=80, names=10, as_of=AS_OF, seed=5)
        connection.set_schema_to_public()
    yield firm
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        firm.delete(force_drop=True)
        Price.objects.filter(security__symbol__in=WORKER_SYMBOLS).delete()
        Security.objects.filter(symbol__in=WORKER_SYMBOLS).delete()


def worker_run_new() -> RebalanceRun:
    """A queued book run in the worker firm (committed)."""
    with schema_context(WORKER_SCHEMA):
        return RebalanceRun.objects.create(scope="book", as_of=AS_OF)


def worker_run_get(run_id: int) -> RebalanceRun:
    """The worker firm's run as committed now."""
    with schema_context(WORKER_SCHEMA):
        return RebalanceRun.objects.get(pk=run_id)


def worker_run_check_complete(run_id: int) -> RebalanceRun:
    """Assert the run completed over all 100 accounts: none pending, one proposal per done one."""
    with schema_context(WORKER_SCHEMA):
        run = RebalanceRun.objects.get(pk=run_id)
        assert run.status == RunStatus.COMPLETED
        assert run.total_accounts == RunAccount.objects.filter(run=run).count() == 100
        assert not RunAccount.objects.filter(run=run, status=RunAccountStatus.PENDING).exists()
        assert run.done_accounts + run.failed_accounts + run.skipped_accounts == run.total_accounts
        proposals = Proposal.objects.filter(run=run)
        assert proposals.count() == run.done_accounts
        assert proposals.values("account").distinct().count() == proposals.count()
        return run
