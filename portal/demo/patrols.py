"""The demo's year of patrols: Hanoi's volume (≈ 532,000 patrols, ≈ 3,100 violations found),
spread as a city's year is: more in the evening and at night, more at weekends, some teams much
more active than others, a few that never patrol (their villages show as unpatrolled).

Routes are drawn in Python, one or two per team through its villages and checked like a
leader's (geo.routes.check_route). Patrols, who went and what was found are generated in
PostgreSQL a month at a time (INSERT … SELECT over generate_series, seeded random), so a year
takes a few minutes; the triggers on patrols keep patrol_activity in step as they go.
Deterministic for a given seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import shapely
import shapely.ops
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import LineString, MultiLineString
from sqlalchemy import func, insert, select, text, update

from geo.routes import Village, check_route, length_m
from portal.demo.seed import DEMO_ACCOUNTS
from portal.extensions import db
from portal.models import (
    VIOLATION_KINDS,
    Account,
    Area,
    Patrol,
    PatrolRoute,
    PatrolRules,
    RouteVersion,
    Team,
    TeamArea,
)

HANOI_PATROLS = 532_000
HANOI_VIOLATIONS = 3_100
IDLE_SHARE = 0.02  # teams that never patrol
DAYS = 365
AHEAD = 7  # planned patrols for the coming week
# start hours as a city patrols: mostly evening and night, some mornings and afternoons
HOURS = [19] * 3 + [20] * 4 + [21] * 4 + [22] * 3 + [23] * 2 + [0, 1, 6, 7, 8, 14, 15, 16, 17]
# violation kinds as patrols find them (same order as VIOLATION_KINDS)
KIND_WEIGHTS = (22, 30, 10, 6, 7, 6, 8, 8, 3)


@dataclass
class PatrolSummary:
    routes: int = 0
    patrols: int = 0
    done: int = 0
    violations: int = 0
    idle_teams: int = 0

    def __str__(self) -> str:
        return (
            f"routes={self.routes} patrols={self.patrols} done={self.done}"
            f" violations={self.violations} idle_teams={self.idle_teams}"
        )


def _chord(shape, horizontal: bool) -> LineString | None:
    """The longest straight chord of a village through its inner point, trimmed at both ends."""
    point = shape.representative_point()
    west, south, east, north = shape.bounds
    if horizontal:
        cut = LineString([(west - 0.001, point.y), (east + 0.001, point.y)])
    else:
        cut = LineString([(point.x, south - 0.001), (point.x, north + 0.001)])
    pieces = [g for g in getattr(shape.intersection(cut), "geoms", [shape.intersection(cut)])]
    pieces = [p for p in pieces if isinstance(p, LineString) and p.length > 0]
    if not pieces:
        return None
    longest = max(pieces, key=lambda p: p.length)
    return shapely.ops.substring(longest, 0.1, 0.9, normalized=True)


def _route_lines(villages: list[Village], rng: random.Random) -> list[MultiLineString]:
    """One or two routes through a team's villages: along and across its largest one, and a
    leg into each of its others."""
    biggest = max(villages, key=lambda v: v.shape.area)
    lines = []
    for horizontal in (True, False)[: 1 + (rng.random() < 0.45)]:
        legs = [_chord(biggest.shape, horizontal)]
        legs += [_chord(v.shape, not horizontal) for v in villages if v is not biggest][:3]
        legs = [leg for leg in legs if leg is not None and leg.length > 0]
        if legs:
            lines.append(MultiLineString(legs))
    return lines


def _routes(tolerance: float, rng: random.Random, progress) -> dict[int, list[int]]:
    """Routes for every team with villages; their version ids by team."""
    rows = db.session.execute(
        select(TeamArea.team_id, Team.commune_id, Area.id, Area.name, Area.geom)
        .join(Team, Team.id == TeamArea.team_id)
        .join(Area, Area.id == TeamArea.area_id)
        .where(TeamArea.active(), Team.dissolved_on.is_(None))
        .order_by(TeamArea.team_id, Area.id)
    ).all()
    by_team: dict[int, tuple[int, list[Village]]] = {}
    for team_id, commune_id, area_id, name, geom in rows:
        if geom is not None:
            by_team.setdefault(team_id, (commune_id, []))[1].append(
                Village(area_id, name, to_shape(geom))
            )
    leader_team = db.session.scalar(
        select(Account.team_id).where(Account.username == DEMO_ACCOUNTS[2][0])
    )
    routes, versions = [], []
    for n, (team_id, (commune_id, villages)) in enumerate(by_team.items()):
        for k, line in enumerate(_route_lines(villages, rng)):
            check = check_route(line, villages, tolerance)
            if not check.ok:
                continue
            name = ("Tuyến trục chính", "Tuyến ngõ xóm")[k]
            if team_id == leader_team:
                name = ("Tuyến phố chính", "Tuyến các ngõ")[k]
            routes.append({"team_id": team_id, "commune_id": commune_id, "name": name})
            versions.append(
                {
                    "number": 1,
                    "geom": from_shape(line, srid=4326),
                    "length_m": length_m(line),
                    "outside_m": check.outside_m,
                    "area_ids": check.area_ids,
                    "created_by": "demo",
                }
            )
        if progress and n % 500 == 0:
            progress(n, len(by_team))
    if not routes:
        return {}
    route_ids = db.session.scalars(insert(PatrolRoute).returning(PatrolRoute.id), routes).all()
    for version, route_id in zip(versions, route_ids, strict=True):
        version["route_id"] = route_id
    version_ids = db.session.scalars(
        insert(RouteVersion).returning(RouteVersion.id), versions
    ).all()
    db.session.execute(
        update(PatrolRoute),
        [{"id": r, "current_version_id": v} for r, v in zip(route_ids, version_ids, strict=True)],
    )
    by_team_versions: dict[int, list[int]] = {}
    for route, version_id in zip(routes, version_ids, strict=True):
        by_team_versions.setdefault(route["team_id"], []).append(version_id)
    return by_team_versions


def _team_rates(
    scale: float, rng: random.Random, versions: dict[int, list[int]]
) -> tuple[int, dict]:
    """Each team's expected patrols a weekday (lognormal: a few teams patrol most nights, many
    once or twice a week; some never) and its routes; and how many teams never patrol."""
    teams = db.session.execute(
        select(Team.id, Team.commune_id)
        .where(Team.dissolved_on.is_(None))
        .where(Team.id.in_(select(TeamArea.team_id).where(TeamArea.active())))
        .order_by(Team.id)
    ).all()
    leader_team = db.session.scalar(
        select(Account.team_id).where(Account.username == DEMO_ACCOUNTS[2][0])
    )
    weights = {}
    idle = 0
    for team_id, _commune in teams:
        if team_id != leader_team and rng.random() < IDLE_SHARE:
            weights[team_id] = 0.0
            idle += 1
        else:
            weights[team_id] = math.exp(rng.gauss(0, 0.8))
    total = sum(weights.values()) or 1.0
    # weekends count 1.4 times a weekday: 5 + 2 * 1.4 = 7.8 weekday-equivalents a week
    per_weekday = HANOI_PATROLS * scale / (DAYS * 7.8 / 7)
    rates = [(t, c, per_weekday * weights[t] / total) for t, c in teams]
    rates = [r for r in rates if r[2] > 0]
    # passed to the statement as arrays: the portal's role may not create temporary tables
    params = {
        "team_ids": [t for t, _c, _r in rates],
        "commune_ids": [c for _t, c, _r in rates],
        "rates": [r for _t, _c, r in rates],
        "versions": ["{" + ",".join(map(str, versions.get(t, []))) + "}" for t, _c, _r in rates],
    }
    return idle, params


PATROLS_OF_DAYS = """
INSERT INTO patrols (team_id, commune_id, route_version_id, day, planned_start, planned_end,
                     status, started_at, ended_at, joint_police, violations, handed_to_police,
                     handover_note, created_at, recorded_at)
