"""Citizens' tips: placement in village, team and commune; the public form and the JSON API end to
end; what no one but the commune's officers may read (contact, address, EXIF); abuse limits."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import func, select, text

from portal.incidents.filters import LOCAL_TZ
from portal.models import (
    Account,
    Area,
    AuditEntry,
    Incident,
    IncidentPhoto,
    TeamArea,
    TipContact,
    TipLimit,
)
from tests.conftest import csrf_token, signed_in
from tests.geo.test_photos import MODEL, exif_jpeg

ADDRESS = "203.0.113.77"
PHONE = "0912345678"
NAME = "Trần Thị Báo Tin"


def counts(session) -> dict[str, int]:
    return {
        table: session.scalar(text(f"SELECT count(*) FROM {table}"))
        for table in ("incidents", "tip_contacts", "incident_photos", "tip_limits")
    }


def stored(found: dict[str, int]) -> dict[str, int]:
    """The counts of what a tip stores, without the limits' counters."""
    return {table: n for table, n in found.items() if table != "tip_limits"}


def earlier(hours: float = 1) -> str:
    return (datetime.now(LOCAL_TZ) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def inside(session, village_id: int) -> tuple[float, float]:
    """(lat, lon) of a point surely inside a village."""
    point = func.ST_PointOnSurface(Area.geom)
    return session.execute(
        select(func.ST_Y(point), func.ST_X(point)).where(Area.id == village_id)
    ).one()


@pytest.fixture
def leader_village(demo):
    """A village the demo's team leader (totruong) covers, its commune and team."""
    team_id = demo.scalar(select(Account.team_id).where(Account.username == "totruong"))
    village = demo.scalar(
        select(Area)
        .join(TeamArea, TeamArea.area_id == Area.id)
        .where(TeamArea.team_id == team_id, TeamArea.active())
        .order_by(Area.id)
        .limit(1)
    )
    lat, lon = inside(demo, village.id)
    return SimpleNamespace(
        id=village.id, commune_id=village.parent_id, team_id=team_id, lat=lat, lon=lon
    )


def tip_form(lat=None, lon=None, **extra) -> dict:
    data = {
        "kind": "theft",
        "occurred_at": earlier(),
        "description": "Hai người đi xe máy giật túi xách của một phụ nữ.",
    }
    if lat is not None:
        data.update(lat=str(lat), lon=str(lon), located_by="map")
    data.update(extra)
    return data


def send(client, data: dict, photo: bytes | None = None, address: str = ADDRESS):
    body = {**data, "csrf_token": csrf_token(client, "/bao-tin")}
    if photo is not None:
        body["photo"] = (io.BytesIO(photo), "anh.jpg")
    return client.post(
        "/bao-tin",
        data=body,
        content_type="multipart/form-data",
        environ_base={"REMOTE_ADDR": address},
    )


def receipt_of(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    location = response.headers["Location"]
    assert location.startswith("/bao-tin/theo-doi?ma=")
    return re.search(r"ma=([0-9A-Z]{4}-[0-9A-Z]{4})", location).group(1)


def tip_by(session, receipt: str) -> Incident:
    session.expire_all()
    return session.scalar(select(Incident).where(Incident.receipt == receipt))


# --- placement --------------------------------------------------------------------------------


def test_a_point_inside_a_village_lands_in_it_its_commune_and_its_team(app, demo):
    from portal.incidents import placement

    villages = demo.scalars(
        select(Area).where(Area.level == "village").order_by(Area.id).limit(400)
    ).all()
    checked = 0
    with app.app_context():
        for village in villages[::20]:
            lat, lon = inside(demo, village.id)
            where = placement.at_point(lat, lon)
            team = demo.scalar(
                select(TeamArea.team_id)
                .where(TeamArea.area_id == village.id, TeamArea.active())
                .order_by(TeamArea.team_id)
                .limit(1)
            )
            assert (where.village_id, where.commune_id, where.team_id) == (
                village.id,
                village.parent_id,
                team,
            )
            assert where.village_name == village.name
            checked += 1
    assert checked >= 5


def test_a_point_on_the_border_of_two_villages_goes_to_the_lowest_id(app, demo):
    from portal.incidents import placement
    from portal.lookup import queries as lookup_queries

    # a vertex of one village that lies on another: on both boundaries
    row = demo.execute(
        text(
            """
            SELECT a.id, b.id, ST_Y(p.geom), ST_X(p.geom)
            FROM areas a JOIN areas b
              ON a.level = 'village' AND b.level = 'village' AND a.id < b.id
             AND a.parent_id = b.parent_id AND ST_Touches(a.geom, b.geom)
            CROSS JOIN LATERAL ST_DumpPoints(a.geom) p
            WHERE ST_Intersects(p.geom, b.geom)
            ORDER BY a.id, b.id LIMIT 1
            """
        )
    ).one()
    a_id, b_id, lat, lon = row
    with app.app_context():
        hits = demo.execute(lookup_queries.areas_at(lon, lat)).all()
        on = sorted(h.id for h in hits if h.level == "village")
        assert a_id in on and b_id in on  # the point really is on both
        for _again in range(3):  # the same answer every time
            assert placement.at_point(lat, lon).village_id == min(on)


def test_a_point_outside_every_commune_is_refused_on_where(client, demo, session):
    before = counts(session)
    response = send(client, tip_form(10.77, 106.70))  # Ho Chi Minh City
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="where-error"' in page
    assert counts(session) == before


def test_choosing_a_village_places_the_tip_inside_it(client, demo, session, leader_village):
    receipt = receipt_of(send(client, tip_form(village_id=str(leader_village.id))))
    tip = tip_by(session, receipt)
    assert tip.located_by == "village"
    assert (tip.area_id, tip.commune_id, tip.team_id) == (
        leader_village.id,
        leader_village.commune_id,
        leader_village.team_id,
    )
    assert session.scalar(
        select(func.ST_Covers(Area.geom, tip.geom)).where(Area.id == leader_village.id)
    )


# --- the public form --------------------------------------------------------------------------


def test_a_tip_sent_through_the_form_gets_a_receipt_and_its_status(
    client, demo, session, leader_village
):
    before = counts(session)
    response = send(client, tip_form(leader_village.lat, leader_village.lon))
    receipt = receipt_of(response)
    tip = tip_by(session, receipt)
    assert tip.source == "tip" and tip.status == "received" and tip.kind == "theft"
    assert (tip.area_id, tip.team_id) == (leader_village.id, leader_village.team_id)
    assert not tip.has_contact and not tip.has_photo
    after = counts(session)
    assert after["incidents"] == before["incidents"] + 1
    assert after["tip_contacts"] == before["tip_contacts"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="receipt"' in page and receipt in page
    assert 'data-testid="status"' in page
    # the status as the officers moved it
    tip.status = "checked"
    session.commit()
    page = client.get(f"/bao-tin/theo-doi?ma={receipt}").get_data(as_text=True)
    assert "Đã kiểm tra" in page
    assert 'data-testid="receipt"' not in page  # the thanks only right after sending


@pytest.mark.parametrize(
    "change, field",
    [
        ({"kind": ""}, "kind"),
        ({"kind": "violation"}, "kind"),  # a team's kind, not a citizen's
        ({"description": "ngắn"}, "description"),
        ({"occurred_at": "2099-01-01T10:00"}, "occurred_at"),
        ({"occurred_at": "hôm qua"}, "occurred_at"),
        ({"contact": "không phải số"}, "contact"),
        ({"contact_name": "Nguyễn Văn A"}, "contact"),  # a name without a way to reach them
    ],
)
def test_bad_input_answers_422_next_to_the_field_and_stores_nothing(
    client, demo, session, leader_village, change, field
):
    before = counts(session)
    response = send(client, {**tip_form(leader_village.lat, leader_village.lon), **change})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert counts(session) == before


def test_every_bad_field_is_named_at_once(client, demo, session):
    response = send(
        client, {"kind": "", "occurred_at": "2099-01-01T10:00", "description": "", "contact": "x"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for field in ("kind", "description", "occurred_at", "contact", "where"):
        assert f'id="{field}-error"' in page, field


def test_a_photo_through_the_form_is_stored_clean(client, demo, session, leader_village):
    receipt = receipt_of(
        send(client, tip_form(leader_village.lat, leader_village.lon), exif_jpeg())
    )
    tip = tip_by(session, receipt)
    stored = session.get(IncidentPhoto, tip.id)
    assert tip.has_photo and stored is not None
    assert MODEL.encode() not in stored.data
    assert dict(Image.open(io.BytesIO(stored.data)).getexif()) == {}
    assert (stored.width, stored.height) == (30, 60)


@pytest.mark.parametrize(
    "photo",
    [b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"GIF89a" + b"\x00" * 30, b"\xff\xd8\xff\xe0"],
)
def test_a_hostile_photo_refuses_the_tip_on_photo(client, demo, session, leader_village, photo):
    before = counts(session)
    response = send(client, tip_form(leader_village.lat, leader_village.lon), photo)
    assert response.status_code == 422
    assert 'id="photo-error"' in response.get_data(as_text=True)
    # nothing stored; a photo a decoder had to read is counted against the limits
    assert stored(counts(session)) == stored(before)


# --- privacy ----------------------------------------------------------------------------------


def test_nobody_but_the_communes_officers_reads_the_contact_and_nobody_the_address(
    app, client, demo, session, leader_village
):
    email = "nguoibao.bimat@example.org"
    receipt = receipt_of(
        send(
            client,
            tip_form(
                leader_village.lat,
                leader_village.lon,
                contact_name=NAME,
                contact="0912 345 678",
                place_note="trước số 12 ngõ 5",
            ),
            exif_jpeg(),
        )
    )
    second = receipt_of(
        send(client, tip_form(leader_village.lat, leader_village.lon, contact=email), None)
    )
    tip = tip_by(session, receipt)
    assert session.get(TipContact, tip.id).contact == PHONE
    secrets = (PHONE, "0912 345 678", NAME, email, ADDRESS, MODEL)

    def clean(body: bytes, where: str) -> None:
        for secret in secrets:
            assert secret.encode() not in body, (secret, where)

    leader = signed_in(app, "totruong")
    public = app.test_client()
    leader_urls = [
        "/incidents/",
        "/incidents/?open=1&kind=theft",
        f"/incidents/{tip.id}",
        f"/incidents/{tip.id}/photo",
    ]
    seen = 0
    for url in [*leader_urls, "/incidents/map"]:
        response = leader.get(url)
        if url == "/incidents/map" and response.status_code == 404:
            continue  # the map is not there yet
        assert response.status_code == 200, url
        clean(response.data, f"leader {url}")
        seen += 1
    assert seen >= 4
    photo = leader.get(f"/incidents/{tip.id}/photo").data
    assert dict(Image.open(io.BytesIO(photo)).getexif()) == {}
    leader_item = leader.get(f"/incidents/{tip.id}").get_data(as_text=True)
    assert tip.description in leader_item  # the page was the item's, without its contact
    for url in (
        f"/bao-tin/theo-doi?ma={receipt}",
        f"/bao-tin/theo-doi?ma={receipt}&moi=1",
        f"/api/tips/{receipt}",
        f"/api/tips/{second}",
        "/bao-tin",
        f"/bao-tin?khu_vuc={leader_village.id}",
        f"/bao-tin/vi-tri?lat={leader_village.lat}&lon={leader_village.lon}",
    ):
        response = public.get(url)
        assert response.status_code == 200, url
        clean(response.data, f"public {url}")
    for url in (f"/incidents/{tip.id}", f"/incidents/{tip.id}/photo", "/incidents/"):
        response = public.get(url)
        assert response.status_code in (302, 303, 401, 404), url
        clean(response.data, f"public {url}")
    # the commune's officer reads it; the city's admin does not
    officer_page = signed_in(app, "canbo.xa").get(f"/incidents/{tip.id}").get_data(as_text=True)
    assert PHONE in officer_page and NAME in officer_page
    assert ADDRESS not in officer_page
    admin_page = signed_in(app, "quantri").get(f"/incidents/{tip.id}")
    assert admin_page.status_code == 200
    clean(admin_page.data, "admin's item page")

    # the log knows no address and no contact of the reporter
    session.expire_all()
    entries = session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "incident",
            AuditEntry.entity_id.in_([tip.id, tip_by(session, second).id]),
        )
    ).all()
    assert len(entries) == 2
    for entry in entries:
        assert entry.ip is None and entry.actor == "anonymous"
        logged = json.dumps(entry.changes, ensure_ascii=False)
        for secret in secrets:
            assert secret not in logged
    others = session.scalars(
        select(AuditEntry).where(AuditEntry.ip == ADDRESS)  # nothing else logged the address
    ).all()
    assert others == []
    # the limits hold 32-byte keyed hashes only
    keys = session.scalars(select(TipLimit.key)).all()
    assert keys and all(len(k) == 32 for k in keys)
    assert not any(ADDRESS.encode() in k for k in keys)
    raw = session.scalar(text("SELECT string_agg(encode(key, 'escape'), '') FROM tip_limits"))
    assert ADDRESS not in raw


def test_counts_older_than_a_day_are_forgotten_when_a_tip_comes(client, demo, session):
    old = TipLimit(key=b"\x01" * 32, at=datetime.now(UTC) - timedelta(days=1, minutes=5))
    recent = TipLimit(key=b"\x02" * 32, at=datetime.now(UTC) - timedelta(hours=23))
    session.add_all([old, recent])
    session.commit()
    old_id, recent_id = old.id, recent.id
    village = session.scalar(select(Area.id).where(Area.level == "village").limit(1))
    receipt_of(send(client, tip_form(village_id=str(village))))
    session.expire_all()
    assert session.get(TipLimit, old_id) is None
    assert session.get(TipLimit, recent_id) is not None


# --- abuse limits -----------------------------------------------------------------------------


@pytest.fixture
def two_an_hour(app, monkeypatch):
    monkeypatch.setitem(app.config, "TIP_MAX_PER_HOUR", 2)


def test_a_third_tip_in_the_hour_from_one_address_or_device_is_refused(
    app, demo, session, leader_village, two_an_hour
):
    form = tip_form(leader_village.lat, leader_village.lon)
    device = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
    client = app.test_client()
    client.set_cookie("thiet_bi", device)
    for _n in range(2):
        receipt_of(send(client, form, address="198.51.100.1"))
    before = counts(session)
    assert before["tip_limits"] == 4  # each tip counted once on its address and its device
    response = send(client, form, address="198.51.100.1")
    assert response.status_code == 429
    assert "113" in response.get_data(as_text=True)  # says when, and where to call meanwhile
    assert counts(session) == before
    # another address, the same device: refused too
    assert send(client, form, address="198.51.100.2").status_code == 429
    assert counts(session) == before
    # another address and another device: sent
    other = app.test_client()
    other.set_cookie("thiet_bi", "f" * 32)
    receipt_of(send(other, form, address="198.51.100.3"))


def test_an_ipv6_block_of_64_counts_as_one_address(
    client, demo, session, leader_village, two_an_hour
):
    body = api_tip(leader_village.lat, leader_village.lon)
    for address in ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe"):
        assert api_post(client, body, address).status_code == 201
    before = counts(session)
    refused = api_post(client, body, "2001:db8:1:2:abcd::9")
    assert refused.status_code == 429
    assert refused.get_json()["message"]
    # when to try again, for an app to read: within the hour the limit counts
    assert 60 <= int(refused.headers["Retry-After"]) <= 3600
    assert counts(session) == before
    assert api_post(client, body, "2001:db8:1:3::1").status_code == 201


def test_status_look_ups_are_limited_per_address(app, client, demo, leader_village, monkeypatch):
    receipt = api_post(client, api_tip(leader_village.lat, leader_village.lon)).get_json()[
        "receipt"
    ]
    monkeypatch.setitem(app.config, "TIP_STATUS_PER_HOUR", 3)
    for _n in range(3):
        assert api_get(client, receipt).status_code == 200
    refused = api_get(client, receipt)
    assert refused.status_code == 429
    assert 60 <= int(refused.headers["Retry-After"]) <= 3600
    page = client.get(f"/bao-tin/theo-doi?ma={receipt}", environ_base={"REMOTE_ADDR": ADDRESS})
    assert page.status_code == 429
    assert 60 <= int(page.headers["Retry-After"]) <= 3600
    # unknown codes count too: guessing is held by the same limit
    assert api_get(client, "ZZZZ-ZZZZ", "192.0.2.50").status_code == 404
    assert api_get(client, receipt, "192.0.2.50").status_code == 200


# --- the API ----------------------------------------------------------------------------------


def api_tip(lat, lon, **extra) -> dict:
    return {
        "kind": "drugs",
        "occurred_at": (datetime.now(LOCAL_TZ) - timedelta(hours=2)).isoformat(),
        "description": "Nhóm thanh niên tụ tập sử dụng ma túy ở cuối ngõ.",
        "lat": lat,
        "lon": lon,
        **extra,
    }


def api_post(client, body, address: str = ADDRESS):
    return client.post("/api/tips", json=body, environ_base={"REMOTE_ADDR": address})


def api_get(client, receipt: str, address: str = ADDRESS):
    return client.get(f"/api/tips/{receipt}", environ_base={"REMOTE_ADDR": address})


def check_schema(document: dict, schema: dict, value: dict) -> None:
    """The value against the document's schema: with jsonschema when installed, else its
    required keys, types and enums by hand."""
    try:
        import jsonschema
    except ImportError:
        jsonschema = None
    if jsonschema is not None:
        jsonschema.validate(value, {**schema, "components": document["components"]})
        return
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    types = {"string": str, "boolean": bool, "integer": int, "number": (int, float)}
    for key in schema["required"]:
        assert key in value, key
    for key, rule in schema["properties"].items():
        if key not in value:
            continue
        assert isinstance(value[key], types[rule["type"]]), key
        if "enum" in rule:
            assert value[key] in rule["enum"], key
        if "pattern" in rule:
            assert re.match(rule["pattern"], value[key]), key
        if rule.get("format") == "date-time":
            datetime.fromisoformat(value[key])


def test_a_tip_through_the_api_and_its_status(client, demo, session, leader_village):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    response = api_post(client, api_tip(leader_village.lat, leader_village.lon, located_by="gps"))
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    created = document["paths"]["/api/tips"]["post"]["responses"]["201"]
    check_schema(document, created["content"]["application/json"]["schema"], body)
    assert response.headers["Location"] == body["status_url"]
    assert body["status_url"].endswith(f"/api/tips/{body['receipt']}")
    tip = tip_by(session, body["receipt"])
    assert (tip.kind, tip.located_by, tip.area_id) == ("drugs", "gps", leader_village.id)

    status = client.get(body["status_url"], environ_base={"REMOTE_ADDR": ADDRESS})
    assert status.status_code == 200
    assert "no-store" in status.headers["Cache-Control"]
    found = status.get_json()
    ok = document["paths"]["/api/tips/{receipt}"]["get"]["responses"]["200"]
    check_schema(document, ok["content"]["application/json"]["schema"], found)
    commune = session.get(Area, leader_village.commune_id).name
    assert found["receipt"] == body["receipt"] and found["kind"] == "drugs"
    assert found["status"] == "received" and found["merged"] is False
    assert found["commune"] == commune
    # nothing private or about the place is in it
    assert set(found) <= set(document["components"]["schemas"]["TipStatus"]["properties"]), found


def test_the_api_accepts_a_village_and_numbers_as_strings(client, demo, session, leader_village):
    body = api_tip(None, None, village_id=str(leader_village.id))
    del body["lat"], body["lon"]
    response = api_post(client, body)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert tip_by(session, response.get_json()["receipt"]).area_id == leader_village.id


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("{not json", "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('"a string"', "application/json"),
    ],
)
def test_a_body_that_is_not_a_json_object_answers_400(client, demo, session, body, content_type):
    before = counts(session)
    response = client.post("/api/tips", data=body, content_type=content_type)
    assert response.status_code == 400
    assert response.get_json()["status"] == 400
    assert counts(session) == before


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("kind=theft", "application/x-www-form-urlencoded"),
        ('{"kind": "theft"}', "text/plain"),
        ("", None),
    ],
)
def test_a_body_not_sent_as_json_answers_415(client, demo, session, body, content_type):
    before = counts(session)
    response = client.post("/api/tips", data=body, content_type=content_type)
    assert response.status_code == 415
    answer = response.get_json()
    assert answer["status"] == 415
    assert answer["error"] == "Kiểu nội dung không được hỗ trợ"
    assert "application/json" in answer["message"]
    assert answer["details"] == [{"parameter": "body"}]
    assert counts(session) == before


