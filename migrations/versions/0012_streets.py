"""Streets: road lines from OpenStreetMap drawn under the portal's maps and searched by name.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

Reviewed by hand. Rows come only from `flask import-streets` (each file's rows replaced at once,
by `source`). Data © OpenStreetMap contributors, ODbL 1.0. Indexes follow the two questions
asked: the lines in a map's view (GiST), and a street by its name without diacritics (trigram).
The portal's role gets its rights from the owner's default privileges (portal.dbsetup).
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)


def upgrade():
    op.create_table(
        "streets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("osm_id", sa.BigInteger()),
        sa.Column("name", sa.String(200)),
        sa.Column("name_search", sa.String(200)),
        sa.Column("highway", sa.String(30)),
        sa.Column("min_zoom", sa.SmallInteger(), nullable=False),
        sa.Column("source", sa.String(60), nullable=False),
        sa.Column(
            "geom", Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=False
        ),
        sa.CheckConstraint("(name IS NULL) = (name_search IS NULL)", name="ck_streets_name_search"),
        sa.CheckConstraint("min_zoom BETWEEN 0 AND 22", name="ck_streets_min_zoom"),
        sa.PrimaryKeyConstraint("id", name="pk_streets"),
    )
    op.create_index("ix_streets_geom", "streets", ["geom"], postgresql_using="gist")
    op.create_index("ix_streets_source", "streets", ["source"])
    op.create_index(
        "ix_streets_name_search_trgm",
        "streets",
        ["name_search"],
        postgresql_using="gin",
        postgresql_ops={"name_search": "gin_trgm_ops"},
        postgresql_where=sa.text("name_search IS NOT NULL"),
    )


def downgrade():
    op.drop_table("streets")
