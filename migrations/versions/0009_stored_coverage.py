"""Coverage computed per commune and stored: figures, village statuses and problems.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Reviewed by hand. Derived data only: the tables start empty and fill as the coverage.refresh
job computes communes (`flask --app wsgi refresh-coverage` computes them all at once; the
coverage page asks for any commune it finds not computed). Children go with their commune's
row, which goes with its area.
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)


def bounds(nullable: bool):
    """A bounding box, west to north, in degrees."""
    names = ("west", "south", "east", "north")
    return [sa.Column(name, sa.Float(), nullable=nullable) for name in names]


def upgrade():
    op.create_table(
        "coverage_communes",
        sa.Column(
            "commune_id",
            sa.Integer(),
            sa.ForeignKey(
                "areas.id", name="fk_coverage_communes_commune_id_areas", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("computed_at", sa.DateTime(timezone=True)),
        sa.Column("stale_since", sa.DateTime(timezone=True)),
        sa.Column("valid_coverage", sa.Boolean(), nullable=False),
        sa.Column("villages", sa.Integer(), nullable=False),
        sa.Column("villages_with_team", sa.Integer(), nullable=False),
        sa.Column("population", sa.BigInteger(), nullable=False),
        sa.Column("population_with_team", sa.BigInteger(), nullable=False),
        sa.Column("land_m2", sa.Float(), nullable=False),
        sa.Column("land_mapped_m2", sa.Float(), nullable=False),
        sa.Column("counts", postgresql.JSONB(), nullable=False),
        sa.Column("outline", postgresql.JSONB()),
        *bounds(nullable=True),
        sa.PrimaryKeyConstraint("commune_id", name="pk_coverage_communes"),
    )
    op.create_table(
        "coverage_villages",
        sa.Column(
            "commune_id",
            sa.Integer(),
            sa.ForeignKey(
                "coverage_communes.commune_id",
                name="fk_coverage_villages_commune_id_coverage_communes",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("shape", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("commune_id", "area_id", name="pk_coverage_villages"),
    )
    op.create_table(
        "coverage_problems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "commune_id",
            sa.Integer(),
            sa.ForeignKey(
                "coverage_communes.commune_id",
                name="fk_coverage_problems_commune_id_coverage_communes",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("members", sa.Integer()),
        sa.Column("population", sa.Integer()),
        sa.Column("area_m2", sa.Float()),
        *bounds(nullable=False),
        sa.Column("area_id", sa.Integer()),
        sa.Column("team_id", sa.Integer()),
        sa.Column("geom", Geometry("POLYGON", srid=4326, spatial_index=False)),
        sa.Column("shape", postgresql.JSONB()),
        sa.PrimaryKeyConstraint("id", name="pk_coverage_problems"),
    )
    op.create_index(
        "ix_coverage_problems_commune_kind", "coverage_problems", ["commune_id", "kind"]
    )


def downgrade():
    op.drop_table("coverage_problems")
    op.drop_table("coverage_villages")
    op.drop_table("coverage_communes")
