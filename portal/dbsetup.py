"""The database and its roles: created when missing, and the portal's grants kept exact.

    python -m portal.dbsetup create [NAME]   the project's own cluster: roles, database, extensions
    python -m portal.dbsetup grant [NAME]    after migrations: what the portal's role may do
    python -m portal.dbsetup URL             an existing server: the database and its extensions
    python -m portal.dbsetup grant-urls OWNER_URL APP_URL   an existing server's two roles

Three roles (portal.config.DB_ROLES): the bootstrap superuser creates the others, the database
and the extensions (PostGIS needs a superuser); the owner owns the schema and runs the
migrations; the portal connects as the app role, which may read and write rows and nothing else:
no superuser, no CREATE, not the owner of any table (so it cannot ALTER a table or disable its
triggers), and on the audit log only SELECT and INSERT.
"""

from __future__ import annotations

import os
import secrets
import sys

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from portal.config import DB_ROLES, LOCAL, local_database_url

EXTENSIONS = ("postgis", "unaccent", "pg_trgm", "btree_gist")
ROW_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
# Tables the portal may only read or append to: the log of every change, the migrations'
# bookkeeping and PostGIS's reference table.
APPEND_ONLY = {
    "audit_log": "SELECT, INSERT",
    "alembic_version": "SELECT",
    "spatial_ref_sys": "SELECT",
}
# Views the portal only reads (migration 0017: the OGC API's layers). A simple view is updatable
# in PostgreSQL, so the row privileges every table gets would let a write go through it.
READ_ONLY_VIEWS = "ogc_%"


def _conninfo(url, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(
        host=url.host or "",
        port=url.port or 5432,
        user=url.username or "",
        password=url.password or "",
        dbname=dbname,
    )


def ensure_database(database_url: str, owner: str | None = None) -> bool:
    """Create the database (owned by `owner`) and its extensions when missing; True when it was
    created. The URL's role must be allowed to create databases and PostGIS."""
    url = make_url(database_url)
    created = False
    with psycopg.connect(_conninfo(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)
        ).fetchone()
        if not exists:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(url.database))
            if owner:
                statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
            conn.execute(statement)
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


def _password(file_name: str) -> str:
    """A role's password from .local/, made on first use; readable by its owner only."""
    path = LOCAL / file_name
    if not path.exists():
        LOCAL.mkdir(exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


def ensure_roles(admin_url: str) -> None:
    """The owner and app roles, with the passwords in .local/; never superusers."""
    url = make_url(admin_url)
    with psycopg.connect(_conninfo(url, "postgres"), autocommit=True) as conn:
        for role in ("owner", "app"):
            name, file_name = DB_ROLES[role]
            password = _password(file_name)
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(
                    "{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
                    " NOBYPASSRLS PASSWORD {}"
                ).format(sql.SQL(verb), sql.Identifier(name), sql.Literal(password))
            )


def create_local(name: str | None = None) -> bool:
    """The project's own database, owned by the owner role; earlier objects handed to it."""
    admin_url = local_database_url(name, role="admin")
    ensure_roles(admin_url)
    owner = DB_ROLES["owner"][0]
    created = ensure_database(admin_url, owner=owner)
    url = make_url(admin_url)
    with psycopg.connect(_conninfo(url, url.database), autocommit=True) as conn:
        _adopt(conn, owner)
    return created


