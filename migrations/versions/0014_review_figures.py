"""The one-year review: when a tip was passed to the police, and the monthly figures per team.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29

- incidents.passed_at: when an item was passed to the police (the review's "time from tip to
  hand-over"). Backfilled from the audit log where it has the step, else from status_at for
  items still at "passed"; older closed items without a logged step keep NULL (unknown).
- review_patrols: done, cancelled and joint patrols, violations and hand-overs per team and
  month (the month of the patrol's local day).
- review_incidents: items, valuable, passed (with the seconds it took) and handed over per
  commune, team, source, kind and month (a tip's month is when it was received, a team's item's
  when it happened; an item merged into another is not counted again).
- review_communes: both per commune and month, the report's columns: what the city's review sums
  (126 communes × 12 months for a year, not every team's rows).

Both tables are kept by statement-level triggers that subtract the old rows and add the new
ones in the same transaction as the change, as patrol_activity is (0010): a patrol corrected
months later, a tip found valuable or passed, a merge or an undo moves the figures at once,
and nothing can commit the change without its figures. Both can be rebuilt from the rows at
any time (`flask rebuild-review`).
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)

# The same definitions serve the triggers, the backfill and the raw queries of portal.review.
PATROL_SELECT = """
    SELECT date_trunc('month', r.day)::date AS month, r.team_id, r.commune_id,
           count(*) FILTER (WHERE r.status = 'done') AS done,
           count(*) FILTER (WHERE r.status = 'cancelled') AS cancelled,
           count(*) FILTER (WHERE r.status = 'done' AND r.joint_police) AS joint,
           coalesce(sum(r.violations) FILTER (WHERE r.status = 'done'), 0) AS violations,
           coalesce(sum(r.handed_to_police) FILTER (WHERE r.status = 'done'), 0) AS handed
      FROM {rows} r
     GROUP BY 1, 2, 3
"""
INCIDENT_SELECT = """
    SELECT date_trunc('month', review_day(r.source, r.received_at, r.occurred_at))::date
               AS month,
           r.commune_id, r.team_id, r.source, r.kind,
           count(*) AS items,
           count(*) FILTER (WHERE r.valuable) AS valuable,
           count(*) FILTER (WHERE r.passed_at IS NOT NULL) AS passed,
           coalesce(sum(extract(epoch FROM r.passed_at - r.received_at))
                    FILTER (WHERE r.passed_at IS NOT NULL), 0) AS pass_seconds,
           count(*) FILTER (WHERE r.handed_to_police OR r.passed_at IS NOT NULL) AS handed
      FROM {rows} r
     WHERE r.merged_into_id IS NULL
     GROUP BY 1, 2, 3, 4, 5
"""


# The city's figures per commune and month: what the city's review sums (12 × 126 rows for a
# year instead of every team's), kept by the same triggers from the same selects.
COMMUNE_PATROLS = """
    SELECT s.month, s.commune_id, sum(s.done) AS patrols, sum(s.cancelled) AS cancelled,
           sum(s.joint) AS joint, sum(s.violations) AS violations, sum(s.handed) AS handed
      FROM ({select}) s GROUP BY 1, 2
"""
COMMUNE_INCIDENTS = """
    SELECT s.month, s.commune_id,
           coalesce(sum(s.items) FILTER (WHERE s.source = 'tip'), 0) AS tips,
           coalesce(sum(s.valuable) FILTER (WHERE s.source = 'tip'), 0) AS valuable,
           coalesce(sum(s.passed) FILTER (WHERE s.source = 'tip'), 0) AS tips_passed,
           coalesce(sum(s.pass_seconds) FILTER (WHERE s.source = 'tip'), 0) AS pass_seconds,
           coalesce(sum(s.items) FILTER (WHERE s.source <> 'tip'), 0) AS team_items,
           coalesce(sum(s.items) FILTER (WHERE s.source <> 'tip' AND s.kind = 'fire'), 0)
               AS fire,
           coalesce(sum(s.items) FILTER (WHERE s.source <> 'tip' AND s.kind = 'rescue'), 0)
               AS rescue
      FROM ({select}) s GROUP BY 1, 2
