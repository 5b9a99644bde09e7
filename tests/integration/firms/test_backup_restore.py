"""Per-firm backup and restore (issue #10 item 7), end to end on the real server.

A firm with a real ledger (opening lots, sells with gains and losses, a wash sale in the taxable
account and a permanent one in the IRA) is committed in the test database (pg_dump is another
process), exported with ``firm_backup``, and restored with ``manage.py firm_restore`` in a child
process pointed at a fresh, empty database created on the same server. The restored firm's
ledger is replayed there and must give the original's lots, realized gains and wash matches,
row for row. The firm, its securities and files, and every database created are dropped at the
end.
"""

import io
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django_tenants.utils import schema_context
from psycopg import sql

from apps.accounts.models import Account, Household, TaxLot, Transaction
from apps.accounts.services.ledger import ledger_rebuild
from apps.firms.backup import database_conninfo, firm_backup
from apps.firms.models import Firm
from apps.firms.services import firm_create
from apps.securities.models import Price, Security
from apps.trading.services.synthetic_book import synthetic_book_create
from tests import processes

SLUG = "firm_bk"
AS_OF = date(2023, 3, 31)  # no other test prices this day: the synthetic book picks our names
SYMBOLS = [f"BK{i:02d}" for i in range(6)]
UNREFERENCED = "BKZZ"  # an ETF named by no row of the firm (the book holds stocks): not saved
STORED_FILE = ("reports/statement-2023.pdf", b"%PDF-1.4 backup test\n")

REPLAY = (
    "from django_tenants.utils import schema_context\n"
    "from apps.accounts.models import Household\n"
    "from apps.accounts.services.ledger import ledger_rebuild\n"
    f"with schema_context({SLUG!r}):\n"
    "    for household in Household.objects.order_by('pk'):\n"
    "        ledger_rebuild(household=household)\n"
)


def _seed_prices() -> None:
    days = [AS_OF - timedelta(days=d) for d in range(60)]
    for i, symbol in enumerate([*SYMBOLS, UNREFERENCED]):
        security = Security.objects.create(
            symbol=symbol,
            name=f"Backup test {symbol}",
            kind="etf" if symbol == UNREFERENCED else "stock",
            sector="Energy",
            esg_tags=["test"],
        )
        Price.objects.bulk_create(
            Price(security=security, priced_on=d, close_price=Decimal(20 + i), source="test")
            for d in days
            if d.weekday() < 5
        )


def _entry(account: Account, ext: str, kind: str, on: date, symbol="", shares=None, amount="0"):
    Transaction.objects.create(
        account=account,
        external_id=ext,
        kind=kind,
        trade_on=on,
        symbol=symbol,
        shares=Decimal(shares) if shares else None,
        amount=Decimal(amount),
    )


def _seed_ledger() -> None:
    """A synthetic book with a sell in every account, and a household with two wash sales."""
    synthetic_book_create(households=6, names=4, as_of=AS_OF, seed=7)
    for account in Account.objects.order_by("pk"):
        lot = TaxLot.objects.filter(account=account, acquired_on__lt=AS_OF - timedelta(days=40))
        lot = lot.order_by("acquired_on", "lot_key").first()
        shares = (lot.shares / 2).quantize(Decimal("0.000001"))
        _entry(account, "sell-1", "sell", AS_OF - timedelta(days=30), lot.symbol, shares, "500")
        ledger_rebuild(household=account.household)
    household = Household.objects.create(external_id="BK-WASH", name="Wash household")
    taxable = Account.objects.create(
        household=household, custodian="schwab", number="BK-T", name="T", registration="taxable"
    )
    ira = Account.objects.create(
        household=household,
        custodian="schwab",
        number="BK-I",
        name="I",
        registration="traditional_ira",
    )
    _entry(taxable, "dep", "deposit", date(2021, 1, 4), amount="50000")
    _entry(ira, "dep", "deposit", date(2021, 1, 4), amount="5000")
    _entry(taxable, "b-0", "buy", date(2021, 1, 5), "BK00", "100", "17000")
    _entry(taxable, "s-0", "sell", date(2023, 2, 1), "BK00", "40", "7400")  # long-term gain
    _entry(taxable, "b-1", "buy", date(2023, 1, 3), "BK01", "100", "3000")
    _entry(taxable, "s-1", "sell", date(2023, 2, 15), "BK01", "100", "2000")  # short-term loss
    _entry(taxable, "b-1b", "buy", date(2023, 3, 1), "BK01", "60", "1300")  # washes 60 shares
    _entry(ira, "b-1i", "buy", date(2023, 3, 2), "BK01", "20", "450")  # IRA: permanent wash
    ledger_rebuild(household=household)


