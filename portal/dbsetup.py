"""Create a database with the extensions the portal needs, if it is missing.

python -m portal.dbsetup postgresql+psycopg://user:pw@host:port/name
"""

from __future__ import annotations

import sys

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

EXTENSIONS = ("postgis", "unaccent", "pg_trgm", "btree_gist")


def _conninfo(url, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(
        host=url.host or "",
        port=url.port or 5432,
        user=url.username or "",
        password=url.password or "",
        dbname=dbname,
    )


def ensure_database(database_url: str) -> bool:
    """Create the database and its extensions when missing; True when it was created."""
    url = make_url(database_url)
    created = False
    with psycopg.connect(_conninfo(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(url.database)))
            created = True
    with psycopg.connect(_conninfo(url, url.database), autocommit=True) as conn:
        for ext in EXTENSIONS:
            conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext)))
    return created


def drop_database(database_url: str) -> None:
    url = make_url(database_url)
    with psycopg.connect(_conninfo(url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(url.database))
        )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if ensure_database(sys.argv[1]):
        print(f"==> created database {make_url(sys.argv[1]).database}")
