"""An area's earlier state keeps its English name too, so that a revert restores it exactly.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

Reviewed by hand. Imports change name_en; a version without it could not put it back. Existing
versions get NULL: they were recorded before imports kept it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)


def upgrade():
    op.add_column("area_versions", sa.Column("name_en", sa.String(200)))


def downgrade():
    op.drop_column("area_versions", "name_en")
