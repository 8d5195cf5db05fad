"""Boundary management: decided changes, flags, upload batches, and the subdivided polygons.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

Reviewed by hand. area_parts is kept in step with areas by a trigger, so every writer (the web,
the CLI, the bulk demo loader, plain SQL) leaves the subdivided copy right: a current area has
its ST_Subdivide pieces, an ended one has none.
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)

SUBDIVIDE_VERTICES = 256  # small pieces: a point test touches a few hundred vertices at most


def ids_array(name):
    return sa.Column(name, postgresql.ARRAY(sa.Integer()), nullable=False)


def upgrade():
    op.create_table(
        "boundary_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column(
            "commune_id",
            sa.Integer(),
            sa.ForeignKey("areas.id", name="fk_boundary_changes_commune_id_areas"),
        ),
        sa.Column("decision_number", sa.String(100), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        ids_array("before_ids"),
        ids_array("after_ids"),
        ids_array("version_ids"),
        sa.Column("team_cover", postgresql.JSONB(), nullable=False),
        sa.Column(
            "reverts_id",
            sa.Integer(),
            sa.ForeignKey(
                "boundary_changes.id", name="fk_boundary_changes_reverts_id_boundary_changes"
            ),
        ),
        sa.Column(
            "reverted_by_id",
            sa.Integer(),
            sa.ForeignKey(
                "boundary_changes.id", name="fk_boundary_changes_reverted_by_id_boundary_changes"
            ),
        ),
        sa.Column("note", sa.Text()),
    )
    op.create_index("ix_boundary_changes_commune_id", "boundary_changes", ["commune_id"])

    op.create_table(
        "boundary_flags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "change_id",
            sa.Integer(),
            sa.ForeignKey(
                "boundary_changes.id", name="fk_boundary_flags_change_id_boundary_changes"
            ),
            nullable=False,
        ),
        sa.Column(
            "area_id",
            sa.Integer(),
            sa.ForeignKey("areas.id", name="fk_boundary_flags_area_id_areas"),
        ),
        sa.Column(
            "team_id",
            sa.Integer(),
            sa.ForeignKey("teams.id", name="fk_boundary_flags_team_id_teams"),
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_boundary_flags_change_id", "boundary_flags", ["change_id"])

    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "created_by",
            sa.Integer(),
            sa.ForeignKey("accounts.id", name="fk_import_batches_created_by_accounts"),
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column(
            "parent_id",
            sa.Integer(),
            sa.ForeignKey("areas.id", name="fk_import_batches_parent_id_areas"),
        ),
        sa.Column("source_crs", sa.String(200), nullable=False),
        sa.Column("features", postgresql.JSONB(), nullable=False),
        sa.Column("problems", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True)),
        sa.Column("result", postgresql.JSONB()),
    )

    op.add_column("area_versions", sa.Column("change_id", sa.Integer()))
    op.create_foreign_key(
        "fk_area_versions_change_id_boundary_changes",
        "area_versions",
        "boundary_changes",
        ["change_id"],
        ["id"],
    )

    op.create_table(
        "area_parts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "area_id",
            sa.Integer(),
            sa.ForeignKey("areas.id", name="fk_area_parts_area_id_areas", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("geom", Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False),
    )
    op.create_index("ix_area_parts_area_id", "area_parts", ["area_id"])
    op.create_index("ix_area_parts_geom", "area_parts", ["geom"], postgresql_using="gist")
    op.execute(
        f"""
        CREATE FUNCTION area_parts_sync() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM area_parts WHERE area_id = NEW.id;
            IF NEW.valid_to IS NULL AND NEW.geom IS NOT NULL THEN
                INSERT INTO area_parts (area_id, geom)
                SELECT NEW.id, ST_Subdivide(NEW.geom, {SUBDIVIDE_VERTICES});
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER areas_parts_insert AFTER INSERT ON areas
            FOR EACH ROW EXECUTE FUNCTION area_parts_sync();
        CREATE TRIGGER areas_parts_update AFTER UPDATE OF geom, valid_to ON areas
            FOR EACH ROW EXECUTE FUNCTION area_parts_sync();
        INSERT INTO area_parts (area_id, geom)
            SELECT id, ST_Subdivide(geom, {SUBDIVIDE_VERTICES}) FROM areas
            WHERE valid_to IS NULL AND geom IS NOT NULL;
        """
    )


def downgrade():
    op.execute("DROP TABLE area_parts")  # its triggers' function goes next
    op.execute("DROP TRIGGER areas_parts_insert ON areas; DROP TRIGGER areas_parts_update ON areas")
    op.execute("DROP FUNCTION area_parts_sync()")
    op.drop_constraint(
        "fk_area_versions_change_id_boundary_changes", "area_versions", type_="foreignkey"
    )
    op.drop_column("area_versions", "change_id")
    op.drop_table("import_batches")
    op.drop_table("boundary_flags")
    op.drop_table("boundary_changes")
