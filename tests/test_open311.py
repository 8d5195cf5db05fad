"""Open311 GeoReport v2 over the tips (/open311/v2/): an Open311 client's round trip into the same
store, queue and audit as the tip form; the form's rules, limits and privacy; JSON and XML."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from types import SimpleNamespace

import psycopg
import pytest
from PIL import Image
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.errors import RETRY_AFTER_SECONDS
from portal.incidents import kinds
from portal.incidents.filters import LOCAL_TZ
from portal.models import TIP_KINDS, Account, Area, AuditEntry, Incident, TipContact
from tests.conftest import signed_in
from tests.test_i18n import load_catalogue
from tests.test_tips import counts, receipt_of, send, stored, tip_by, tip_form

V2 = "/open311/v2"
ADDRESS = "198.51.100.44"
RECEIPT = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}$")
DESCRIPTION = "Hai người lạ đi xe máy không biển số dò hỏi các nhà vắng chủ trong ngõ."
EMAIL = "nguoibao.open311@example.org"
PHONE = "0987654321"
FIRST, LAST = "Lê", "Thị Kín Đáo"
POINT = func.ST_PointOnSurface(Area.geom)
NOT_FOUND = "Trang hoặc đối tượng bạn tìm không tồn tại, hoặc nằm ngoài phạm vi của bạn."


def post(client, data: dict, fmt: str = "json", address: str = ADDRESS, **kwargs):
    """A POST as an Open311 client makes it: form-encoded, no cookie, no CSRF token."""
    return client.post(
        f"{V2}/requests.{fmt}", data=data, environ_base={"REMOTE_ADDR": address}, **kwargs
    )


def get(client, url: str, address: str = ADDRESS, **kwargs):
    return client.get(url, environ_base={"REMOTE_ADDR": address}, **kwargs)


def open311_request(village, **extra) -> dict:
    data = {
        "service_code": "suspicious",
        "lat": str(village.lat),
        "long": str(village.lon),
        "description": DESCRIPTION,
    }
    data.update(extra)
    return data


def xml(response) -> ET.Element:
    assert response.content_type == "text/xml; charset=utf-8"
    assert response.data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(response.data)  # raises when it is not well-formed


def errors_of(response) -> list[dict]:
    """Open311's error list, from JSON or XML, checked against the HTTP status."""
    if response.content_type.startswith("text/xml"):
        root = xml(response)
        assert root.tag == "errors"
        body = [
            {"code": int(e.findtext("code")), "description": e.findtext("description")}
            for e in root.findall("error")
        ]
    else:
        assert response.content_type == "application/json"
        body = response.get_json()
    assert body and all(e["code"] == response.status_code for e in body), body
    return body


@pytest.fixture
def village(demo) -> SimpleNamespace:
    """A demo village the commune officer canbo.xa serves, a point inside it and its commune."""
    officer = demo.scalar(select(Account).where(Account.username == "canbo.xa"))
    row = demo.execute(
        select(Area.id, Area.parent_id, func.ST_Y(POINT), func.ST_X(POINT))
        .where(Area.level == "village", Area.parent_id == officer.commune_id)
        .where(Area.valid_to.is_(None))
        .order_by(Area.id)
        .limit(1)
    ).one()
    return SimpleNamespace(id=row[0], commune_id=row[1], lat=row[2], lon=row[3])


# --- discovery and services -------------------------------------------------------------------