SELECT team_id, commune_id, route_version_id, day, planned_start, planned_end, status,
       CASE WHEN status = 'done' THEN started END,
       CASE WHEN status = 'done' THEN started + (planned_end - planned_start)
                                   + make_interval(mins => jitter) END,
       joint, CASE WHEN status = 'done' THEN violations ELSE 0 END,
       CASE WHEN status = 'done' AND violations > 0 AND handed THEN 1 ELSE 0 END,
       CASE WHEN status = 'done' AND violations > 0 AND handed
            THEN 'Chuyển công an xã xử lý theo quy định' END,
       planned_start - interval '3 days',
       CASE WHEN status = 'done' THEN planned_end + interval '2 hours' END
FROM (
    SELECT t.team_id, t.commune_id, d.day::date AS day,
           CASE WHEN cardinality(t.versions) > 0 AND random() < 0.8
                THEN t.versions[1 + floor(random() * cardinality(t.versions))::int] END
               AS route_version_id,
           s.start AS planned_start,
           s.start + make_interval(mins => 120 + floor(random() * 121)::int) AS planned_end,
           CASE WHEN d.day >= :today THEN 'planned'
                WHEN random() < 0.03 THEN 'cancelled' ELSE 'done' END AS status,
           s.start + make_interval(mins => floor(random() * 25)::int - 5) AS started,
           floor(random() * 21)::int - 10 AS jitter,
           random() < 0.15 AS joint,
           CASE WHEN random() < :violation_rate THEN 1 + (random() < 0.15)::int ELSE 0 END
               AS violations,
           random() < 0.4 AS handed
      FROM (SELECT team_id, commune_id, rate, CAST(versions AS integer[]) AS versions
              FROM unnest(CAST(:team_ids AS integer[]), CAST(:commune_ids AS integer[]),
                          CAST(:rates AS float8[]), CAST(:versions AS text[]))
                   AS r(team_id, commune_id, rate, versions)) t
     CROSS JOIN generate_series(CAST(:first AS timestamp), CAST(:last AS timestamp),
                                interval '1 day') AS d(day)
     CROSS JOIN LATERAL generate_series(
           1, floor(t.rate * CASE WHEN extract(isodow FROM d.day) >= 6 THEN 1.4 ELSE 1 END
                    + random())::int) AS k(n)
     CROSS JOIN LATERAL (
           SELECT (d.day + make_interval(
                       hours => (CAST(:hours AS integer[]))[1 + floor(random() * :hour_count)::int],
                       mins => 15 * floor(random() * 4)::int))
                  AT TIME ZONE 'Asia/Ho_Chi_Minh' AS start) s
) generated
"""

FINDINGS = """
INSERT INTO patrol_findings (patrol_id, kind, count)
SELECT id, (CAST(:kinds AS text[]))[1 + floor(random() * :kind_count)::int], violations
  FROM patrols WHERE id > :after AND violations > 0
