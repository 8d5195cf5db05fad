"""A generation number of what the public look-up shows, bumped by every change to it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29

Each web worker keeps the areas' parts in memory and the look-up's answers pre-rendered
(portal.lookup.index); it reads this one row at most once a second and drops what changed.
Two numbers: `bounds` moves when an area or its parts change (the point index is rebuilt:
the area a point falls in, its level and name), `cards` moves with it and whenever anything a
card shows changes: teams, their areas, members (leader, deputies, names, phones), the
commune police's contact, the stored shapes.

The triggers are deferred constraint triggers: the row is updated at COMMIT, once per
transaction (a transaction-local setting remembers it), so that its lock is held for an
instant and never while the transaction waits for another lock (no deadlock, no queue behind
a long edit), and a bulk load of 100,000 rows updates it once. A reader sees the new number
together with the data that moved it (the same commit), on the primary and on a replica alike.
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)

CARDS = ("teams", "team_areas", "members", "police_contacts", "area_shapes")
BOUNDS = ("areas", "area_parts")


def upgrade():
    op.execute(
        """
        CREATE TABLE lookup_generation (
            id integer NOT NULL DEFAULT 1,
            cards bigint NOT NULL DEFAULT 1,
            bounds bigint NOT NULL DEFAULT 1,
            CONSTRAINT pk_lookup_generation PRIMARY KEY (id),
            CONSTRAINT ck_lookup_generation_one_row CHECK (id = 1)
        );
        INSERT INTO lookup_generation DEFAULT VALUES;

        CREATE FUNCTION lookup_generation_bump() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            what text := TG_ARGV[0];
        BEGIN
            IF current_setting('portal.lookup_bumped_' || what, true) IS DISTINCT FROM '1' THEN
                PERFORM set_config('portal.lookup_bumped_' || what, '1', true);
                -- the row comes back if someone deleted it: a lost row would freeze the workers
                INSERT INTO lookup_generation AS g (id) VALUES (1) ON CONFLICT (id) DO UPDATE
                    SET cards = g.cards + 1,
                        bounds = g.bounds + CASE WHEN what = 'bounds' THEN 1 ELSE 0 END;
            END IF;
            RETURN NULL;
        END $$;
        """
    )
    for kind, tables in (("cards", CARDS), ("bounds", BOUNDS)):
        for table in tables:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {table}_lookup_generation"
                f" AFTER INSERT OR UPDATE OR DELETE ON {table}"
                " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
                f" EXECUTE FUNCTION lookup_generation_bump('{kind}')"
            )


def downgrade():
    for table in CARDS + BOUNDS:
        op.execute(f"DROP TRIGGER {table}_lookup_generation ON {table}")
    op.execute("DROP FUNCTION lookup_generation_bump()")
    op.execute("DROP TABLE lookup_generation")