def test_discovery_names_the_endpoint_its_formats_and_the_specification(client):
    found = client.get(f"{V2}/discovery.json").get_json()
    (endpoint,) = found["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://localhost/open311/v2"
    assert endpoint["type"] == "production"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    root = xml(client.get(f"{V2}/discovery.xml"))
    assert root.tag == "discovery"
    assert root.findtext("endpoints/endpoint/url") == endpoint["url"]
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == endpoint[
        "formats"
    ]
    for url in (f"{V2}/discovery.csv", f"{V2}/services/theft.html"):
        response = client.get(url)
        assert response.status_code == 404
        assert ".json" in errors_of(response)[0]["description"]
    assert errors_of(client.get(f"{V2}/discovery.")) == [{"code": 404, "description": NOT_FOUND}]


def test_the_services_are_the_tip_kinds_in_the_requests_language(client):
    listed = client.get(f"{V2}/services.json").get_json()
    assert [s["service_code"] for s in listed] == list(TIP_KINDS)
    assert [s["service_name"] for s in listed] == [kinds.KIND_LABELS[k] for k in TIP_KINDS]
    for service in listed:
        assert service["metadata"] is True and service["type"] == "realtime"
        assert service["group"] == "Tin báo an ninh, trật tự"
        assert service["description"] and service["keywords"]
    names = [kinds.KIND_LABELS[k] for k in TIP_KINDS]
    catalogue = load_catalogue()
    english = [catalogue[name].string for name in names]
    assert english != names
    for asked in (
        {"query_string": {"locale": "en"}},
        {"query_string": {"locale": "en_US"}},
        {"headers": {"Accept-Language": "en-US,en;q=0.9"}},
    ):
        listed_en = client.get(f"{V2}/services.json", **asked).get_json()
        assert [s["service_name"] for s in listed_en] == english, asked
        assert listed_en[0]["group"] == "Security and order tips"
    # Vietnamese first: on a tie, when Vietnamese is preferred, and with ?locale=vi
    for headers in ({"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.8"}, {"Accept-Language": "*"}):
        assert client.get(f"{V2}/services.json", headers=headers).get_json() == listed
    asked_vi = client.get(
        f"{V2}/services.json?locale=vi", headers={"Accept-Language": "en"}
    ).get_json()
    assert asked_vi == listed
    root = xml(client.get(f"{V2}/services.xml"))
    assert [s.findtext("service_code") for s in root.findall("service")] == list(TIP_KINDS)
    assert root.find("service/metadata").text == "true"


def test_a_services_definition_holds_when_it_happened_and_unknown_codes_are_404(client):
    found = client.get(f"{V2}/services/theft.json").get_json()
    assert found["service_code"] == "theft"
    (when,) = found["attributes"]
    assert (when["code"], when["datatype"], when["required"]) == ("occurred_at", "datetime", False)
    root = xml(client.get(f"{V2}/services/theft.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("attributes/attribute/code") == "occurred_at"
    for url in (f"{V2}/services/war.json", f"{V2}/services/war.xml"):
        response = client.get(url)
        assert response.status_code == 404
        assert "war" in errors_of(response)[0]["description"]


# --- the round trip ---------------------------------------------------------------------------


def test_an_open311_request_is_a_tip_as_the_forms_and_is_followed_by_its_id(
    app, client, demo, session, village
):
    before = counts(session)
    response = post(
        client,
        open311_request(
            village,
            email=EMAIL,
            first_name=FIRST,
            last_name=LAST,
            address_string="Đầu ngõ 7",
            api_key="anything",  # not needed, not checked
            jurisdiction_id="hanoi",
        ),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "application/json"
    (answer,) = response.get_json()
    receipt = answer["service_request_id"]
    assert RECEIPT.match(receipt)
    assert answer["account_id"] is None and receipt in answer["service_notice"]
    after = counts(session)
    assert stored(after) == {
        **stored(before),
        "incidents": before["incidents"] + 1,
        "tip_contacts": before["tip_contacts"] + 1,
    }
    tip = tip_by(session, receipt)
    assert (tip.source, tip.kind, tip.status, tip.located_by) == (
        "tip",
        "suspicious",
        "received",
        "map",
    )
    assert (tip.description, tip.place_note, tip.has_contact) == (DESCRIPTION, "Đầu ngõ 7", True)
    contact = session.get(TipContact, tip.id)
    assert (contact.name, contact.contact) == (f"{FIRST} {LAST}", EMAIL)
    # without the attribute it happened when it was sent; with it, when it says
    assert abs(tip.occurred_at - tip.received_at) < timedelta(minutes=1)

    # the same tip through the form: stored alike, column for column
    form_receipt = receipt_of(
        send(
            client,
            tip_form(
                village.lat,
                village.lon,
                kind="suspicious",
                description=DESCRIPTION,
                place_note="Đầu ngõ 7",
                contact_name=f"{FIRST} {LAST}",
                contact=EMAIL,
            ),
        )
    )
    form_tip = tip_by(session, form_receipt)
    columns = [c.key for c in Incident.__table__.columns]
    differ = {"id", "receipt", "received_at", "occurred_at", "status_at", "updated_at"}
    for column in columns:
        if column not in differ:
            assert getattr(tip, column) == getattr(form_tip, column), column
    assert session.get(TipContact, form_tip.id).contact == contact.contact

    # in the commune officer's queue, as the form's tip
    officer = signed_in(app, "canbo.xa")
    queue = officer.get("/incidents/").get_data(as_text=True)
    assert f"/incidents/{tip.id}" in queue and f"/incidents/{form_tip.id}" in queue
    item = officer.get(f"/incidents/{tip.id}").get_data(as_text=True)
    assert DESCRIPTION in item and EMAIL in item
    # audited as the form's: by no one, with no address
    entries = session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "incident",
            AuditEntry.entity_id.in_([tip.id, form_tip.id]),
        )
    ).all()
    assert len(entries) == 2
    assert all(e.actor == "anonymous" and e.ip is None for e in entries)
    logged = json.dumps([e.changes for e in entries], ensure_ascii=False)
    assert EMAIL not in logged and LAST not in logged

    # followed by its id, in JSON and in XML
    (status,) = get(client, f"{V2}/requests/{receipt}.json").get_json()
    assert status["service_request_id"] == receipt
    assert (status["status"], status["service_code"]) == ("open", "suspicious")
    assert status["service_name"] == kinds.KIND_LABELS["suspicious"]
    assert status["status_notes"] == kinds.STATUS_LABELS["received"]
    requested = datetime.fromisoformat(status["requested_datetime"])
    assert requested.utcoffset() == timedelta(hours=7)
    assert abs(requested - tip.received_at) < timedelta(seconds=1)
    assert status["address"] == session.get(Area, tip.commune_id).name
    root = xml(get(client, f"{V2}/requests/{receipt}.xml"))
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == receipt
    assert root.findtext("request/status") == "open"
    assert root.findtext("request/requested_datetime") == status["requested_datetime"]
    # the receipt as people type it, as the status page takes it
    typed = receipt.lower().replace("-", "")
    assert get(client, f"{V2}/requests/{typed}.json").get_json() == [status]

    # closed once the officers are done; a merged tip shows the other's status
    session.execute(
        Incident.__table__.update()
        .where(Incident.id == tip.id)
        .values(status="passed", case_ref="VV-17")
    )
    (status,) = get(client, f"{V2}/requests/{receipt}.json").get_json()
    assert (status["status"], status["status_notes"]) == ("closed", kinds.STATUS_LABELS["passed"])


def test_when_it_happened_is_the_attribute_and_a_photo_may_come_as_media(
    client, demo, session, village
):
    when = (datetime.now(LOCAL_TZ) - timedelta(hours=3)).replace(microsecond=0)
    png = io.BytesIO()
    Image.new("RGB", (16, 12), (10, 200, 30)).save(png, "PNG")
    data = open311_request(village, **{"attribute[occurred_at]": when.isoformat()})
    data["media"] = (io.BytesIO(png.getvalue()), "anh.png")
    response = post(client, data, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    tip = tip_by(session, response.get_json()[0]["service_request_id"])
    assert tip.occurred_at == when and tip.has_photo
    # JSON is taken too, with the same names
    response = client.post(
        f"{V2}/requests.json", json=open311_request(village, service_code="theft")
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert tip_by(session, response.get_json()[0]["service_request_id"]).kind == "theft"


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"service_code": None}, "service_code"),
        ({"service_code": "war"}, "service_code"),
        ({"lat": "10.77", "long": "106.70"}, "lat, long"),  # Hồ Chí Minh City: outside
        ({"lat": None, "long": None, "address_string": "Số 1 Tràng Tiền"}, "lat, long"),
        ({"lat": "đông"}, "lat, long"),
        ({"description": "x" * 2001}, "description"),
        ({"description": "ngắn"}, "description"),
        ({"media_url": "http://169.254.169.254/latest/meta-data/"}, "media_url"),
        ({"address_string": "ngõ " * 60}, "address_string"),
        ({"phone": "12345"}, "phone"),
        ({"first_name": FIRST}, "email"),  # a name without a way to reach its owner
        ({"attribute[occurred_at]": "2020-01-01T08:00"}, "attribute[occurred_at]"),
    ],
)
def test_bad_requests_answer_400_naming_the_parameter_and_store_nothing(
    client, demo, session, village, change, named
):
    data = {k: v for k, v in {**open311_request(village), **change}.items() if v is not None}
    before = counts(session)
    for fmt in ("json", "xml"):
        response = post(client, data, fmt)
        assert response.status_code == 400, response.get_data(as_text=True)
        described = [e["description"] for e in errors_of(response)]
        assert any(d.startswith(f"{named}: ") for d in described), described
    assert counts(session) == before  # not even a count against the limits


