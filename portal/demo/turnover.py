"""The demo's turnover over its year: about 6% of the serving members leave (moving away, age,
health, resignation) on a day of the year, and most are replaced within two to six weeks by a
newly appointed member, so the review's "members who joined and left" is not zero.

Run after the patrols (`flask seed-turnover`): the year is the patrols' own, and the patrols a
leaver was listed on from the day they left are given to their replacement once appointed, or
meanwhile to another member serving that day (the row is dropped when the whole team was already
out): fit_patrols, which seed-patrols also runs, so a year of patrols made again (--reset) after
the turnover lists only members serving on the day. One leaver a team at most, and none from
teams under three, so no team is left with fewer than two. A leaving leader's deputy (else the
longest-serving member) takes over the same day, changed in place as the portal's own role
correction does (the schema keeps no dated role), and the newcomer takes the deputy's place.
Deterministic for a given seed and database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import func, or_, select, text, update

from portal.coverage import services as coverage
from portal.demo import names
from portal.demo.seed import insert_rows
from portal.extensions import db
from portal.models import Account, Area, Member, Patrol, Team, TeamArea

SEED = 20260115
DAYS = 365
LOCAL_OFFSET = timedelta(hours=7)  # Asia/Ho_Chi_Minh
LEAVE_SHARE = 0.06  # of the members serving when the year starts
MIN_TEAM = 3  # smaller teams (the seed's planted under-staffed ones) lose no one
NOT_REPLACED_SHARE = 0.05  # places the commune leaves empty
SLOW_SHARE = 0.12  # replaced after two to four months
QUICK_DAYS = (14, 42)  # most are replaced within two to six weeks
SLOW_DAYS = (43, 120)
FEMALE_SHARE = 0.18  # as in the seed
EDUCATION = ("lower_secondary", "upper_secondary", "higher")
EDUCATION_WEIGHTS = np.array([0.3, 0.55, 0.15])

Progress = Callable[[str, int, int], None]


@dataclass
class TurnoverSummary:
    first: date | None = None  # the year: [first, stop)
    stop: date | None = None
    left: int = 0
    leaders: int = 0  # leavers who led their team (a deputy or member took over)
    joined: int = 0
    waiting: int = 0  # places still empty at the year's end
    patrol_rows: int = 0  # patrol_members rows given to someone serving that day
    dropped: int = 0  # ... and rows dropped, nobody else of the team being free
    communes: list[int] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _Move:
    team_id: int
    member_id: int
    left_on: date
    replaced_on: date | None  # None: not replaced within the year
    role: str  # the newcomer's role
    replacement_id: int | None = None


def local_today() -> date:
    return (datetime.now(UTC) + LOCAL_OFFSET).date()


def demo_year(today: date | None = None) -> tuple[date, date]:
    """The demo's year [first, stop): the patrols' year when there are patrols (so a database
    seeded on another day keeps its dates), else the 365 days before today."""
    today = today or local_today()
    first = db.session.scalar(select(func.min(Patrol.day)).where(Patrol.status != "planned"))
    if first is None or first >= today:
        return today - timedelta(days=DAYS), today
    return first, min(first + timedelta(days=DAYS), today)


def moves_in(first: date, stop: date) -> int:
    """Members appointed or leaving in [first, stop): the job skips a year that has some."""
    inside = or_(
        Member.appointment_date.between(first, stop - timedelta(days=1)),
        Member.left_on.between(first, stop - timedelta(days=1)),
    )
    return db.session.scalar(select(func.count()).select_from(Member).where(inside)) or 0


def seed_turnover(
    *,
    today: date | None = None,
    seed: int = SEED,
    share: float = LEAVE_SHARE,
    progress: Progress | None = None,
) -> TurnoverSummary:
    """Leavers, their successors as leader, their replacements and the patrols given over."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    first, stop = demo_year(today)
    summary = TurnoverSummary(first=first, stop=stop)
    serving = _serving_at(first, stop)
    if not serving:
        return summary
    moves, promoted = _draw(rng, serving, first, stop, share)
    if progress:
        progress("members", 1, 3)
    _write_members(rng, moves, promoted, first)
    if progress:
        progress("members", 2, 3)
    summary.patrol_rows, summary.dropped = fit_patrols(rng)
    if progress:
        progress("members", 3, 3)
    summary.left = len(moves)
    summary.leaders = len(promoted)
    summary.joined = sum(m.replacement_id is not None for m in moves)
    summary.waiting = summary.left - summary.joined
    team_ids = sorted({m.team_id for m in moves})
    summary.communes = sorted(
        set(db.session.scalars(select(Team.commune_id).where(Team.id.in_(team_ids))))
    )
    # the stored coverage of these communes (team sizes, leaders) no longer holds
    coverage.mark_stale(summary.communes)
    for table in ("members", "patrol_members"):
        db.session.execute(text(f"ANALYZE {table}"))
    summary.seconds = time.perf_counter() - started
    return summary


