"""The portal connects as a role that can change rows and nothing else (portal/dbsetup.py).

The whole suite runs as that role (tests/conftest.py builds the schema as the owner, then grants
as set-up does), so every feature is shown to work with these grants; here, what it must not be
able to do.
"""

from __future__ import annotations

import os

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from portal.config import DB_ROLES
from portal.dbsetup import APPEND_ONLY, ROW_PRIVILEGES
from tests.conftest import DB_SUFFIX, database_url_for

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")),
    reason="a server of your own (TEST_DATABASE_URL) has one role for everything",
)


def refused(session, statement: str, match: str = "permission denied|must be owner"):
    with pytest.raises(DBAPIError, match=match), session.begin_nested():
        session.execute(text(statement))


def test_the_portal_is_not_a_superuser_and_owns_nothing(session):
    user, superuser, createrole, createdb = session.execute(
        text(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles"
            " WHERE rolname = current_user"
        )
    ).one()
    assert user == DB_ROLES["app"][0]
    assert (superuser, createrole, createdb) == (False, False, False)
    owned = session.scalar(
        text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles"
            " WHERE rolname = current_user)"
        )
    )
    assert owned == 0


def test_the_audit_log_takes_inserts_and_reads_only(session):
    session.execute(
        text(
            "INSERT INTO audit_log (entity_type, entity_id, owner_type, owner_id, action, actor,"
            " changes) VALUES ('area', 1, 'area', 1, 'update', 'test', '{}')"
        )
    )
    assert session.scalar(text("SELECT count(*) FROM audit_log WHERE actor = 'test'")) == 1
    for statement in (
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_or_delete",
        "DROP TRIGGER audit_log_no_update_or_delete ON audit_log",
        "DROP TABLE audit_log",
    ):
        refused(session, statement)


def test_the_portal_cannot_change_the_schema_or_bypass_triggers(session):
    for statement in (
        "ALTER TABLE areas ADD COLUMN sneaky text",
        "ALTER TABLE areas DISABLE TRIGGER ALL",
        "CREATE TABLE sneaky (id int)",
        "CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "DROP TABLE login_failures",
        "TRUNCATE areas CASCADE",
        "UPDATE alembic_version SET version_num = '0001'",
        "CREATE ROLE sneaky",
    ):
        refused(session, statement)
    refused(session, "SET session_replication_role = replica", "permission denied")


def test_the_grants_are_exactly_rows_of_our_tables(session):
    rows = session.execute(
        text(
            "SELECT table_name, string_agg(privilege_type, ', ' ORDER BY privilege_type)"
            " FROM information_schema.role_table_grants"
            " WHERE grantee = current_user AND table_schema = 'public' GROUP BY table_name"
        )
    ).all()
    granted = dict(rows)
    row_privileges = ", ".join(sorted(ROW_PRIVILEGES.split(", ")))
    for table, privileges in APPEND_ONLY.items():
        assert granted.pop(table) == ", ".join(sorted(privileges.split(", ")))
    # the OGC API's views (migration 0017) are read only: a simple view is updatable
    views = [name for name in granted if name.startswith("ogc_")]
    assert len(views) == 7
    for view in views:
        assert granted.pop(view) == "SELECT", view
    assert granted  # the portal's own tables
    assert set(granted.values()) == {row_privileges}, granted


def test_the_owner_still_meets_the_append_only_trigger(app):
    """Even the role that runs the migrations cannot rewrite history without dropping the
    trigger first (which a migration would have to say in the open)."""
    database = app.config["SQLALCHEMY_DATABASE_URI"].rsplit("/", 1)[1]
    owner = database_url_for(database.removesuffix(DB_SUFFIX), "owner")
    conninfo = owner.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            "INSERT INTO audit_log (entity_type, entity_id, owner_type, owner_id, action, actor,"
            " changes) VALUES ('area', 1, 'area', 1, 'update', 'test', '{}')"
        )
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE audit_log SET actor = 'someone else'")
        conn.rollback()
