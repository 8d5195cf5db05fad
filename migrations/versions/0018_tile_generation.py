"""Generation numbers of what the map tiles show besides boundaries: stored coverage, patrol
activity and incidents, each bumped at commit by a deferred trigger (as 0016's are).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29

portal.tiles keys its cached tiles and their ETags by these numbers and lookup_generation's
`bounds` (areas and their parts): a tile is made again only when something it shows has
changed. One number per layer, so that a patrol logged does not drop the coverage tiles.
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)

TABLES = {"coverage": "coverage_villages", "patrols": "patrol_activity", "incidents": "incidents"}


def upgrade():
    op.execute(
        """
        CREATE TABLE tile_generation (
            id integer NOT NULL DEFAULT 1,
            coverage bigint NOT NULL DEFAULT 1,
            patrols bigint NOT NULL DEFAULT 1,
            incidents bigint NOT NULL DEFAULT 1,
            CONSTRAINT pk_tile_generation PRIMARY KEY (id),
            CONSTRAINT ck_tile_generation_one_row CHECK (id = 1)
        );
        INSERT INTO tile_generation DEFAULT VALUES;

        CREATE FUNCTION tile_generation_bump() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            what text := TG_ARGV[0];
        BEGIN
            -- once per transaction and layer: a refresh or a bulk load moves it once
            IF current_setting('portal.tiles_bumped_' || what, true) IS DISTINCT FROM '1' THEN
                PERFORM set_config('portal.tiles_bumped_' || what, '1', true);
                INSERT INTO tile_generation AS g (id) VALUES (1) ON CONFLICT (id) DO UPDATE
                    SET coverage = g.coverage + CASE WHEN what = 'coverage' THEN 1 ELSE 0 END,
                        patrols = g.patrols + CASE WHEN what = 'patrols' THEN 1 ELSE 0 END,
                        incidents = g.incidents + CASE WHEN what = 'incidents' THEN 1 ELSE 0 END;
            END IF;
            RETURN NULL;
        END $$;
        """
    )
    for what, table in TABLES.items():
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_tile_generation"
            f" AFTER INSERT OR UPDATE OR DELETE ON {table}"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
            f" EXECUTE FUNCTION tile_generation_bump('{what}')"
        )


def downgrade():
    for table in TABLES.values():
        op.execute(f"DROP TRIGGER {table}_tile_generation ON {table}")
    op.execute("DROP FUNCTION tile_generation_bump()")
    op.execute("DROP TABLE tile_generation")
