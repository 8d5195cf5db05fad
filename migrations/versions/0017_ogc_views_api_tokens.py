"""OGC API – Features: views holding only what each layer may show, and API tokens.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29

Reviewed by hand.

- ogc_provinces, ogc_communes, ogc_villages, ogc_village_months: the public layers. Each view
  holds ONLY public columns (the same fields the citizens' look-up card shows: names, codes, the
  team's name and phone, its serving leader's and deputies' names and phones, the commune
  police's contact), so a mistake in Python cannot reach a member's birth date, a plain member's
  name or an account. Ended (historical) areas are not in them.
- ogc_coverage, ogc_teams, ogc_routes: the staff layers; each carries commune_id and team_id so
  that portal.ogc applies the account's scope (portal.scope) to them.
- The app role may only SELECT the views (portal.dbsetup.READ_ONLY_VIEWS): a simple view is
  updatable in PostgreSQL, and nothing should write through these.
- api_tokens: a bearer token for /ogc/ only, scoped like its account. Only the SHA-256 of the
  random secret is stored (as account_sessions store theirs); revoked tokens stay, for the log.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)

# the commune police's name when none is recorded: "Công an phường Ba Đình", as the card says
POLICE_NAME = "coalesce(pc.name, 'Công an ' || lower(left(c.name, 1)) || substr(c.name, 2))"

# the team's serving leader (the first, should there be two) and deputies, as the card shows
# them; flat text columns, as GIS software reads attributes
LEADER = """(SELECT m.{column} FROM members m
              WHERE m.team_id = t.id AND m.left_on IS NULL AND m.role = 'leader'
              ORDER BY m.id LIMIT 1)"""
DEPUTIES = """(SELECT string_agg(m.full_name || coalesce(' (' || m.phone || ')', ''), '; '
                                ORDER BY m.id)
               FROM members m
              WHERE m.team_id = t.id AND m.left_on IS NULL AND m.role = 'deputy')"""

# the active team of a village: at most one, as the database itself holds (the exclusion
# constraint ex_team_areas_one_team_per_area), so a plain join, which PostgreSQL hashes once,
# instead of a LIMIT 1 probe per village (the look-up's query, made for one village)
ACTIVE_TEAM = """LEFT JOIN (team_areas ta
                 JOIN teams t ON t.id = ta.team_id AND t.dissolved_on IS NULL)
            ON ta.area_id = v.id AND ta.valid_from <= current_date
           AND (ta.valid_to IS NULL OR ta.valid_to > current_date)"""

VIEWS = {
    "ogc_provinces": """
        SELECT a.id, a.code, a.name, a.kind, a.geom
          FROM areas a
         WHERE a.level = 'province' AND a.valid_to IS NULL""",
    "ogc_communes": f"""
        SELECT c.id, c.code, c.name, c.kind, p.name AS province,
               {POLICE_NAME} AS police_name, pc.phone AS police_phone,
               pc.address AS police_address, c.geom
          FROM areas c
          LEFT JOIN areas p ON p.id = c.parent_id
          LEFT JOIN police_contacts pc ON pc.commune_id = c.id
         WHERE c.level = 'commune' AND c.valid_to IS NULL""",
    "ogc_villages": f"""
        SELECT v.id, v.code, v.name, v.kind, c.id AS commune_id, c.name AS commune,
               p.name AS province, t.name AS team_name, t.phone AS team_phone,
               {LEADER.format(column="full_name")} AS leader_name,
               {LEADER.format(column="phone")} AS leader_phone,
               {DEPUTIES} AS deputy_contacts,
               {POLICE_NAME} AS police_name, pc.phone AS police_phone,
               pc.address AS police_address, v.geom
          FROM areas v
          JOIN areas c ON c.id = v.parent_id
          LEFT JOIN areas p ON p.id = c.parent_id
          LEFT JOIN police_contacts pc ON pc.commune_id = c.id
          {ACTIVE_TEAM}
         WHERE v.level = 'village' AND v.valid_to IS NULL""",
    # patrols from the stored monthly activity (0010), items counted by the review's rules (0014)
    "ogc_village_months": """
        SELECT v.id || '-' || to_char(f.month, 'YYYY-MM') AS id, v.id AS village_id,
               v.name AS village, c.id AS commune_id, c.name AS commune,
               to_char(f.month, 'YYYY-MM') AS month,
               coalesce(f.patrols, 0) AS patrols, coalesce(f.violations, 0) AS violations,
               coalesce(f.incidents, 0) AS incidents, coalesce(f.tips, 0) AS tips,
               coalesce(f.fires, 0) AS fires, coalesce(f.rescues, 0) AS rescues,
               -- a subquery: PostgreSQL makes it after the sort, for the page's rows only
               (SELECT ST_PointOnSurface(a.geom) FROM areas a WHERE a.id = v.id)
                   ::geometry(Point, 4326) AS geom
          FROM (SELECT coalesce(pa.area_id, i.area_id) AS area_id,
                       coalesce(pa.month, i.month) AS month,
                       pa.patrols, pa.violations, i.incidents, i.tips, i.fires, i.rescues
                  FROM patrol_activity pa
                  FULL JOIN (
                        SELECT area_id,
                               date_trunc('month', review_day(source, received_at, occurred_at))
                                   ::date AS month,
                               count(*) AS incidents,
                               count(*) FILTER (WHERE source = 'tip') AS tips,
                               count(*) FILTER (WHERE source <> 'tip' AND kind = 'fire') AS fires,
                               count(*) FILTER (WHERE source <> 'tip' AND kind = 'rescue')
                                   AS rescues
                          FROM incidents
                         WHERE merged_into_id IS NULL AND area_id IS NOT NULL
                         GROUP BY 1, 2) i
                    ON i.area_id = pa.area_id AND i.month = pa.month) f
          JOIN areas v ON v.id = f.area_id
          JOIN areas c ON c.id = v.parent_id
         WHERE v.level = 'village' AND v.valid_to IS NULL AND v.geom IS NOT NULL""",
    "ogc_coverage": f"""
        SELECT v.id, v.code, v.name, v.kind, c.id AS commune_id, c.name AS commune,
               t.id AS team_id, t.name AS team_name, cv.status, cc.computed_at,
               cc.stale_since IS NOT NULL AS stale, v.population, v.geom
          FROM areas v
          JOIN areas c ON c.id = v.parent_id
          LEFT JOIN coverage_communes cc ON cc.commune_id = c.id
          LEFT JOIN coverage_villages cv ON cv.commune_id = c.id AND cv.area_id = v.id
          {ACTIVE_TEAM}
         WHERE v.level = 'village' AND v.valid_to IS NULL""",
    "ogc_teams": """
        SELECT t.id, t.id AS team_id, t.name, t.phone, t.commune_id, c.name AS commune,
               t.established_on,
               (SELECT count(*) FROM members m WHERE m.team_id = t.id AND m.left_on IS NULL)
                   AS members,
               (SELECT count(*) FROM members m WHERE m.team_id = t.id AND m.left_on IS NULL
                   AND m.role = 'leader') AS leaders,
               (SELECT count(*) FROM members m WHERE m.team_id = t.id AND m.left_on IS NULL
                   AND m.role = 'deputy') AS deputies,
               s.min_members, s.max_members,
               (SELECT count(*) FROM team_areas ta WHERE ta.team_id = t.id
                   AND ta.valid_from <= current_date
                   AND (ta.valid_to IS NULL OR ta.valid_to > current_date)) AS villages,
               (SELECT ST_Multi(ST_CollectionExtract(ST_Collect(a.geom), 3))
                  FROM team_areas ta JOIN areas a ON a.id = ta.area_id
                 WHERE ta.team_id = t.id AND ta.valid_from <= current_date
                   AND (ta.valid_to IS NULL OR ta.valid_to > current_date))
                   ::geometry(MultiPolygon, 4326) AS geom
          FROM teams t
          JOIN areas c ON c.id = t.commune_id
          LEFT JOIN sizing_rules s ON s.province_id = c.parent_id
         WHERE t.dissolved_on IS NULL""",
    "ogc_routes": """
        SELECT r.id, r.name, r.team_id, t.name AS team_name, r.commune_id,
               c.name AS commune, rv.number AS version, rv.length_m, rv.geom
          FROM patrol_routes r
          JOIN route_versions rv ON rv.id = r.current_version_id
          JOIN teams t ON t.id = r.team_id
          JOIN areas c ON c.id = r.commune_id
         WHERE r.retired_at IS NULL""",
}


def upgrade():
    for name, body in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {body}")
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("accounts.id", name="fk_api_tokens_account_id_accounts"),
            nullable=False,
        ),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(12), nullable=False),  # shown in the list, to tell apart
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        sa.CheckConstraint("length(token_hash) = 64", name="ck_api_tokens_hash_length"),
    )
    op.create_index("ix_api_tokens_account_id", "api_tokens", ["account_id"])


def downgrade():
    op.drop_index("ix_api_tokens_account_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW {name}")
