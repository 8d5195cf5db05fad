"""A hostile review of incidents and tips: what a spammer, a curious leader, another commune's
officer or a crafty API client tried, each held here so it stays held."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from portal.models import Incident
from tests import test_incidents as incident_tests
from tests import test_tips as tip_tests
from tests.conftest import signed_in
from tests.test_incidents import (
    add_tip,
    post,
    record,
    state,
    step,
    team_incident,
)
from tests.test_tips import (
    api_post,
    api_tip,
    counts,
    receipt_of,
    send,
    tip_form,
)

# the fixtures those files define, used here under the same names
place = incident_tests.place
other_officer = incident_tests.other_officer
leader_village = tip_tests.leader_village
two_an_hour = tip_tests.two_an_hour


def incident_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Incident))


# --- a leader's or an officer's form ---------------------------------------------------------


def test_a_team_incident_dated_year_one_is_refused_and_the_pages_still_load(
    app, demo, session, place
):
    """Year 1 (in any offset) was stored: its item page overflowed looking for duplicates a day
    before, and an offset reaching back into 1 BC broke reading the row in every queue."""
    leader = signed_in(app, "totruong")
    officer = signed_in(app, "canbo.xa")
    count = incident_count(session)
    for when in ("0001-01-01T00:30", "0001-01-02T12:00", "0001-01-01T00:00+23:59"):
        response = record(leader, team_incident(place, occurred_at=when))
        assert response.status_code == 422, when
        assert incident_count(session) == count
    assert officer.get("/incidents/").status_code == 200


def test_a_case_reference_with_control_characters_is_refused(app, demo, session, place):
    tip = add_tip(session, place)
    officer = signed_in(app, "canbo.xa")
    for action in ("check", "valuable"):
        assert step(officer, tip.id, action).status_code == 200
    before = state(session, tip.id)
    # C0 controls are refused before any view (400); a line break, a bidi override, a zero
    # width or a line separator made a reference look like another one and were stored
    assert step(officer, tip.id, "pass", "HS-1\x1b[2J").status_code == 400
    for ref in ("HS\u202e-1", "HS-1\r\nHS-9", "HS\u200b-1", "HS-1\u2028HS-9"):
        response = step(officer, tip.id, "pass", ref)
        assert response.status_code == 422, repr(ref)
        assert "một dòng" in response.get_data(as_text=True)
        assert state(session, tip.id) == before
    assert step(officer, tip.id, "pass", "HS 12/2026-CAP").status_code == 200
    assert state(session, tip.id)[2] == "HS 12/2026-CAP"


def test_a_case_reference_in_html_is_kept_as_typed_and_shown_escaped(app, demo, session, place):
    tip = add_tip(session, place)
    officer = signed_in(app, "canbo.xa")
    for action, ref in (("check", ""), ("valuable", ""), ("pass", "<b>HS-2</b>")):
        assert step(officer, tip.id, action, ref).status_code == 200
    body = officer.get(f"/incidents/{tip.id}").get_data(as_text=True)
    assert "<b>HS-2</b>" not in body and "&lt;b&gt;HS-2&lt;/b&gt;" in body


# --- triage state machine --------------------------------------------------------------------


def test_a_merged_item_cannot_be_undone_behind_its_target(app, demo, session, place):
    """A merged item takes no step; undoing one changed a hidden item's status all the same."""
    target = add_tip(session, place, hours_ago=3)
    duplicate = add_tip(session, place, north_m=50, hours_ago=1)
    officer = signed_in(app, "canbo.xa")
    assert step(officer, duplicate.id, "check").status_code == 200
    response = post(
        officer, f"/incidents/{duplicate.id}/merge", {"into": target.id}, f"/incidents/{target.id}"
    )
    assert response.status_code == 303
    before = state(session, duplicate.id)
    page = officer.get(f"/incidents/{duplicate.id}").get_data(as_text=True)
    assert f"/incidents/{duplicate.id}/undo" not in page
    assert post(officer, f"/incidents/{duplicate.id}/undo").status_code == 422
    assert state(session, duplicate.id) == before


def test_an_officer_cannot_merge_across_communes_either_way(
    app, demo, session, place, other_officer
):
    from types import SimpleNamespace

    from portal.models import Area

    ours = add_tip(session, place)
    village = demo.scalar(
        select(Area).where(Area.level == "village", Area.parent_id != place.commune_id).limit(1)
    )
    point = func.ST_PointOnSurface(Area.geom)
    lat, lon = demo.execute(
        select(func.ST_Y(point), func.ST_X(point)).where(Area.id == village.id)
    ).one()
    elsewhere = SimpleNamespace(
        village_id=village.id, commune_id=village.parent_id, team_id=None, lat=lat, lon=lon
    )
    theirs = add_tip(session, elsewhere)
    mine = signed_in(app, "canbo.xa")
    before = (state(session, ours.id), state(session, theirs.id))
    # ours into theirs, theirs into ours, from either side: not found, nothing changes
    for client in (mine, other_officer):
        for a, b in ((ours.id, theirs.id), (theirs.id, ours.id)):
            assert post(client, f"/incidents/{a}/merge", {"into": b}).status_code == 404
    assert (state(session, ours.id), state(session, theirs.id)) == before


