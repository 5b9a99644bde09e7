"""Firm A seeded with one real object of every kind a door can name, and firm A's fingerprint.

Firm A's id sequences are moved above ``ID_FLOOR`` first: sequences are per schema, so without
this firm B would hold rows with the very same ids, and a 200 on firm B's host could be firm B's
own row. With it, a firm A id names nothing in firm B, and any success there is a leak.
"""

import hashlib
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import schema_context
from psycopg import sql

from apps.access.roles import Role
from tests.conftest import PASSWORD
from tests.integration.accounts.conftest import entry
from tests.integration.reports.conftest import run_model
from tests.integration.security.doors import ID_FLOOR, TRIED, Seed
from tests.integration.trading.conftest import (  # noqa: F401 - fixtures
    AS_OF,
    priced_universe,
    run_book,
)

# Text only firm A's seeded data contains; no response to anybody else may carry it.
MARKERS = ("Quokka", "QUOKKA", "firm-a.test")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print how many doors were tried, per category and in total."""
    if TRIED:
        lines = [f"  {category}: {count}" for category, count in sorted(TRIED.items())]
        terminalreporter.write_line("doors tried:\n" + "\n".join(lines))
        terminalreporter.write_line(f"  total: {sum(TRIED.values())}")


def schema_fingerprint(schema: str) -> dict[str, str]:
    """An md5 of every table's rows in the schema, by table (any insert, update or delete shows)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            [schema],
        )
        tables = sorted(row[0] for row in cursor.fetchall())
        found = {}
        for table in tables:
            cursor.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                    " FROM {}.{} t"
                ).format(sql.Identifier(schema), sql.Identifier(table))
            )
            count, digest = cursor.fetchone()
            found[table] = f"{count}:{digest}"
    return found