def test_every_bad_parameter_is_named_at_once_and_without_a_point_says_why(client, demo, session):
    response = post(client, {"description": "ngắn", "address_string": "Số 1 Tràng Tiền"})
    assert response.status_code == 400
    described = " ".join(e["description"] for e in errors_of(response))
    assert "service_code: Thiếu service_code" in described
    assert "description: " in described
    assert "lat, long: Cần lat và long" in described and "address_string" in described


def test_refusals_speak_english_with_the_locale(client, demo, session, village):
    data = open311_request(village, media_url="http://example.org/a.jpg")
    response = client.post(f"{V2}/requests.json?locale=en", data=data)
    (refused,) = errors_of(response)
    assert refused["description"].startswith("media_url: media_url is not accepted")
    response = client.get(f"{V2}/requests.json", headers={"Accept-Language": "en"})
    assert errors_of(response)[0]["description"].startswith(
        "service_request_id: The list of tips is not public"
    )
    # a URL that is not one of ours, in the client's language and format
    response = client.get(f"{V2}/nothing.xml?locale=en")
    assert response.status_code == 404
    assert errors_of(response)[0]["description"].startswith("The page or object")
    response = client.put(f"{V2}/requests.json")
    assert response.status_code == 405 and errors_of(response)


def test_a_page_of_another_site_cannot_send_a_tip_in_its_visitors_name(
    client, demo, session, village
):
    """The form-encoded POST needs no CORS preflight: a browser's cross-site request is refused
    by its Origin or Sec-Fetch-Site, as no app or server sends them."""
    before = counts(session)
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"},
    ):
        response = post(client, open311_request(village), headers=headers)
        assert response.status_code == 403, headers
        assert errors_of(response)[0]["description"].startswith("Không nhận tin báo gửi từ")
    assert counts(session) == before
    same_site = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert post(client, open311_request(village), headers=same_site).status_code == 200