"""
PATROL_COLUMNS = ("done", "cancelled", "joint", "violations", "handed")
INCIDENT_COLUMNS = ("items", "valuable", "passed", "pass_seconds", "handed")
COMMUNE_PATROL_COLUMNS = ("patrols", "cancelled", "joint", "violations", "handed")
COMMUNE_INCIDENT_COLUMNS = (
    "tips",
    "valuable",
    "tips_passed",
    "pass_seconds",
    "team_items",
    "fire",
    "rescue",
)
COMMUNE_COLUMNS = COMMUNE_PATROL_COLUMNS + COMMUNE_INCIDENT_COLUMNS


def _upsert(
    table: str,
    keys: tuple[str, ...],
    columns: tuple[str, ...],
    conflict: str,
    select: str,
    sides: tuple[str, ...],
) -> str:
    """Add to a table's rows the new rows' figures less the old rows' (sides: "old_rows",
    "new_rows" or both), in one statement taking the rows in key order.

    One statement in key order, not a subtraction then an addition: two patrols moved across
    the same months in opposite directions at once would otherwise each lock one month's row
    and wait for the other's (a deadlock, one save failing). A change that moves no figure
    (a note edited, a plan added) locks nothing."""
    parts = " UNION ALL ".join(
        f"SELECT {', '.join('s.' + k for k in keys)}, "
        f"{', '.join(('-' if side == 'old_rows' else '') + 's.' + c + ' AS ' + c for c in columns)}"
        f" FROM ({select.format(rows=side)}) s"
        for side in sides
    )
    key_list = ", ".join("d." + k for k in keys)
    return f"""
                INSERT INTO {table} AS a ({", ".join(keys + columns)})
                SELECT {key_list}, {", ".join(f"sum(d.{c})" for c in columns)}
                  FROM ({parts}) d
                 GROUP BY {key_list}
                HAVING {" OR ".join(f"sum(d.{c}) <> 0" for c in columns)}
                 ORDER BY {key_list}
                ON CONFLICT {conflict} DO UPDATE
                   SET {", ".join(f"{c} = a.{c} + excluded.{c}" for c in columns)};"""


def _sync(name: str, targets: list[tuple]) -> str:
    """A trigger function adding the new rows' figures less the old rows' to every target:
    (table, keys, columns, conflict, select over {rows}), one after the other in this order."""

    def upserts(*sides: str) -> str:
        return "".join(_upsert(t, k, c, x, q, sides) for t, k, c, x, q in targets)

    return f"""
        CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN{upserts("new_rows")}
            ELSIF TG_OP = 'DELETE' THEN{upserts("old_rows")}
            ELSE{upserts("old_rows", "new_rows")}
            END IF;
            RETURN NULL;
        END $$;
    """


PATROL_TARGETS = [
    (
        "review_patrols",
        ("month", "team_id", "commune_id"),
        PATROL_COLUMNS,
        "(month, team_id)",
        PATROL_SELECT,
    ),
    (
        "review_communes",
        ("month", "commune_id"),
        COMMUNE_PATROL_COLUMNS,
        "(month, commune_id)",
        COMMUNE_PATROLS.replace("{select}", PATROL_SELECT),
    ),
]
INCIDENT_TARGETS = [
    (
        "review_incidents",
        ("month", "commune_id", "team_id", "source", "kind"),
        INCIDENT_COLUMNS,
        "(month, commune_id, (coalesce(team_id, 0)), source, kind)",
        INCIDENT_SELECT,
    ),
    (
        "review_communes",
        ("month", "commune_id"),
        COMMUNE_INCIDENT_COLUMNS,
        "(month, commune_id)",
        COMMUNE_INCIDENTS.replace("{select}", INCIDENT_SELECT),
    ),
]


def _triggers(function: str, source: str) -> str:
    return f"""
        CREATE TRIGGER {source}_review_insert AFTER INSERT ON {source}
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {function}();
        CREATE TRIGGER {source}_review_update AFTER UPDATE ON {source}
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {function}();
        CREATE TRIGGER {source}_review_delete AFTER DELETE ON {source}
            REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION {function}();
    """


RAW_PATROLS = """(SELECT * FROM patrols
      WHERE day >= first AND day < stop
        AND (commune IS NULL OR commune_id = commune) AND (team IS NULL OR team_id = team))"""
RAW_INCIDENTS = """(SELECT i.* FROM incidents i,
            (SELECT first::timestamp {local} AS lo, stop::timestamp {local} AS hi) b
      WHERE ((source = 'tip' AND received_at >= b.lo AND received_at < b.hi)
             OR (source <> 'tip' AND occurred_at >= b.lo AND occurred_at < b.hi))
        AND (commune IS NULL OR commune_id = commune) AND (team IS NULL OR team_id = team))"""


STORED_INCIDENTS = "SELECT * FROM review_incidents"


def _raw_functions() -> str:
    """The figures of a stretch of days read from the rows themselves: what the review adds for
    the days of a period outside whole months, what `rebuild-review` writes, and the baseline
    the benchmark compares the stored figures with."""
    local = "AT TIME ZONE 'Asia/Ho_Chi_Minh'"
    return f"""
        CREATE FUNCTION review_patrols_raw(first date, stop date, commune integer,
                                           team integer)
        RETURNS TABLE (month date, team_id integer, commune_id integer, done bigint,
                       cancelled bigint, joint bigint, violations bigint, handed bigint)
        LANGUAGE sql STABLE AS $$
            {PATROL_SELECT.format(rows=RAW_PATROLS)}
        $$;
        CREATE FUNCTION review_incidents_raw(first date, stop date, commune integer,
                                             team integer)
        RETURNS TABLE (month date, commune_id integer, team_id integer, source varchar,
                       kind varchar, items bigint, valuable bigint, passed bigint,
                       pass_seconds double precision, handed bigint)
        LANGUAGE sql STABLE AS $$
            {INCIDENT_SELECT.format(rows=RAW_INCIDENTS.format(local=local))}
        $$;
        CREATE FUNCTION review_rebuild() RETURNS void LANGUAGE sql AS $$
            -- saves under way finish first, and none starts until the end: a save's trigger
            -- would otherwise add a row the rebuild then inserts again (a duplicate key)
            LOCK TABLE patrols, incidents IN SHARE MODE;
            DELETE FROM review_patrols;
            DELETE FROM review_incidents;
            DELETE FROM review_communes;
            INSERT INTO review_patrols (month, team_id, commune_id, {", ".join(PATROL_COLUMNS)})
            SELECT * FROM review_patrols_raw('-infinity', 'infinity', NULL, NULL);
            INSERT INTO review_incidents (month, commune_id, team_id, source, kind,
                                          {", ".join(INCIDENT_COLUMNS)})
            SELECT * FROM review_incidents_raw('-infinity', 'infinity', NULL, NULL);
            INSERT INTO review_communes (month, commune_id, {", ".join(COMMUNE_COLUMNS)})
            SELECT coalesce(p.month, i.month), coalesce(p.commune_id, i.commune_id),
                   {", ".join(f"coalesce(p.{c}, 0)" for c in COMMUNE_PATROL_COLUMNS)},
                   {", ".join(f"coalesce(i.{c}, 0)" for c in COMMUNE_INCIDENT_COLUMNS)}
              FROM ({COMMUNE_PATROLS.replace("{select}", "SELECT * FROM review_patrols")}) p
              FULL JOIN ({COMMUNE_INCIDENTS.replace("{select}", STORED_INCIDENTS)}) i
                ON i.month = p.month AND i.commune_id = p.commune_id;
        $$;
    """


def upgrade():
    op.add_column("incidents", sa.Column("passed_at", sa.DateTime(timezone=True)))
    op.execute(
        """
        UPDATE incidents i SET passed_at = s.at
          FROM (SELECT entity_id, max(at) AS at FROM audit_log
                 WHERE entity_type = 'incident' AND changes->'status'->>1 = 'passed'
                 GROUP BY entity_id) s
         WHERE s.entity_id = i.id AND i.case_ref IS NOT NULL;
        UPDATE incidents SET passed_at = status_at WHERE status = 'passed' AND passed_at IS NULL;
        """
    )
    op.execute(
        """
        -- the local (Vietnam) day an item counts on: a tip when it was received, a team's
        -- item when it happened
        CREATE FUNCTION review_day(source text, received timestamptz, occurred timestamptz)
        RETURNS date LANGUAGE sql IMMUTABLE AS $$
            SELECT ((CASE WHEN source = 'tip' THEN received ELSE occurred END)
                    AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
        $$;
        """
    )
    op.create_table(
        "review_patrols",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False, server_default="0") for c in PATROL_COLUMNS),
        sa.PrimaryKeyConstraint("month", "team_id", name="pk_review_patrols"),
    )
    op.create_index("ix_review_patrols_commune_month", "review_patrols", ["commune_id", "month"])
    op.create_table(
        "review_incidents",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer()),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        *(
            sa.Column(c, sa.Integer(), nullable=False, server_default="0")
            for c in INCIDENT_COLUMNS
            if c != "pass_seconds"
        ),
        sa.Column("pass_seconds", sa.Float(), nullable=False, server_default="0"),
    )
    op.execute(
        "CREATE UNIQUE INDEX uq_review_incidents_key ON review_incidents"
        " (month, commune_id, (coalesce(team_id, 0)), source, kind)"
    )
    op.create_index("ix_review_incidents_month", "review_incidents", ["month"])
    op.create_index("ix_review_incidents_team", "review_incidents", ["team_id", "month"])
    op.create_table(
        "review_communes",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        *(
            sa.Column(c, sa.Integer(), nullable=False, server_default="0")
            for c in COMMUNE_COLUMNS
            if c != "pass_seconds"
        ),
        sa.Column("pass_seconds", sa.Float(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("month", "commune_id", name="pk_review_communes"),
    )
    op.execute(_raw_functions())
    op.execute("SELECT review_rebuild()")
    op.execute(_sync("review_patrols_sync", PATROL_TARGETS))
    op.execute(_sync("review_incidents_sync", INCIDENT_TARGETS))
    op.execute(_triggers("review_patrols_sync", "patrols"))
    op.execute(_triggers("review_incidents_sync", "incidents"))


def downgrade():
    for source in ("patrols", "incidents"):
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {source}_review_{event} ON {source}")
    op.execute("DROP FUNCTION review_patrols_sync()")
    op.execute("DROP FUNCTION review_incidents_sync()")
    op.execute("DROP FUNCTION review_rebuild()")
    op.execute("DROP FUNCTION review_incidents_raw(date, date, integer, integer)")
    op.execute("DROP FUNCTION review_patrols_raw(date, date, integer, integer)")
    op.drop_table("review_communes")
    op.drop_table("review_incidents")
    op.drop_table("review_patrols")
    op.execute("DROP FUNCTION review_day(text, timestamptz, timestamptz)")
    op.drop_column("incidents", "passed_at")