@pytest.fixture
def firm_a_ids_apart(firms: Any, db: None) -> None:
    """Move firm A's id sequences to ``ID_FLOOR`` and beyond, each table to its own range of
    10,000, so that every seeded id is distinct (setval outlives the test's rollback)."""
    schema = firms["a"].schema
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT format('%%I.%%I', table_schema, table_name), column_name"
            " FROM information_schema.columns WHERE table_schema = %s"
            " AND (is_identity = 'YES' OR column_default LIKE 'nextval%%')"
            " ORDER BY table_name",
            [schema],
        )
        for i, (table, column) in enumerate(cursor.fetchall()):
            cursor.execute(
                "SELECT setval(s::regclass, GREATEST(nextval(s::regclass), %s))"
                " FROM pg_get_serial_sequence(%s, %s) AS s",
                [ID_FLOOR + i * 10_000, table, column],
            )


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "#3a7").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def seed(firm_a_ids_apart: None, run_book: dict[str, Any], firms: Any, settings: Any, tmp_path):  # noqa: F811
    """Firm A with one real object of every kind a door names (in firm A's schema, rolled back).

    Returns:
        The ids by kind (``accounts.account``, ``trading.proposal``, …), the markers, and the
        storage names of the files the firm stored (report, trade file, fills, export, logo).
    """
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType

    from apps.access.models import AuditEvent
    from apps.access.services import api_token_create, audit_export_csv, firm_user_create
    from apps.accounts.models import (
        Account,
        Household,
        RealizedGain,
        TaxLot,
        Transaction,
        WashSaleMatch,
    )
    from apps.accounts.services.identical import (
        identical_group_create,
        identical_index_opt_out_create,
    )
    from apps.accounts.services.ledger import ledger_rebuild
    from apps.models.models import ModelPortfolio, ModelVersion
    from apps.reports.models import FirmBranding, ReportFile, ReportKind
    from apps.reports.services.batches import report_batch_create, report_batch_run_inline
    from apps.reports.services.branding import firm_branding_update
    from apps.restrictions.services import outside_holding_set, restriction_add, substitute_set
    from apps.securities.models import Price, Security
    from apps.trading.models import (
        FillImport,
        OrderAllocation,
        ProposalStatus,
        ProposedTrade,
        RunAccount,
        RunChunk,
        ScanItem,
    )
    from apps.trading.services.fills import fills_import
    from apps.trading.services.orders import orders_create_from_approved
    from apps.trading.services.review import proposals_decide
    from apps.trading.services.scan import daily_scan_run
    from apps.trading.services.trade_files import trade_file_generate

    settings.MEDIA_ROOT = str(tmp_path / "media")
    assert connection.schema_name == firms["a"].schema
    admin = firms["a"].users[Role.FIRM_ADMIN]
    trader = firms["a"].users[Role.TRADER]
    legacy = run_book["legacy"]
    household = legacy.household
    Household.objects.filter(pk=household.pk).update(name="Quokka household", external_id="QK-H")
    for account in Account.objects.filter(household=household):
        Account.objects.filter(pk=account.pk).update(
            name=f"Quokka {account.name}", number=f"QUOKKA-{account.number}"
        )
    ModelPortfolio.objects.filter(pk=run_book["model"].pk).update(name="Quokka Core 8")
    # A loss sold and bought back within 30 days: a wash sale, with its lots and realized gain.
    entry(legacy, "qk-b1", "buy", date(2024, 1, 2), "BBB", "10", "1000")
    entry(legacy, "qk-s1", "sell", date(2024, 3, 1), "BBB", "10", "800")
    entry(legacy, "qk-b2", "buy", date(2024, 3, 15), "BBB", "10", "850")
    ledger_rebuild(household=household)

    proposals = run_model(run_book["model"])
    pending = [p.pk for p in proposals if p.status == ProposalStatus.PENDING_APPROVAL]
    proposals_decide(proposal_ids=pending, approve=True, acting_user=trader)
    orders_create_from_approved(acting_user=trader)
    trade_file = trade_file_generate(custodian="schwab", layout="generic", acting_user=trader)
    allocation = OrderAllocation.objects.select_related("account", "order", "proposed_trade")[0]
    fills = (
        "allocation_id,account_number,symbol,side,shares,price,trade_date\n"
        f"{allocation.pk},{allocation.account.number},{allocation.order.symbol},"
        f"{allocation.order.side},{allocation.shares},{allocation.proposed_trade.price},{AS_OF}\n"
    )
    fills_import(content=fills.encode(), filename="quokka-fills.csv", acting_user=trader)
    batch = report_batch_create(
        kind=ReportKind.CLIENT,
        year=AS_OF.year,
        as_of=AS_OF,
        requested_by=admin,
        account_ids=[legacy.pk],
        enqueue=False,
    )
    report_batch_run_inline(batch=batch)
    restriction = restriction_add(
        kind="never_buy",
        value="HHH",
        starts_on=date(2024, 1, 1),
        acting_user=admin,
        account=legacy,
        reason="Quokka restriction",
    )
    holding = outside_holding_set(
        exposure_key="AAA",
        acting_user=admin,
        account=legacy,
        amount=Decimal("5000"),
        reason="Quokka outside",
    )
    (substitute,) = substitute_set(symbol="AAA", alternatives=["BBB"], acting_user=admin)
    user = firm_user_create(email="quokka@firm-a.test", password=PASSWORD, role=Role.VIEWER)
    api_token, _ = api_token_create(user=user, name="Quokka token", acting_user=user)
    group = Group.objects.create(name="Quokka desk")
    firm_branding_update(acting_user=admin, display_name="Quokka Wealth", logo=("logo.png", _png()))
    export_name = audit_export_csv(action_prefix="", acting_user_id=admin.pk)
    export = AuditEvent.objects.get(action="audit.export", payload__file=export_name)
    # Two names the household never both traded: no ledger is replayed (the ids below stay).
    identical = identical_group_create(
        symbols=["GGG", "HHH"], reason="Quokka identical", source="Quokka", acting_user=admin
    )
    for fund in ("IXF1", "IXF2"):  # two funds on one index (public data: no marker)
        Security.objects.create(symbol=fund, name="Index fund", kind="etf", tracked_index="IX")
    opt_out = identical_index_opt_out_create(
        symbol="IXF1", reason="Quokka opt-out", source="Quokka", acting_user=admin
    )
    version = ModelVersion.objects.filter(model=run_book["model"]).get()
    scan = daily_scan_run(as_of=AS_OF)
    report_file = ReportFile.objects.get(batch=batch)
    ids = {
        "auth.user": user.pk,
        "auth.group": group.pk,
        "access.membership": user.membership.pk,
        "access.auditevent": export.pk,
        "access.apitoken": api_token.pk,
        "accounts.household": household.pk,
        "accounts.account": legacy.pk,
        "accounts.transaction": Transaction.objects.filter(account=legacy).first().pk,
        "accounts.taxlot": TaxLot.objects.filter(account=legacy).first().pk,
        "accounts.realizedgain": RealizedGain.objects.filter(account=legacy).first().pk,
        "accounts.washsalematch": WashSaleMatch.objects.get(household=household).pk,
        "accounts.identicalgroup": identical.pk,
        "accounts.identicalindexoptout": opt_out.pk,
        "portfolio_models.modelportfolio": run_book["model"].pk,
        "portfolio_models.modelversion": version.pk,
        "model_version_number": version.number,
        "restrictions.restriction": restriction.pk,
        "restrictions.outsideholding": holding.pk,
        "restrictions.substitute": substitute.pk,
        "trading.rebalancerun": proposals[0].run_id,
        "trading.proposal": pending[0],
        "trading.orderallocation": allocation.pk,
        "trading.order": allocation.order_id,
        "trading.tradefile": trade_file.pk,
        "trading.proposedtrade": ProposedTrade.objects.filter(proposal_id=pending[0]).first().pk,
        "trading.runaccount": RunAccount.objects.filter(run_id=proposals[0].run_id).first().pk,
        # Chunks are recorded when a chunk is sent to a worker; this run ran in-process.
        "trading.runchunk": RunChunk.objects.get_or_create(run_id=proposals[0].run_id, chunk=0)[
            0
        ].pk,
        "trading.fillimport": FillImport.objects.get().pk,
        "trading.dailyscan": scan.pk,
        "trading.scanitem": ScanItem.objects.filter(scan=scan).first().pk,
        "reports.reportbatch": batch.pk,
        "reports.reportfile": report_file.pk,
        "content_type": ContentType.objects.get_for_model(Account).pk,
        "content_type_object": legacy.pk,
        "security_symbol": "AAA",
        "securities.security": Security.objects.get(symbol="AAA").pk,
        "securities.price": Price.objects.filter(security__symbol="AAA").first().pk,
    }
    firm_kinds = {k: v for k, v in ids.items() if k.count(".") == 1 and "securities" not in k}
    with schema_context(firms["b"].schema):
        from django.apps import apps

        for kind, pk in firm_kinds.items():
            model = apps.get_model(kind)
            assert pk >= ID_FLOOR, f"{kind} {pk}: created before the sequences moved"
            assert not model.objects.filter(pk=pk).exists(), f"{kind} {pk} exists in firm B"
    files = {
        "report": report_file.storage_name,
        "trade file": trade_file.storage_name,
        "fills upload": FillImport.objects.get().storage_name,
        "audit export": export_name,
        "logo": FirmBranding.objects.get().logo_name,
    }
    return Seed(ids=ids, markers=MARKERS, files=files)


