"""Audit log (append-only, enforced by the database), failed sign-ins, session epochs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Reviewed by hand. The portal has no route that edits the log; the trigger makes sure nothing
else does either: UPDATE, DELETE and TRUNCATE on audit_log raise an error.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)


def upgrade():
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("actor_id", sa.Integer()),  # no foreign key: the log outlives accounts
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("ip", sa.String(45)),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("entity_type", sa.String(30), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("owner_type", sa.String(30), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("changes", postgresql.JSONB(), nullable=False),
    )
    op.create_index("ix_audit_log_owner", "audit_log", ["owner_type", "owner_id", "id"])
    op.execute(
        """
        CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
        END $$;
        CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
        """
    )

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_login_failures_key_at", "login_failures", ["key", "at"])

    op.add_column(
        "accounts", sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade():
    op.drop_column("accounts", "session_epoch")
    op.drop_table("login_failures")
    op.execute("DROP TABLE audit_log")  # triggers go with the table
    op.execute("DROP FUNCTION audit_log_is_append_only()")