def _serving_at(first: date, stop: date) -> dict[int, list]:
    """The members serving when the year starts, by team, in teams that last the year (except
    the demo leader's, whose signed-in page keeps its people)."""
    leader_team = db.session.scalar(select(Account.team_id).where(Account.username == "totruong"))
    rows = db.session.execute(
        select(Member.id, Member.team_id, Member.role, Member.birth_date, Member.appointment_date)
        .join(Team, Team.id == Member.team_id)
        .where(
            Member.left_on.is_(None),
            Member.appointment_date < first,
            Team.established_on < first,
            or_(Team.dissolved_on.is_(None), Team.dissolved_on >= stop),
            Team.id != (leader_team or 0),
        )
        .order_by(Member.team_id, Member.id)
    ).all()
    teams: dict[int, list] = {}
    for row in rows:
        teams.setdefault(row.team_id, []).append(row)
    return teams


def _draw(rng, serving: dict[int, list], first: date, stop: date, share: float):
    """Who leaves when, who takes over a leader's place, and when each place is filled."""
    team_ids = np.array([t for t, rows in serving.items() if len(rows) >= MIN_TEAM])
    if len(team_ids) == 0:
        return [], {}
    sizes = np.array([len(serving[int(t)]) for t in team_ids], dtype=float)
    count = min(round(share * sizes.sum()), len(team_ids))
    # one leaver a team at most, larger teams more likely
    chosen = np.sort(rng.choice(team_ids, count, replace=False, p=sizes / sizes.sum()))
    days = (stop - first).days
    moves, promoted = [], {}
    for team_id in chosen.tolist():
        rows = serving[team_id]
        # the old leave more (age, health); leaders a little less
        weights = np.array(
            [
                (2.5 if (first - r.birth_date).days >= 60 * 365 else 1.0)
                * (0.6 if r.role == "leader" else 1.0)
                for r in rows
            ]
        )
        leaver = rows[rng.choice(len(rows), p=weights / weights.sum())]
        left_on = first + timedelta(days=int(rng.integers(1, days)))
        luck = rng.random()
        if luck < NOT_REPLACED_SHARE:
            replaced_on = None
        else:
            low, high = SLOW_DAYS if luck < NOT_REPLACED_SHARE + SLOW_SHARE else QUICK_DAYS
            replaced_on = left_on + timedelta(days=int(rng.integers(low, high + 1)))
            if replaced_on >= stop:
                replaced_on = None  # still waiting when the year ends
        role = leaver.role
        if role == "leader":
            others = [r for r in rows if r.id != leaver.id]
            deputies = [r for r in others if r.role == "deputy"]
            # the deputy takes over, else the longest-serving member
            successor = (deputies or sorted(others, key=lambda r: (r.appointment_date, r.id)))[0]
            promoted[successor.id] = team_id
            role = successor.role
        moves.append(_Move(team_id, leaver.id, left_on, replaced_on, role))
    return moves, promoted


def _write_members(rng, moves: list[_Move], promoted: dict[int, int], first: date) -> None:
    """The leavings, then the promotions (the one-leader index sees the old leader gone), then
    the newcomers, each a few statements."""
    if not moves:
        return
    db.session.execute(
        update(Member),
        [{"id": m.member_id, "left_on": m.left_on, "left_decision": _decision(rng)} for m in moves],
    )
    if promoted:
        db.session.execute(
            update(Member).where(Member.id.in_(list(promoted))).values(role="leader")
        )
    replaced = [m for m in moves if m.replaced_on is not None]
    if not replaced:
        return
    team_ids = sorted({m.team_id for m in replaced})
    commune_names = dict(
        db.session.execute(
            select(Team.id, Area.name)
            .join(Area, Area.id == Team.commune_id)
            .where(Team.id.in_(team_ids))
        ).all()
    )
    villages: dict[int, list] = {}
    for row in db.session.execute(
        select(TeamArea.team_id, TeamArea.area_id, TeamArea.valid_from, TeamArea.valid_to)
        .where(TeamArea.team_id.in_(team_ids))
        .order_by(TeamArea.team_id, TeamArea.area_id, TeamArea.valid_from)
    ):
        villages.setdefault(row.team_id, []).append(row)
    rows = []
    for move in replaced:
        day = move.replaced_on
        # the law: living in one of the team's villages (for a year at least) on appointment
        here = [
            v.area_id
            for v in villages.get(move.team_id, [])
            if v.valid_from <= day and (v.valid_to is None or v.valid_to > day)
        ]
        area_id = here[int(rng.integers(len(here)))] if here else None
        rows.append(_newcomer(rng, move, area_id, commune_names[move.team_id]))
    for move, member_id in zip(replaced, insert_rows(Member, rows), strict=True):
        move.replacement_id = member_id


