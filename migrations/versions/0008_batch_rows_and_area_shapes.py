"""An upload's dry run as rows, and every area's simplified shape and area kept beside it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28

Reviewed by hand.

import_batches kept each dry run as two JSONB lists, so that every view of a batch, and every
list of batches, read and parsed megabytes. Its features and problems become rows
(import_features, import_problems) with the counts a page shows on the batch row; the existing
batches' JSON is moved into rows here, in SQL, and the JSON columns are dropped: nothing reads
them any more, and a column kept "just in case" would keep the megabytes and invite a reader.
The downgrade builds the JSON back from the rows.

area_shapes holds each area's shape simplified below half a metre and its area on the
spheroid, kept in step by a trigger (like area_parts), so that pages drawing a village with a
200,000-vertex ring read a few hundred vertices and a number instead of simplifying and
measuring the whole ring on every view.
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
# contract: drops import_batches.features and .problems (written before this rule: it shipped
# with the code that stopped reading them, not a release after)
PHASE = "contract"

DISPLAY_TOLERANCE = 0.000005  # degrees, about half a metre: below a pixel at any zoom we draw
COUNTS = (
    "feature_count",
    "creates",
    "updates",
    "unchanged",
    "blocked",
    "usable",
    "clean",
    "error_count",
    "warning_count",
)


def _multipolygon(name):
    return sa.Column(name, Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))


def upgrade():
    for name in COUNTS:
        op.add_column(
            "import_batches", sa.Column(name, sa.Integer(), server_default="0", nullable=False)
        )
    for name in ("west", "south", "east", "north"):
        op.add_column("import_batches", sa.Column(name, sa.Float()))

    op.create_table(
        "import_features",
        sa.Column(
            "batch_id",
            sa.Integer(),
            sa.ForeignKey(
                "import_batches.id",
                name="fk_import_features_batch_id_import_batches",
                ondelete="CASCADE",
            ),
        ),
        sa.Column("index", sa.Integer()),
        sa.Column("code", sa.Text()),
        sa.Column("name", sa.Text()),
        sa.Column("name_en", sa.Text()),
        sa.Column("kind", sa.String(24)),
        sa.Column("parent_id", sa.Integer()),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("area_id", sa.Integer()),
        sa.Column("status", sa.String(10), nullable=False),
        _multipolygon("geom"),
        _multipolygon("repaired"),
        _multipolygon("display"),
        sa.PrimaryKeyConstraint("batch_id", "index", name="pk_import_features"),
    )
    op.create_index(
        "ix_import_features_display", "import_features", ["display"], postgresql_using="gist"
    )

    op.create_table(
        "import_problems",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "batch_id",
            sa.Integer(),
            sa.ForeignKey(
                "import_batches.id",
                name="fk_import_problems_batch_id_import_batches",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text()),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float()),
        sa.Column("lat", sa.Float()),
        sa.Column("area_m2", sa.Float()),
        sa.Column("other", sa.Text()),
        sa.Column("shape", Geometry("GEOMETRY", srid=4326, spatial_index=False)),
        sa.Column("repairable", sa.Boolean(), nullable=False),
        sa.Column("data", postgresql.JSONB()),
    )
    op.create_index(
        "ix_import_problems_batch_position", "import_problems", ["batch_id", "position"]
    )
    op.create_index(
        "ix_import_problems_shape", "import_problems", ["shape"], postgresql_using="gist"
    )
    _batches_json_to_rows()
    op.drop_column("import_batches", "features")
    op.drop_column("import_batches", "problems")

    op.create_table(
        "area_shapes",
        sa.Column(
            "area_id",
            sa.Integer(),
            sa.ForeignKey("areas.id", name="fk_area_shapes_area_id_areas", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("vertices", sa.Integer(), nullable=False),
    )
    shape = (
        f"ST_Multi(ST_SimplifyPreserveTopology({{g}}, {DISPLAY_TOLERANCE})),"
        " ST_Area(Geography({g})), ST_NPoints({g})"
    )
    op.execute(
        f"""
        CREATE FUNCTION area_shapes_sync() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.geom IS NULL THEN
                DELETE FROM area_shapes WHERE area_id = NEW.id;
            ELSE
                INSERT INTO area_shapes (area_id, geom, area_m2, vertices)
                VALUES (NEW.id, {shape.format(g="NEW.geom")})
                ON CONFLICT (area_id) DO UPDATE SET geom = EXCLUDED.geom,
                    area_m2 = EXCLUDED.area_m2, vertices = EXCLUDED.vertices;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER areas_shapes_insert AFTER INSERT ON areas
            FOR EACH ROW EXECUTE FUNCTION area_shapes_sync();
        CREATE TRIGGER areas_shapes_update AFTER UPDATE OF geom ON areas
            FOR EACH ROW EXECUTE FUNCTION area_shapes_sync();
        INSERT INTO area_shapes (area_id, geom, area_m2, vertices)
            SELECT id, {shape.format(g="geom")} FROM areas WHERE geom IS NOT NULL;
        """
    )


def _batches_json_to_rows():
    """Each stored dry run's JSON as rows, and its counts, computed as Plan.writable does."""
    geometry = "ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON({}), 4326))"
    op.execute(
        """
        INSERT INTO import_problems (batch_id, position, severity, index, code, kind, detail,
                                     lon, lat, area_m2, other, shape, repairable, data)
        SELECT b.id,
               row_number() OVER (
                   PARTITION BY b.id
                   ORDER BY p.value->>'severity' = 'note', p.value->>'severity' <> 'error',
                            (p.value->>'index')::int = 0, (p.value->>'index')::int, p.ordinality),
               p.value->>'severity', coalesce((p.value->>'index')::int, 0), p.value->>'code',
               coalesce(p.value->>'kind', ''), coalesce(p.value->>'detail', ''),
               (p.value->'where'->>0)::float8, (p.value->'where'->>1)::float8,
               (p.value->>'area_m2')::float8, p.value->>'other',
               CASE WHEN jsonb_typeof(p.value->'shape') = 'object'
                    THEN ST_SetSRID(ST_GeomFromGeoJSON(p.value->'shape'), 4326) END,
               coalesce((p.value->>'repairable')::boolean, false),
               CASE WHEN p.value->>'severity' = 'note' THEN p.value - 'severity' END
        FROM import_batches b,
             jsonb_array_elements(b.problems) WITH ORDINALITY AS p(value, ordinality)
        """
    )
    op.execute(
        f"""
        INSERT INTO import_features (batch_id, index, code, name, name_en, kind, parent_id,
                                     action, area_id, status, geom, repaired, display)
        SELECT b.id, (f->>'index')::int, f->>'code', f->>'name', f->>'name_en', f->>'kind',
               (f->>'parent_id')::int, f->>'action', (f->>'area_id')::int,
               CASE WHEN EXISTS (SELECT 1 FROM import_problems p WHERE p.batch_id = b.id
                                 AND p.severity = 'error' AND p.index = (f->>'index')::int)
                    THEN 'error'
                    WHEN EXISTS (SELECT 1 FROM import_problems p WHERE p.batch_id = b.id
                                 AND p.severity = 'warning' AND p.index = (f->>'index')::int)
                    THEN 'warning'
                    WHEN f->>'action' = 'unchanged' THEN 'unchanged' ELSE 'ok' END,
               CASE WHEN jsonb_typeof(f->'geometry') = 'object'
                    THEN {geometry.format("f->'geometry'")} END,
               CASE WHEN jsonb_typeof(f->'repaired') = 'object'
                    THEN {geometry.format("f->'repaired'")} END,
               NULL
        FROM import_batches b, jsonb_array_elements(b.features) AS f
        """
    )
    op.execute(
        f"""
        UPDATE import_features
        SET display = ST_Multi(ST_SimplifyPreserveTopology(coalesce(geom, repaired),
                                                           {DISPLAY_TOLERANCE}))
        WHERE coalesce(geom, repaired) IS NOT NULL
        """
    )
    # usable: no problem on the file, a kind, and no error or only an invalid geometry with its
    # repair; clean: no problem on the file, a kind, and nothing at all said about the feature
    op.execute(
        """
        WITH said AS (
            SELECT batch_id, index,
                   bool_or(severity = 'error') AS errors,
                   bool_or(severity = 'error' AND kind <> 'invalid_geometry') AS hard,
                   bool_or(severity = 'warning') AS warnings
            FROM import_problems WHERE severity IN ('error', 'warning') GROUP BY batch_id, index
        ), counts AS (
            SELECT f.batch_id, count(*) AS total,
                   count(*) FILTER (WHERE f.action = 'create') AS creates,
                   count(*) FILTER (WHERE f.action = 'update') AS updates,
                   count(*) FILTER (WHERE f.action = 'unchanged') AS unchanged,
                   count(*) FILTER (WHERE f.action = 'blocked') AS blocked,
                   count(*) FILTER (WHERE f.kind IS NOT NULL AND (s.errors IS NOT TRUE
                       OR (s.hard IS NOT TRUE AND f.repaired IS NOT NULL))) AS usable,
                   count(*) FILTER (WHERE f.kind IS NOT NULL AND s.errors IS NOT TRUE
                       AND s.warnings IS NOT TRUE) AS clean,
                   ST_Extent(f.display) AS box
            FROM import_features f
            LEFT JOIN said s ON s.batch_id = f.batch_id AND s.index = f.index
            GROUP BY f.batch_id
        ), filed AS (
            SELECT DISTINCT batch_id FROM import_problems WHERE severity = 'error' AND index = 0
        )
        UPDATE import_batches b SET
            feature_count = c.total, creates = c.creates, updates = c.updates,
            unchanged = c.unchanged, blocked = c.blocked,
            usable = CASE WHEN b.id IN (SELECT batch_id FROM filed) THEN 0 ELSE c.usable END,
            clean = CASE WHEN b.id IN (SELECT batch_id FROM filed) THEN 0 ELSE c.clean END,
            west = ST_XMin(c.box), south = ST_YMin(c.box),
            east = ST_XMax(c.box), north = ST_YMax(c.box)
        FROM counts c WHERE c.batch_id = b.id
        """
    )
    op.execute(
        """
        UPDATE import_batches b SET
            error_count = (SELECT count(*) FROM import_problems p
                           WHERE p.batch_id = b.id AND p.severity = 'error'),
            warning_count = (SELECT count(*) FROM import_problems p
                             WHERE p.batch_id = b.id AND p.severity = 'warning')
        """
    )