def test_the_limit_is_the_forms_and_counts_its_tips(
    app, client, demo, session, village, monkeypatch
):
    monkeypatch.setitem(app.config, "TIP_MAX_PER_HOUR", 2)
    receipt_of(send(client, tip_form(village.lat, village.lon), address=ADDRESS))
    assert post(client, open311_request(village)).status_code == 200
    before = counts(session)
    for fmt in ("json", "xml"):
        response = post(client, open311_request(village), fmt)
        assert response.status_code == 429
        assert 60 <= int(response.headers["Retry-After"]) <= 3600
        assert "113" in errors_of(response)[0]["description"]
    assert counts(session) == before
    # and the form is held by the Open311 tips as well
    assert send(client, tip_form(village.lat, village.lon), address=ADDRESS).status_code == 429
    assert post(client, open311_request(village), address="198.51.100.45").status_code == 200


def test_status_look_ups_are_the_status_pages_limit(app, client, demo, village, monkeypatch):
    monkeypatch.setitem(app.config, "TIP_STATUS_PER_HOUR", 2)
    receipt = post(client, open311_request(village)).get_json()[0]["service_request_id"]
    assert get(client, f"{V2}/requests/{receipt}.json").status_code == 200
    assert get(client, f"/api/tips/{receipt}").status_code == 200
    response = get(client, f"{V2}/requests/{receipt}.json")
    assert response.status_code == 429 and response.headers["Retry-After"]
    assert get(client, f"{V2}/requests/ZZZZ-ZZZZ.json", address="198.51.100.9").status_code == 404


# --- privacy ----------------------------------------------------------------------------------