# --- a crafty API client ---------------------------------------------------------------------


def test_deeply_nested_json_answers_400_not_500(client, demo, session):
    before = counts(session)
    body = '{"kind": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post("/api/tips", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["status"] == 400
    assert counts(session) == before


def test_non_finite_and_boolean_points_are_refused_on_where(client, demo, session, leader_village):
    before = counts(session)
    for lat, lon in (("NaN", "1"), (float("inf"), 105.8), (True, 105.8), (False, 105.8)):
        body = api_tip(leader_village.lat, leader_village.lon)
        body.update(lat=lat, lon=lon)
        response = api_post(client, body)
        assert response.status_code == 422, (lat, lon, response.get_data(as_text=True)[:300])
    raw = (
        '{"kind":"drugs","occurred_at":"2026-01-01T00:00","description":"xxxxxxxxxxxxxx",'
        '"lat":NaN,"lon":Infinity}'
    )
    assert client.post("/api/tips", data=raw, content_type="application/json").status_code in (
        400,
        422,
    )
    assert counts(session) == before


# --- abuse limits ----------------------------------------------------------------------------


def test_a_forwarded_for_header_does_not_dodge_the_address_limit(
    app, demo, session, leader_village, two_an_hour
):
    body = api_tip(leader_village.lat, leader_village.lon)
    client = app.test_client()
    for n in range(2):
        response = client.post(
            "/api/tips",
            json=body,
            environ_base={"REMOTE_ADDR": "198.51.100.9"},
            headers={"X-Forwarded-For": f"192.0.2.{n}"},
        )
        assert response.status_code == 201
    response = client.post(
        "/api/tips",
        json=body,
        environ_base={"REMOTE_ADDR": "198.51.100.9"},
        headers={"X-Forwarded-For": "192.0.2.200", "X-Real-IP": "192.0.2.201"},
    )
    assert response.status_code == 429


def test_a_forged_device_cookie_is_not_a_way_around_the_address(
    app, demo, session, leader_village, two_an_hour
):
    form = tip_form(leader_village.lat, leader_village.lon)
    for n in range(2):
        client = app.test_client()
        client.set_cookie("thiet_bi", f"{n:032x}")
        receipt_of(send(client, form, address="198.51.100.10"))
    client = app.test_client()
    client.set_cookie("thiet_bi", "f" * 40)
    assert send(client, form, address="198.51.100.10").status_code == 429


