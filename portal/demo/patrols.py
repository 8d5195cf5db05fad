"""The demo's year of patrols: routes inside each team's villages, then a year of Hanoi-scale
patrols (about 532,000 done, 3,100 violations found) and next week's plans.

Spread as a city's would be: more at night and at weekends, some teams far more active than
others, a few that never patrol (their villages show as unpatrolled). Generated month by month
in numpy and written with COPY, so a month is one statement: the statement-level triggers on
patrols (migration 0010) then fill patrol_activity in one pass per month. Deterministic for a
given seed and database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import LineString, MultiLineString
from sqlalchemy import delete, func, select, text, update

from geo.routes import Village, check_route
from geo.routes import length_m as geodesic_length
from portal.demo.seed import insert_rows
from portal.extensions import db
from portal.models import (
    Account,
    Area,
    Member,
    Patrol,
    PatrolActivity,
    PatrolFinding,
    PatrolMember,
    PatrolRoute,
    PatrolRules,
    PatrolTrack,
    RouteVersion,
    Team,
    TeamArea,
)
from portal.models.patrol import VIOLATION_KINDS

SEED = 20250701
PATROLS_A_YEAR = 532_000  # done patrols city-wide in a year, Hanoi's scale
VIOLATIONS_A_YEAR = 3_100
DAYS = 365
PLANNED_DAYS = 7
LOCAL_OFFSET = timedelta(hours=7)  # Asia/Ho_Chi_Minh: UTC+7 all year, no daylight saving
IDLE_TEAM_SHARE = 0.02  # teams that never patrol
CANCELLED_SHARE = 0.03
JOINT_POLICE_SHARE = 0.15
ON_ROUTE_SHARE = 0.8
HANDED_SHARE = 0.3  # of the violations found, handed over to the commune police
ABSENT_SHARE = 0.12  # patrols of three or more where one planned member did not go
DEFAULT_TOLERANCE_M = 50.0
ROUTE_TRIES = 6

# Local start hour: mostly the evening and the night (19:00–02:00), some daytime rounds.
HOUR_WEIGHTS = np.array(
    [7, 4, 1, 0, 0, 0, 0, 2, 3, 3, 2, 1, 0.5, 1, 2, 2, 2, 1, 2, 9, 14, 14, 11, 9], dtype=float
)
# Monday … Sunday: more at the weekend.
WEEKDAY_WEIGHTS = np.array([1.0, 1.0, 1.0, 1.05, 1.2, 1.55, 1.45])
DURATIONS_H = np.array([2.0, 2.5, 3.0, 3.5, 4.0])
DURATION_WEIGHTS = np.array([0.25, 0.2, 0.3, 0.1, 0.15])
KIND_WEIGHTS = np.array([0.22, 0.17, 0.12, 0.05, 0.08, 0.05, 0.09, 0.17, 0.05])
LEADER_ROUTES = ("Tuyến chợ – trường học", "Tuyến ven đê ban đêm")
HANDOVER_NOTE = "Bàn giao cho công an xã xử lý."

PATROL_COLUMNS = (
    "id",
    "team_id",
    "commune_id",
    "route_version_id",
    "day",
    "planned_start",
    "planned_end",
    "status",
    "started_at",
    "ended_at",
    "joint_police",
    "violations",
    "handed_to_police",
    "handover_note",
    "created_at",
    "recorded_at",
)

Progress = Callable[[str, int, int], None]


@dataclass
class PatrolSummary:
    routes: int = 0
    patrols: int = 0  # done
    cancelled: int = 0
    planned: int = 0
    violations: int = 0
    handed_to_police: int = 0
    members: int = 0  # patrol_members rows
    teams_patrolling: int = 0
    teams_idle: int = 0
    seconds: float = 0.0


@dataclass
class _Teams:
    """The active teams as arrays, in id order: what the month loop indexes."""

    ids: np.ndarray
    communes: np.ndarray
    established: np.ndarray  # datetime64[D]
    members: np.ndarray  # teams × 5, serving member ids, -1 padded
    sizes: np.ndarray
    weights: np.ndarray  # 0 for the teams that never patrol
    routes: list[list[int]]  # route version ids per team


def seed_patrols(
    *,
    scale: float = 1.0,
    today: date | None = None,
    seed: int = SEED,
    progress: Progress | None = None,
) -> PatrolSummary:
    """Routes for every active team, a year of patrols up to `today` and the next week's plans."""
    started = time.perf_counter()
    today = today or (datetime.now(UTC) + LOCAL_OFFSET).date()
    rng = np.random.default_rng(seed)
    summary = PatrolSummary()
    teams = _load_teams(today, rng)
    if teams is None:
        return summary
    summary.teams_idle = int((teams.weights == 0).sum())
    summary.teams_patrolling = len(teams.ids) - summary.teams_idle
    first = today - timedelta(days=DAYS)
    summary.routes = _make_routes(teams, today, first, seed, progress)

    days = np.arange(np.datetime64(first), np.datetime64(today))
    target = round(PATROLS_A_YEAR * scale)
    per_day = rng.multinomial(round(target / (1 - CANCELLED_SHARE)), _day_weights(days))
    months = days.astype("datetime64[M]")
    month_keys = np.unique(months)
    # the year's violations shared out over the months as their patrols are
    month_share = np.array([per_day[months == m].sum() for m in month_keys], dtype=float)
    violations = rng.multinomial(
        round(VIOLATIONS_A_YEAR * scale), month_share / max(month_share.sum(), 1)
    )
    raw = db.session.connection().connection.driver_connection
    total = len(month_keys) + 1
    for n, month in enumerate(month_keys):
        inside = months == month
        day_of = np.repeat(days[inside], per_day[inside])
        _write_month(raw, rng, teams, day_of, int(violations[n]), summary)
        if progress:
            progress("patrols", n + 1, total)
    _write_planned(raw, rng, teams, today, summary)
    if progress:
        progress("patrols", total, total)
    for table in (
        "patrol_routes",
        "route_versions",
        "patrols",
        "patrol_members",
        "patrol_findings",
        "patrol_activity",
    ):
        db.session.execute(text(f"ANALYZE {table}"))
    summary.seconds = time.perf_counter() - started
    return summary


