"""The demo's year of patrols on the three-commune demo, at a small scale: its totals and spread,
routes that pass their own check, and patrol_activity kept right by the migration's triggers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import Integer, delete, func, select, text, update

from geo.routes import Village, check_route
from portal.demo.patrols import (
    PATROLS_A_YEAR,
    VIOLATIONS_A_YEAR,
    clear_patrols,
    seed_patrols,
)
from portal.demo.seed import _wipe
from portal.models import (
    Account,
    Area,
    Job,
    Patrol,
    PatrolActivity,
    PatrolFinding,
    PatrolMember,
    PatrolRoute,
    RouteVersion,
    Team,
    TeamArea,
)
from tests.conftest import copy_in, rolled_back_session

SCALE = 0.01  # 5,320 patrols and 31 violations over the demo's three communes
TODAY = date(2026, 11, 29)


def activity(session) -> dict[tuple[date, int], tuple[int, int]]:
    """patrol_activity as the triggers left it (rows brought back to zero do not count)."""
    return {
        (r.month, r.area_id): (r.patrols, r.violations)
        for r in session.scalars(select(PatrolActivity))
        if r.patrols or r.violations
    }


def activity_from_patrols(session) -> dict[tuple[date, int], tuple[int, int]]:
    """The same figures from the raw rows: a done patrol counts for its route version's villages,
    or for its team's villages on its day when it had no route."""
    rows = session.execute(
        text(
            """
            WITH done AS (SELECT * FROM patrols WHERE status = 'done'),
            counted AS (
                SELECT d.id, d.day, d.violations, unnest(v.area_ids) AS area_id
                  FROM done d JOIN route_versions v ON v.id = d.route_version_id
                 WHERE cardinality(v.area_ids) > 0
                UNION ALL
                SELECT d.id, d.day, d.violations, t.area_id
                  FROM done d
                  LEFT JOIN route_versions v ON v.id = d.route_version_id
                  JOIN team_areas t ON t.team_id = d.team_id AND t.valid_from <= d.day
                   AND (t.valid_to IS NULL OR t.valid_to > d.day)
                 WHERE v.id IS NULL OR cardinality(v.area_ids) = 0
            )
            SELECT date_trunc('month', day)::date AS month, area_id,
                   count(*) AS patrols, sum(violations) AS violations
              FROM counted GROUP BY 1, 2
            """
        )
    ).all()
    return {(r.month, r.area_id): (r.patrols, r.violations) for r in rows if r.patrols}


def done_count(session) -> int:
    return session.scalar(select(func.count()).where(Patrol.status == "done"))


# Tests that make their own year come first: the module's shared year (below) holds the demo's
# rows uncommitted on its own connection, and a test copying them in again would wait on it.


def test_the_demo_reset_wipes_the_patrols_too(demo):
    seed_patrols(scale=0.002, today=TODAY)
    _wipe()
    for model in (Patrol, PatrolMember, PatrolFinding, RouteVersion, PatrolRoute, Area, Team):
        assert not demo.scalar(select(func.count()).select_from(model)), model
    assert not demo.scalar(select(func.count()).select_from(PatrolActivity))


def test_activity_follows_updates_and_deletes(demo):
    seed_patrols(scale=0.004, today=TODAY)
    assert activity(demo) == activity_from_patrols(demo)
    done = demo.scalars(
        select(Patrol.id).where(Patrol.status == "done").order_by(Patrol.id).limit(40)
    ).all()
    # cancel one, change another's violations, record a planned one as done
    demo.execute(update(Patrol).where(Patrol.id == done[0]).values(status="cancelled"))
    demo.execute(update(Patrol).where(Patrol.id == done[1]).values(violations=7))
    planned = demo.scalar(select(Patrol).where(Patrol.status == "planned").limit(1))
    demo.execute(
        update(Patrol)
        .where(Patrol.id == planned.id)
        .values(
            status="done",
            started_at=planned.planned_start,
            ended_at=planned.planned_end,
            violations=2,
        )
    )
    # move one onto no route (its team's villages then count it), and one bulk update
    demo.execute(update(Patrol).where(Patrol.id == done[2]).values(route_version_id=None))
    demo.execute(
        update(Patrol).where(Patrol.id.in_(done[3:20])).values(violations=Patrol.violations + 1)
    )
    assert activity(demo) == activity_from_patrols(demo)
    demo.execute(delete(Patrol).where(Patrol.id.in_(done[20:40])))
    demo.execute(delete(Patrol).where(Patrol.id == planned.id))
    assert activity(demo) == activity_from_patrols(demo)
    clear_patrols()
    assert activity(demo) == {} and not demo.scalar(select(func.count(RouteVersion.id)))