"""

MEMBERS = """
INSERT INTO patrol_members (patrol_id, member_id, planned, went)
SELECT p.id, m.id, true, p.status = 'done' AND random() > 0.05
  FROM patrols p
 CROSS JOIN LATERAL (
       SELECT id FROM members
        WHERE team_id = p.team_id AND left_on IS NULL
        ORDER BY random() LIMIT 2 + floor(random() * 3)::int) m
 WHERE p.id > :after
"""


def _months(first: date, last: date) -> list[tuple[date, date]]:
    spans = []
    start = first
    while start <= last:
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        end = min(following - timedelta(days=1), last)
        spans.append((start, end))
        start = end + timedelta(days=1)
    return spans


def seed_patrols(
    *,
    scale: float = 1.0,
    today: date | None = None,
    seed: int = 2025,
    progress: Callable[[int, int], None] | None = None,
) -> PatrolSummary:
    """A year of patrols up to `today` and a week ahead, for every team in the database."""
    today = today or date.today()
    rng = random.Random(seed)
    summary = PatrolSummary()
    province = db.session.scalar(select(Area.id).where(Area.level == "province").limit(1))
    tolerance = db.session.scalar(
        select(PatrolRules.route_tolerance_m).where(PatrolRules.province_id == province)
    )
    versions = _routes(50.0 if tolerance is None else tolerance, rng, progress)
    summary.routes = sum(len(v) for v in versions.values())
    summary.idle_teams, rates = _team_rates(scale, rng, versions)
    # one process draws every random number in order: the same seed, the same year
    db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    # the planner guesses millions of rows from generate_series and would spend a second a
    # month compiling the statement with JIT: it runs faster interpreted
    db.session.execute(text("SET LOCAL jit = off"))
    db.session.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
    spans = _months(today - timedelta(days=DAYS), today + timedelta(days=AHEAD))
    violation_rate = HANOI_VIOLATIONS / (HANOI_PATROLS * 0.97 * 1.15)
    for n, (first, last) in enumerate(spans):
        after = db.session.scalar(select(func.coalesce(func.max(Patrol.id), 0)))
        db.session.execute(
            text(PATROLS_OF_DAYS),
            {
                "first": first,
                "last": last,
                "today": today,
                "hours": HOURS,
                "hour_count": len(HOURS),
                "violation_rate": violation_rate,
                **rates,
            },
        )
        kinds = [k for k, w in zip(VIOLATION_KINDS, KIND_WEIGHTS, strict=True) for _ in range(w)]
        db.session.execute(
            text(FINDINGS), {"after": after, "kinds": kinds, "kind_count": len(kinds)}
        )
        db.session.execute(text(MEMBERS), {"after": after})
        if progress:
            progress(n + 1, len(spans))
    counts = db.session.execute(
        select(
            func.count(),
            func.count().filter(Patrol.status == "done"),
            func.coalesce(func.sum(Patrol.violations), 0),
        ).select_from(Patrol)
    ).one()
    summary.patrols, summary.done, summary.violations = (int(v) for v in counts)
    for table in ("patrols", "patrol_members", "patrol_findings", "patrol_activity"):
        db.session.execute(text(f"ANALYZE {table}"))
    return summary
