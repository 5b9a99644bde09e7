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