def _adopt(conn, owner: str) -> None:
    """Give the owner role the database, its schema and every object of ours in it.

    A database made before the roles existed belongs to the bootstrap superuser; extension
    objects (PostGIS's spatial_ref_sys, its functions) stay the extensions'.
    """
    database = conn.execute("SELECT current_database()").fetchone()[0]
    conn.execute(
        sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
            sql.Identifier(database), sql.Identifier(owner)
        )
    )
    conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner)))
    rows = conn.execute(
        """
        SELECT c.relname, c.relkind FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND pg_get_userbyid(c.relowner) <> %s
          AND NOT EXISTS (SELECT 1 FROM pg_depend d
                          WHERE d.objid = c.oid AND d.deptype = 'e')
        """,
        (owner,),
    ).fetchall()
    for table, kind in rows:
        keyword = {"v": "VIEW", "m": "MATERIALIZED VIEW", "f": "FOREIGN TABLE"}.get(kind, "TABLE")
        conn.execute(
            sql.SQL("ALTER {} {} OWNER TO {}").format(
                sql.SQL(keyword), sql.Identifier(table), sql.Identifier(owner)
            )
        )
    functions = conn.execute(
        """
        SELECT p.oid::regprocedure::text FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> %s
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
        """,
        (owner,),
    ).fetchall()
    for (signature,) in functions:
        conn.execute(
            sql.SQL("ALTER FUNCTION {} OWNER TO {}").format(
                sql.SQL(signature), sql.Identifier(owner)
            )
        )


def grant_app(admin_or_owner_url: str, owner: str, app: str) -> None:
    """Exactly what the portal's role may do, after the migrations have built the schema.

    Idempotent: run after every upgrade (set-up and the tests both do). Tables a later migration
    adds get row privileges through the owner's default privileges, and this function takes
    back from the append-only tables whatever they got that way.
    """
    url = make_url(admin_or_owner_url)
    with psycopg.connect(_conninfo(url, url.database), autocommit=True) as conn:
        database = conn.execute("SELECT current_database()").fetchone()[0]
        ident = {"db": sql.Identifier(database), "owner": sql.Identifier(owner)}
        ident["app"] = sql.Identifier(app)
        for statement in (
            "REVOKE ALL ON DATABASE {db} FROM PUBLIC",
            "GRANT CONNECT ON DATABASE {db} TO {app}",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            "REVOKE ALL ON SCHEMA public FROM {app}",
            "GRANT USAGE ON SCHEMA public TO {app}",
            "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app}",
            f"GRANT {ROW_PRIVILEGES} ON ALL TABLES IN SCHEMA public TO {{app}}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public"
            f" GRANT {ROW_PRIVILEGES} ON TABLES TO {{app}}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public"
            " GRANT USAGE, SELECT ON SEQUENCES TO {app}",
        ):
            conn.execute(sql.SQL(statement).format(**ident))
        present = {
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        }
        for table, privileges in APPEND_ONLY.items():
            if table in present:
                conn.execute(
                    sql.SQL("REVOKE ALL ON {} FROM {}").format(sql.Identifier(table), ident["app"])
                )
                conn.execute(
                    sql.SQL(f"GRANT {privileges} ON {{}} TO {{}}").format(
                        sql.Identifier(table), ident["app"]
                    )
                )
        views = conn.execute(
            "SELECT viewname FROM pg_views WHERE schemaname = 'public' AND viewname LIKE %s",
            (READ_ONLY_VIEWS,),
        ).fetchall()
        for (view,) in views:
            conn.execute(
                sql.SQL("REVOKE ALL ON {} FROM {}").format(sql.Identifier(view), ident["app"])
            )
            conn.execute(
                sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(view), ident["app"])
            )


def grant_local(name: str | None = None) -> None:
    grant_app(local_database_url(name, role="admin"), DB_ROLES["owner"][0], DB_ROLES["app"][0])


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["create"]:
        if create_local(args[1] if len(args) > 1 else None):
            print("==> created the database, owned by", DB_ROLES["owner"][0])
    elif args[:1] == ["grant"]:
        grant_local(args[1] if len(args) > 1 else None)
    elif args[:1] == ["grant-urls"] and len(args) == 3:
        grant_app(args[1], make_url(args[1]).username, make_url(args[2]).username)
    elif len(args) == 1:
        if ensure_database(args[0]):
            print(f"==> created database {make_url(args[0]).database}")
    else:
        sys.exit(__doc__)
