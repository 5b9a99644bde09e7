"""Helpers shared by the benchmark scripts (run as ``python bench/<name>.py``)."""

import os
from urllib.parse import quote


def bench_database_url(name: str) -> str:
    """Return the URL of database ``name`` on DATABASE_URL's server, creating it if missing.

    Without DATABASE_URL the embedded PostgreSQL is used (``./dev stack start`` first).
    """
    import environ
    import psycopg
    from psycopg import sql

    from config import devstack

    url = os.environ.get("DATABASE_URL") or devstack.database_url()
    conf = environ.Env.db_url_config(url)
    host, port, user = conf["HOST"], conf.get("PORT") or "", conf["USER"]
    with psycopg.connect(
        host=host, port=port or None, user=user, dbname="postgres", autocommit=True
    ) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    if host.startswith("/"):
        return f"postgres://{quote(user)}@:{port}/{host}/{name}"
    return f"postgres://{quote(user)}@{host}:{port}/{name}"


def book_copy(*, households: int, template_households: int, seed: int) -> None:
    """Copy the synthetic book's first ``template_households`` households up to ``households``.

    Set-based, in the database: one ``INSERT … SELECT`` per table (households, accounts, their
    ledgers and lots), then the tables' planner statistics. The ledger's and lots' secondary
    indexes are dropped for the copy and built again after it (one sort each instead of tens
    of millions of index insertions), and their foreign keys are not checked row by row
    (``session_replication_role = replica``, superuser only: every copied row points at an
    account this transaction created). A copy is numbered like a generated
    household (``SYN-<seed>-<n>``, ``Household <n>``, accounts ``S<seed>-<n>-TAX``), so it looks
    like one; its rows are the template's, which the ledger replay derived. Copies of the
    template's lots need no replay: the same ledger gives the same lots.
    """
    from django.db import connection, transaction
    from django.db.models import Model

    from apps.accounts.models import Account, Household, TaxLot, Transaction
    from apps.common.bulk import statistics_refresh

    def table(model: type[Model]) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    def columns(model: type[Model], overrides: dict[str, str]) -> tuple[str, str]:
        """Column names and ``SELECT`` expressions: the template row ``t`` unless overridden."""
        cols = [
            f.column
            for f in model._meta.concrete_fields
            if not f.primary_key and not getattr(f, "generated", False)
        ]
        names = ", ".join(connection.ops.quote_name(c) for c in cols)
        values = ", ".join(overrides.get(c, f"t.{connection.ops.quote_name(c)}") for c in cols)
        return names, values

    copies = -(-households // template_households) - 1
    number = f"(m.c * {template_households} + m.idx)"  # the copy's household number
    padded = f"lpad({number}::text, 5, '0')"
    idx = "substring(external_id from '(\\d+)$')::int"
    with transaction.atomic(), connection.cursor() as cursor:
        # m: one row per (template household, copy number c) below ``households``.
        cursor.execute(
            f"""CREATE TEMP TABLE book_copy ON COMMIT DROP AS
            SELECT id AS old_id, {idx} AS idx, c
            FROM {table(Household)}, generate_series(1, %s) c
            WHERE external_id LIKE %s AND {idx} < %s
            AND c * {template_households} + {idx} < %s""",  # noqa: S608 - metadata, values bound
            [copies, f"SYN-{seed}-%", template_households, households],
        )
        names, values = columns(
            Household,
            {
                "external_id": f"'SYN-{seed}-' || {padded}",
                "name": f"'Household ' || {padded}",
                "created_at": "now()",
            },
        )
        cursor.execute(
            f"INSERT INTO {table(Household)} ({names}) SELECT {values} "  # noqa: S608
            f"FROM {table(Household)} t JOIN book_copy m ON t.id = m.old_id"
        )
        cursor.execute(
            f"""CREATE TEMP TABLE book_household ON COMMIT DROP AS
            SELECT m.old_id, m.idx, m.c, n.id AS new_id FROM book_copy m
            JOIN {table(Household)} n ON n.external_id = 'SYN-{seed}-' || {padded}"""  # noqa: S608
        )
        names, values = columns(
            Account,
            {
                "household_id": "m.new_id",
                "number": f"regexp_replace(t.number, '-\\d{{5}}-', '-' || {padded} || '-')",
                "name": f"regexp_replace(t.name, '^Household \\d{{5}}', 'Household ' || {padded})",
                "created_at": "now()",
            },
        )
        cursor.execute(
            f"INSERT INTO {table(Account)} ({names}) SELECT {values} "  # noqa: S608
            f"FROM {table(Account)} t JOIN book_household m ON t.household_id = m.old_id"
        )
        cursor.execute(
            f"""CREATE TEMP TABLE book_account ON COMMIT DROP AS
            SELECT t.id AS old_id, n.id AS new_id
            FROM {table(Account)} t JOIN book_household m ON t.household_id = m.old_id
            JOIN {table(Account)} n ON n.household_id = m.new_id
            AND n.registration = t.registration"""  # noqa: S608
        )
        cursor.execute("SET LOCAL session_replication_role = replica")
        for model in (Transaction, TaxLot):
            cursor.execute(  # secondary indexes: neither the primary key nor a constraint's
                """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
                [model._meta.db_table],
            )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f"DROP INDEX {name}")
            names, values = columns(model, {"account_id": "m.new_id", "created_at": "now()"})
            cursor.execute(
                f"INSERT INTO {table(model)} ({names}) SELECT {values} "  # noqa: S608
                f"FROM {table(model)} t JOIN book_account m ON t.account_id = m.old_id"
            )
            for _, definition in indexes:
                cursor.execute(definition)
        cursor.execute("SET LOCAL session_replication_role = origin")
        statistics_refresh(Household, Account, Transaction, TaxLot)