@pytest.fixture(scope="module")
def source_firm(django_db_setup, django_db_blocker) -> Iterator[Firm]:
    """The committed firm to back up, with its ledger and one stored file."""
    with django_db_blocker.unblock():
        _seed_prices()
        firm = firm_create(
            name="Backup Test Wealth",
            slug=SLUG,
            domain="firm-bk.localhost",
            admin_email="admin@firm-bk.test",
            admin_password="Backup-pass-123",
        ).firm
        with schema_context(SLUG):
            _seed_ledger()
            default_storage.save(STORED_FILE[0], ContentFile(STORED_FILE[1]))
        connection.set_schema_to_public()
    yield firm
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        firm.delete(force_drop=True)
        Price.objects.filter(security__symbol__in=[*SYMBOLS, UNREFERENCED]).delete()
        Security.objects.filter(symbol__in=[*SYMBOLS, UNREFERENCED]).delete()
        shutil.rmtree(Path(settings.MEDIA_ROOT) / SLUG, ignore_errors=True)


@pytest.fixture(scope="module")
def archive(source_firm, django_db_blocker, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("backup") / "firm_bk.tar.gz"
    with django_db_blocker.unblock():
        report = firm_backup(firm=source_firm, path=path)
    assert report.files == 1
    return path


@pytest.fixture
def empty_database(django_db_setup, django_db_blocker) -> Iterator[str]:
    """A new, empty database on the test server; dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock(), psycopg.connect(database_conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        yield name
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _manage(database: str, media_root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``manage.py <args>`` in a child process on another database of the test server."""
    url = processes.test_database_url().rsplit("/", 1)[0] + f"/{database}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DJANGO_MEDIA_ROOT": str(media_root),
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=processes.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _rows(database: str | None, query: str) -> list[tuple]:
    with psycopg.connect(database_conninfo(dbname=database)) as conn:
        return conn.execute(query).fetchall()


# Full rows (every column as JSON, ids replaced by the natural keys they point at), sorted.
# The schema is named literally (SLUG): raw SQL with no interpolation.
LOTS = """
    SELECT a.custodian, a.number, (to_jsonb(l) - 'id' - 'account_id')::text
    FROM firm_bk.accounts_taxlot l JOIN firm_bk.accounts_account a ON a.id = l.account_id
    ORDER BY 1, 2, 3"""
GAINS = """
    SELECT a.custodian, a.number, t.external_id,
           (to_jsonb(g) - 'id' - 'account_id' - 'sell_id')::text
    FROM firm_bk.accounts_realizedgain g JOIN firm_bk.accounts_account a ON a.id = g.account_id
    JOIN firm_bk.accounts_transaction t ON t.id = g.sell_id
    ORDER BY 1, 2, 3, 4"""
WASHES = """
    SELECT h.external_id, t.external_id, a.number,
           (to_jsonb(w) - 'id' - 'household_id' - 'loss_sell_id' - 'replacement_account_id')::text
    FROM firm_bk.accounts_washsalematch w JOIN firm_bk.accounts_household h ON h.id = w.household_id
    JOIN firm_bk.accounts_transaction t ON t.id = w.loss_sell_id
    JOIN firm_bk.accounts_account a ON a.id = w.replacement_account_id
    ORDER BY 1, 2, 3, 4"""
SECURITIES = """
    SELECT symbol, (to_jsonb(s) - 'id')::text FROM securities_security s ORDER BY 1"""
PRICES = """
    SELECT s.symbol, (to_jsonb(p) - 'id' - 'security_id')::text FROM securities_price p
    JOIN securities_security s ON s.id = p.security_id ORDER BY 1, 2"""
TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1"


def _table_digests(database: str | None, schema: str = SLUG) -> dict[str, str]:
    """md5 of every table of the firm's schema, over its rows as text, sorted."""
    digests = {}
    with psycopg.connect(database_conninfo(dbname=database)) as conn:
        for (table,) in conn.execute(TABLES, (schema,)).fetchall():
            query = sql.SQL(
                "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {} t"
            ).format(sql.Identifier(schema, table))
            digests[table] = conn.execute(query).fetchone()[0]
    return digests


def _ledger(database: str | None) -> dict[str, list[tuple]]:
    return {
        name: _rows(database, q)
        for name, q in (("lots", LOTS), ("gains", GAINS), ("washes", WASHES))
    }


def test_restored_firm_replays_its_ledger_to_the_same_lots(
    archive, empty_database, django_db_blocker, tmp_path
):
    with django_db_blocker.unblock():
        original = _ledger(None)
        original_tables = _table_digests(None)
    assert all(original.values())
    assert {"accounts_transaction", "accounts_taxlot", "django_migrations"} < set(original_tables)
    assert any('"disallowed_amount": 0.00' not in row[-1] for row in original["gains"])
    assert any('"is_permanent": true' in row[-1] for row in original["washes"])
    media = tmp_path / "media"

    restored = _manage(empty_database, media, "firm_restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert "migrations of this release" not in restored.stdout  # same release: none missing

    # Every table of the schema holds the same rows, and the firm's public rows came along.
    assert _table_digests(empty_database) == original_tables
    assert _rows(empty_database, "SELECT slug, name FROM firms_firm") == [
        (SLUG, "Backup Test Wealth")
    ]
    assert _rows(empty_database, "SELECT domain, is_primary FROM firms_domain") == [
        ("firm-bk.localhost", True)
    ]
    # The securities the firm's rows name, whole, with every close; nothing else.
    with django_db_blocker.unblock():
        named = set(
            _rows(None, "SELECT symbol FROM firm_bk.accounts_transaction WHERE symbol <> ''")
        )
        master = _rows(None, SECURITIES)
        closes = _rows(None, PRICES)
    assert {("BK00",), ("BK01",)} <= named <= {(symbol,) for symbol in SYMBOLS}
    assert _rows(empty_database, SECURITIES) == [row for row in master if (row[0],) in named]
    assert _rows(empty_database, PRICES) == [row for row in closes if (row[0],) in named]
    assert (media / SLUG / STORED_FILE[0]).read_bytes() == STORED_FILE[1]

    # Derived rows wiped, then the restored ledger is replayed in the restored database.
    with psycopg.connect(database_conninfo(dbname=empty_database)) as conn:
        for table in ("accounts_washsalematch", "accounts_realizedgain", "accounts_taxlot"):
            conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(SLUG, table)))
    assert not any(_ledger(empty_database).values())
    replay = _manage(empty_database, media, "shell", "-c", REPLAY)
    assert replay.returncode == 0, replay.stderr
    assert _ledger(empty_database) == original

    # Restoring the same archive again is refused and changes nothing.
    again = _manage(empty_database, media, "firm_restore", str(archive))
    assert again.returncode != 0
    assert f"schema '{SLUG}' exists in this database" in again.stderr
    assert _rows(empty_database, "SELECT count(*) FROM firms_firm") == [(1,)]
    assert _ledger(empty_database) == original


