"""Incidents for staff: the officer's triage steps and their undo, who may see and do what,
duplicates and merging, and the incidents teams record."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.models import (
    Account,
    AccountRole,
    Area,
    AuditEntry,
    Incident,
    IncidentPhoto,
    Team,
    TeamArea,
    TipContact,
)
from portal.tips import receipts
from tests.conftest import csrf_token, login, signed_in
from tests.test_patrols import _patrol

PHONE = "0987654321"
M_PER_DEG_LAT = 110_720.0


@pytest.fixture
def place(demo):
    """A village the demo's leader (totruong) covers: a point in it, its commune and team."""
    team_id = demo.scalar(select(Account.team_id).where(Account.username == "totruong"))
    village = demo.scalar(
        select(Area)
        .join(TeamArea, TeamArea.area_id == Area.id)
        .where(TeamArea.team_id == team_id, TeamArea.active())
        .order_by(Area.id)
        .limit(1)
    )
    point = func.ST_PointOnSurface(Area.geom)
    lat, lon = demo.execute(
        select(func.ST_Y(point), func.ST_X(point)).where(Area.id == village.id)
    ).one()
    team = demo.get(Team, team_id)
    return SimpleNamespace(
        village_id=village.id,
        commune_id=village.parent_id,
        team_id=team_id,
        team_commune_id=team.commune_id,
        lat=lat,
        lon=lon,
    )


def add_tip(session, place, *, north_m=0.0, hours_ago=1.0, kind="theft", contact=None, photo=None):
    tip = Incident(
        source="tip",
        kind=kind,
        receipt=receipts.new_receipt(),
        status="received",
        occurred_at=datetime.now(UTC) - timedelta(hours=hours_ago),
        description=f"Tin thử {kind} cách {north_m} m, {hours_ago} giờ trước.",
        geom=f"SRID=4326;POINT({place.lon} {place.lat + north_m / M_PER_DEG_LAT})",
        located_by="map",
        area_id=place.village_id,
        commune_id=place.commune_id,
        team_id=place.team_id,
        handed_to_police=False,
        has_photo=photo is not None,
        has_contact=contact is not None,
    )
    session.add(tip)
    session.flush()
    if contact:
        session.add(TipContact(incident_id=tip.id, name="Người báo", contact=contact))
    if photo:
        session.add(IncidentPhoto(incident_id=tip.id, data=photo, width=1, height=1))
    session.commit()
    return SimpleNamespace(id=tip.id, receipt=tip.receipt)


def state(session, incident_id: int) -> tuple:
    session.expire_all()
    row = session.get(Incident, incident_id)
    return (
        row.status,
        row.valuable,
        row.case_ref,
        row.status_at,
        row.merged_into_id,
        row.passed_at,
    )


def step(client, incident_id: int, action: str, case_ref: str = ""):
    token = csrf_token(client, f"/incidents/{incident_id}")
    return client.post(
        f"/incidents/{incident_id}/step",
        data={"action": action, "case_ref": case_ref, "csrf_token": token},
    )


def post(client, url: str, data: dict | None = None, page: str = "/incidents/"):
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client, page)})


def queue_ids(client, query: str = "") -> set[int]:
    page = client.get(f"/incidents/{query}")
    assert page.status_code == 200
    return {int(n) for n in re.findall(r'href="/incidents/(\d+)"', page.get_data(as_text=True))}


def duplicate_ids(client, incident_id: int) -> set[int]:
    page = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    found = re.search(r'data-testid="duplicates">(.*?)</ul>', page, re.S)
    return {int(n) for n in re.findall(r"#(\d+)</a>", found.group(1))} if found else set()


@pytest.fixture
def other_officer(app, demo, place):
    """An officer of another demo commune."""
    from portal.auth.services import create_account

    other = demo.scalar(
        select(Area.id).where(Area.level == "commune", Area.id != place.commune_id).limit(1)
    )
    create_account(
        "canbo.khac",
        "mat-khau-rat-dai-2025",
        "Cán bộ khác",
        AccountRole.COMMUNE_OFFICER,
        commune_id=other,
    )
    demo.commit()
    client = app.test_client()
    assert login(client, "canbo.khac", "mat-khau-rat-dai-2025").status_code == 302
    return client


# --- triage -----------------------------------------------------------------------------------