def clear_patrols() -> None:
    """Delete every route and patrol (and, through the triggers, the activity they made)."""
    db.session.execute(update(PatrolRoute).values(current_version_id=None))
    for model in (PatrolTrack, PatrolFinding, PatrolMember, Patrol, PatrolActivity):
        db.session.execute(delete(model))
    db.session.execute(delete(RouteVersion))
    db.session.execute(delete(PatrolRoute))


def _load_teams(today: date, rng: np.random.Generator) -> _Teams | None:
    rows = db.session.execute(
        select(Team.id, Team.commune_id, Team.established_on)
        .where(Team.established_on <= today)
        .where((Team.dissolved_on.is_(None)) | (Team.dissolved_on > today))
        .order_by(Team.id)
    ).all()
    if not rows:
        return None
    ids = np.array([r.id for r in rows], dtype=np.int64)
    index = {int(t): i for i, t in enumerate(ids)}
    members = np.full((len(ids), 5), -1, dtype=np.int64)
    sizes = np.zeros(len(ids), dtype=np.int64)
    for team_id, member_id in db.session.execute(
        select(Member.team_id, Member.id)
        .where((Member.left_on.is_(None)) | (Member.left_on > today))
        .order_by(Member.team_id, Member.role != "leader", Member.id)
    ):
        i = index.get(team_id)
        if i is not None and sizes[i] < members.shape[1]:
            members[i, sizes[i]] = member_id
            sizes[i] += 1
    # some teams much more active than others; a few never go out
    weights = np.minimum(rng.lognormal(0.0, 0.7, len(ids)), 6.0)
    leader_team = db.session.scalar(select(Account.team_id).where(Account.username == "totruong"))
    leader = index.get(leader_team, -1)
    if leader >= 0:  # the demo leader's week and history show something
        weights[leader] = max(weights[leader], 1.5)
    # a fixed share, at least one: the planners' maps always have unpatrolled villages to show
    others = np.array([i for i in range(len(ids)) if i != leader], dtype=np.int64)
    idle = max(1, round(IDLE_TEAM_SHARE * len(ids))) if len(others) >= 20 else 0
    weights[rng.choice(others, idle, replace=False) if idle else []] = 0.0
    weights[sizes == 0] = 0.0
    return _Teams(
        ids=ids,
        communes=np.array([r.commune_id for r in rows], dtype=np.int64),
        established=np.array([np.datetime64(r.established_on) for r in rows]),
        members=members,
        sizes=sizes,
        weights=weights,
        routes=[[] for _ in rows],
    )


