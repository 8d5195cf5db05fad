"""Sessions kept on the server, so that signing out and the session's lifetime hold for copies.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

Reviewed by hand. The cookie carries a random id; the table holds only its SHA-256, never the id
itself. A session goes with its account. Sessions signed in before this migration (cookies with
an account id) are not carried over: everyone signs in once more.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)


def upgrade():
    op.create_table(
        "account_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey(
                "accounts.id", name="fk_account_sessions_account_id_accounts", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("user_agent", sa.String(200)),
        sa.UniqueConstraint("token_hash", name="uq_account_sessions_token_hash"),
    )
    op.create_index("ix_account_sessions_account_id", "account_sessions", ["account_id"])


def downgrade():
    op.drop_table("account_sessions")