def test_an_older_archive_restored_under_a_new_slug_is_renamed_and_names_missing_migrations(
    source_firm, empty_database, django_db_blocker, tmp_path
):
    # Saved as an older release would have saved it: without the latest accounts migration.
    older = tmp_path / "older.tar.gz"
    with django_db_blocker.unblock(), psycopg.connect(database_conninfo(), autocommit=True) as conn:
        row = conn.execute(
            "DELETE FROM firm_bk.django_migrations WHERE id = (SELECT max(id)"
            " FROM firm_bk.django_migrations WHERE app = 'accounts') RETURNING *"
        ).fetchone()
        try:
            firm_backup(firm=source_firm, path=older)
            original_tables = _table_digests(None)
        finally:
            conn.execute("INSERT INTO firm_bk.django_migrations VALUES (%s, %s, %s, %s)", row)
    media = tmp_path / "media"

    result = _manage(
        empty_database, media, "firm_restore", str(older), "--slug=bk_copy", "--domain=c.test"
    )

    assert result.returncode == 0, result.stderr
    assert _table_digests(empty_database, "bk_copy") == original_tables
    assert _rows(empty_database, "SELECT nspname FROM pg_namespace WHERE nspname LIKE '%bk%'") == [
        ("bk_copy",)
    ]
    assert _rows(empty_database, "SELECT slug, schema_name FROM firms_firm") == [
        ("bk_copy", "bk_copy")
    ]
    assert _rows(empty_database, "SELECT domain, is_primary FROM firms_domain") == [
        ("c.test", True)
    ]
    assert (media / "bk_copy" / STORED_FILE[0]).read_bytes() == STORED_FILE[1]
    assert f"lacks 1 migrations of this release (accounts.{row[2]})" in result.stdout
    assert "migrate_schemas --tenant --schema=bk_copy" in result.stdout


