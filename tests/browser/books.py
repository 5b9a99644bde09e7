"""Committed firms for browser tests: priced names, a model, households with legacy lots.

The server under test is another process, so the data must be committed (no test transaction);
``book_firm`` creates it and removes it (schema, securities, prices) afterwards.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD

# symbol -> (sector, industry, ESG tags)
Symbols = dict[str, tuple[str, str, list[str]]]


@dataclass(frozen=True)
class BookFirm:
    """What a test needs of a committed firm: its host, accounts by number, its today."""

    firm: Any
    host: str
    accounts: dict[str, int]  # account number -> id
    today: date

    def email(self, role: str) -> str:
        """The login of the firm's user with that role (``firm_admin``, ``trader``, ...)."""
        return f"{role}@{self.host.split('.')[0]}.test"

    def base(self, port: int) -> str:
        """The firm's own origin on the test server."""
        return f"http://{self.host}:{port}"


def business_days(end: date, count: int) -> list[date]:
    """The ``count`` weekdays up to ``end``, oldest first."""
    days, day = [], end
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


@contextmanager
def book_firm(
    *,
    slug: str,
    name: str,
    symbols: Symbols,
    accounts: tuple[tuple[str, str, str], ...],
    seed: int,
    is_whole_shares: bool = False,
) -> Iterator[BookFirm]:
    """A sub-advised firm on ``<slug with dashes>.localhost`` with one user per role.

    Args:
        slug: schema name; the host and the logins derive from it.
        name: the firm's name.
        symbols: the names priced for 90 business days (random walks from $30 up).
        accounts: (household name, account name, account number) each; every account holds 200
            shares of every other symbol, bought 700 days ago at 60% of today's price, plus
            $10,000 cash, and follows one equal-weight model of all the symbols (4% cash).
        seed: the price paths' seed.
        is_whole_shares: the accounts trade whole shares only.
    """
    from apps.access.roles import Role
    from apps.access.services import firm_user_create
    from apps.accounts.models import Account, Household, Transaction
    from apps.accounts.services.ledger import ledger_rebuild
    from apps.common.tenancy import firm_today
    from apps.firms.models import Firm, StaffEntry
    from apps.firms.services import firm_create
    from apps.models.services import model_assign
    from apps.securities.models import Price, Security

    host = f"{slug.replace('_', '-')}.localhost"
    prefix = host.split(".")[0]
    firm = firm_create(
        name=name,
        slug=slug,
        domain=host,
        admin_email=f"{Role.FIRM_ADMIN.value}@{prefix}.test",
        admin_password=PASSWORD,
        service="sub_advisory",
    ).firm
    try:
        today = firm_today(firm)
        days = business_days(today, 90)
        rng = np.random.default_rng(seed)
        for i, (symbol, (sector, industry, tags)) in enumerate(symbols.items()):
            security = Security.objects.create(
                symbol=symbol, name=f"{symbol} Inc", sector=sector, industry=industry, esg_tags=tags
            )
            path = (30 + 10 * i) * np.exp(np.cumsum(rng.normal(0, 0.015, len(days))))
            Price.objects.bulk_create(
                Price(security=security, priced_on=d, close_price=Decimal(f"{p:.2f}"), source="t")
                for d, p in zip(days, path, strict=True)
            )
        ids = {}
        with tenant_context(firm):
            for role in (Role.ADVISOR, Role.TRADER, Role.VIEWER):
                firm_user_create(email=f"{role.value}@{prefix}.test", password=PASSWORD, role=role)
            model = _equal_weight_model(symbols, today) if symbols else None
            prices = {
                s: Price.objects.filter(security__symbol=s).latest("priced_on").close_price
                for s in symbols
            }
            for household_name, account_name, number in accounts:
                household = Household.objects.create(external_id=number, name=household_name)
                account = Account.objects.create(
                    household=household,
                    custodian="schwab",
                    number=number,
                    name=account_name,
                    registration="taxable",
                    is_fractional_shares=not is_whole_shares,
                )
                Transaction.objects.create(
                    account=account,
                    external_id="dep",
                    kind="deposit",
                    trade_on=today - timedelta(days=800),
                    amount=Decimal("10000"),
                )
                for n, symbol in enumerate(list(symbols)[::2]):
                    Transaction.objects.create(
                        account=account,
                        external_id=f"open-{symbol}",
                        kind="buy",
                        trade_on=today - timedelta(days=700 - n),
                        symbol=symbol,
                        shares=Decimal(200),
                        amount=(200 * prices[symbol] * Decimal("0.6")).quantize(Decimal("0.01")),
                        is_opening_lot=True,
                    )
                ledger_rebuild(household=household)
                if model is not None:
                    model_assign(account=account, model=model, acting_user=None)
                ids[number] = account.pk
        connection.set_schema_to_public()
        yield BookFirm(firm=firm, host=host, accounts=ids, today=today)
    finally:
        connection.set_schema_to_public()
        StaffEntry.objects.filter(firm__slug=slug).delete()  # staff entered it (protected FK)
        Firm.objects.get(slug=slug).delete(force_drop=True)
        Price.objects.filter(security__symbol__in=symbols).delete()
        Security.objects.filter(symbol__in=symbols).delete()


def _equal_weight_model(symbols: Symbols, today: date) -> Any:
    from apps.models.services import model_create, model_version_create

    model = model_create(code="EQ", name="Equal weight", acting_user=None)
    weight = (Decimal("0.96") / len(symbols)).quantize(Decimal("0.0001"))
    model_version_create(
        model=model,
        effective_on=today - timedelta(days=60),
        cash_weight=Decimal(1) - weight * len(symbols),
        security_weights=dict.fromkeys(symbols, weight),
        acting_user=None,
    )
    return model


def book_run_executed(firm: Any) -> int:
    """Run the firm's whole book in this process (as a worker would); return the run id."""
    from apps.common.tenancy import firm_today
    from apps.trading.models import RunMode, RunScope
    from apps.trading.services.runs import (
        rebalance_chunk_execute,
        rebalance_run_create,
        rebalance_run_start,
    )

    with tenant_context(firm):
        run = rebalance_run_create(
            scope=RunScope.BOOK,
            scope_ids=[],
            mode=RunMode.FULL_REBALANCE,
            as_of=firm_today(firm),
            requested_by=None,
            enqueue=False,
        )
        for chunk in rebalance_run_start(run_id=run.pk, enqueue=False):
            rebalance_chunk_execute(run_id=run.pk, chunk=chunk)
    connection.set_schema_to_public()
    return int(run.pk)
