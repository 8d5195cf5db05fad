"""Patrols: routes and their versions, planned and recorded patrols, who went, findings, GPS
tracks, the province's patrol rules, and the activity per village and month.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

Reviewed by hand. patrol_activity is derived: statement-level triggers on patrols (with
transition tables, so a bulk insert of a year costs one pass) add and subtract each done patrol
for the villages its route passes through, or its team's villages on the day when it had no
route. Indexes follow the questions asked: a team's patrols by day, a commune's by day, the
city's by day. At ten times Hanoi's volume the patrols table is the one to range-partition by
`day` (a partition a year); the README says how.
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)

TZ = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "patrol_rules",
        sa.Column("province_id", sa.Integer(), nullable=False),
        sa.Column("route_tolerance_m", sa.Float(), nullable=False),
        sa.Column("duty_rule", sa.String(20), nullable=False),
        sa.Column("min_hours_per_day", sa.Float()),
        sa.Column("night_start", sa.Time()),
        sa.Column("night_end", sa.Time()),
        sa.Column("min_night_hours", sa.Float()),
        sa.Column("max_per_month", sa.Integer()),
        sa.CheckConstraint("route_tolerance_m >= 0", name="ck_patrol_rules_route_tolerance"),
        sa.CheckConstraint(
            "duty_rule IN ('daily_hours', 'night_shifts')", name="ck_patrol_rules_duty_rule"
        ),
        sa.CheckConstraint(
            "duty_rule <> 'daily_hours' OR min_hours_per_day IS NOT NULL",
            name="ck_patrol_rules_daily_hours",
        ),
        sa.CheckConstraint(
            "duty_rule <> 'night_shifts' OR (night_start IS NOT NULL AND night_end IS NOT NULL"
            " AND min_night_hours IS NOT NULL)",
            name="ck_patrol_rules_night_shifts",
        ),
        sa.CheckConstraint(
            "max_per_month IS NULL OR max_per_month >= 0", name="ck_patrol_rules_max_per_month"
        ),
        sa.ForeignKeyConstraint(
            ["province_id"], ["areas.id"], name="fk_patrol_rules_province_id_areas"
        ),
        sa.PrimaryKeyConstraint("province_id", name="pk_patrol_rules"),
    )
    op.create_table(
        "patrol_routes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("current_version_id", sa.Integer()),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("retired_at", TZ),
        sa.ForeignKeyConstraint(
            ["team_id", "commune_id"],
            ["teams.id", "teams.commune_id"],
            name="fk_patrol_routes_team_commune",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_patrol_routes"),
    )
    op.create_index("ix_patrol_routes_team", "patrol_routes", ["team_id"])
    op.create_index("ix_patrol_routes_commune", "patrol_routes", ["commune_id"])
    op.create_table(
        "route_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            Geometry("MULTILINESTRING", srid=4326, spatial_index=False),
            nullable=True,
        ),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("outside_m", sa.Float(), nullable=False),
        sa.Column("area_ids", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.ForeignKeyConstraint(
            ["route_id"], ["patrol_routes.id"], name="fk_route_versions_route_id_patrol_routes"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_route_versions"),
        sa.UniqueConstraint("route_id", "number", name="uq_route_versions_number"),
    )
    op.create_index("ix_route_versions_route_id", "route_versions", ["route_id"])
    op.create_index("idx_route_versions_geom", "route_versions", ["geom"], postgresql_using="gist")
    op.create_foreign_key(
        "fk_patrol_routes_current_version",
        "patrol_routes",
        "route_versions",
        ["current_version_id"],
        ["id"],
    )
    op.create_table(
        "patrols",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("route_version_id", sa.Integer()),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("planned_start", TZ, nullable=False),
        sa.Column("planned_end", TZ, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("started_at", TZ),
        sa.Column("ended_at", TZ),
        sa.Column("joint_police", sa.Boolean(), nullable=False),
        sa.Column("violations", sa.Integer(), nullable=False),
        sa.Column("handed_to_police", sa.Integer(), nullable=False),
        sa.Column("handover_note", sa.Text()),
        sa.Column("notes", sa.Text()),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("recorded_at", TZ),
        sa.CheckConstraint("status IN ('planned', 'done', 'cancelled')", name="ck_patrols_status"),
        sa.CheckConstraint("planned_end > planned_start", name="ck_patrols_planned_period"),
        sa.CheckConstraint(
            "status <> 'done' OR (started_at IS NOT NULL AND ended_at > started_at)",
            name="ck_patrols_done_period",
        ),
        sa.CheckConstraint("violations >= 0 AND handed_to_police >= 0", name="ck_patrols_counts"),
        sa.ForeignKeyConstraint(
            ["team_id", "commune_id"],
            ["teams.id", "teams.commune_id"],
            name="fk_patrols_team_commune",
        ),
        sa.ForeignKeyConstraint(
            ["route_version_id"],
            ["route_versions.id"],
            name="fk_patrols_route_version_id_route_versions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_patrols"),
    )
    op.create_index("ix_patrols_team_day", "patrols", ["team_id", "day"])
    op.create_index("ix_patrols_commune_day", "patrols", ["commune_id", "day"])
    op.create_index("ix_patrols_day", "patrols", ["day"])
    op.create_index("ix_patrols_route_version", "patrols", ["route_version_id"])
    op.create_table(
        "patrol_members",
        sa.Column("patrol_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("planned", sa.Boolean(), nullable=False),
        sa.Column("went", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patrol_id"],
            ["patrols.id"],
            ondelete="CASCADE",
            name="fk_patrol_members_patrol_id_patrols",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name="fk_patrol_members_member_id_members"
        ),
        sa.PrimaryKeyConstraint("patrol_id", "member_id", name="pk_patrol_members"),
    )
    op.create_index("ix_patrol_members_member", "patrol_members", ["member_id"])
    op.create_table(
        "patrol_findings",
        sa.Column("patrol_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("count > 0", name="ck_patrol_findings_count"),
        sa.ForeignKeyConstraint(
            ["patrol_id"],
            ["patrols.id"],
            ondelete="CASCADE",
            name="fk_patrol_findings_patrol_id_patrols",
        ),
        sa.PrimaryKeyConstraint("patrol_id", "kind", name="pk_patrol_findings"),
    )
    op.create_table(
        "patrol_tracks",
        sa.Column("patrol_id", sa.BigInteger(), nullable=False),
        sa.Column("geom", Geometry("MULTILINESTRING", srid=4326, spatial_index=False)),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("started_at", TZ),
        sa.Column("ended_at", TZ),
        sa.Column("followed_share", sa.Float()),
        sa.Column("off_route", Geometry("MULTILINESTRING", srid=4326, spatial_index=False)),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("uploaded_by", sa.String(120), nullable=False),
        sa.Column("uploaded_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patrol_id"],
            ["patrols.id"],
            ondelete="CASCADE",
            name="fk_patrol_tracks_patrol_id_patrols",
        ),
        sa.PrimaryKeyConstraint("patrol_id", name="pk_patrol_tracks"),
    )
    op.create_table(
        "patrol_activity",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("patrols", sa.Integer(), nullable=False),
        sa.Column("violations", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["areas.id"],
            ondelete="CASCADE",
            name="fk_patrol_activity_area_id_areas",
        ),
        sa.PrimaryKeyConstraint("month", "area_id", name="pk_patrol_activity"),
    )
    op.create_index("ix_patrol_activity_commune_month", "patrol_activity", ["commune_id", "month"])
    op.create_index("ix_patrol_activity_area_month", "patrol_activity", ["area_id", "month"])
    op.execute(
        """
        -- the villages a done patrol counts for: its route's, else its team's on that day
        CREATE FUNCTION patrol_areas(team integer, version integer, on_day date)
        RETURNS SETOF integer LANGUAGE sql STABLE AS $$
            SELECT unnest(v.area_ids) FROM route_versions v
             WHERE v.id = version AND cardinality(v.area_ids) > 0
            UNION ALL
            SELECT t.area_id FROM team_areas t
             WHERE t.team_id = team AND t.valid_from <= on_day
               AND (t.valid_to IS NULL OR t.valid_to > on_day)
               AND NOT EXISTS (SELECT 1 FROM route_versions v
                                WHERE v.id = version AND cardinality(v.area_ids) > 0)
        $$;

        CREATE FUNCTION patrol_activity_sync() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                INSERT INTO patrol_activity AS a (month, area_id, commune_id, patrols, violations)
                SELECT date_trunc('month', o.day)::date, x.area_id, o.commune_id,
                       -count(*), -sum(o.violations)
                  FROM old_rows o
                 CROSS JOIN LATERAL patrol_areas(o.team_id, o.route_version_id, o.day) AS x(area_id)
                 WHERE o.status = 'done'
                 GROUP BY 1, 2, 3
                ON CONFLICT (month, area_id) DO UPDATE
                   SET patrols = a.patrols + excluded.patrols,
                       violations = a.violations + excluded.violations;
            END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') THEN
                INSERT INTO patrol_activity AS a (month, area_id, commune_id, patrols, violations)
                SELECT date_trunc('month', n.day)::date, x.area_id, n.commune_id,
                       count(*), sum(n.violations)
                  FROM new_rows n
                 CROSS JOIN LATERAL patrol_areas(n.team_id, n.route_version_id, n.day) AS x(area_id)
                 WHERE n.status = 'done'
                 GROUP BY 1, 2, 3
                ON CONFLICT (month, area_id) DO UPDATE
                   SET patrols = a.patrols + excluded.patrols,
                       violations = a.violations + excluded.violations;
            END IF;
            RETURN NULL;
        END $$;

        CREATE TRIGGER patrols_activity_insert AFTER INSERT ON patrols
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION patrol_activity_sync();
        CREATE TRIGGER patrols_activity_update AFTER UPDATE ON patrols
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION patrol_activity_sync();
        CREATE TRIGGER patrols_activity_delete AFTER DELETE ON patrols
            REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION patrol_activity_sync();
        """
    )


def downgrade():
    op.execute("DROP TRIGGER patrols_activity_delete ON patrols")
    op.execute("DROP TRIGGER patrols_activity_update ON patrols")
    op.execute("DROP TRIGGER patrols_activity_insert ON patrols")
    op.execute("DROP FUNCTION patrol_activity_sync()")
    op.execute("DROP FUNCTION patrol_areas(integer, integer, date)")
    op.drop_table("patrol_activity")
    op.drop_table("patrol_tracks")
    op.drop_table("patrol_findings")
    op.drop_table("patrol_members")
    op.drop_table("patrols")
    op.drop_constraint("fk_patrol_routes_current_version", "patrol_routes", type_="foreignkey")
    op.drop_table("route_versions")
    op.drop_table("patrol_routes")
    op.drop_table("patrol_rules")