def test_no_answer_carries_the_reporter_the_description_or_the_point(
    client, demo, session, village
):
    first = post(
        client,
        open311_request(village, email=EMAIL, phone=PHONE, first_name=FIRST, last_name=LAST),
    ).get_json()[0]["service_request_id"]
    second = post(client, open311_request(village, email=EMAIL)).get_json()[0]["service_request_id"]
    tip = tip_by(session, first)
    assert session.get(TipContact, tip.id).contact == PHONE  # the phone, when both are given
    secrets = (EMAIL, PHONE, FIRST + " " + LAST, LAST, DESCRIPTION, ADDRESS)
    for fmt in ("json", "xml"):
        urls = [
            f"{V2}/requests/{first}.{fmt}",
            f"{V2}/requests.{fmt}?service_request_id={first},{second},ZZZZ-ZZZZ",
        ]
        for url in urls:
            response = get(client, url)
            assert response.status_code == 200, url
            assert response.headers["Cache-Control"] == "no-store"
            for secret in secrets:
                assert secret.encode() not in response.data, (secret, url)
            for field in ("lat", "long", "description", "media_url", "email", "phone"):
                assert f'"{field}"'.encode() not in response.data
                assert f"<{field}>".encode() not in response.data
    listed = get(client, f"{V2}/requests.json?service_request_id={first}, {second}").get_json()
    assert [r["service_request_id"] for r in listed] == [first, second]
    # no list of others' tips, whatever the filters
    for query in ("", "?status=open", "?service_code=suspicious&start_date=2026-01-01T00:00Z"):
        for fmt in ("json", "xml"):
            response = get(client, f"{V2}/requests.{fmt}{query}")
            assert response.status_code == 400
            (refused,) = errors_of(response)
            assert "service_request_id" in refused["description"]
            assert first.encode() not in response.data
    many = ",".join([first, first] + [f"ZZZZ-ZZ{i:02d}" for i in range(10)])
    assert get(client, f"{V2}/requests.json?service_request_id={many}").status_code == 400


def test_xml_is_well_formed_and_escaped(client, demo, session, village):
    hostile = 'Có <script>alert("x")</script> & ]]> ở ngõ 5 <&>'
    response = post(client, open311_request(village, description=hostile), "xml")
    assert response.status_code == 200
    receipt = xml(response).findtext("request/service_request_id")
    assert tip_by(session, receipt).description == hostile  # stored as sent
    assert (
        xml(get(client, f"{V2}/requests/{receipt}.xml")).findtext("request/service_request_id")
        == receipt
    )
    # what a client sent comes back in an error: escaped, and read back as it was
    response = post(client, open311_request(village, service_code='a<b&c>"d'), "xml")
    assert response.status_code == 400
    assert b"a&lt;b&amp;c&gt;" in response.data and b"<b&" not in response.data
    assert 'a<b&c>"d' in errors_of(response)[0]["description"]
    response = client.get(f"{V2}/services/%3C%26%3E.xml")
    assert response.status_code == 404
    assert "“<&>”" in errors_of(response)[0]["description"]


def test_xml_stays_well_formed_with_characters_xml_cannot_hold(client, demo, village):
    """A control character or U+FFFF in a URL or a value the answer repeats: XML 1.0 has no
    way to write it (not even escaped), so it is replaced, and the answer still parses."""
    for response in (
        client.get(f"{V2}/services/a%0Bb.xml"),
        client.get(f"{V2}/services/a%01b.xml"),
        client.get(f"{V2}/services/a%EF%BF%BFb.xml"),
        post(client, open311_request(village, service_code="x\uffffy"), "xml"),
    ):
        assert response.status_code in (400, 404)
        assert "\ufffd" in errors_of(response)[0]["description"]  # xml() parses it


def test_with_the_database_down_the_answer_is_an_open311_503(client, demo, village, monkeypatch):
    def refused(*args, **kwargs):
        raise sa_exc.OperationalError(
            "SELECT 1", {}, psycopg.OperationalError("connection failed: Connection refused")
        )

    monkeypatch.setattr(Session, "execute", refused)
    for response in (
        post(client, open311_request(village), "xml"),
        get(client, f"{V2}/requests/7K2M-9QXA.json"),
    ):
        assert response.status_code == 503
        assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert "Cơ sở dữ liệu" in errors_of(response)[0]["description"]