def _day_weights(days: np.ndarray) -> np.ndarray:
    weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday
    month = days.astype("datetime64[M]").view("int64") % 12  # 0 = January
    # the weeks before Tết (January, February) and the year's end are busier
    season = np.where(np.isin(month, (0, 1, 11)), 1.15, 1.0)
    weights = WEEKDAY_WEIGHTS[weekday] * season
    return weights / weights.sum()


# --- routes ---------------------------------------------------------------------------------


def _make_routes(teams: _Teams, today: date, first: date, seed: int, progress) -> int:
    """One or two routes per active team inside its villages, each one passing check_route."""
    index = {int(t): i for i, t in enumerate(teams.ids)}
    villages: dict[int, list[Village]] = {}
    for team_id, area_id, name, geom in db.session.execute(
        select(TeamArea.team_id, Area.id, Area.name, Area.geom)
        .join(Area, Area.id == TeamArea.area_id)
        .where(TeamArea.valid_from <= today)
        .where((TeamArea.valid_to.is_(None)) | (TeamArea.valid_to > today))
        .order_by(TeamArea.team_id, Area.id)
    ):
        if team_id in index:
            villages.setdefault(team_id, []).append(Village(area_id, name, to_shape(geom)))
    tolerance = _tolerances()
    commune_province = dict(
        db.session.execute(select(Area.id, Area.parent_id).where(Area.level == "commune")).all()
    )
    leader_team = db.session.scalar(select(Account.team_id).where(Account.username == "totruong"))
    drawn_at = datetime.combine(first - timedelta(days=1), datetime.min.time(), UTC)
    routes, versions, owners = [], [], []
    team_list = sorted(villages)
    for n, team_id in enumerate(team_list, start=1):
        i = index[team_id]
        commune = int(teams.communes[i])
        limit = tolerance.get(commune_province.get(commune), DEFAULT_TOLERANCE_M)
        own = villages[team_id]
        count = 2 if team_id == leader_team else 1 + int(_team_rng(seed, team_id, 0).random() < 0.4)
        for k in range(count):
            drawn = _draw_route(own, limit, _team_rng(seed, team_id, k + 1))
            if drawn is None:
                continue
            line, check = drawn
            if team_id == leader_team:
                name = LEADER_ROUTES[k]
            else:
                name = f"Tuyến {'vòng' if k else 'chính'} {own[0].name}"
            routes.append(
                {"team_id": team_id, "commune_id": commune, "name": name, "created_at": drawn_at}
            )
            versions.append(
                {
                    "number": 1,
                    "geom": from_shape(line, srid=4326),
                    "length_m": geodesic_length(line),
                    "outside_m": check.outside_m,
                    "area_ids": check.area_ids,
                    "created_at": drawn_at,
                    "created_by": "demo",
                }
            )
            owners.append(i)
        if progress and (n % 200 == 0 or n == len(team_list)):
            progress("routes", n, len(team_list))
    if not routes:
        return 0
    route_ids = insert_rows(PatrolRoute, routes)
    for version, route_id in zip(versions, route_ids, strict=True):
        version["route_id"] = route_id
    version_ids = insert_rows(RouteVersion, versions)
    db.session.execute(
        update(PatrolRoute),
        [{"id": r, "current_version_id": v} for r, v in zip(route_ids, version_ids, strict=True)],
    )
    for i, version_id in zip(owners, version_ids, strict=True):
        teams.routes[i].append(version_id)
    return len(route_ids)