def test_the_device_cookie_is_http_only_and_lax(client, demo):
    cookie = client.get("/bao-tin").headers.get("Set-Cookie", "")
    assert cookie.startswith("thiet_bi=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_status_page_sends_no_referrer_off_site(client, demo, leader_village):
    receipt = receipt_of(send(client, tip_form(leader_village.lat, leader_village.lon)))
    response = client.get(f"/bao-tin/theo-doi?ma={receipt}")
    assert response.status_code == 200
    assert response.headers.get("Referrer-Policy") in ("same-origin", "no-referrer")
    assert not re.search(r'<a [^>]*href="https?://', response.get_data(as_text=True))


# --- writes outside scope --------------------------------------------------------------------


def test_a_leader_records_for_no_other_team_and_in_no_other_commune(app, demo, session, place):
    from portal.models import Area, Team, TeamArea

    other_team = demo.scalar(select(Team.id).where(Team.id != place.team_id).limit(1))
    far_village = demo.scalar(
        select(Area.id).where(Area.level == "village", Area.parent_id != place.team_commune_id)
    )
    neighbour_village = demo.scalar(
        select(TeamArea.area_id).where(TeamArea.team_id != place.team_id, TeamArea.active())
    )
    leader = signed_in(app, "totruong")
    count = incident_count(session)
    no_point = {"lat": "", "lon": ""}
    for extra in (
        {"team_id": str(other_team)},
        {**no_point, "village_id": str(far_village)},
        {**no_point, "village_id": str(neighbour_village)},
        {**no_point, "village_id": "999999999"},
    ):
        response = record(leader, team_incident(place, **extra))
        assert response.status_code == 422, extra
    assert incident_count(session) == count


def test_a_retired_village_takes_no_tip(client, demo, session, leader_village):
    from datetime import date

    from portal.models import Area

    session.get(Area, leader_village.id).valid_to = date.today()
    session.commit()
    before = counts(session)
    response = send(client, tip_form(village_id=str(leader_village.id)))
    assert response.status_code == 422
    assert counts(session) == before


# --- stored XSS ------------------------------------------------------------------------------


def test_what_a_reporter_types_is_escaped_on_every_staff_page(
    app, client, demo, session, leader_village
):
    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    receipt = receipt_of(
        send(
            client,
            tip_form(
                leader_village.lat,
                leader_village.lon,
                description=f"Trộm cắp {evil}",
                place_note=evil[:150],
                contact_name=evil[:100],
                contact="0912345678",
            ),
        )
    )
    tip_id = session.scalar(select(Incident.id).where(Incident.receipt == receipt))
    officer = signed_in(app, "canbo.xa")
    for url in (
        f"/incidents/{tip_id}",
        "/incidents/",
        f"/incidents/{tip_id}?history_page=1",
    ):
        body = officer.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in body and "<img src=x" not in body, url
    fragment = officer.get(f"/incidents/{tip_id}", headers={"HX-Request": "true"})
    assert "<script>alert(1)" not in fragment.get_data(as_text=True)
    status = client.get(f"/bao-tin/theo-doi?ma={evil}").get_data(as_text=True)
    assert "<script>alert(1)" not in status


# --- filters ---------------------------------------------------------------------------------


def test_dates_at_the_ends_of_the_calendar_answer_400_not_500(app, demo, session):
    officer = signed_in(app, "canbo.xa")
    for query in (
        "to=9999-12-31",
        "to=0001-01-01",
        "to=0001-01-05&days=7",
        "from=9999-12-30&to=9999-12-31",
    ):
        response = officer.get(f"/incidents/?{query}")
        assert response.status_code == 400, (query, response.status_code)
    assert officer.get("/incidents/?from=2026-01-01&to=2026-01-31").status_code == 200


def test_a_team_incident_at_a_point_that_is_no_number_is_refused_on_where(
    app, demo, session, place
):
    leader = signed_in(app, "totruong")
    count = incident_count(session)
    for lat, lon in (("nan", "nan"), ("inf", "105.8"), ("1e308", "1e308"), ("21", "-inf")):
        response = record(leader, team_incident(place, lat=lat, lon=lon))
        assert response.status_code == 422, (lat, lon, response.status_code)
    assert incident_count(session) == count


def test_the_status_page_is_not_kept_by_a_shared_device_or_cache(client, demo, leader_village):
    """The API's status said no-store; the page with the same receipt and answer did not."""
    receipt = receipt_of(send(client, tip_form(leader_village.lat, leader_village.lon)))
    response = client.get(f"/bao-tin/theo-doi?ma={receipt}&moi=1")
    assert response.status_code == 200
    assert response.cache_control.no_store


def test_control_characters_through_the_api_are_refused_as_through_the_form(
    client, demo, session, leader_village
):
    """The form's C0 controls are a 400 before any view; a JSON body was never looked at."""
    before = counts(session)
    for field, value in (
        ("description", "Trộm cắp xe máy \x1b[2J ở đầu ngõ"),
        ("place_note", "ngõ\x0b5"),
        ("contact_name", "Tên\x07"),
    ):
        body = api_tip(leader_village.lat, leader_village.lon, contact="0912345678")
        body[field] = value
        response = api_post(client, body)
        assert response.status_code == 400, (field, response.status_code)
        assert response.get_json()["details"] == [{"parameter": field}]
    assert counts(session) == before
    # tab and line breaks, which a textarea sends, are fine
    body = api_tip(leader_village.lat, leader_village.lon)
    body["description"] = "Dòng một\r\nDòng hai\tvà ba"
    assert api_post(client, body).status_code == 201


def test_photos_refused_after_decoding_count_against_the_limit(
    app, demo, session, leader_village, two_an_hour
):
    """Each photo costs a confined child up to 20 s of CPU; one refused was never counted, so
    an address could keep the decoders busy with broken photos without end."""
    from tests.geo.test_photos import exif_jpeg

    broken = exif_jpeg()[:-200]  # a JPEG's header and most of its data: decoded, then refused
    form = tip_form(leader_village.lat, leader_village.lon)
    for _n in range(2):
        response = send(app.test_client(), form, broken, address="198.51.100.20")
        assert response.status_code == 422
        assert 'id="photo-error"' in response.get_data(as_text=True)
    before = counts(session)
    assert send(app.test_client(), form, broken, address="198.51.100.20").status_code == 429
    assert send(app.test_client(), form, None, address="198.51.100.20").status_code == 429
    assert counts(session) == before
    # what the first look refuses (no decoder ran) is not counted
    other = "198.51.100.21"
    for _n in range(3):
        response = send(app.test_client(), form, b"GIF89a" + b"\x00" * 30, address=other)
        assert response.status_code == 422
    receipt_of(send(app.test_client(), form, None, address=other))


def test_a_lone_surrogate_in_json_answers_400_not_500(client, demo, session, leader_village):
    """JSON may escape half of a UTF-16 pair (\\ud800); no UTF-8 can hold it, nor PostgreSQL."""
    before = counts(session)
    tip = api_tip(leader_village.lat, leader_village.lon, description="Tụ tập ma túy HALF ở ngõ")
    body = json.dumps(tip).replace("HALF", "\\ud800")  # json.dumps would write the pair whole
    response = client.post("/api/tips", data=body, content_type="application/json")
    assert response.status_code == 400, response.status_code
    assert response.get_json()["details"] == [{"parameter": "description"}]
    assert counts(session) == before