def file_digest(content: bytes) -> str:
    """sha256 of a file's bytes (to find a stored file's bytes in a response)."""
    return hashlib.sha256(content).hexdigest()


@pytest.fixture
def staff(firms: Any, db: None) -> Any:
    """A platform staff user (public schema)."""
    with schema_context("public"):
        return get_user_model().objects.create_user(
            username="door-staff", password="Door-staff-pass-1", is_staff=True, is_superuser=True
        )


@pytest.fixture
def public_seed(firms: Any, staff: Any) -> Seed:
    """Public rows a platform door names: firm A, a staff entry into it, a staff user."""
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType

    from apps.firms.models import Firm, PlatformAuditEvent, StaffEntry
    from apps.securities.models import Price, Security

    security = Security.objects.create(symbol="QKKA", name="Quokka Corp")
    price = Price.objects.create(
        security=security, priced_on="2024-06-28", close_price="1", source="test"
    )
    entry = StaffEntry.objects.create(
        firm=firms["a"].firm, staff_user=staff, staff_username="door-staff", reason="Quokka"
    )
    firm = firms["a"].firm
    return Seed(
        ids={
            "firms.firm": firm.pk,
            "firms.staffentry": entry.pk,
            "auth.user": staff.pk,
            "auth.group": Group.objects.create(name="Quokka staff").pk,
            "securities.security": security.pk,
            "securities.price": price.pk,
            "firms.platformauditevent": PlatformAuditEvent.objects.create(
                acting_user=staff, acting_username="door-staff", action="admin.change"
            ).pk,
            "content_type": ContentType.objects.get_for_model(Firm).pk,
            "content_type_object": firm.pk,
        },
        markers=("Quokka",),
    )
