"""The planner's coverage page: the demo's planted defects found, filtered, exported."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import func, select

from portal.models import Area, Member, Team, TeamArea
from tests.conftest import signed_in

HX = {"HX-Request": "true"}


def commune(session, code="00004"):
    return session.scalar(select(Area).where(Area.code == code))


def uncovered(session, commune_id):
    covered = select(TeamArea.area_id).where(TeamArea.valid_to.is_(None))
    return session.scalars(
        select(Area.name).where(Area.parent_id == commune_id, Area.id.not_in(covered))
    ).all()


def test_the_city_view_lists_every_village_without_a_team(admin, demo):
    page = admin.get("/coverage/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'data-testid="coverage-map"' in body
    expected = sum(
        len(uncovered(demo, c.id))
        for c in demo.scalars(select(Area).where(Area.level == "commune"))
    )
    assert f"Chưa có tổ ({expected})" in body
    assert len(page.data) < 1_000_000  # aggregated by commune: a light page


def test_filtering_by_kind_answers_with_the_list_only(admin, demo):
    ba_dinh = commune(demo)
    response = admin.get(
        f"/coverage/{ba_dinh.id}?kind=no_team", headers={**HX, "HX-Target": "problem-list"}
    )
    body = response.get_data(as_text=True)
    assert "<html" not in body
    for name in uncovered(demo, ba_dinh.id):
        assert f"{name}</a>" in body
    assert "kind-understaffed" not in body


def test_an_understaffed_team_and_a_team_without_leader_are_found(admin, demo):
    ba_dinh = commune(demo)
    team = demo.scalar(select(Team).where(Team.commune_id == ba_dinh.id).order_by(Team.id).limit(1))
    team_id, team_name, commune_id = team.id, team.name, ba_dinh.id
    for member in demo.scalars(select(Member).where(Member.team_id == team.id)):
        if member.role != "member":
            member.left_on = member.appointment_date  # the leader and deputy leave
    demo.commit()
    body = admin.get(f"/coverage/{commune_id}?kind=no_leader").get_data(as_text=True)
    assert team_name in body
    size = demo.scalar(
        select(func.count()).where(Member.team_id == team_id, Member.left_on.is_(None))
    )
    assert size < 3  # the leader and deputy left: fewer than Hanoi's three
    understaffed = admin.get(f"/coverage/{commune_id}?kind=understaffed").get_data(as_text=True)
    assert team_name in understaffed


def test_exports_of_problems_and_unmapped_land(admin, demo):
    ba_dinh = commune(demo)
    response = admin.get(f"/coverage/problems.csv?commune_id={ba_dinh.id}")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert {r["what"] for r in rows if r["kind"] == "no_team"} == set(uncovered(demo, ba_dinh.id))
    gaps = json.loads(admin.get("/coverage/gaps.geojson").data)
    assert gaps["type"] == "FeatureCollection"
    assert all(f["properties"]["area_m2"] > 0 for f in gaps["features"])


def test_officers_see_their_commune_and_leaders_not_at_all(app, demo):
    officer = signed_in(app, "canbo.xa")
    assert officer.get(f"/coverage/{commune(demo).id}").status_code == 200
    assert officer.get(f"/coverage/{commune(demo, '00008').id}").status_code == 404
    leader = signed_in(app, "totruong")
    assert leader.get("/coverage/").status_code == 404
