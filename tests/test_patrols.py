"""Patrol routes and the patrol log through the web: route checks on hand-built villages, plan and
record, scope, reverts, the leader's home and the planners' activity map."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import LineString, box
from sqlalchemy import func, select

from portal.models import (
    AccountRole,
    Area,
    AuditEntry,
    Member,
    Patrol,
    PatrolActivity,
    PatrolFinding,
    PatrolMember,
    PatrolRoute,
    RouteVersion,
    Team,
    TeamArea,
)
from portal.patrols.services import LOCAL, today
from tests.conftest import csrf_token, login, signed_in

# Hand-built villages far from the demo's: A (team T's) and B (team U's, east of A), each
# 0.01° (about 1,040 m east-west, 1,110 m north-south at 21.3° N).
LAT = 21.30
A = box(105.600, LAT, 105.610, LAT + 0.01)
B = box(105.610, LAT, 105.620, LAT + 0.01)
M_PER_DEG_LAT = 110_720.0  # metres per degree of latitude near 21° N (WGS 84)
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT + 0.005))


def metres_east(lon: float, m: float) -> float:
    return lon + m / M_PER_DEG_LON


def metres_south(lat: float, m: float) -> float:
    return lat - m / M_PER_DEG_LAT


def post(client, url, data, path="/patrols/log"):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, path)})


def line(*points) -> dict:
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


@pytest.fixture
def ba_dinh(demo):
    area = demo.scalar(select(Area).where(Area.code == "00004"))
    return SimpleNamespace(id=area.id, name=area.name)


def _village(session, commune, name, shape):
    area = Area(
        level="village",
        kind="to_dan_pho",
        parent_id=commune.id,
        name=name,
        name_search=name.lower(),
        geom=from_shape(shapely.MultiPolygon([shape]), srid=4326),
        valid_from=date(2024, 7, 1),
    )
    session.add(area)
    session.flush()
    return area


def _team(session, commune, name, areas):
    team = Team(
        commune_id=commune.id,
        name=name,
        name_search=name.lower(),
        established_on=date(2024, 7, 1),
    )
    session.add(team)
    session.flush()
    for area in areas:
        session.add(
            TeamArea(
                team_id=team.id, commune_id=commune.id, area_id=area.id, valid_from=date(2024, 7, 1)
            )
        )
    session.flush()
    return team


@pytest.fixture
def pair(demo, ba_dinh):
    """Team T covering village A, team U covering village B next to it."""
    a = _village(demo, ba_dinh, "Tổ dân phố A thử", A)
    b = _village(demo, ba_dinh, "Tổ dân phố B <b>bên cạnh</b>", B)
    t = _team(demo, ba_dinh, "Tổ T thử", [a])
    u = _team(demo, ba_dinh, "Tổ U thử", [b])
    demo.commit()
    # plain values: the rows themselves are detached once a request has run
    return tuple(
        SimpleNamespace(id=row.id, commune_id=getattr(row, "commune_id", None), name=row.name)
        for row in (t, u, a, b)
    )


def save(client, team_id, geometry, name="Tuyến thử"):
    return post(
        client,
        f"/patrols/teams/{team_id}/routes/new",
        {"name": name, "geometry": json.dumps(geometry)},
    )


def routes_of(session, team_id):
    return session.scalars(select(PatrolRoute).where(PatrolRoute.team_id == team_id)).all()


# --- route validation -------------------------------------------------------------------------


def test_a_route_inside_the_villages_is_saved_with_its_geodesic_length(admin, pair, session):
    t, _u, a, _b = pair
    west, east = 105.602, 105.608
    response = save(admin, t.id, line((west, LAT + 0.005), (east, LAT + 0.005)))
    assert response.status_code == 303, response.get_data(as_text=True)
    (route,) = routes_of(session, t.id)
    version = session.get(RouteVersion, route.current_version_id)
    expected = (east - west) * M_PER_DEG_LON
    assert version.length_m == pytest.approx(expected, rel=0.003)
    assert version.number == 1
    assert version.outside_m == 0
    assert version.area_ids == [a.id]


def test_a_route_leaving_by_10_m_is_within_the_50_m_tolerance(admin, pair, session):
    t, _u, _a, _b = pair
    # down to 10 m south of A's southern edge, where no village lies, and back
    south = metres_south(LAT, 10)
    geometry = line((105.605, LAT + 0.005), (105.605, south), (105.606, LAT + 0.005))
    answer = post(admin, f"/patrols/teams/{t.id}/routes/check", {"geometry": json.dumps(geometry)})
    data = answer.get_json()
    assert data["ok"] is True
    assert data["outside"] == "10 m"
    assert save(admin, t.id, geometry).status_code == 303
    version = session.get(RouteVersion, routes_of(session, t.id)[0].current_version_id)
    assert version.outside_m == pytest.approx(10, abs=0.3)


def test_a_route_leaving_by_500_m_is_refused_with_where_and_how_far(admin, pair, session):
    t, _u, _a, _b = pair
    south = metres_south(LAT, 500)
    geometry = line((105.605, LAT + 0.005), (105.605, south))
    response = save(admin, t.id, geometry)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "ra ngoài 500 m" in page  # the stretch outside, and how far it goes
    assert "quá 50 m" in page
    assert routes_of(session, t.id) == []
    data = post(
        admin, f"/patrols/teams/{t.id}/routes/check", {"geometry": json.dumps(geometry)}
    ).get_json()
    assert data["ok"] is False
    (stretch,) = data["excursions"]["features"]
    assert stretch["properties"]["refused"] is True
    # the stretch outside is drawn where it is: from A's edge down to the end
    ys = [c[1] for c in stretch["geometry"]["coordinates"]]
    assert max(ys) == pytest.approx(LAT, abs=1e-6) and min(ys) == pytest.approx(south, abs=1e-6)


def test_a_route_through_another_teams_village_is_refused_naming_it(admin, pair, session):
    t, *_ = pair
    geometry = line((105.605, LAT + 0.005), (105.615, LAT + 0.005))  # 500 m into B
    response = save(admin, t.id, geometry)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # the neighbour's name, escaped like every text: never markup
    assert "qua Tổ dân phố B &lt;b&gt;bên cạnh&lt;/b&gt;" in page
    assert routes_of(session, t.id) == []
    data = post(
        admin, f"/patrols/teams/{t.id}/routes/check", {"geometry": json.dumps(geometry)}
    ).get_json()
    label = data["excursions"]["features"][0]["properties"]["label"]
    assert "&lt;b&gt;" in label and "<b>" not in label


@pytest.mark.parametrize(
    "geometry, message",
    [
        (None, "Vẽ tuyến trên bản đồ"),
        ({"type": "Polygon", "coordinates": []}, "không phải Polygon"),
        (line((105.605, LAT + 0.005), (105.605, LAT + 0.005)), "cần ít nhất hai điểm"),
        (line((105.605, "x"), (105.606, LAT)), "không đọc được"),
        (line((2.35, 48.85), (2.36, 48.86)), "ngoài lãnh thổ Việt Nam"),
    ],
)
def test_a_drawing_that_is_no_route_gets_a_clear_message(admin, pair, session, geometry, message):
    t, *_ = pair
    response = save(admin, t.id, geometry or {})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert routes_of(session, t.id) == []


def test_editing_a_route_keeps_its_versions_and_patrols_keep_theirs(admin, pair, session):
    t, *_ = pair
    first = line((105.602, LAT + 0.005), (105.608, LAT + 0.005))
    assert save(admin, t.id, first).status_code == 303
    (route,) = routes_of(session, t.id)
    v1 = route.current_version_id
    patrol = _patrol(session, t, v1, status="done")
    second = line((105.602, LAT + 0.002), (105.608, LAT + 0.008))
    response = post(
        admin,
        f"/patrols/routes/{route.id}/edit",
        {"name": "Tuyến thử (sửa)", "geometry": json.dumps(second)},
    )
    assert response.status_code == 303
    session.expire_all()
    route = session.get(PatrolRoute, route.id)
    assert route.current_version_id != v1 and route.name == "Tuyến thử (sửa)"
    assert session.get(Patrol, patrol.id).route_version_id == v1  # last month's route, as drawn
    old = to_shape(session.get(RouteVersion, v1).geom)
    assert old.equals(shapely.MultiLineString([LineString(first["coordinates"])]))
    # and an earlier version can be made current again, as a third version
    assert post(admin, f"/patrols/routes/{route.id}/versions/{v1}/restore", {}).status_code == 303
    session.expire_all()
    current = session.get(RouteVersion, session.get(PatrolRoute, route.id).current_version_id)
    assert current.number == 3 and to_shape(current.geom).equals(old)


def test_retiring_a_route_is_undone_exactly(admin, pair, session):
    t, *_ = pair
    save(admin, t.id, line((105.602, LAT + 0.005), (105.608, LAT + 0.005)))
    (route,) = routes_of(session, t.id)
    before = (route.name, route.current_version_id, route.retired_at)
    assert post(admin, f"/patrols/routes/{route.id}/retire", {}).status_code == 303
    session.expire_all()
    assert session.get(PatrolRoute, route.id).retired_at is not None
    page = admin.get(f"/patrols/teams/{t.id}/plan").get_data(as_text=True)
    assert "Tuyến thử" not in page  # a retired route is not offered for new patrols
    assert post(admin, f"/patrols/routes/{route.id}/reinstate", {}).status_code == 303
    session.expire_all()
    route = session.get(PatrolRoute, route.id)
    assert (route.name, route.current_version_id, route.retired_at) == before
    actions = session.scalars(
        select(AuditEntry.changes).where(
            AuditEntry.owner_type == "route", AuditEntry.owner_id == route.id
        )
    ).all()
    assert any("retired_at" in c for c in actions)


# --- the patrol log ---------------------------------------------------------------------------


def _patrol(session, team, version_id=None, *, status="planned", day=None, hours=(19, 22)):
    from datetime import datetime

    day = day or today() - timedelta(days=3)
    start = datetime(day.year, day.month, day.day, hours[0], tzinfo=LOCAL)
    end = start + timedelta(hours=hours[1] - hours[0])
    patrol = Patrol(
        team_id=team.id,
        commune_id=team.commune_id,
        route_version_id=version_id,
        day=day,
        planned_start=start,
        planned_end=end,
        status=status,
        started_at=start if status == "done" else None,
        ended_at=end if status == "done" else None,
        joint_police=False,
        violations=0,
        handed_to_police=0,
    )
    session.add(patrol)
    session.commit()
    return SimpleNamespace(id=patrol.id, day=patrol.day)


@pytest.fixture
def leader_team(demo):
    from portal.models import Account

    team_id = demo.scalar(select(Account.team_id).where(Account.username == "totruong"))
    team = demo.get(Team, team_id)
    return SimpleNamespace(id=team.id, commune_id=team.commune_id, name=team.name)


def serving_ids(session, team):
    return session.scalars(
        select(Member.id).where(Member.team_id == team.id, Member.left_on.is_(None))
    ).all()


def test_a_leader_plans_and_records_a_patrol_with_a_violation(app, demo, leader_team, session):
    client = signed_in(app, "totruong")
    members = serving_ids(session, leader_team)
    # two days back: from yesterday, a patrol ending at 01:40 today would not have ended yet
    # when the suite runs between midnight and 01:40 in Vietnam (17:00-18:40 UTC)
    day = today() - timedelta(days=2)
    response = post(
        client,
        f"/patrols/teams/{leader_team.id}/plan",
        {"day": day.isoformat(), "start": "22:00", "end": "01:30", "member_ids": members[:2]},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    patrol = session.scalars(select(Patrol).where(Patrol.team_id == leader_team.id)).one()
    # across midnight: the end is the next day's 01:30, in Vietnam's time
    assert patrol.planned_end - patrol.planned_start == timedelta(hours=3, minutes=30)
    assert patrol.planned_start.astimezone(LOCAL).hour == 22 and patrol.day == day
    response = post(
        client,
        f"/patrols/{patrol.id}/record",
        {
            "day": day.isoformat(),
            "start": "22:10",
            "end": "01:40",
            "went_ids": members[:1],
            "finding_traffic": "2",
            "handed_to_police": "1",
            "handover_note": "Một xe máy không người trông giữ",
            "joint_police": "1",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    session.expire_all()
    patrol = session.get(Patrol, patrol.id)
    assert (patrol.status, patrol.violations, patrol.handed_to_police) == ("done", 2, 1)
    assert patrol.joint_police
    findings = session.scalars(select(PatrolFinding).where(PatrolFinding.patrol_id == patrol.id))
    assert [(f.kind, f.count) for f in findings] == [("traffic", 2)]
    went = session.execute(
        select(PatrolMember.member_id, PatrolMember.planned, PatrolMember.went).where(
            PatrolMember.patrol_id == patrol.id
        )
    ).all()
    assert sorted(went) == sorted([(members[0], True, True), (members[1], True, False)])
    # the planners' activity counts it for the team's villages (it had no route)
    villages = session.scalars(
        select(TeamArea.area_id).where(
            TeamArea.team_id == leader_team.id, TeamArea.valid_to.is_(None)
        )
    ).all()
    activity = session.execute(
        select(PatrolActivity.area_id, PatrolActivity.patrols, PatrolActivity.violations).where(
            PatrolActivity.month == day.replace(day=1)
        )
    ).all()
    assert sorted(activity) == sorted((v, 1, 2) for v in villages)
    page = client.get(f"/patrols/{patrol.id}").get_data(as_text=True)
    assert "Vi phạm trật tự, an toàn giao thông: 2" in page
    assert "Một xe máy không người trông giữ" in page
    assert 'data-testid="patrol-track"' in page and 'name="file"' in page  # a GPX upload


def test_bad_plans_say_what_is_wrong_and_change_nothing(app, demo, leader_team, session, pair):
    client = signed_in(app, "totruong")
    other = pair[1]
    foreign = session.scalar(select(Member.id).where(Member.team_id != leader_team.id))
    cases = [
        ({"day": "hôm qua", "start": "19:00", "end": "21:00"}, "Nhập ngày"),
        ({"day": today().isoformat(), "start": "7h", "end": "21:00"}, "Nhập giờ dạng 21:30"),
        ({"day": today().isoformat(), "start": "19:00", "end": "21:00"}, "Chọn ít nhất một"),
        (
            {"day": today().isoformat(), "start": "19:00", "end": "21:00", "member_ids": [foreign]},
            "Chỉ chọn được thành viên của tổ",
        ),
        (
            {"day": (today() + timedelta(days=400)).isoformat(), "start": "19:00", "end": "21:00"},
            "ba tháng tới",
        ),
    ]
    for form, message in cases:
        response = post(client, f"/patrols/teams/{leader_team.id}/plan", form)
        assert response.status_code == 422, form
        assert message in response.get_data(as_text=True), form
    assert session.scalar(select(func.count()).select_from(Patrol)) == 0
    # another team's id finds nothing, whatever the form says
    members = serving_ids(session, leader_team)
    response = post(
        client,
        f"/patrols/teams/{other.id}/plan",
        {"day": today().isoformat(), "start": "19:00", "end": "21:00", "member_ids": members},
    )
    assert response.status_code == 404
    assert session.scalar(select(func.count()).select_from(Patrol)) == 0


def test_recording_a_patrol_that_has_not_ended_is_refused(app, demo, leader_team, session):
    client = signed_in(app, "totruong")
    patrol = _patrol(session, leader_team, day=today() + timedelta(days=2))
    response = post(
        client,
        f"/patrols/{patrol.id}/record",
        {
            "day": patrol.day.isoformat(),
            "start": "19:00",
            "end": "22:00",
            "went_ids": serving_ids(session, leader_team)[:1],
        },
    )
    assert response.status_code == 422
    assert "chưa kết thúc" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Patrol, patrol.id).status == "planned"


def test_cancelling_a_patrol_is_undone_exactly(app, demo, leader_team, session):
    client = signed_in(app, "totruong")
    patrol = _patrol(session, leader_team)
    assert post(client, f"/patrols/{patrol.id}/cancel", {}).status_code == 303
    session.expire_all()
    assert session.get(Patrol, patrol.id).status == "cancelled"
    assert post(client, f"/patrols/{patrol.id}/restore", {}).status_code == 303
    session.expire_all()
    assert session.get(Patrol, patrol.id).status == "planned"
    changes = session.scalars(
        select(AuditEntry.changes).where(
            AuditEntry.owner_type == "patrol", AuditEntry.owner_id == patrol.id
        )
    ).all()
    assert {"status": ["planned", "cancelled"]} in changes
    assert {"status": ["cancelled", "planned"]} in changes


def test_other_teams_patrols_and_routes_answer_404(app, demo, leader_team, session, pair, ba_dinh):
    t, *_ = pair
    theirs = _patrol(session, t)
    version = RouteVersion(
        route_id=None,
        number=1,
        length_m=1,
        outside_m=0,
        area_ids=[],
        created_by="test",
    )
    route = PatrolRoute(team_id=t.id, commune_id=t.commune_id, name="Của tổ khác")
    session.add(route)
    session.flush()
    version.route_id = route.id
    version.geom = from_shape(
        shapely.MultiLineString([LineString([(105.602, LAT + 0.005), (105.608, LAT + 0.005)])]),
        srid=4326,
    )
    session.add(version)
    session.commit()
    route = SimpleNamespace(id=route.id)
    leader = signed_in(app, "totruong")
    for url in (
        f"/patrols/{theirs.id}",
        f"/patrols/{theirs.id}/record",
        f"/patrols/routes/{route.id}",
        f"/patrols/routes/{route.id}/edit",
        f"/patrols/teams/{t.id}/routes",
        f"/patrols/teams/{t.id}/plan",
    ):
        assert leader.get(url).status_code == 404, url
    for url in (f"/patrols/{theirs.id}/cancel", f"/patrols/routes/{route.id}/retire"):
        assert post(leader, url, {}).status_code == 404, url
    session.expire_all()
    assert session.get(Patrol, theirs.id).status == "planned"
    assert session.get(PatrolRoute, route.id).retired_at is None
    # the list does not show it either
    page = leader.get("/patrols/log?from=2000-01-01&to=2000-12-31").get_data(as_text=True)
    assert "Tổ T thử" not in page
    # an officer of another commune sees nothing of Ba Đình's team T
    other_commune = session.scalar(
        select(Area).where(Area.level == "commune", Area.id != ba_dinh.id).limit(1)
    )
    from portal.auth.services import create_account

    create_account(
        "canbo.khac",
        "mat-khau-rat-dai-2025",
        "Cán bộ khác",
        AccountRole.COMMUNE_OFFICER,
        commune_id=other_commune.id,
    )
    session.commit()
    officer = app.test_client()
    assert login(officer, "canbo.khac", "mat-khau-rat-dai-2025").status_code == 302
    assert officer.get(f"/patrols/{theirs.id}").status_code == 404
    assert officer.get(f"/patrols/activity?commune_id={ba_dinh.id}").status_code == 404
    # the commune's own officer sees and corrects it
    canbo = signed_in(app, "canbo.xa")
    assert canbo.get(f"/patrols/{theirs.id}").status_code == 200
    assert post(canbo, f"/patrols/{theirs.id}/cancel", {}).status_code == 303


def test_a_leader_lands_on_the_week_with_what_needs_doing(app, demo, leader_team, session):
    overdue = _patrol(session, leader_team, day=today() - timedelta(days=2))
    client = app.test_client()
    response = login(client, "totruong", "to-dan-pho-vung-manh")
    assert client.get(response.headers["Location"]).headers["Location"].endswith("/patrols/")
    page = client.get("/patrols/").get_data(as_text=True)
    assert leader_team.name in page
    assert "1 ca tuần tra đã qua giờ nhưng chưa ghi kết quả." in page
    assert f"/patrols/{overdue.id}/record" in page
    assert "Tổ chưa có tuyến tuần tra" in page
    assert 'data-testid="team-map"' in page
    # planners have no week of their own: they go to the log
    assert signed_in(app, "canbo.xa").get("/patrols/").status_code == 302


def test_the_log_filters_by_period_status_and_route_and_pages(app, demo, leader_team, session):
    client = signed_in(app, "totruong")
    for offset in range(54):
        _patrol(session, leader_team, day=today() - timedelta(days=offset + 1), status="done")
    _patrol(session, leader_team, day=today() + timedelta(days=1))
    start = (today() - timedelta(days=10)).isoformat()
    page = client.get(f"/patrols/log?from={start}&to={today().isoformat()}&status=done")
    text = page.get_data(as_text=True)
    assert "10 ca tuần tra" in text
    everything = client.get(
        f"/patrols/log?from={(today() - timedelta(days=60)).isoformat()}"
        f"&to={(today() + timedelta(days=5)).isoformat()}"
    ).get_data(as_text=True)
    assert "55 ca tuần tra" in everything and "Trang 1/2" in everything
    bad = client.get("/patrols/log?from=2026-13-01")
    assert bad.status_code == 400 and "from" in bad.get_data(as_text=True)
    assert client.get("/patrols/log?status=lost").status_code == 400


def test_the_activity_map_shows_villages_nobody_patrolled(app, demo, leader_team, session, ba_dinh):
    _patrol(session, leader_team, day=today().replace(day=1), status="done")
    officer = signed_in(app, "canbo.xa")
    month = today().strftime("%Y-%m")
    page = officer.get(f"/patrols/activity?from={month}&to={month}").get_data(as_text=True)
    villages = session.scalar(
        select(func.count())
        .select_from(Area)
        .where(Area.parent_id == ba_dinh.id, Area.level == "village", Area.valid_to.is_(None))
    )
    covered = session.scalar(
        select(func.count())
        .select_from(TeamArea)
        .where(TeamArea.team_id == leader_team.id, TeamArea.valid_to.is_(None))
    )
    assert f"{covered}/{villages} thôn, tổ dân phố có tuần tra" in page
    assert 'data-testid="activity-map"' in page
    assert len(page.encode()) < 300_000  # a commune's month stays light
    admin = signed_in(app, "quantri")
    city = admin.get(f"/patrols/activity?from={month}&to={month}")
    assert city.status_code == 200
    assert "Không có ca tuần tra" in city.get_data(as_text=True)  # its villages, from tiles
    assert signed_in(app, "totruong").get("/patrols/activity").status_code == 404
    assert officer.get("/patrols/activity?from=2026-1").status_code == 400


def test_a_record_must_be_within_a_day_of_the_plan(app, demo, leader_team, session):
    client = signed_in(app, "totruong")
    patrol = _patrol(session, leader_team, day=today() - timedelta(days=5))
    went = serving_ids(session, leader_team)[:1]
    far = (patrol.day - timedelta(days=300)).isoformat()
    response = post(
        client,
        f"/patrols/{patrol.id}/record",
        {"day": far, "start": "06:00", "end": "23:59", "went_ids": went},
    )
    assert response.status_code == 422
    assert "trong vòng một ngày" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Patrol, patrol.id).status == "planned"
    # the morning after, for a patrol planned on the evening before, is its day
    next_day = (patrol.day + timedelta(days=1)).isoformat()
    response = post(
        client,
        f"/patrols/{patrol.id}/record",
        {"day": next_day, "start": "00:10", "end": "02:00", "went_ids": went},
    )
    assert response.status_code == 303


def test_log_filters_naming_what_one_may_not_see_are_not_found(app, demo, pair, session):
    t, _u, _a, _b = pair
    route = PatrolRoute(team_id=t.id, commune_id=t.commune_id, name="Của tổ T")
    session.add(route)
    session.commit()
    route_id = route.id
    leader = signed_in(app, "totruong")
    other_commune = session.scalar(
        select(Area.id).where(Area.level == "commune", Area.id != t.commune_id).limit(1)
    )
    assert leader.get(f"/patrols/log?team_id={t.id}").status_code == 404
    assert leader.get(f"/patrols/log?route_id={route_id}").status_code == 404
    officer = signed_in(app, "canbo.xa")
    assert officer.get(f"/patrols/log?commune_id={other_commune}").status_code == 404
    assert officer.get(f"/patrols/log?route_id={route_id}").status_code == 200  # Ba Đình's


def test_todays_duty_shows_phones_grouped_as_on_the_team_page(app, demo, leader_team, session):
    tonight = _patrol(session, leader_team, day=today())
    member = session.scalar(
        select(Member).where(
            Member.team_id == leader_team.id, Member.left_on.is_(None), Member.phone.is_not(None)
        )
    )
    phone = member.phone
    session.add(PatrolMember(patrol_id=tonight.id, member_id=member.id, planned=True))
    session.commit()
    page = signed_in(app, "totruong").get("/patrols/").get_data(as_text=True)
    duty = page[page.index("Trực hôm nay") :]
    grouped = f"{phone[:4]} {phone[4:7]} {phone[7:]}" if len(phone) == 10 else phone
    assert f'href="tel:{phone}">{grouped}</a>' in duty