def test_the_same_seed_gives_the_same_year(demo):
    def fingerprint():
        return demo.execute(
            text(
                "SELECT count(*), sum(violations), sum(team_id * extract(doy FROM day)),"
                " sum(extract(epoch FROM planned_start)), count(route_version_id),"
                " (SELECT count(*) FROM patrol_members),"
                # rounded: a sum of floats may differ in its last digit with the order summed
                " (SELECT round(sum(length_m)::numeric, 3) FROM route_versions)"
                " FROM patrols"
            )
        ).one()

    first = seed_patrols(scale=0.003, today=TODAY, seed=7)
    once = fingerprint()
    clear_patrols()
    again = seed_patrols(scale=0.003, today=TODAY, seed=7)
    assert fingerprint() == once and again.patrols == first.patrols
    clear_patrols()
    seed_patrols(scale=0.003, today=TODAY, seed=8)
    assert fingerprint() != once


def test_the_cli_runs_it_as_a_job(app, demo):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-patrols", "--scale", "0.002"])
    assert result.exit_code == 0, result.output
    job = demo.scalar(select(Job).where(Job.kind == "demo.patrols").order_by(Job.id.desc()))
    assert job.status == "done" and job.actor.startswith("cli:")
    assert job.counts.get("patrols") and job.counts.get("routes")
    made = job.result["patrols"]
    assert made == done_count(demo) > 0
    # --if-empty leaves a year in place; without it the job refuses
    result = runner.invoke(args=["seed-patrols", "--if-empty"])
    assert result.exit_code == 0 and "bỏ qua" in result.output
    assert done_count(demo) == made
    result = runner.invoke(args=["seed-patrols", "--scale", "0.002"])
    assert result.exit_code != 0
    assert done_count(demo) == made


@pytest.fixture(scope="module")
def year(app, demo_rows):
    """The demo with its year of patrols, made once for the tests that only read it."""
    with rolled_back_session(app) as session:
        copy_in(session, demo_rows)
        summary = seed_patrols(scale=SCALE, today=TODAY)
        yield session, summary


def test_totals_are_near_the_scaled_year(year):
    session, summary = year
    target = PATROLS_A_YEAR * SCALE
    assert abs(done_count(session) - target) < 0.03 * target
    assert summary.patrols == done_count(session)
    violations = session.scalar(select(func.sum(Patrol.violations)))
    assert abs(violations - VIOLATIONS_A_YEAR * SCALE) <= 1
    assert summary.violations == violations
    first, last = session.execute(
        select(func.min(Patrol.day), func.max(Patrol.day)).where(Patrol.status != "planned")
    ).one()
    assert first == TODAY - timedelta(days=365) and last == TODAY - timedelta(days=1)
    cancelled = session.scalar(select(func.count()).where(Patrol.status == "cancelled"))
    assert 0 < cancelled < 0.06 * target
    joint = session.scalar(select(func.count()).where(Patrol.status == "done", Patrol.joint_police))
    assert 0.1 < joint / done_count(session) < 0.2


def test_violations_are_the_sum_of_the_findings(year):
    session, _ = year
    mismatched = session.scalar(
        text(
            "SELECT count(*) FROM patrols p LEFT JOIN (SELECT patrol_id, sum(count) n "
            "FROM patrol_findings GROUP BY 1) f ON f.patrol_id = p.id "
            "WHERE p.violations <> coalesce(f.n, 0) OR p.handed_to_police > p.violations"
        )
    )
    assert mismatched == 0
    kinds = session.scalar(select(func.count(func.distinct(PatrolFinding.kind))))
    assert kinds >= 4
    assert session.scalar(select(func.sum(Patrol.handed_to_police))) > 0
    # nothing is found on a patrol that did not happen
    assert not session.scalar(
        select(func.count()).where(Patrol.status != "done", Patrol.violations > 0)
    )


def test_more_at_night_and_at_weekends(year):
    session, _ = year
    night, weekend, crossing = session.execute(
        text(
            "SELECT avg((extract(hour FROM planned_start AT TIME ZONE 'Asia/Ho_Chi_Minh') >= 19"
            " OR extract(hour FROM planned_start AT TIME ZONE 'Asia/Ho_Chi_Minh') < 2)::int),"
            " avg((extract(isodow FROM day) >= 6)::int),"
            " avg(((ended_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"
            "     > (started_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date)::int)"
            " FROM patrols WHERE status = 'done'"
        )
    ).one()
    assert night > 0.6  # a spread over the whole day would give 7/24
    assert weekend > 0.35  # ... and 2/7 here
    assert 0.05 < crossing < 0.6  # some cross midnight
    # the day is the local date of the planned start; times are 2 to 4 hours
    wrong = session.scalar(
        text(
            "SELECT count(*) FROM patrols WHERE day <> (planned_start AT TIME ZONE "
            "'Asia/Ho_Chi_Minh')::date OR planned_end - planned_start NOT BETWEEN "
            "interval '2 hours' AND interval '4 hours'"
            " OR (status = 'done' AND abs(extract(epoch FROM started_at - planned_start)) > 3600)"
        )
    )
    assert wrong == 0