def _tolerances() -> dict[int, float]:
    return {
        r.province_id: r.route_tolerance_m for r in db.session.scalars(select(PatrolRules)).all()
    }


def _team_rng(seed: int, team_id: int, k: int) -> np.random.Generator:
    """A team's own random stream: its routes do not depend on the other teams'."""
    return np.random.default_rng([seed, team_id, k])


def _draw_route(villages: list[Village], tolerance: float, rng: np.random.Generator):
    """A polyline through a few points inside the villages, ordered around their centre so it
    reads like a round; clipped to the villages when the straight legs cut outside."""
    shape = shapely.union_all([v.shape for v in villages])
    minx, miny, maxx, maxy = shape.bounds
    for attempt in range(ROUTE_TRIES):
        xs = rng.uniform(minx, maxx, 64)
        ys = rng.uniform(miny, maxy, 64)
        inside = shapely.contains_xy(shape, xs, ys)
        points = np.column_stack([xs[inside], ys[inside]])[: int(rng.integers(3, 7))]
        if len(points) < 2:
            continue
        centre = points.mean(axis=0)
        points = points[np.argsort(np.arctan2(*(points - centre).T[::-1]))]
        line = MultiLineString([LineString(points)])
        if attempt == ROUTE_TRIES - 1:  # the last try keeps what lies inside
            clipped = line.intersection(shape)
            parts = [
                g
                for g in getattr(clipped, "geoms", [clipped])
                if isinstance(g, LineString) and g.length > 0
            ]
            if not parts:
                return None
            line = MultiLineString(parts)
        check = check_route(line, villages, tolerance)
        if check.ok and check.area_ids and check.length_m > 50:
            return line, check
    return None


# --- patrols --------------------------------------------------------------------------------