def _newcomer(rng, move: _Move, area_id: int | None, commune_name: str) -> dict:
    """A newly appointed member: 22 to 60, lower-secondary school or more, living there."""
    female = rng.random() < FEMALE_SHARE
    middle = _pick(rng, names.MIDDLE_FEMALE if female else names.MIDDLE_MALE)
    given = _pick(rng, names.GIVEN_FEMALE if female else names.GIVEN_MALE)
    age = int(rng.integers(22, 61))
    appointed = move.replaced_on
    birth = appointed - timedelta(days=age * 365 + int(rng.integers(0, 365)))
    # resident there from birth or for some years, one year before the appointment at least
    lived = int(rng.integers(2, age + 1))
    since = max(birth, appointed - timedelta(days=lived * 365 + int(rng.integers(0, 365))))
    return {
        "team_id": move.team_id,
        "full_name": f"{_pick(rng, names.SURNAMES)} {middle} {given}",
        "role": move.role,
        "phone": _pick(rng, ("09", "03", "08", "07"))
        + "".join(map(str, rng.integers(0, 10, 8).tolist())),
        "birth_date": birth,
        "residence_area_id": area_id,
        "resident_since": since if area_id else None,
        "education": EDUCATION[rng.choice(len(EDUCATION), p=EDUCATION_WEIGHTS)],
        "appointment_number": _decision(rng),
        "appointment_date": appointed,
        "appointment_signer": f"Chủ tịch UBND {commune_name}",
    }


def _pick(rng, values: tuple[str, ...]) -> str:
    return values[int(rng.integers(len(values)))]


def _decision(rng) -> str:
    return f"{int(rng.integers(1, 1000))}/QĐ-UBND"


def fit_patrols(rng: np.random.Generator | None = None) -> tuple[int, int]:
    """Patrols listing a member on a day they did not serve (before their appointment, from
    their leaving): the place goes to the newest teammate serving that day and not on it (a
    leaver's replacement once appointed, meanwhile anyone), else the row is dropped. Also what
    keeps a year of patrols seeded again after the turnover (seed-patrols --reset) right."""
    rng = rng or np.random.default_rng(SEED)
    affected = db.session.execute(
        text(
            "SELECT pm.patrol_id, pm.member_id, p.day, p.team_id FROM patrol_members pm"
            " JOIN patrols p ON p.id = pm.patrol_id JOIN members m ON m.id = pm.member_id"
            " WHERE p.day < m.appointment_date OR p.day >= m.left_on"
            " ORDER BY pm.patrol_id, pm.member_id"
        )
    ).all()
    if not affected:
        return 0, 0
    listed: dict[int, set[int]] = {}
    for patrol_id, member_id in db.session.execute(
        text("SELECT patrol_id, member_id FROM patrol_members WHERE patrol_id = ANY(:ids)"),
        {"ids": sorted({r.patrol_id for r in affected})},
    ):
        listed.setdefault(patrol_id, set()).add(member_id)
    roster: dict[int, list] = {}
    for row in db.session.execute(
        select(Member.team_id, Member.id, Member.appointment_date, Member.left_on)
        .where(Member.team_id.in_({r.team_id for r in affected}))
        .order_by(Member.team_id, Member.id)
    ):
        roster.setdefault(row.team_id, []).append(row)
    given, dropped = [], []
    for patrol_id, member_id, day, team_id in affected:
        on = listed[patrol_id]
        free = [
            r
            for r in roster[team_id]
            if r.appointment_date <= day
            and (r.left_on is None or r.left_on > day)
            and r.id not in on
        ]
        on.discard(member_id)
        if not free:
            dropped.append((patrol_id, member_id))
            continue
        newest = max(r.appointment_date for r in free)
        ties = [r.id for r in free if r.appointment_date == newest]
        new = ties[int(rng.integers(len(ties)))]
        given.append((patrol_id, member_id, new))
        on.add(new)
    if given:
        patrols, olds, news = map(list, zip(*given, strict=True))
        db.session.execute(
            text(
                "UPDATE patrol_members pm SET member_id = g.new"
                " FROM unnest(CAST(:patrols AS bigint[]), CAST(:olds AS bigint[]),"
                "             CAST(:news AS bigint[])) AS g(patrol_id, old, new)"
                " WHERE pm.patrol_id = g.patrol_id AND pm.member_id = g.old"
            ),
            {"patrols": patrols, "olds": olds, "news": news},
        )
    if dropped:
        patrols, olds = map(list, zip(*dropped, strict=True))
        db.session.execute(
            text(
                "DELETE FROM patrol_members pm"
                " USING unnest(CAST(:patrols AS bigint[]), CAST(:olds AS bigint[]))"
                "   AS d(patrol_id, old)"
                " WHERE pm.patrol_id = d.patrol_id AND pm.member_id = d.old"
            ),
            {"patrols": patrols, "olds": olds},
        )
    return len(given), len(dropped)
