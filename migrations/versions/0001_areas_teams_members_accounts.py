"""Areas with boundary history, teams and the areas they cover, members, sizing rules, accounts.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Reviewed by hand. The rules the law sets are enforced by the database itself:
- a team's areas lie in the team's commune (composite foreign keys through commune_id);
- an area has at most one team at any moment (exclusion constraint on the covered period);
- a team has at most one serving leader (partial unique index).
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)

LEVELS = "'province', 'district', 'commune', 'village'"
KINDS = (
    "'thanh_pho', 'tinh', 'quan', 'huyen', 'thi_xa', 'thanh_pho_thuoc_tinh', 'phuong', 'xa', "
    "'dac_khu', 'thon', 'lang', 'ap', 'ban', 'to_dan_pho', 'khu_pho', 'khom'"
)


def multipolygon():
    # typmod column geometry(MultiPolygon, 4326); the GiST index is created explicitly below
    return Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)


def created_at(name="created_at"):
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade():
    for ext in ("postgis", "unaccent", "pg_trgm", "btree_gist"):
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {ext}")

    op.create_table(
        "areas",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column(
            "parent_id", sa.Integer(), sa.ForeignKey("areas.id", name="fk_areas_parent_id_areas")
        ),
        sa.Column("code", sa.String(20)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200)),
        sa.Column("name_search", sa.String(200), nullable=False),
        sa.Column("population", sa.Integer()),
        sa.Column("households", sa.Integer()),
        sa.Column("geom", multipolygon()),
        sa.Column("valid_from", sa.Date(), server_default=sa.text("CURRENT_DATE"), nullable=False),
        sa.Column("valid_to", sa.Date()),
        sa.Column("decision_number", sa.String(100)),
        sa.Column("decision_date", sa.Date()),
        created_at(),
        created_at("updated_at"),
        sa.CheckConstraint(f"level IN ({LEVELS})", name="ck_areas_level"),
        sa.CheckConstraint(f"kind IN ({KINDS})", name="ck_areas_kind"),
        sa.CheckConstraint(
            "(level = 'province') = (parent_id IS NULL)", name="ck_areas_parent_by_level"
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name="ck_areas_valid_period"
        ),
        sa.CheckConstraint("population IS NULL OR population >= 0", name="ck_areas_population"),
        sa.CheckConstraint("geom IS NULL OR ST_IsValid(geom)", name="ck_areas_geom_valid"),
        sa.CheckConstraint("households IS NULL OR households >= 0", name="ck_areas_households"),
        sa.UniqueConstraint("id", "parent_id", name="uq_areas_id_parent"),
    )
    op.create_index("ix_areas_geom", "areas", ["geom"], postgresql_using="gist")
    op.create_index(
        "ix_areas_name_search_trgm",
        "areas",
        ["name_search"],
        postgresql_using="gin",
        postgresql_ops={"name_search": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_areas_parent_current",
        "areas",
        ["parent_id"],
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.create_index(
        "uq_areas_current_code",
        "areas",
        ["level", "code"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL AND code IS NOT NULL"),
    )

    op.create_table(
        "area_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "area_id",
            sa.Integer(),
            sa.ForeignKey("areas.id", name="fk_area_versions_area_id_areas"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("population", sa.Integer()),
        sa.Column("households", sa.Integer()),
        sa.Column("geom", multipolygon()),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("decision_number", sa.String(100)),
        sa.Column("decision_date", sa.Date()),
        created_at("recorded_at"),
        sa.CheckConstraint("valid_to >= valid_from", name="ck_area_versions_valid_period"),
    )
    op.create_index("ix_area_versions_area_id", "area_versions", ["area_id"])

    op.create_table(
        "sizing_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "province_id",
            sa.Integer(),
            sa.ForeignKey("areas.id", name="fk_sizing_rules_province_id_areas"),
            nullable=False,
        ),
        sa.Column("min_members", sa.Integer(), nullable=False),
        sa.Column("max_members", sa.Integer()),
        sa.Column("max_deputies", sa.Integer(), nullable=False),
        sa.Column("population_base", sa.Integer()),
        sa.Column("population_step", sa.Integer()),
        sa.CheckConstraint("min_members >= 1", name="ck_sizing_rules_min_members"),
        sa.CheckConstraint(
            "max_members IS NULL OR max_members >= min_members", name="ck_sizing_rules_max_members"
        ),
        sa.CheckConstraint("max_deputies >= 0", name="ck_sizing_rules_max_deputies"),
        sa.CheckConstraint(
            "(population_base IS NULL) = (population_step IS NULL)",
            name="ck_sizing_rules_population_formula",
        ),
        sa.CheckConstraint(
            "population_step IS NULL OR population_step > 0", name="ck_sizing_rules_population_step"
        ),
        sa.UniqueConstraint("province_id", name="uq_sizing_rules_province_id"),
    )

    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "commune_id",
            sa.Integer(),
            sa.ForeignKey("areas.id", name="fk_teams_commune_id_areas"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_search", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(20)),
        sa.Column("decision_number", sa.String(100)),
        sa.Column("decision_date", sa.Date()),
        sa.Column("established_on", sa.Date(), nullable=False),
        sa.Column("dissolved_on", sa.Date()),
        created_at(),
        sa.CheckConstraint(
            "dissolved_on IS NULL OR dissolved_on >= established_on", name="ck_teams_valid_period"
        ),
        sa.UniqueConstraint("id", "commune_id", name="uq_teams_id_commune"),
    )
    op.create_index("ix_teams_commune_id", "teams", ["commune_id"])

    op.create_table(
        "team_areas",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date()),  # exclusive: the first day not covered
        sa.ForeignKeyConstraint(
            ["team_id", "commune_id"],
            ["teams.id", "teams.commune_id"],
            name="fk_team_areas_team_commune",
        ),
        sa.ForeignKeyConstraint(
            ["area_id", "commune_id"],
            ["areas.id", "areas.parent_id"],
            name="fk_team_areas_area_commune",
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from", name="ck_team_areas_valid_period"
        ),
        postgresql.ExcludeConstraint(
            (sa.column("area_id"), "="),
            (sa.text("daterange(valid_from, valid_to)"), "&&"),
            using="gist",
            name="ex_team_areas_one_team_per_area",
        ),
    )
    op.create_index("ix_team_areas_team", "team_areas", ["team_id"])
    op.create_index("ix_team_areas_area", "team_areas", ["area_id"])

    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "team_id",
            sa.Integer(),
            sa.ForeignKey("teams.id", name="fk_members_team_id_teams"),
            nullable=False,
        ),
        sa.Column("full_name", sa.String(120), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("phone", sa.String(20)),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column(
            "residence_area_id",
            sa.Integer(),
            sa.ForeignKey("areas.id", name="fk_members_residence_area_id_areas"),
        ),
        sa.Column("resident_since", sa.Date()),
        sa.Column("education", sa.String(20), nullable=False),
        sa.Column("age_approval", sa.String(200)),
        sa.Column("appointment_number", sa.String(100), nullable=False),
        sa.Column("appointment_date", sa.Date(), nullable=False),
        sa.Column("appointment_signer", sa.String(200), nullable=False),
        sa.Column("left_on", sa.Date()),
        sa.Column("left_decision", sa.String(100)),
        sa.CheckConstraint("role IN ('leader', 'deputy', 'member')", name="ck_members_role"),
        sa.CheckConstraint(
            "education IN ('primary', 'lower_secondary', 'upper_secondary', 'higher')",
            name="ck_members_education",
        ),
        sa.CheckConstraint(
            "left_on IS NULL OR left_on >= appointment_date", name="ck_members_valid_period"
        ),
    )
    op.create_index("ix_members_team_id", "members", ["team_id"])
    op.create_index(
        "uq_members_one_leader",
        "members",
        ["team_id"],
        unique=True,
        postgresql_where=sa.text("role = 'leader' AND left_on IS NULL"),
    )

    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("full_name", sa.String(120), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column(
            "commune_id",
            sa.Integer(),
            sa.ForeignKey("areas.id", name="fk_accounts_commune_id_areas"),
        ),
        sa.Column(
            "team_id", sa.Integer(), sa.ForeignKey("teams.id", name="fk_accounts_team_id_teams")
        ),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        created_at(),
        sa.Column("last_login_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "(role = 'admin' AND commune_id IS NULL AND team_id IS NULL)"
            " OR (role = 'commune_officer' AND commune_id IS NOT NULL AND team_id IS NULL)"
            " OR (role = 'team_leader' AND team_id IS NOT NULL)",
            name="ck_accounts_scope_by_role",
        ),
        sa.UniqueConstraint("username", name="uq_accounts_username"),
    )


def downgrade():
    for table in (
        "accounts",
        "members",
        "team_areas",
        "teams",
        "sizing_rules",
        "area_versions",
        "areas",
    ):
        op.drop_table(table)
