"""The migrations build the schema the models describe, and go down and up again."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from tests.conftest import ROOT, fresh_database, make_app

MIGRATIONS = str(ROOT / "migrations")


def test_schema_from_migrations_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                # PostGIS's table, and procrastinate's (its own schema, not our models)
                "include_object": lambda o, name, t, r, c: (
                    not (
                        (t == "table" and name == "spatial_ref_sys")
                        or (t == "table" and name.startswith("procrastinate_"))
                        or (t == "index" and o.table.name.startswith("procrastinate_"))
                    )
                )
            },
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_geometry_columns_are_typed_with_srid_and_gist_indexed(app):
    with app.app_context(), db.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT f_table_name, f_geometry_column, type, srid FROM geometry_columns"
                # the OGC API's views (0017) read these tables' geometry: checked below
                " WHERE f_table_name NOT LIKE 'ogc\\_%'"
                " ORDER BY f_table_name, f_geometry_column"
            )
        ).all()
        assert rows == [
            ("area_parts", "geom", "POLYGON", 4326),
            ("area_shapes", "geom", "MULTIPOLYGON", 4326),
            ("area_versions", "geom", "MULTIPOLYGON", 4326),
            ("areas", "geom", "MULTIPOLYGON", 4326),
            ("coverage_problems", "geom", "POLYGON", 4326),  # unmapped land and overlaps
            ("import_features", "display", "MULTIPOLYGON", 4326),
            ("import_features", "geom", "MULTIPOLYGON", 4326),
            ("import_features", "repaired", "MULTIPOLYGON", 4326),
            ("import_problems", "shape", "GEOMETRY", 4326),
            ("incidents", "geom", "POINT", 4326),  # where a tip or an incident happened
            ("patrol_tracks", "geom", "MULTILINESTRING", 4326),  # GPS tracks as uploaded
            ("patrol_tracks", "off_route", "MULTILINESTRING", 4326),
            ("route_versions", "geom", "MULTILINESTRING", 4326),
            ("streets", "geom", "MULTILINESTRING", 4326),  # OSM roads under the maps
        ]
        views = connection.execute(
            text(
                "SELECT f_table_name, type, srid FROM geometry_columns"
                " WHERE f_table_name LIKE 'ogc\\_%' ORDER BY f_table_name"
            )
        ).all()
        assert views == [
            ("ogc_communes", "MULTIPOLYGON", 4326),
            ("ogc_coverage", "MULTIPOLYGON", 4326),
            ("ogc_provinces", "MULTIPOLYGON", 4326),
            ("ogc_routes", "MULTILINESTRING", 4326),
            ("ogc_teams", "MULTIPOLYGON", 4326),  # the villages it covers, collected
            ("ogc_village_months", "POINT", 4326),  # a point inside each village
            ("ogc_villages", "MULTIPOLYGON", 4326),
        ]
        index = connection.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_areas_geom'")
        ).scalar_one()
        assert "USING gist (geom)" in index
        index = connection.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_incidents_geom'")
        ).scalar_one()
        assert "USING gist (geom)" in index  # duplicates are found by distance


def test_downgrade_to_base_and_upgrade_again():
    url = fresh_database("antt_portal_migrations")
    scratch = make_app(url)
    with scratch.app_context():
        upgrade(directory=MIGRATIONS)
        assert "team_areas" in inspect(db.engine).get_table_names()
        downgrade(directory=MIGRATIONS, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"spatial_ref_sys", "alembic_version"}
        upgrade(directory=MIGRATIONS)
        assert {"areas", "teams", "members", "accounts"} <= set(
            inspect(db.engine).get_table_names()
        )
        db.engine.dispose()


def test_the_no_leader_status_marks_stored_coverage_stale():
    """0013: figures computed before villages could be "no_leader" are recomputed when shown."""
    url = fresh_database("antt_portal_migrations")
    scratch = make_app(url)
    with scratch.app_context():
        upgrade(directory=MIGRATIONS, revision="0012")
        owner = create_engine(scratch.config["MIGRATION_DATABASE_URI"])
        with owner.begin() as connection:
            insert = text(
                "INSERT INTO areas (parent_id, code, name, name_search, level, kind, valid_from,"
                " geom) VALUES (:parent, :code, :name, :name, :level, :kind, '2025-07-01',"
                " ST_Multi(ST_MakeEnvelope(105.8, 21.0, 105.81, 21.01, 4326))) RETURNING id"
            )
            province = connection.execute(
                insert,
                {"parent": None, "code": "01", "name": "Hà Nội", "level": "province"}
                | {"kind": "thanh_pho"},
            ).scalar_one()
            commune = connection.execute(
                insert,
                {"parent": province, "code": "00001", "name": "Phường Thử", "level": "commune"}
                | {"kind": "phuong"},
            ).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO coverage_communes (commune_id, computed_at, valid_coverage,"
                    " villages, villages_with_team, population, population_with_team, land_m2,"
                    " land_mapped_m2, counts) VALUES (:id, now(), true, 1, 1, 10, 10, 1, 1, '{}')"
                ),
                {"id": commune},
            )
        upgrade(directory=MIGRATIONS)
        with owner.connect() as connection:
            stale = connection.execute(
                text("SELECT stale_since FROM coverage_communes WHERE commune_id = :id"),
                {"id": commune},
            ).scalar_one()
        owner.dispose()
        assert stale is not None
        db.engine.dispose()


def test_a_migration_waiting_for_a_lock_gives_up():
    """migrations/env.py's lock_timeout: 0018 adds a trigger to incidents, which a serving
    request holds a lock on; the upgrade fails instead of queueing every request behind it."""
    url = fresh_database("antt_portal_migrations")
    scratch = make_app(url)
    scratch.config["MIGRATION_LOCK_TIMEOUT"] = "1s"
    with scratch.app_context():
        upgrade(directory=MIGRATIONS, revision="0017")
        owner = create_engine(scratch.config["MIGRATION_DATABASE_URI"])
        serving = owner.connect()
        serving.begin()
        serving.execute(text("LOCK TABLE incidents IN ROW EXCLUSIVE MODE"))  # an open UPDATE
        # without the timeout the upgrade would wait for this, then succeed: the test fails
        released = threading.Timer(60, serving.rollback)
        released.start()
        try:
            with pytest.raises(OperationalError, match="lock timeout"):
                upgrade(directory=MIGRATIONS)
        finally:
            released.cancel()
            serving.rollback()
            serving.close()
        with owner.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
                "0017"
            )
            assert not connection.execute(text("SELECT to_regclass('tile_generation')")).scalar()
        upgrade(directory=MIGRATIONS)  # once the lock is gone
        owner.dispose()
        db.engine.dispose()
