"""The demo's year of patrols on the three demo communes, at a small scale: realistic spread,
consistent figures, and patrol_activity kept by the triggers exactly as the raw rows say."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select, text

from geo.routes import Village, check_route
from portal.demo.patrols import seed_patrols
from portal.models import (
    Area,
    Patrol,
    PatrolActivity,
    PatrolFinding,
    PatrolMember,
    RouteVersion,
    TeamArea,
)

TODAY = date(2026, 11, 28)
SCALE = 0.02  # of Hanoi's year over the whole city: the three communes get their share

RAW_ACTIVITY = """
SELECT date_trunc('month', p.day)::date AS month, x.area_id, count(*) AS patrols,
       sum(p.violations) AS violations
  FROM patrols p
 CROSS JOIN LATERAL (
       SELECT unnest(v.area_ids) FROM route_versions v
        WHERE v.id = p.route_version_id AND cardinality(v.area_ids) > 0
       UNION ALL
       SELECT t.area_id FROM team_areas t
        WHERE t.team_id = p.team_id AND t.valid_from <= p.day
          AND (t.valid_to IS NULL OR t.valid_to > p.day)
          AND NOT EXISTS (SELECT 1 FROM route_versions v
                           WHERE v.id = p.route_version_id AND cardinality(v.area_ids) > 0)
 ) x(area_id)
 WHERE p.status = 'done'
 GROUP BY 1, 2
"""


@pytest.fixture
def year(demo):
    summary = seed_patrols(scale=SCALE, today=TODAY)
    demo.commit()
    return summary


def stored_activity(session):
    rows = session.execute(
        select(
            PatrolActivity.month,
            PatrolActivity.area_id,
            PatrolActivity.patrols,
            PatrolActivity.violations,
        ).where(PatrolActivity.patrols != 0)
    ).all()
    return sorted(tuple(r) for r in rows)


def raw_activity(session):
    return sorted(tuple(r) for r in session.execute(text(RAW_ACTIVITY)).all())


def test_the_year_is_spread_as_a_city_patrols(session, year):
    # the year's volume is the scaled city's: 97% of the planned-for days' patrols are done
    assert year.done == pytest.approx(532_000 * SCALE * 0.97, rel=0.08)
    assert year.violations == pytest.approx(3_100 * SCALE, rel=0.35)
    findings = session.scalar(select(func.coalesce(func.sum(PatrolFinding.count), 0)))
    assert findings == year.violations  # the patrols' counts are their findings' sums
    starts = session.scalars(
        select(func.extract("hour", func.timezone("Asia/Ho_Chi_Minh", Patrol.planned_start)))
    ).all()
    night = sum(1 for h in starts if h >= 19 or h < 2) / len(starts)
    assert night > 0.6  # uniform hours would give 7/24
    days = session.scalars(select(func.extract("isodow", Patrol.day))).all()
    weekend = sum(1 for d in days if d >= 6) / len(days)
    assert weekend > 2 / 7 + 0.02
    went = session.scalar(select(func.count()).select_from(PatrolMember).where(PatrolMember.went))
    assert went >= year.done  # someone went on every done patrol, mostly two or more


def test_some_teams_never_patrol_and_their_villages_show_it(session, year):
    patrolling = select(Patrol.team_id).where(Patrol.status == "done")
    idle = session.scalars(
        select(TeamArea.area_id).where(TeamArea.team_id.not_in(patrolling), TeamArea.active())
    ).all()
    counted = set(session.scalars(select(PatrolActivity.area_id).where(PatrolActivity.patrols > 0)))
    assert not set(idle) & counted


def test_routes_stay_inside_their_teams_villages(session, year):
    versions = session.scalars(select(RouteVersion)).all()
    assert len(versions) == year.routes > 0
    for version in versions[:40]:
        team_id = session.scalar(
            text("SELECT team_id FROM patrol_routes WHERE id = :r"), {"r": version.route_id}
        )
        villages = [
            Village(a.id, a.name, to_shape(a.geom))
            for a in session.scalars(
                select(Area)
                .join(TeamArea, TeamArea.area_id == Area.id)
                .where(TeamArea.team_id == team_id, TeamArea.active())
            )
        ]
        assert check_route(to_shape(version.geom), villages, 50).ok
        assert set(version.area_ids) <= {v.id for v in villages}


def test_the_stored_activity_is_the_raw_rows_aggregated_after_any_change(session, year):
    assert stored_activity(session) == raw_activity(session)
    done = session.scalars(select(Patrol).where(Patrol.status == "done").limit(3)).all()
    done[0].status = "cancelled"
    done[1].violations += 4
    session.delete(done[2])
    session.commit()
    session.execute(
        text(
            "UPDATE patrols SET route_version_id = NULL WHERE id IN (SELECT id FROM patrols"
            " WHERE route_version_id IS NOT NULL AND status = 'done' LIMIT 20)"
        )
    )
    session.execute(text("DELETE FROM patrols WHERE id IN (SELECT id FROM patrols LIMIT 50)"))
    session.commit()
    assert stored_activity(session) == raw_activity(session)


def test_the_same_seed_gives_the_same_year(app, demo):
    first = seed_patrols(scale=SCALE / 4, today=TODAY)
    counts = (first.patrols, first.violations, first.routes)
    demo.rollback()
    demo.execute(text("DELETE FROM patrols"))
    demo.execute(text("UPDATE patrol_routes SET current_version_id = NULL"))
    demo.execute(text("DELETE FROM route_versions"))
    demo.execute(text("DELETE FROM patrol_routes"))
    demo.execute(text("DELETE FROM patrol_activity"))
    second = seed_patrols(scale=SCALE / 4, today=TODAY)
    assert (second.patrols, second.violations, second.routes) == counts


def test_the_days_run_a_year_up_to_today_and_a_week_ahead(session, year):
    first, last = session.execute(select(func.min(Patrol.day), func.max(Patrol.day))).one()
    assert first == TODAY - timedelta(days=365)
    assert last <= TODAY + timedelta(days=7)
    assert set(session.scalars(select(Patrol.status).where(Patrol.day >= TODAY))) == {"planned"}