def _rewrite(source: Path, target: Path, *, member: str, edit) -> Path:
    """Copy an archive, passing one member's bytes through ``edit``."""
    with tarfile.open(source, "r:gz") as old, tarfile.open(target, "w:gz") as new:
        for info in old.getmembers():
            data = old.extractfile(info).read()
            if info.name == member:
                data = edit(data)
                info.size = len(data)
            new.addfile(info, io.BytesIO(data))
    return target


def _truncated(source: Path, target: Path) -> Path:
    target.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    return target


def _altered_dump(source: Path, target: Path) -> Path:
    flip = lambda data: data[:-100] + bytes([data[-100] ^ 1]) + data[-99:]  # noqa: E731
    return _rewrite(source, target, member="schema.dump", edit=flip)


def _unknown_version(source: Path, target: Path) -> Path:
    edit = lambda data: data.replace(b'"format_version": 1', b'"format_version": 99')  # noqa: E731
    return _rewrite(source, target, member="manifest.json", edit=edit)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_truncated, "is corrupt or truncated"),
        (_altered_dump, "schema.dump does not match its sha256"),
        (_unknown_version, "has format version 99"),
    ],
)
def test_a_damaged_archive_is_refused_and_leaves_nothing(
    archive, empty_database, tmp_path, damage, message
):
    damaged = damage(archive, tmp_path / "damaged.tar.gz")
    media = tmp_path / "media"

    result = _manage(empty_database, media, "firm_restore", str(damaged))

    assert result.returncode != 0
    assert "CommandError" in result.stderr
    assert message in result.stderr
    # Refused before touching the database: not even the shared tables were created.
    tables = "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'pg_toast')"
    tables += " AND schemaname <> 'information_schema'"
    assert _rows(empty_database, tables) == [(0,)]
    assert not media.exists()


def test_a_restore_failing_after_loading_the_schema_drops_it(archive, empty_database, tmp_path):
    # The schema loads, then its row counts disagree with the manifest's: all must go.
    edit = lambda data: data.replace(b'"accounts_taxlot": ', b'"accounts_taxlot": 1')  # noqa: E731
    damaged = _rewrite(archive, tmp_path / "miscounted.tar.gz", member="manifest.json", edit=edit)
    media = tmp_path / "media"

    result = _manage(empty_database, media, "firm_restore", str(damaged))

    assert result.returncode != 0
    assert "restored row counts differ from the manifest" in result.stderr
    assert _rows(empty_database, "SELECT count(*) FROM pg_namespace WHERE nspname = 'firm_bk'") == [
        (0,)
    ]
    assert _rows(empty_database, "SELECT count(*) FROM firms_firm") == [(0,)]
    assert _rows(empty_database, "SELECT count(*) FROM firms_domain") == [(0,)]
    assert _rows(empty_database, "SELECT count(*) FROM securities_security") == [(0,)]
    assert not (media / SLUG).exists()