def test_bad_fields_answer_422_naming_each(client, demo, session):
    before = counts(session)
    response = api_post(
        client,
        {
            "kind": "nuclear",
            "occurred_at": "2099-01-01T00:00:00+07:00",
            "description": "ngắn",
            "lat": 95,
            "lon": 105.8,
            "contact": "@@",
        },
    )
    assert response.status_code == 422
    body = response.get_json()
    named = {d["field"] for d in body["details"]}
    assert named == {"kind", "occurred_at", "description", "where", "contact"}
    assert all(d["message"] for d in body["details"])
    assert counts(session) == before


def test_a_point_outside_every_commune_answers_422_on_where(client, demo, session):
    response = api_post(client, api_tip(10.77, 106.70))
    assert response.status_code == 422
    assert [d["field"] for d in response.get_json()["details"]] == ["where"]


def test_unknown_receipts_answer_404_and_typed_ones_are_found(client, demo, leader_village):
    receipt = api_post(client, api_tip(leader_village.lat, leader_village.lon)).get_json()[
        "receipt"
    ]
    assert (
        api_get(client, "0000-0000" if receipt != "0000-0000" else "1111-1111").status_code == 404
    )
    assert api_get(client, "not-a-code").status_code == 404
    typed = receipt.replace("-", "").lower().replace("0", "o").replace("1", "l")
    found = api_get(client, f"{typed[:4]} {typed[4:]}".replace(" ", "%20"))
    assert found.status_code == 200
    assert found.get_json()["receipt"] == receipt