def test_the_officer_takes_a_tip_through_every_step(app, demo, session, place):
    tip = add_tip(session, place)
    officer = signed_in(app, "canbo.xa")
    assert step(officer, tip.id, "check").status_code == 200
    assert state(session, tip.id)[0] == "checked"
    assert step(officer, tip.id, "valuable").status_code == 200
    assert state(session, tip.id)[:2] == ("valuable", True)

    before = state(session, tip.id)
    refused = step(officer, tip.id, "pass", "   ")
    assert refused.status_code == 422
    assert "Nhập số hồ sơ" in refused.get_data(as_text=True)
    assert state(session, tip.id) == before

    assert step(officer, tip.id, "pass", "HS-2026/117").status_code == 200
    assert state(session, tip.id)[:3] == ("passed", True, "HS-2026/117")
    assert step(officer, tip.id, "close").status_code == 200
    closed = state(session, tip.id)
    assert closed[:3] == ("closed", True, "HS-2026/117")  # the value stays after closing

    steps = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.entity_type == "incident",
            AuditEntry.entity_id == tip.id,
            AuditEntry.action == "update",
        )
        .order_by(AuditEntry.id)
    ).all()
    assert [e.changes["status"][1] for e in steps] == ["checked", "valuable", "passed", "closed"]
    assert {e.actor for e in steps} == {"canbo.xa"}
    # the reporter sees where it went
    status = app.test_client().get(f"/api/tips/{tip.receipt}").get_json()
    assert status["status"] == "closed"


@pytest.mark.parametrize(
    "action, after",
    [("close", ()), ("pass", ()), ("valuable", ()), ("check", ("check",)), ("fly", ())],
)
def test_a_step_that_cannot_follow_changes_nothing(app, demo, session, place, action, after):
    tip = add_tip(session, place)
    officer = signed_in(app, "canbo.xa")
    for done in after:
        assert step(officer, tip.id, done).status_code == 200
    before = state(session, tip.id)
    logged = session.scalar(select(func.count()).select_from(AuditEntry))
    response = step(officer, tip.id, action, "HS-1")
    assert response.status_code == 422
    assert state(session, tip.id) == before
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == logged


def test_undo_puts_back_exactly_what_a_step_changed(app, demo, session, place):
    tip = add_tip(session, place)
    officer = signed_in(app, "canbo.xa")
    history = [state(session, tip.id)]
    for action, ref in (("check", ""), ("valuable", ""), ("pass", "HS-9"), ("close", "")):
        assert step(officer, tip.id, action, ref).status_code == 200
        history.append(state(session, tip.id))
    assert len(set(history)) == 5
    # passing to the police stamps when (the review's time to hand-over); closing keeps it
    assert history[2][-1] is None and history[3][-1] == history[3][3] == history[4][-1]
    for expected in reversed(history[:-1]):
        assert (
            post(officer, f"/incidents/{tip.id}/undo", page=f"/incidents/{tip.id}").status_code
            == 200
        )
        assert state(session, tip.id) == expected
    # nothing left to undo
    response = post(officer, f"/incidents/{tip.id}/undo", page=f"/incidents/{tip.id}")
    assert response.status_code == 422
    assert state(session, tip.id) == history[0]


def test_not_valuable_then_closed_keeps_valuable_false(app, demo, session, place):
    tip = add_tip(session, place)
    officer = signed_in(app, "canbo.xa")
    for action in ("check", "not_valuable", "close"):
        assert step(officer, tip.id, action).status_code == 200
    assert state(session, tip.id)[:3] == ("closed", False, None)


# --- scope ------------------------------------------------------------------------------------


