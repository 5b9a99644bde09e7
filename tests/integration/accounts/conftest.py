from datetime import date
from decimal import Decimal

import pytest

from apps.accounts.models import Account, Household, Transaction
from apps.accounts.services.ledger import ledger_rebuild


def entry(account, ext, kind, on, symbol="", shares=None, amount="0", **extra):
    """Write one ledger row (tests only; production writes come through imports and fills)."""
    return Transaction.objects.create(
        account=account,
        external_id=ext,
        kind=kind,
        trade_on=on,
        symbol=symbol,
        shares=Decimal(shares) if shares else None,
        amount=Decimal(amount),
        **extra,
    )


@pytest.fixture
def book(firm_a):
    """A household with a taxable account (a gain, a washed loss) and an IRA, with prices."""
    from apps.securities.models import Price, Security

    for symbol, sector, close in (
        ("AAPL", "Information Technology", "190"),
        ("M", "Consumer Discretionary", "20"),
    ):
        security = Security.objects.create(symbol=symbol, name=symbol, sector=sector)
        Price.objects.create(
            security=security,
            priced_on=date(2024, 6, 28),
            close_price=Decimal(close),
            source="test",
        )
    household = Household.objects.create(external_id="H-1", name="Rivera household")
    taxable = Account.objects.create(
        household=household,
        custodian="schwab",
        number="1001",
        name="Rivera joint",
        registration="taxable",
        short_term_rate=Decimal("0.35"),
        long_term_rate=Decimal("0.15"),
        state_rate=Decimal("0.05"),
        annual_budget_amount=Decimal("5000"),
        carryforward_long_amount=Decimal("1000"),
        carryforward_year=2024,
    )
    ira = Account.objects.create(
        household=household,
        custodian="schwab",
        number="1002",
        name="Rivera IRA",
        registration="traditional_ira",
    )
    entry(taxable, "dep", "deposit", date(2022, 1, 3), amount="50000")
    entry(taxable, "b-aapl", "buy", date(2022, 1, 4), "AAPL", "100", "17000")
    entry(taxable, "s-aapl", "sell", date(2024, 2, 1), "AAPL", "40", "7400")  # LT gain 600
    entry(taxable, "b-m", "buy", date(2024, 1, 2), "M", "100", "3000")
    entry(taxable, "s-m", "sell", date(2024, 3, 1), "M", "100", "2000")  # ST loss 1000
    entry(taxable, "b-m2", "buy", date(2024, 3, 15), "M", "60", "1300")  # washes 60% of it
    ledger_rebuild(household=household)
    taxable.refresh_from_db()
    return {"household": household, "taxable": taxable, "ira": ira}
