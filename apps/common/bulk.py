"""Bulk writes through PostgreSQL COPY, for the hot paths that write thousands of rows.

The table name is unqualified: it resolves through the connection's ``search_path``, i.e. the
current firm's schema (STYLE.md §5.7). Values go through psycopg's COPY adaptation; Decimal
stays Decimal.
"""

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

_T = TypeVar("_T")


def sql_table(model: type[Model]) -> str:
    """The model's table quoted for raw SQL, unqualified (the current firm's schema)."""
    return connection.ops.quote_name(model._meta.db_table)


# Ids per IN list: a statement binds at most 65,535 parameters (server-side binding), and a
# book's accounts, proposals or trades may be more.
IDS_PER_QUERY = 20_000


def id_batches(ids: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """``ids`` in consecutive slices of at most ``IDS_PER_QUERY``, for ``__in`` lookups."""
    for start in range(0, len(ids), IDS_PER_QUERY):
        yield ids[start : start + IDS_PER_QUERY]


def copy_rows(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert rows into the model's table with COPY; return how many were written.

    Args:
        model: the model whose table receives the rows (no signals, no ``save()``).
        columns: database column names, in the order of each row's values.
        rows: the values; ``None`` is NULL.
    """
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    count = 0
    # Django's error wrapper: a lost connection surfaces as django.db.OperationalError, which
    # the tasks retry, like every other query.
    with connection.wrap_database_errors, connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {sql_table(model)} ({quoted}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def next_ids(model: type[Model], count: int) -> list[int]:
    """Reserve ``count`` primary keys from the model's identity sequence (one query).

    For rows written with ``copy_rows`` whose ids the caller needs (COPY returns none). The
    ids are the sequence's own, so rows inserted later by the ORM never collide; a rolled-back
    transaction leaves a gap, as any insert does.
    """
    if count <= 0:
        return []
    pk = model._meta.pk
    assert pk is not None  # noqa: S101 - every concrete model has one  # nosec B101
    with connection.wrap_database_errors, connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [sql_table(model), pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def statistics_refresh(*models: type[Model]) -> None:
    """``ANALYZE`` the models' tables after a bulk load (inside the loading transaction).

    Until autovacuum gets to them (up to a minute or so after the commit), the planner believes
    the tables' earlier sizes: a book run started in that window planned its chunk reads of a
    freshly loaded 4 M-lot book as whole-table scans (3.5x the cost). Rows the transaction wrote
    itself are sampled as live, so the statistics are right when it commits.
    """
    with connection.wrap_database_errors, connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {sql_table(model)}")