@pytest.mark.parametrize(
    "photo",
    [
        base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode(),
        base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00" * 20).decode(),
        "this is not base64!!",
    ],
)
def test_a_hostile_photo_through_the_api_answers_422_on_photo(
    client, demo, session, leader_village, photo
):
    before = counts(session)
    response = api_post(client, api_tip(leader_village.lat, leader_village.lon, photo_base64=photo))
    assert response.status_code == 422
    assert [d["field"] for d in response.get_json()["details"]] == ["photo"]
    assert stored(counts(session)) == stored(before)


def test_a_photo_through_the_api_is_stored_clean(client, demo, session, leader_village):
    photo = base64.b64encode(exif_jpeg()).decode()
    response = api_post(client, api_tip(leader_village.lat, leader_village.lon, photo_base64=photo))
    assert response.status_code == 201
    tip = tip_by(session, response.get_json()["receipt"])
    assert MODEL.encode() not in session.get(IncidentPhoto, tip.id).data


def test_no_page_a_leader_or_the_public_can_open_carries_the_reporter(
    app, client, demo, session, leader_village
):
    """Every GET route of the portal, as the team leader of the tip's village and as the public,
    with the tip's own ids in the URL and as HTMX fragments too: no contact, address or EXIF."""
    from tests.test_security import ids, routes

    receipt = receipt_of(
        send(
            client,
            tip_form(leader_village.lat, leader_village.lon, contact_name=NAME, contact=PHONE),
            exif_jpeg(),
        )
    )
    tip = tip_by(session, receipt)
    values = {**ids(session), "incident_id": tip.id, "receipt": receipt}
    values["service_request_id"] = receipt  # issue 17: Open311's GET by id
    values["area_id"], values["commune_id"] = leader_village.id, leader_village.commune_id
    secrets = (PHONE, "0912 345 678", NAME, ADDRESS, MODEL)
    leader = signed_in(app, "totruong")
    read = 0
    for endpoint, method, _url in routes(app, session):
        if method != "GET" or endpoint in ("static", "vendor", "auth.logout"):
            continue
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:\w+:)?{arg}>", str(values[arg]), url)
        for who, reader in (("leader", leader), ("public", app.test_client())):
            for headers in ({}, {"HX-Request": "true"}):
                body = reader.get(url, headers=headers).data
                for secret in secrets:
                    assert secret.encode() not in body, (who, url, headers, secret)
                read += 1
    assert read > 200
    # and the officer of the commune does read the contact: the search above could find it
    officer = signed_in(app, "canbo.xa")
    assert PHONE.encode() in officer.get(f"/incidents/{tip.id}").data


