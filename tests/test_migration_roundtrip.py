"""Every migration goes down and up again on a copy of the demo data, losing nothing.

A database of its own, migrated to head and loaded by the demo's seeds: the whole of Hanoi's
boundaries and teams (126 communes, about 5,400 villages; the synthetic city without the shared
files), a hundredth of the demo year's patrols, a twentieth of its incidents and tips, and the
year's turnover. Then, from head down to the first revision: one step down, one
step up, and the schema and every table's row count must be what they were; one step down again
to go on. A migration whose downgrade or upgrade fails on rows, or that loses rows on the way,
fails the test with its revision. The tables a migration creates hold nothing before it, so
their rows go with its downgrade by design, unless its upgrade makes them again from others
(derived tables, or rows its downgrade keeps elsewhere, MOVED): then they must all come back.
"""

from __future__ import annotations

import json
import time

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text

from tests.conftest import ROOT, fresh_database, make_app, migrate

pytestmark = pytest.mark.slow

MIGRATIONS = str(ROOT / "migrations")

# the demo's seeds, its activity scaled down: each one's command and arguments (flask --help)
SEEDS = [
    ["seed-demo"],
    ["seed-patrols", "--scale", "0.01"],
    ["seed-incidents", "--scale", "0.05"],
    ["seed-turnover"],
]

# tables a migration creates whose rows its downgrade keeps elsewhere: all must come back
MOVED = {"0008": {"import_features", "import_problems"}}  # as JSON on import_batches

SCHEMA = """
SELECT 'column ' || c.table_name || '.' || c.column_name || ' ' || c.data_type || ' '
       || c.is_nullable || ' ' || coalesce(c.column_default, '')
  FROM information_schema.columns c WHERE c.table_schema = 'public'
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT 'function ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid))
  FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'view ' || viewname || ' ' || md5(definition) FROM pg_views WHERE schemaname = 'public'
UNION ALL
SELECT 'sequence ' || sequencename FROM pg_sequences WHERE schemaname = 'public'
"""


def schema(connection) -> set[str]:
    return set(connection.execute(text(SCHEMA)).scalars())


def row_counts(connection) -> dict[str, int]:
    tables = connection.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    ).scalars()
    return {
        table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
        for table in list(tables)
    }


def uploads() -> None:
    """What the seeds do not make: a boundary file's dry run (its features and problems, which
    0008 moves between JSON and rows), tip photos, a job's files, the abuse counters."""
    from portal.boundaries import batches
    from portal.boundaries.planning import plan_file
    from portal.extensions import db
    from portal.models import ImportBatch, Level

    commune_id, commune = db.session.execute(
        text("SELECT id, code FROM areas WHERE level = 'commune' ORDER BY id LIMIT 1")
    ).one()
    villages = db.session.execute(
        text(
            "SELECT code, name, ST_AsGeoJSON(ST_Translate(geom, :dx, 0))::json FROM areas"
            " WHERE parent_id = :commune ORDER BY id LIMIT 3"
        ),
        {"commune": commune_id, "dx": 0.00005},  # moved a few metres: three updates
    ).all()
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[105.8, 21], [105.81, 21.01], [105.81, 21], [105.8, 21.01], [105.8, 21]]],
    }
    features = [
        {"type": "Feature", "properties": {"code": code, "name": name}, "geometry": shape}
        for code, name, shape in villages
    ] + [{"type": "Feature", "properties": {"name": "Thôn Xoắn"}, "geometry": bowtie}]
    plan = plan_file(
        json.dumps({"type": "FeatureCollection", "features": features}),
        "thon.geojson",
        Level.VILLAGE,
        parent_code=commune,
    )
    batch = ImportBatch(
        filename="thon.geojson",
        level="village",
        parent_id=commune_id,
        source_crs=plan.source_crs,
        status="draft",
    )
    db.session.add(batch)
    batches.save_plan(batch, plan)
    db.session.execute(
        text(
            "INSERT INTO incident_photos (incident_id, data, width, height)"
            " SELECT id, sha256(receipt::bytea), 32, 24 FROM incidents"
            " WHERE source = 'tip' ORDER BY id LIMIT 5"
        )
    )
    db.session.execute(
        text(
            "INSERT INTO job_files (job_id, role, filename, content_type, size, data)"
            " SELECT id, 'output', 'x.csv', 'text/csv', 3, 'a,b'::bytea FROM jobs"
        )
    )
    db.session.execute(text("INSERT INTO tip_limits (key) VALUES ('\\x01'), ('\\x02')"))
    db.session.execute(text("INSERT INTO login_failures (key) VALUES ('ip:10.0.0.1')"))
    db.session.commit()


def test_every_migration_goes_down_and_up_on_the_demo_data():
    started = time.monotonic()
    url = fresh_database("antt_portal_roundtrip")
    scratch = make_app(url)
    migrate(scratch)
    runner = scratch.test_cli_runner()
    for command in SEEDS:  # seed-demo makes the synthetic city without the shared files
        done = runner.invoke(args=command)
        assert done.exit_code == 0, (command, done.output, done.exception)
    with scratch.app_context():
        uploads()
    seeded = time.monotonic()

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    revisions = [r.revision for r in ScriptDirectory.from_config(config).walk_revisions()]
    owner = create_engine(scratch.config["MIGRATION_DATABASE_URI"])
    with owner.connect() as connection:
        counts = row_counts(connection)
    # the demo is there: the test means something
    for table in (
        *("areas", "teams", "members", "patrols", "incidents", "review_patrols"),
        *("import_features", "import_problems", "incident_photos", "job_files", "tip_limits"),
    ):
        assert counts[table] > 0, table

    failures = []
    with scratch.app_context():
        for revision in revisions:  # head first
            with owner.connect() as connection:
                before_schema, before_counts = schema(connection), row_counts(connection)
            try:
                downgrade(directory=MIGRATIONS, revision="-1")
                with owner.connect() as connection:
                    below = set(row_counts(connection))
                upgrade(directory=MIGRATIONS, revision="+1")
            except Exception as exc:  # any failure is the revision's
                pytest.fail(f"{revision}: down and up failed on the demo data: {exc}")
            with owner.connect() as connection:
                after_schema, after_counts = schema(connection), row_counts(connection)
            if after_schema != before_schema:
                failures.append(
                    f"{revision}: schema differs after down and up:"
                    f" lost {sorted(before_schema - after_schema)[:5]},"
                    f" new {sorted(after_schema - before_schema)[:5]}"
                )
            # below it: every row back; its own tables: rows its upgrade makes again from
            # others (derived, or kept elsewhere by the downgrade) all back, or none (dropped).
            # More is no loss: review_rebuild() keeps a team's all-zero months, which the
            # triggers do not add, and 0015 gives existing provinces the default criteria.
            lost = {
                table: (before_counts[table], after_counts.get(table))
                for table in before_counts
                if before_counts[table] != after_counts.get(table)
                and (
                    table in below
                    or 0 < after_counts[table] < before_counts[table]
                    or table in MOVED.get(revision, ())
                )
            }
            if lost:
                failures.append(f"{revision}: rows differ after down and up: {lost}")
            downgrade(directory=MIGRATIONS, revision="-1")
        upgrade(directory=MIGRATIONS)
        from portal.extensions import db

        db.engine.dispose()
    owner.dispose()
    print(f"seeded in {seeded - started:.1f} s, round trips in {time.monotonic() - seeded:.1f} s")
    assert failures == [], "\n".join(failures)
