"""The commune police's public contact, for the citizens' look-up.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

Reviewed by hand. One row per commune; it goes with its commune.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)


def upgrade():
    op.create_table(
        "police_contacts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "commune_id",
            sa.Integer(),
            sa.ForeignKey(
                "areas.id", name="fk_police_contacts_commune_id_areas", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(20)),
        sa.Column("address", sa.String(300)),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("commune_id", name="uq_police_contacts_commune_id"),
    )


def downgrade():
    op.drop_table("police_contacts")