def test_the_form_from_a_commune_card_preselects_no_village(client, demo, leader_village):
    commune_form = client.get(f"/bao-tin?khu_vuc={leader_village.commune_id}")
    assert commune_form.status_code == 200
    assert "selected>" not in re.search(
        r'<select id="tip-village".*?</select>', commune_form.get_data(as_text=True), re.S
    ).group(0)
    village_form = client.get(f"/bao-tin?khu_vuc={leader_village.id}").get_data(as_text=True)
    assert f'<option value="{leader_village.id}" selected>' in village_form


def test_status_look_ups_count_a_whole_ipv6_site_and_old_counts_go(
    app, client, demo, session, leader_village, monkeypatch
):
    receipt = api_post(client, api_tip(leader_village.lat, leader_village.lon)).get_json()[
        "receipt"
    ]
    monkeypatch.setitem(app.config, "TIP_STATUS_PER_HOUR", 2)
    # two /64s of one /48: a site stepping through its subnets is held as one
    assert api_get(client, receipt, "2001:db8:7:1::5").status_code == 200
    assert api_get(client, receipt, "2001:db8:7:2::5").status_code == 200
    assert api_get(client, receipt, "2001:db8:7:3::5").status_code == 429
    assert api_get(client, receipt, "2001:db8:8:1::5").status_code == 200  # another site
    # a look-up forgets counts older than a day, as a tip does
    session.execute(text("UPDATE tip_limits SET at = now() - interval '25 hours'"))
    session.commit()
    assert api_get(client, receipt, "2001:db8:7:3::5").status_code == 200
    assert session.scalar(select(func.count()).select_from(TipLimit)) == 1


def test_a_leader_does_not_see_the_receipt_of_a_tip(app, client, demo, session, leader_village):
    receipt = receipt_of(send(client, tip_form(leader_village.lat, leader_village.lon)))
    tip = tip_by(session, receipt)
    leader_page = signed_in(app, "totruong").get(f"/incidents/{tip.id}").get_data(as_text=True)
    assert receipt not in leader_page
    officer_page = signed_in(app, "canbo.xa").get(f"/incidents/{tip.id}").get_data(as_text=True)
    assert receipt in officer_page
