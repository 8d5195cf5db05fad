"""Incidents and tips: citizens' tips and teams' incidents, their triage, the reporters' contacts
and photos apart from them, and the keyed hashes the abuse limits count.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

Reviewed by hand. Indexes follow the questions asked: a commune's queue newest first, the city's
period, a village's and a team's items, a patrol's, and places near a point (duplicates).
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)

TZ = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "incidents",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("violation_kind", sa.String(20)),
        sa.Column("receipt", sa.String(16)),
        sa.Column("status", sa.String(15), nullable=False),
        sa.Column("status_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("valuable", sa.Boolean()),
        sa.Column("case_ref", sa.String(60)),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("received_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("place_note", sa.String(200)),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("located_by", sa.String(10), nullable=False),
        sa.Column("area_id", sa.Integer()),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer()),
        sa.Column("patrol_id", sa.BigInteger()),
        sa.Column("action_taken", sa.Text()),
        sa.Column("handed_to_police", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(120)),
        sa.Column("merged_into_id", sa.BigInteger()),
        sa.Column("has_photo", sa.Boolean(), nullable=False),
        sa.Column("has_contact", sa.Boolean(), nullable=False),
        sa.CheckConstraint("source IN ('tip', 'team')", name="ck_incidents_source"),
        sa.CheckConstraint(
            "status IN ('received', 'checked', 'valuable', 'not_valuable', 'passed', 'closed')",
            name="ck_incidents_status",
        ),
        sa.CheckConstraint(
            "located_by IN ('map', 'gps', 'village')", name="ck_incidents_located_by"
        ),
        sa.CheckConstraint(
            "source <> 'tip' OR receipt IS NOT NULL", name="ck_incidents_tip_receipt"
        ),
        sa.CheckConstraint(
            "kind <> 'violation' OR violation_kind IS NOT NULL", name="ck_incidents_violation"
        ),
        sa.CheckConstraint(
            "status <> 'passed' OR case_ref IS NOT NULL", name="ck_incidents_passed_case"
        ),
        sa.CheckConstraint(
            "merged_into_id IS NULL OR merged_into_id <> id", name="ck_incidents_merge_self"
        ),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name="fk_incidents_area_id_areas"),
        sa.ForeignKeyConstraint(["commune_id"], ["areas.id"], name="fk_incidents_commune_id_areas"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name="fk_incidents_team_id_teams"),
        sa.ForeignKeyConstraint(
            ["patrol_id"],
            ["patrols.id"],
            name="fk_incidents_patrol_id_patrols",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["incidents.id"], name="fk_incidents_merged_into_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
        sa.UniqueConstraint("receipt", name="uq_incidents_receipt"),
    )
    op.create_index("ix_incidents_commune_received", "incidents", ["commune_id", "received_at"])
    op.create_index("ix_incidents_occurred", "incidents", ["occurred_at"])
    op.create_index("ix_incidents_received", "incidents", ["received_at"])
    op.create_index("ix_incidents_area_occurred", "incidents", ["area_id", "occurred_at"])
    op.create_index("ix_incidents_team_occurred", "incidents", ["team_id", "occurred_at"])
    op.create_index("ix_incidents_patrol", "incidents", ["patrol_id"])
    op.create_index("ix_incidents_geom", "incidents", ["geom"], postgresql_using="gist")

    op.create_table(
        "tip_contacts",
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(120)),
        sa.Column("contact", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name="fk_tip_contacts_incident_id_incidents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", name="pk_tip_contacts"),
    )
    op.create_table(
        "incident_photos",
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name="fk_incident_photos_incident_id_incidents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", name="pk_incident_photos"),
    )
    op.create_table(
        "tip_limits",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("at", TZ, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tip_limits"),
    )
    op.create_index("ix_tip_limits_key_at", "tip_limits", ["key", "at"])


def downgrade():
    op.drop_table("tip_limits")
    op.drop_table("incident_photos")
    op.drop_table("tip_contacts")
    op.drop_table("incidents")