def test_some_teams_much_more_active_and_some_never(year):
    session, summary = year
    per_team = dict(
        session.execute(select(Patrol.team_id, func.count()).group_by(Patrol.team_id)).all()
    )
    teams = session.scalars(select(Team.id)).all()
    idle = [t for t in teams if t not in per_team]
    assert idle and len(idle) == summary.teams_idle
    counts = sorted(per_team.values())
    assert counts[-1] > 3 * counts[len(counts) // 2]  # skewed, not even
    # the idle teams' villages (and villages without a team) are absent from the activity
    idle_villages = set(
        session.scalars(select(TeamArea.area_id).where(TeamArea.team_id.in_(idle))).all()
    )
    teamless = set(
        session.scalars(
            select(Area.id).where(Area.level == "village", ~Area.id.in_(select(TeamArea.area_id)))
        ).all()
    )
    active_areas = {area for (_, area) in activity(session)}
    assert idle_villages and not idle_villages & active_areas
    assert not teamless & active_areas
    # every other village with a team was patrolled in the year
    assert active_areas


def test_routes_pass_their_check(year):
    session, summary = year
    versions = session.execute(
        select(PatrolRoute, RouteVersion).join(
            RouteVersion, RouteVersion.id == PatrolRoute.current_version_id
        )
    ).all()
    assert len(versions) == summary.routes == session.scalar(select(func.count(PatrolRoute.id)))
    teams = session.scalar(select(func.count(Team.id)))
    assert teams <= len(versions) <= 2 * teams
    for route, version in versions:
        villages = [
            Village(a.id, a.name, to_shape(a.geom))
            for a in session.scalars(
                select(Area)
                .join(TeamArea, TeamArea.area_id == Area.id)
                .where(TeamArea.team_id == route.team_id)
            )
        ]
        check = check_route(to_shape(version.geom), villages, 50.0)
        assert check.ok, route.name
        assert version.number == 1 and version.created_by == "demo"
        assert sorted(version.area_ids) == sorted(check.area_ids) != []
        assert version.length_m == pytest.approx(check.length_m)
    leader_team = session.scalar(select(Account.team_id).where(Account.username == "totruong"))
    named = session.scalars(
        select(PatrolRoute.name).where(PatrolRoute.team_id == leader_team)
    ).all()
    assert len(named) == 2
    on_route = session.scalar(
        select(func.avg(Patrol.route_version_id.is_not(None).cast(Integer))).where(
            Patrol.status == "done"
        )
    )
    assert 0.7 < float(on_route) < 0.9
    # a patrol's route is one of its own team's
    assert not session.scalar(
        text(
            "SELECT count(*) FROM patrols p JOIN route_versions v ON v.id = p.route_version_id "
            "JOIN patrol_routes r ON r.id = v.route_id WHERE r.team_id <> p.team_id"
        )
    )


def test_members_are_the_teams_own(year):
    session, _ = year
    wrong = session.scalar(
        text(
            "SELECT count(*) FROM patrol_members pm JOIN patrols p ON p.id = pm.patrol_id "
            "JOIN members m ON m.id = pm.member_id WHERE m.team_id <> p.team_id "
            "OR m.left_on IS NOT NULL OR NOT pm.planned"
        )
    )
    assert wrong == 0
    sizes = session.execute(
        text(
            "SELECT min(n), max(n), min(w) FILTER (WHERE status = 'done'),"
            " max(w) FILTER (WHERE status <> 'done'),"
            " avg((w < n)::int) FILTER (WHERE status = 'done')"
            " FROM (SELECT p.id, p.status, count(*) n, count(*) FILTER (WHERE pm.went) w"
            " FROM patrols p JOIN patrol_members pm ON pm.patrol_id = p.id GROUP BY 1, 2) x"
        )
    ).one()
    smallest, largest, fewest_went, went_not_done, some_absent = sizes
    assert smallest >= 2 and largest <= 4 and fewest_went >= 2 and went_not_done == 0
    assert 0 < some_absent < 0.2
    assert session.scalar(select(func.count()).select_from(Patrol)) == session.scalar(
        select(func.count(func.distinct(PatrolMember.patrol_id)))
    )


def test_next_week_is_planned_for_every_patrolling_team(year):
    session, _ = year
    planned = session.execute(
        select(Patrol.team_id, func.min(Patrol.day), func.max(Patrol.day))
        .where(Patrol.status == "planned")
        .group_by(Patrol.team_id)
    ).all()
    patrolling = set(
        session.scalars(select(Patrol.team_id).where(Patrol.status == "done").distinct()).all()
    )
    assert {p.team_id for p in planned} == patrolling
    assert all(p[1] >= TODAY and p[2] < TODAY + timedelta(days=7) for p in planned)


def test_activity_equals_the_raw_rows(year):
    session, _ = year
    kept = activity(session)
    assert kept and kept == activity_from_patrols(session)
    assert sum(v for _, v in kept.values()) >= session.scalar(select(func.sum(Patrol.violations)))