def test_the_leader_sees_their_villages_items_without_contact_and_takes_no_step(
    app, demo, session, place
):
    photo = b"\xff\xd8\xff\xe0clean-jpeg"
    tip = add_tip(session, place, contact=PHONE, photo=photo)
    leader = signed_in(app, "totruong")
    assert tip.id in queue_ids(leader)
    page = leader.get(f"/incidents/{tip.id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert PHONE not in body and 'data-testid="contact"' not in body
    assert 'data-action="check"' not in body
    assert leader.get(f"/incidents/{tip.id}/photo").data == photo
    before = state(session, tip.id)
    assert step(leader, tip.id, "check").status_code == 404
    assert post(leader, f"/incidents/{tip.id}/undo").status_code == 404
    assert state(session, tip.id) == before
    # the officer sees the contact and the steps
    officer = signed_in(app, "canbo.xa").get(f"/incidents/{tip.id}").get_data(as_text=True)
    assert PHONE in officer and 'data-action="check"' in officer
    # the admin sees the item, not the contact, and takes no step either
    admin = signed_in(app, "quantri")
    assert PHONE not in admin.get(f"/incidents/{tip.id}").get_data(as_text=True)
    assert step(admin, tip.id, "check").status_code == 404
    assert state(session, tip.id) == before


def test_a_leader_does_not_see_other_villages_items(app, demo, session, place):
    elsewhere = demo.scalar(
        select(Area)
        .where(
            Area.level == "village",
            Area.parent_id == place.commune_id,
            Area.id.not_in(select(TeamArea.area_id).where(TeamArea.team_id == place.team_id)),
        )
        .limit(1)
    )
    team = demo.scalar(
        select(TeamArea.team_id).where(TeamArea.area_id == elsewhere.id, TeamArea.active())
    )
    point = func.ST_PointOnSurface(Area.geom)
    lat, lon = demo.execute(
        select(func.ST_Y(point), func.ST_X(point)).where(Area.id == elsewhere.id)
    ).one()
    other_place = SimpleNamespace(
        village_id=elsewhere.id, commune_id=place.commune_id, team_id=team, lat=lat, lon=lon
    )
    theirs = add_tip(session, other_place)
    leader = signed_in(app, "totruong")
    assert theirs.id not in queue_ids(leader)
    assert leader.get(f"/incidents/{theirs.id}").status_code == 404
    assert theirs.id in queue_ids(signed_in(app, "canbo.xa"))


def test_an_officer_of_another_commune_finds_nothing(app, demo, session, place, other_officer):
    tip = add_tip(session, place, contact=PHONE, photo=b"\xff\xd8\xffphoto")
    before = state(session, tip.id)
    assert other_officer.get(f"/incidents/{tip.id}").status_code == 404
    assert other_officer.get(f"/incidents/{tip.id}/photo").status_code == 404
    assert tip.id not in queue_ids(other_officer)
    for action in ("check", "valuable"):
        assert step_as(other_officer, tip.id, action).status_code == 404
    assert post(other_officer, f"/incidents/{tip.id}/undo").status_code == 404
    assert post(other_officer, f"/incidents/{tip.id}/merge", {"into": tip.id}).status_code == 404
    assert state(session, tip.id) == before


def step_as(client, incident_id: int, action: str):
    """A step posted with a token from a page the client can open (its own queue)."""
    return post(client, f"/incidents/{incident_id}/step", {"action": action})


def test_the_public_is_sent_to_sign_in(client, demo, session, place):
    tip = add_tip(session, place, photo=b"\xff\xd8\xffphoto")
    for url in ("/incidents/", f"/incidents/{tip.id}", f"/incidents/{tip.id}/photo"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]
    token = csrf_token(client, "/bao-tin")
    response = client.post(
        f"/incidents/{tip.id}/step", data={"action": "check", "csrf_token": token}
    )
    assert response.status_code in (302, 401, 404)
    assert state(session, tip.id)[0] == "received"


# --- duplicates -------------------------------------------------------------------------------


def test_near_tips_of_the_same_kind_are_suggested_as_duplicates(app, demo, session, place):
    first = add_tip(session, place, hours_ago=5)
    near = add_tip(session, place, north_m=150, hours_ago=2)  # 150 m and 3 hours apart
    far = add_tip(session, place, north_m=250, hours_ago=5)
    late = add_tip(session, place, north_m=20, hours_ago=35)  # 30 hours earlier
    other_kind = add_tip(session, place, north_m=10, hours_ago=5, kind="drugs")
    officer = signed_in(app, "canbo.xa")
    assert duplicate_ids(officer, first.id) == {near.id}
    assert duplicate_ids(officer, near.id) == {first.id, far.id}
    assert duplicate_ids(officer, far.id) == {near.id}  # 100 m from near, 250 m from first
    assert duplicate_ids(officer, late.id) == set()
    assert duplicate_ids(officer, other_kind.id) == set()
    # the distance is geodesic: 150 m north is 150 m
    page = officer.get(f"/incidents/{first.id}").get_data(as_text=True)
    assert "cách 150 m" in page


def test_merging_hides_the_duplicate_and_its_reporter_follows_the_target(app, demo, session, place):
    target = add_tip(session, place, hours_ago=3)
    duplicate = add_tip(session, place, north_m=150, hours_ago=1)
    officer = signed_in(app, "canbo.xa")
    before = state(session, duplicate.id)
    response = post(
        officer,
        f"/incidents/{duplicate.id}/merge",
        {"into": target.id},
        page=f"/incidents/{target.id}",
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/incidents/{target.id}")
    assert state(session, duplicate.id)[4] == target.id
    assert duplicate.id not in queue_ids(officer)
    assert target.id in queue_ids(officer)
    assert duplicate_ids(officer, target.id) == set()
    # the reporter of the merged tip sees the target's status
    for action, ref in (("check", ""), ("valuable", ""), ("pass", "HS-5")):
        assert step(officer, target.id, action, ref).status_code == 200
    seen = app.test_client().get(f"/api/tips/{duplicate.receipt}").get_json()
    assert (seen["status"], seen["merged"], seen["receipt"]) == ("passed", True, duplicate.receipt)
    # a merged item takes no step of its own
    assert step(officer, duplicate.id, "check").status_code == 422
    # unmerged, it is back as it was
    response = post(
        officer, f"/incidents/{duplicate.id}/unmerge", page=f"/incidents/{duplicate.id}"
    )
    assert response.status_code == 303
    assert state(session, duplicate.id) == before
    assert duplicate.id in queue_ids(officer)
    seen = app.test_client().get(f"/api/tips/{duplicate.receipt}").get_json()
    assert (seen["status"], seen["merged"]) == ("received", False)


def test_an_item_cannot_be_merged_into_itself(app, demo, session, place):
    tip = add_tip(session, place)
    officer = signed_in(app, "canbo.xa")
    response = post(officer, f"/incidents/{tip.id}/merge", {"into": tip.id})
    assert response.status_code == 422
    assert state(session, tip.id)[4] is None


# --- incidents teams record -------------------------------------------------------------------


def record(client, data: dict):
    return post(client, "/incidents/new", data, page="/incidents/new")


def team_incident(place, **extra) -> dict:
    return {
        "kind": "violation",
        "violation_kind": "public_order",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="minutes"),
        "lat": str(place.lat),
        "lon": str(place.lon),
        "located_by": "gps",
        "description": "Nhóm thanh niên gây rối trước cổng chợ.",
        "action_taken": "Nhắc nhở, lập biên bản.",
        **extra,
    }


def test_the_leader_records_a_violation_on_a_patrol_and_the_officer_sees_it(
    app, demo, session, place
):
    team = SimpleNamespace(id=place.team_id, commune_id=place.team_commune_id)
    patrol = _patrol(session, team, status="done")
    leader = signed_in(app, "totruong")
    response = record(leader, team_incident(place, patrol_id=str(patrol.id), handed_to_police="1"))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    location = response.headers["Location"]
    incident_id = int(re.search(r"/incidents/(\d+)\?saved=1$", location).group(1))
    assert 'data-testid="saved"' in leader.get(location).get_data(as_text=True)
    session.expire_all()
    row = session.get(Incident, incident_id)
    assert (row.source, row.kind, row.violation_kind) == ("team", "violation", "public_order")
    assert (row.team_id, row.patrol_id, row.area_id) == (place.team_id, patrol.id, place.village_id)
    assert row.recorded_by == "totruong" and row.handed_to_police and row.receipt is None
    assert incident_id in queue_ids(signed_in(app, "canbo.xa"))
    assert incident_id in queue_ids(leader)


def test_a_point_outside_the_teams_commune_is_refused_on_where(app, demo, session, place):
    other = demo.scalar(
        select(Area)
        .where(Area.level == "village", Area.parent_id != place.team_commune_id)
        .limit(1)
    )
    point = func.ST_PointOnSurface(Area.geom)
    lat, lon = demo.execute(
        select(func.ST_Y(point), func.ST_X(point)).where(Area.id == other.id)
    ).one()
    leader = signed_in(app, "totruong")
    count = session.scalar(select(func.count()).select_from(Incident))
    for where in ({"lat": str(lat), "lon": str(lon)}, {"lat": "10.77", "lon": "106.70"}):
        response = record(leader, team_incident(place, **where))
        assert response.status_code == 422
        assert "Nơi xảy ra" in response.get_data(as_text=True) or "ngoài" in response.get_data(
            as_text=True
        )
    assert session.scalar(select(func.count()).select_from(Incident)) == count


def test_a_patrol_of_another_team_is_refused(app, demo, session, place):
    other_team = demo.scalar(
        select(Team).where(Team.id != place.team_id, Team.commune_id == place.team_commune_id)
    )
    theirs = _patrol(
        session, SimpleNamespace(id=other_team.id, commune_id=other_team.commune_id), status="done"
    )
    leader = signed_in(app, "totruong")
    count = session.scalar(select(func.count()).select_from(Incident))
    response = record(leader, team_incident(place, patrol_id=str(theirs.id)))
    assert response.status_code == 422
    assert session.scalar(select(func.count()).select_from(Incident)) == count


def test_a_violation_needs_its_kind(app, demo, session, place):
    leader = signed_in(app, "totruong")
    count = session.scalar(select(func.count()).select_from(Incident))
    response = record(leader, team_incident(place, violation_kind=""))
    assert response.status_code == 422
    assert "Chọn loại vi phạm" in response.get_data(as_text=True)
    response = record(leader, team_incident(place, kind="theft"))  # a citizen's kind
    assert response.status_code == 422
    assert session.scalar(select(func.count()).select_from(Incident)) == count
    # another team kind without a violation kind is fine
    assert record(leader, team_incident(place, kind="fire", violation_kind="")).status_code == 303


def test_the_queue_opens_on_waiting_items_and_can_show_every_status(app, demo, session, place):
    waiting = add_tip(session, place)
    done = add_tip(session, place, north_m=500)
    session.get(Incident, done.id).status = "not_valuable"
    session.commit()
    officer = signed_in(app, "canbo.xa")
    assert waiting.id in queue_ids(officer) and done.id not in queue_ids(officer)
    assert {waiting.id, done.id} <= queue_ids(officer, "?open=0")
    assert queue_ids(officer, "?open=0&status=not_valuable") & {waiting.id, done.id} == {done.id}
    # the filter form keeps the choice: the pager's links carry open=0
    page = officer.get("/incidents/?open=0").get_data(as_text=True)
    assert '<option value="0" selected>' in page


def test_a_patrol_page_lists_the_incidents_found_on_it(app, demo, session, place):
    leader = signed_in(app, "totruong")
    team = SimpleNamespace(id=place.team_id, commune_id=place.team_commune_id)
    patrol_id = _patrol(session, team, status="done").id
    answer = record(leader, team_incident(place, patrol_id=str(patrol_id)))
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    incident_id = int(re.search(r"/incidents/(\d+)", answer.headers["Location"]).group(1))
    page = leader.get(f"/patrols/{patrol_id}").get_data(as_text=True)
    listed = re.search(r'data-testid="patrol-incidents">(.*?)</ul>', page, re.S)
    assert listed and f"/incidents/{incident_id}" in listed.group(1)


def test_a_leader_cannot_tell_whether_a_reporter_left_a_contact(app, demo, session, place):
    with_contact = add_tip(session, place, contact="0912345678")
    anonymous = add_tip(session, place, north_m=400)
    leader = signed_in(app, "totruong")
    pages = [
        leader.get(f"/incidents/{t.id}").get_data(as_text=True) for t in (with_contact, anonymous)
    ]
    for page in pages:
        assert "ẩn danh" not in page and "liên lạc" not in page.lower()
    officer = signed_in(app, "canbo.xa")
    assert "ẩn danh" in officer.get(f"/incidents/{anonymous.id}").get_data(as_text=True)


def test_recording_from_a_patrol_starts_at_the_patrols_time(app, demo, session, place):
    team = SimpleNamespace(id=place.team_id, commune_id=place.team_commune_id)
    patrol = _patrol(session, team, status="done")
    leader = signed_in(app, "totruong")
    page = leader.get(f"/incidents/new?team_id={team.id}&patrol_id={patrol.id}")
    from portal.incidents.filters import LOCAL_TZ
    from portal.models import Patrol

    row = session.get(Patrol, patrol.id)
    started = (row.started_at or row.planned_start).astimezone(LOCAL_TZ)
    assert f'value="{started:%Y-%m-%dT%H:%M}"' in page.get_data(as_text=True)


def test_the_admin_narrows_the_citys_queue_to_a_commune(app, demo, session, place):
    tip = add_tip(session, place)
    admin = signed_in(app, "quantri")
    page = admin.get("/incidents/").get_data(as_text=True)
    assert f'<option value="{place.commune_id}"' in page  # the commune filter
    commune_name = session.get(Area, place.commune_id).name
    row = re.search(rf'data-testid="incident-{tip.id}">(.*?)</tr>', page, re.S).group(1)
    assert commune_name in row  # the place says which commune
    other = session.scalar(
        select(Area.id).where(Area.level == "commune", Area.id != place.commune_id).limit(1)
    )
    assert tip.id in queue_ids(admin, f"?commune_id={place.commune_id}")
    assert tip.id not in queue_ids(admin, f"?commune_id={other}")
    # an officer's page has no such filter: their commune is their scope
    officer_page = signed_in(app, "canbo.xa").get("/incidents/").get_data(as_text=True)
    assert 'name="commune_id"' not in officer_page


def test_an_items_history_reads_its_place_as_coordinates(app, demo, session, place):
    leader = signed_in(app, "totruong")
    answer = record(leader, team_incident(place))
    assert answer.status_code == 303
    page = leader.get(answer.headers["Location"]).get_data(as_text=True)
    history = re.search(r'id="history".*', page, re.S).group(0)
    assert f"{place.lat:.5f}, {place.lon:.5f}" in history
    assert "SRID" not in history and "Ranh giới" not in history