def downgrade():
    op.execute("DROP TRIGGER areas_shapes_insert ON areas")
    op.execute("DROP TRIGGER areas_shapes_update ON areas")
    op.execute("DROP FUNCTION area_shapes_sync()")
    op.drop_table("area_shapes")
    op.add_column("import_batches", sa.Column("features", postgresql.JSONB()))
    op.add_column("import_batches", sa.Column("problems", postgresql.JSONB()))
    op.execute(
        """
        UPDATE import_batches b SET
        features = coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'index', f.index, 'code', f.code, 'name', f.name, 'name_en', f.name_en,
                'kind', f.kind, 'parent_id', f.parent_id, 'action', f.action,
                'area_id', f.area_id, 'geometry', ST_AsGeoJSON(f.geom)::jsonb,
                'repaired', ST_AsGeoJSON(f.repaired)::jsonb) ORDER BY f.index)
            FROM import_features f WHERE f.batch_id = b.id), '[]'::jsonb),
        problems = coalesce((
            SELECT jsonb_agg(CASE
                WHEN p.severity = 'note' THEN p.data || '{"severity": "note"}'::jsonb
                WHEN p.severity = 'error' THEN jsonb_build_object(
                    'severity', 'error', 'index', p.index, 'code', p.code, 'kind', p.kind,
                    'detail', p.detail, 'repairable', p.repairable,
                    'where', CASE WHEN p.lon IS NULL THEN NULL
                                  ELSE jsonb_build_array(p.lon, p.lat) END)
                ELSE jsonb_build_object(
                    'severity', 'warning', 'index', p.index, 'kind', p.kind,
                    'area_m2', p.area_m2, 'other', p.other,
                    'where', jsonb_build_array(p.lon, p.lat),
                    'shape', ST_AsGeoJSON(p.shape)::jsonb) END
                ORDER BY p.severity = 'note', p.severity = 'warning', p.index, p.position)
            FROM import_problems p WHERE p.batch_id = b.id), '[]'::jsonb)
        """
    )
    op.alter_column("import_batches", "features", nullable=False)
    op.alter_column("import_batches", "problems", nullable=False)
    op.drop_table("import_problems")
    op.drop_table("import_features")
    for name in (*COUNTS, "west", "south", "east", "north"):
        op.drop_column("import_batches", name)
