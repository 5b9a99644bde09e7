from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context, tenant_context

from apps.firms.models import Firm, FirmService
from apps.firms.services import firm_create

DEMO_SLUG = "demo"
DEMO_HOST = "demo.localhost"
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - a published demo login, never a real secret  # nosec B105
STAFF_USERNAME = "staff"


class Command(BaseCommand):
    help = "Seed the demo (idempotent): reference data, the demo firm, one login per role."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--skip-reference-data", action="store_true")
        parser.add_argument("--households", type=int, default=40)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_SEED_ALLOWED:
            raise CommandError(
                "demo_seed creates published logins: refused under production settings"
            )
        if not options["skip_reference_data"]:
            call_command("load_reference_data", stdout=self.stdout, stderr=self.stderr)
        self._staff()
        firm = Firm.objects.filter(slug=DEMO_SLUG).first()
        if firm is None:
            firm = firm_create(
                name="Demo Wealth Partners",
                slug=DEMO_SLUG,
                domain=DEMO_HOST,
                admin_email="admin@demo.test",
                admin_password=DEMO_PASSWORD,
                service=FirmService.SUB_ADVISORY,
            ).firm
        self._firm_users(firm)
        self._book(firm, households=options["households"])
        self.stdout.write(self.style.SUCCESS("demo ready"))
        self.stdout.write(f"  firm:     http://{DEMO_HOST}:8000/  (password {DEMO_PASSWORD})")
        for role in ("admin", "advisor", "trader", "viewer"):
            self.stdout.write(f"            {role}@demo.test")
        self.stdout.write(
            f"  platform: http://localhost:8000/staff/  ({STAFF_USERNAME} / {DEMO_PASSWORD})"
        )

    def _staff(self) -> None:
        user_model = get_user_model()
        if not user_model.objects.filter(username=STAFF_USERNAME).exists():
            user_model.objects.create_user(
                username=STAFF_USERNAME, password=DEMO_PASSWORD, is_staff=True, is_superuser=True
            )

    def _book(self, firm: Firm, *, households: int) -> None:
        """A synthetic book on a 50-name model, a few customizations, and one book run queued."""
        from apps.accounts.models import Account
        from apps.common.tenancy import firm_today
        from apps.securities.models import Price
        from apps.trading.models import RebalanceRun, RunMode, RunScope
        from apps.trading.services.runs import rebalance_run_create
        from apps.trading.services.synthetic_book import synthetic_book_create

        with tenant_context(firm):  # a real firm: services read its business date
            if Account.objects.exists():
                return
            as_of = (
                Price.objects.filter(priced_on__lte=firm_today(firm))
                .order_by("-priced_on")
                .values_list("priced_on", flat=True)
                .first()
            )
            if as_of is None:
                self.stderr.write("no prices loaded: run load_reference_data first")
                return
            book = synthetic_book_create(
                households=households, names=50, as_of=as_of, seed=2026, model_code="CORE50"
            )
            self._customize(as_of)
            self.stdout.write(
                f"  book:     {book.accounts} accounts, {book.lots} lots on model CORE50 "
                f"(50 names), prices as of {as_of}"
            )
            if not RebalanceRun.objects.exists():
                run = rebalance_run_create(
                    scope=RunScope.BOOK,
                    scope_ids=[],
                    mode=RunMode.FULL_REBALANCE,
                    as_of=as_of,
                    requested_by=None,
                )
                self.stdout.write(f"  run:      #{run.pk} queued; the demo's Celery worker runs it")

    def _customize(self, as_of: Any) -> None:
        """Give four accounts the customizations clients ask for, each where it is credible.

        A screen on the first taxable account; the $5,000 monthly withdrawal on the largest
        (about 3% a year of a multi-million account); outside employer stock on the second
        largest; the concentrated legacy transfer and its three-year transition on the taxable
        account nearest the book's median value.
        """
        from datetime import timedelta
        from decimal import Decimal

        from apps.accounts.holdings import holdings_get
        from apps.accounts.models import Account
        from apps.accounts.services.accounts import account_update_profile
        from apps.restrictions.services import outside_holding_set, restriction_add

        taxable = list(Account.objects.filter(registration="taxable").order_by("pk"))
        value = {a.pk: holdings_get(account=a, as_of=as_of).total_value for a in taxable}
        by_value = sorted(taxable, key=lambda a: value[a.pk], reverse=True)
        screened = taxable[0]
        withdrawing, outside = [a for a in by_value if a != screened][:2]
        middle = [a for a in by_value if a not in (screened, withdrawing, outside)]
        transition = middle[len(middle) // 2]
        restriction_add(
            kind="exclude_esg",
            value="tobacco",
            starts_on=as_of - timedelta(days=30),
            acting_user=None,
            account=screened,
            reason="Client asked for a tobacco-free portfolio",
        )
        account_update_profile(
            account=withdrawing,
            changes={
                "withdrawal_amount": Decimal("5000.00"),
                "withdrawal_frequency": "monthly",
                "next_withdrawal_on": as_of + timedelta(days=10),
                "cash_reserve_amount": Decimal("10000.00"),
            },
            acting_user=None,
        )
        employer = max(
            holdings_get(account=outside, as_of=as_of).positions, key=lambda p: p.value or 0
        )
        outside_holding_set(
            exposure_key=employer.symbol,
            account=outside,
            amount=(value[outside.pk] / 4000).quantize(Decimal(1)) * 1000,
            reason="Employer stock in the client's 401(k)",
            acting_user=None,
        )
        self._legacy_transfer(transition, as_of)
        account_update_profile(
            account=transition,
            changes={"annual_budget_amount": Decimal("25000.00"), "transition_years": 3},
            acting_user=None,
        )

    @staticmethod
    def _legacy_transfer(account: Any, as_of: Any) -> None:
        """A concentrated legacy position transferred in: the transition account's reason to be.

        One of the account's model names, bought in 2014 at 30% of today's price, in whole
        shares worth half of what the account held (a third of the account afterwards, about
        70% of it long-term gain to realize over the three-year transition).
        """
        from datetime import date
        from decimal import Decimal

        from apps.accounts.holdings import holdings_get
        from apps.accounts.models import Transaction, TransactionKind
        from apps.accounts.services.ledger import ledger_rebuild
        from apps.common.money import round_money

        holdings = holdings_get(account=account, as_of=as_of)
        prices = {v.lot.symbol: v.price for v in holdings.lots if v.price is not None}
        symbol = min(prices)
        price = prices[symbol]
        shares = (holdings.total_value / 2 / price).quantize(Decimal(1))
        acquired = date(2014, 3, 14)
        Transaction.objects.create(
            account=account,
            external_id=f"legacy-{symbol}",
            kind=TransactionKind.BUY,
            trade_on=acquired,
            symbol=symbol,
            shares=shares,
            amount=round_money(shares * price * Decimal("0.30")),
            is_opening_lot=True,
            holding_period_start_on=acquired,
            source="demo: legacy transfer",
        )
        ledger_rebuild(household=account.household)
        account.refresh_from_db()

    def _firm_users(self, firm: Firm) -> None:
        from apps.access.roles import Role
        from apps.access.services import firm_user_create

        with schema_context(firm.schema_name):
            existing = set(get_user_model().objects.values_list("username", flat=True))
            for role, name in (
                (Role.ADVISOR, "advisor"),
                (Role.TRADER, "trader"),
                (Role.VIEWER, "viewer"),
            ):
                email = f"{name}@demo.test"
                if email not in existing:
                    firm_user_create(email=email, password=DEMO_PASSWORD, role=role)