def _write_month(raw, rng, teams: _Teams, day_of, violations: int, summary) -> None:
    """One month's patrols: drawn in numpy, written with one COPY per table."""
    n = len(day_of)
    if n == 0:
        return
    team_of = _pick_teams(rng, teams, day_of)
    day_of, team_of = day_of[team_of >= 0], team_of[team_of >= 0]
    n = len(day_of)
    if n == 0:
        return
    order = np.lexsort((team_of, day_of))  # ids in day order, like a year recorded as it went
    day_of, team_of = day_of[order], team_of[order]
    hours = rng.choice(24, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    start_s = hours * 3600 + rng.integers(0, 4, n) * 900
    length_s = (rng.choice(DURATIONS_H, n, p=DURATION_WEIGHTS) * 3600).astype(np.int64)
    midnight = day_of.astype("datetime64[s]") - np.timedelta64(7, "h")  # local midnight in UTC
    planned_start = midnight + start_s.astype("timedelta64[s]")
    planned_end = planned_start + length_s.astype("timedelta64[s]")
    late = np.clip(rng.normal(300, 420, n), -600, 1800).astype(np.int64)
    started = planned_start + late.astype("timedelta64[s]")
    over = np.clip(rng.normal(0, 900, n), -1800, 2700).astype(np.int64)
    ended = np.maximum(
        planned_end + over.astype("timedelta64[s]"), started + np.timedelta64(1800, "s")
    )
    cancelled = rng.random(n) < CANCELLED_SHARE
    done = ~cancelled
    joint = rng.random(n) < JOINT_POLICE_SHARE
    route = _pick_routes(rng, teams, team_of)

    # violations: where joint patrols and night rounds find more
    counts = np.zeros((n, len(VIOLATION_KINDS)), dtype=np.int64)
    weight = done * (1 + joint) * np.where((hours >= 19) | (hours < 2), 1.5, 1.0)
    if violations and weight.sum():
        found_on = rng.choice(n, violations, p=weight / weight.sum())
        kinds = rng.choice(len(VIOLATION_KINDS), violations, p=KIND_WEIGHTS / KIND_WEIGHTS.sum())
        np.add.at(counts, (found_on, kinds), 1)
    found = counts.sum(axis=1)
    handed = rng.binomial(found, HANDED_SHARE)

    ids = _next_ids(raw, n)
    created = planned_start - rng.integers(1, 4, n).astype("timedelta64[D]")
    recorded = ended + rng.integers(600, 7200, n).astype("timedelta64[s]")
    rows = {
        "id": ids,
        "team_id": teams.ids[team_of],
        "commune_id": teams.communes[team_of],
        "route_version_id": route,
        "day": day_of,
        "planned_start": _stamps(planned_start),
        "planned_end": _stamps(planned_end),
        "status": np.where(done, "done", "cancelled"),
        "started_at": _stamps(started, done),
        "ended_at": _stamps(ended, done),
        "joint_police": joint,
        "violations": found,
        "handed_to_police": handed,
        "handover_note": np.where(handed > 0, HANDOVER_NOTE, None),
        "created_at": _stamps(created),
        "recorded_at": _stamps(np.where(done, recorded, created)),
    }
    _copy(raw, "patrols", PATROL_COLUMNS, rows, n)
    _write_members(raw, rng, teams, ids, team_of, np.where(done, 1, 0), summary)
    at, kind = np.nonzero(counts)
    _copy(
        raw,
        "patrol_findings",
        ("patrol_id", "kind", "count"),
        {
            "patrol_id": ids[at],
            "kind": np.array(VIOLATION_KINDS, dtype=object)[kind],
            "count": counts[at, kind],
        },
        len(at),
    )
    summary.patrols += int(done.sum())
    summary.cancelled += int(cancelled.sum())
    summary.violations += int(found.sum())
    summary.handed_to_police += int(handed.sum())


def _write_planned(raw, rng, teams: _Teams, today: date, summary) -> None:
    """The coming week's plans: one to three evening rounds for every team that patrols."""
    active = np.nonzero(teams.weights > 0)[0]
    if len(active) == 0:
        return
    per_team = rng.integers(1, 4, len(active))
    team_of = np.repeat(active, per_team)
    n = len(team_of)
    offsets = np.concatenate([rng.choice(PLANNED_DAYS, k, replace=False) for k in per_team])
    day_of = np.datetime64(today) + offsets.astype("timedelta64[D]")
    order = np.lexsort((team_of, day_of))
    day_of, team_of = day_of[order], team_of[order]
    hours = rng.choice((19, 20, 21, 22), n)
    planned_start = (
        day_of.astype("datetime64[s]")
        - np.timedelta64(7, "h")
        + (hours * 3600 + rng.integers(0, 4, n) * 900).astype("timedelta64[s]")
    )
    planned_end = planned_start + (rng.choice(DURATIONS_H, n) * 3600).astype("timedelta64[s]")
    created = np.datetime64(today) - np.timedelta64(7, "h") + np.timedelta64(8, "h")
    ids = _next_ids(raw, n)
    rows = {
        "id": ids,
        "team_id": teams.ids[team_of],
        "commune_id": teams.communes[team_of],
        "route_version_id": _pick_routes(rng, teams, team_of),
        "day": day_of,
        "planned_start": _stamps(planned_start),
        "planned_end": _stamps(planned_end),
        "status": np.full(n, "planned", dtype=object),
        "started_at": np.full(n, None),
        "ended_at": np.full(n, None),
        "joint_police": rng.random(n) < JOINT_POLICE_SHARE,
        "violations": np.zeros(n, dtype=np.int64),
        "handed_to_police": np.zeros(n, dtype=np.int64),
        "handover_note": np.full(n, None),
        "created_at": _stamps(np.full(n, created.astype("datetime64[s]"))),
        "recorded_at": np.full(n, None),
    }
    _copy(raw, "patrols", PATROL_COLUMNS, rows, n)
    _write_members(raw, rng, teams, ids, team_of, np.full(n, 0), summary, planned_only=True)
    summary.planned += n


def _pick_teams(rng, teams: _Teams, day_of: np.ndarray) -> np.ndarray:
    """The team of each patrol, by the teams' weights among those established on its day."""
    team_of = np.full(len(day_of), -1, dtype=np.int64)
    for day in np.unique(day_of):
        at = np.nonzero(day_of == day)[0]
        weights = teams.weights * (teams.established <= day)
        if weights.sum() > 0:
            team_of[at] = rng.choice(len(weights), len(at), p=weights / weights.sum())
    return team_of


def _pick_routes(rng, teams: _Teams, team_of: np.ndarray) -> np.ndarray:
    """One of the team's routes for most patrols (None for the rest and for teams without)."""
    on_route = rng.random(len(team_of)) < ON_ROUTE_SHARE
    choice = rng.random(len(team_of))
    route = np.full(len(team_of), None, dtype=object)
    for i in np.nonzero(on_route)[0]:
        own = teams.routes[team_of[i]]
        if own:
            route[i] = own[int(choice[i] * len(own))]
    return route


def _write_members(
    raw, rng, teams: _Teams, ids, team_of, done, summary, planned_only: bool = False
) -> None:
    """Two to four of the team's serving members per patrol; now and then one stayed home."""
    n = len(ids)
    roster = teams.members[team_of]
    keys = rng.random(roster.shape)
    keys[roster < 0] = 2.0  # empty places sort last
    picked = np.take_along_axis(roster, np.argsort(keys, axis=1), axis=1)
    size = np.minimum(rng.integers(2, 5, n), teams.sizes[team_of])
    column = np.arange(roster.shape[1])
    on = column[None, :] < size[:, None]
    went = on & (done[:, None] == 1)
    absent = (size >= 3) & (rng.random(n) < ABSENT_SHARE)
    went[absent, size[absent] - 1] = False
    if planned_only:
        went[:] = False
    rows, cols = np.nonzero(on)
    _copy(
        raw,
        "patrol_members",
        ("patrol_id", "member_id", "planned", "went"),
        {
            "patrol_id": ids[rows],
            "member_id": picked[rows, cols],
            "planned": np.ones(len(rows), dtype=bool),
            "went": went[rows, cols],
        },
        len(rows),
    )
    summary.members += len(rows)


def _next_ids(raw, n: int) -> np.ndarray:
    """n ids from the patrols' sequence, so members and findings can name their patrol."""
    with raw.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('patrols', 'id')) FROM generate_series(1, %s)",
            (n,),
        )
        return np.array([r[0] for r in cursor.fetchall()], dtype=np.int64)


def _stamps(values: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """UTC instants as COPY text; None where `keep` is false."""
    out = np.char.add(np.datetime_as_string(values.astype("datetime64[s]"), unit="s"), "+00")
    out = out.astype(object)
    if keep is not None:
        out[~keep] = None
    return out


def _copy(raw, table: str, columns: tuple[str, ...], rows: dict, n: int) -> None:
    """Rows as COPY text in one statement (its triggers then run once for all of them)."""
    if n == 0:
        return
    texts = [_column_text(rows[c]) for c in columns]
    body = "".join("\t".join(fields) + "\n" for fields in zip(*texts, strict=True))
    with raw.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        copy.write(body)


def _column_text(values: np.ndarray) -> list[str]:
    if values.dtype == bool:
        return ["t" if v else "f" for v in values.tolist()]
    if values.dtype.kind == "M":
        return [str(v) for v in values.astype("datetime64[D]").tolist()]
    return ["\\N" if v is None else str(v) for v in values.tolist()]


def patrol_count() -> int:
    """How many patrols the database holds (the job skips a database that has some)."""
    return db.session.scalar(select(func.count()).select_from(Patrol)) or 0
