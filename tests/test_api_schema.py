"""The public JSON API against its OpenAPI document (portal/openapi.py), by schemathesis.

schemathesis generates requests for every operation of the document (valid ones, and invalid
ones: wrong types, values out of range, missing parameters, odd media types) and sends them to
the app in-process, on the test database of tests/conftest.py (each test's writes roll back).
Every answer must pass five checks: no 5xx, its status documented, its content type and its
headers as documented, its body matching the documented schema.

Random points are almost all outside the demo's three communes (404) and random tips almost all
refused (422), so the answers that carry data (a card, a receipt, a status) are also asked for
explicitly, at points inside the demo's villages, and validated the same way; so are the
refusals a fuzzer rarely reaches (429 past the limits, 503 with the database down).

The tip limits (portal/tips/limits.py) are raised while fuzzing: at the real five an hour,
every tip after the fifth would stop at 429 before its fields are read, and the fuzzer would
test the limit instead of the API. The limits' own 429 answers are checked below at a limit of
one.
"""

from __future__ import annotations

import base64
import io
import re
import zlib
from datetime import datetime, timedelta

import jsonschema_rs  # schemathesis's own validator
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from PIL import Image
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from portal import openapi
from portal.incidents.filters import LOCAL_TZ
from portal.models import Area, Level, Status
from tests.conftest import signed_in

schema = schemathesis.openapi.from_dict(openapi.document())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# schemathesis's in-process (WSGI) transport hands back the body as sent; its default
# Accept-Encoding would have it brotli-compressed, which it cannot then read
PLAIN = {"Accept-Encoding": "identity"}
ADDRESS = "198.51.100.23"


def operation(path: str, method: str = "GET"):
    return schema[path][method]


def validate(case, response) -> None:
    """A response the test made itself, checked as schemathesis checks its own."""
    case.validate_response(response, checks=CHECKS)


@pytest.fixture
def api(app, demo, monkeypatch):
    """The app on the demo, its tip limits out of the fuzzer's way (see the module's doc)."""
    for limit in ("TIP_MAX_PER_HOUR", "TIP_MAX_PER_DAY", "TIP_STATUS_PER_HOUR"):
        monkeypatch.setitem(app.config, limit, 1_000_000)
    # a job worker alive for /readyz (a 503 is a server error to the fuzzer: its 503s are
    # checked below, with the database down, and in tests/test_observability.py)
    demo.execute(text("INSERT INTO procrastinate_workers DEFAULT VALUES"))
    demo.commit()  # releases the test's savepoint: the row outlives the first request
    monkeypatch.setitem(app.config, "JOBS_STALLED_SECONDS", 3600)
    return app


@pytest.fixture
def villages(demo) -> list[tuple[int, float, float]]:
    return inside(demo, Level.VILLAGE, 8)


def inside(session, level: str, count: int) -> list[tuple[int, float, float]]:
    """(id, lat, lon) of a point surely inside each of `count` current areas of a level."""
    point = func.ST_PointOnSurface(Area.geom)
    rows = session.execute(
        select(Area.id, func.ST_Y(point), func.ST_X(point))
        .where(Area.level == level, Area.valid_to.is_(None))
        .order_by(Area.id)
    ).all()
    assert rows, f"the demo has no {level}"
    return [tuple(row) for row in rows[:: max(1, len(rows) // count)]][:count]


def recent(hours: float = 2) -> str:
    return (datetime.now(LOCAL_TZ) - timedelta(hours=hours)).isoformat()


def tip(lat=None, lon=None, **extra) -> dict:
    body = {
        "kind": "suspicious",
        "occurred_at": recent(),
        "description": "Có người lạ đi xe không biển số, hỏi thăm nhà vắng chủ trong ngõ.",
    }
    if lat is not None:
        body.update(lat=lat, lon=lon)
    return {**body, **extra}


# --- the document --------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1_and_served(app, client):
    schema.validate()  # against OpenAPI 3.1's own schema; raises when it is not one
    served = client.get("/api/openapi.json", headers=PLAIN)
    assert served.status_code == 200
    assert served.get_json() == openapi.document()
    loaded = schemathesis.openapi.from_wsgi("/api/openapi.json", app)  # as a client would
    loaded.validate()
    assert set(loaded.raw_schema["paths"]) == {
        "/api/lookup",
        "/api/tips",
        "/api/tips/{receipt}",
        "/api/openapi.json",
        "/healthz",
        "/livez",
        "/readyz",
    }
    # each schema a valid JSON Schema 2020-12 (OpenAPI's own schema does not look inside them)
    for name, part in openapi.document()["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(part), name
    assert not jsonschema_rs.meta.is_valid({"type": "strin"})
    broken = openapi.document()
    del broken["paths"]["/api/lookup"]["get"]["parameters"][0]["in"]
    with pytest.raises(jsonschema_rs.ValidationError, match='"in" is a required property'):
        schemathesis.openapi.from_dict(broken).validate()


def test_every_public_json_url_is_in_the_document(app):
    """A JSON route added under /api/ (or a health check) without its description fails here."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/ogc/"):
            # OGC API – Features has its own OpenAPI document (pygeoapi's, at /ogc/api), which
            # tests/test_ogc.py checks against these routes; this document is the portal's API
            continue
        if rule.rule.startswith("/api/") or rule.rule in ("/healthz", "/livez", "/readyz"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {
        (path, method) for path, item in openapi.document()["paths"].items() for method in item
    }
    assert routes == documented


# --- fuzzing -------------------------------------------------------------------------------


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same requests on every run: a failure in CI is reproducible
    database=None,
    suppress_health_check=list(HealthCheck),  # `api` is shared by the examples, on purpose
)
def test_the_api_answers_as_documented(case, api, villages):
    steer(case, villages)
    case.call_and_validate(app=api, headers=PLAIN, checks=CHECKS)


def steer(case, points: list[tuple[int, float, float]]) -> None:
    """Half the generated tips sent to a demo village, now: a random tip is almost never inside
    the three communes and within the last 90 days, so without this the fuzzer would stop at
    the first check and never reach the storing of its other fields (texts, contact, photo)."""
    body = case.body
    if case.method != "POST" or not isinstance(body, dict):
        return
    choice = zlib.crc32(repr(sorted(body.items(), key=str)).encode())
    if choice % 2:
        return
    _id, lat, lon = points[choice // 2 % len(points)]
    body.update(lat=lat, lon=lon, occurred_at=recent())


# --- the answers that carry data -----------------------------------------------------------


def test_look_ups_inside_the_demo_answer_cards_as_documented(api, demo):
    lookup = operation("/api/lookup")
    villages = inside(demo, Level.VILLAGE, 8)
    for area_id, lat, lon in villages:
        response = lookup.Case(query={"lat": lat, "lon": lon}).call_and_validate(
            app=api, headers=PLAIN, checks=CHECKS
        )
        assert response.status_code == 200
        card = response.json()
        assert card["area"]["id"] == area_id and card["village"]["id"] == area_id
        assert card["point"] == {"lat": lat, "lon": lon}
    # on the border of two villages: the others are named in border_with
    borders = demo.execute(
        text(
            """SELECT ST_Y(p), ST_X(p) FROM areas a JOIN areas b ON a.id < b.id
                 AND a.level = 'village' AND b.level = 'village'
                 AND a.valid_to IS NULL AND b.valid_to IS NULL AND ST_Touches(a.geom, b.geom)
               CROSS JOIN LATERAL ST_PointOnSurface(ST_Intersection(a.geom, b.geom)) AS p
               ORDER BY a.id, b.id LIMIT 4"""
        )
    ).all()
    named = 0
    for lat, lon in borders:
        case = lookup.Case(query={"lat": lat, "lon": lon})
        named += bool(
            case.call_and_validate(app=api, headers=PLAIN, checks=CHECKS).json()["border_with"]
        )
    assert named, "no border point named a neighbour"
    # numbers as people type them: few digits, or many
    _id, lat, lon = villages[0]
    for typed in ((round(lat, 4), round(lon, 4)), (f"{lat:.12f}", f"{lon:.12f}")):
        case = lookup.Case(query={"lat": typed[0], "lon": typed[1]})
        assert case.call_and_validate(app=api, headers=PLAIN, checks=CHECKS).status_code in (
            200,
            404,
        )


def test_a_look_up_by_a_signed_in_account_is_documented(api, demo):
    """Nothing is kept in a browser's cache for a signed-in account, the look-up included."""
    _id, lat, lon = inside(demo, Level.VILLAGE, 1)[0]
    response = signed_in(api, "canbo.xa").get(
        "/api/lookup", query_string={"lat": lat, "lon": lon}, headers=PLAIN
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    validate(operation("/api/lookup").Case(query={"lat": lat, "lon": lon}), response)


def test_tips_and_their_status_answer_as_documented(api, demo):
    sent = operation("/api/tips", "POST")
    status = operation("/api/tips/{receipt}")
    (_village, lat, lon), (other_id, *_point) = inside(demo, Level.VILLAGE, 2)
    png = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 30, 30)).save(png, "PNG")
    bodies = [
        tip(lat, lon, located_by="gps"),
        tip(village_id=other_id, place_note="Đầu ngõ 12", contact="0912 345 678"),
        tip(str(lat), str(lon), contact_name="Nguyễn Văn An", contact="an@example.vn"),
        tip(lat, lon, photo_base64=base64.b64encode(png.getvalue()).decode()),
    ]
    receipts = []
    for body in bodies:
        case = sent.Case(body=body, media_type="application/json")
        response = case.call_and_validate(app=api, headers=PLAIN, checks=CHECKS)
        assert response.status_code == 201, response.text
        receipts.append(response.json()["receipt"])
        assert response.headers["location"] == [response.json()["status_url"]]
    assert len(set(receipts)) == len(bodies)
    for receipt in receipts:
        typed = receipt.lower().replace("-", "")
        for code in (receipt, typed):
            case = status.Case(path_parameters={"receipt": code})
            response = case.call_and_validate(app=api, headers=PLAIN, checks=CHECKS)
            assert response.status_code == 200
            assert response.json()["receipt"] == receipt
    # every step of the triage, and a tip merged into another (it shows the other's status)
    look = status.Case(path_parameters={"receipt": receipts[0]})
    for step in Status.ALL:
        demo.execute(
            text("UPDATE incidents SET status = :step, case_ref = 'VV-1' WHERE receipt = :r"),
            {"step": step, "r": receipts[0]},
        )
        answer = look.call_and_validate(app=api, headers=PLAIN, checks=CHECKS).json()
        assert (answer["status"], answer["merged"]) == (step, False)
    demo.execute(
        text(
            "UPDATE incidents SET merged_into_id = (SELECT id FROM incidents WHERE receipt = :to)"
            " WHERE receipt = :r"
        ),
        {"to": receipts[1], "r": receipts[0]},
    )
    answer = look.call_and_validate(app=api, headers=PLAIN, checks=CHECKS).json()
    assert (answer["status"], answer["merged"]) == ("received", True)


def test_refusals_answer_as_documented(api, demo, client):
    """Each documented refusal, asked for on purpose, against its documented answer."""
    sent = operation("/api/tips", "POST")
    lookup = operation("/api/lookup")
    status = operation("/api/tips/{receipt}")
    _id, lat, lon = inside(demo, Level.VILLAGE, 1)[0]
    asked = [
        (sent, 415, dict(method="POST", data="kind=theft", content_type="text/plain")),
        (sent, 400, dict(method="POST", json=[1, 2])),
        (sent, 400, dict(method="POST", json=tip(lat, lon, description="x\x00 mười ký tự"))),
        (sent, 422, dict(method="POST", json=tip(lat, lon, kind="war", occurred_at="hôm qua"))),
        (sent, 422, dict(method="POST", json=tip(10.77, 106.70))),  # Hồ Chí Minh City
        (sent, 422, dict(method="POST", json=tip(lat, lon, photo_base64="không phải ảnh"))),
        (lookup, 400, dict(query_string={"lat": lat})),
        (lookup, 400, dict(query_string={"lat": lat, "lon": "đông"})),
        (lookup, 400, dict(query_string={"lat": 91, "lon": lon})),
        (lookup, 404, dict(query_string={"lat": 10.77, "lon": 106.70})),
        (status, 404, dict(receipt="ZZZZ-ZZZZ")),
        (status, 404, dict(receipt="not-a-code")),
    ]
    for op, expected, request in asked:
        receipt = request.pop("receipt", None)
        case = op.Case(path_parameters={"receipt": receipt} if receipt else None)
        path = f"/api/tips/{receipt}" if receipt else op.path
        response = client.open(
            path, headers=PLAIN, environ_base={"REMOTE_ADDR": ADDRESS}, **request
        )
        assert response.status_code == expected, (path, request, response.get_data(as_text=True))
        validate(case, response)


def test_a_body_too_large_answers_as_documented(api, demo, client, monkeypatch):
    monkeypatch.setitem(api.config, "MAX_CONTENT_LENGTH", 4096)  # 55 MB in production
    _id, lat, lon = inside(demo, Level.VILLAGE, 1)[0]
    body = tip(lat, lon, photo_base64=base64.b64encode(bytes(8192)).decode())
    response = client.post("/api/tips", json=body, headers=PLAIN)
    assert response.status_code == 413
    validate(
        operation("/api/tips", "POST").Case(body=body, media_type="application/json"), response
    )


def test_answers_past_the_limits_are_documented(app, demo, monkeypatch):
    monkeypatch.setitem(app.config, "TIP_MAX_PER_HOUR", 1)
    monkeypatch.setitem(app.config, "TIP_STATUS_PER_HOUR", 1)
    _id, lat, lon = inside(demo, Level.VILLAGE, 1)[0]
    case = operation("/api/tips", "POST").Case(body=tip(lat, lon), media_type="application/json")
    receipt = case.call_and_validate(app=app, headers=PLAIN, checks=CHECKS).json()["receipt"]
    refused = case.operation.Case(body=tip(lat, lon), media_type="application/json")
    response = refused.call_and_validate(app=app, headers=PLAIN, checks=CHECKS)
    assert response.status_code == 429
    look = operation("/api/tips/{receipt}").Case(path_parameters={"receipt": receipt})
    assert look.call_and_validate(app=app, headers=PLAIN, checks=CHECKS).status_code == 200
    assert look.call_and_validate(app=app, headers=PLAIN, checks=CHECKS).status_code == 429


def test_answers_with_the_database_down_are_documented(api, demo, monkeypatch):
    _id, lat, lon = inside(demo, Level.VILLAGE, 1)[0]

    def refused(*args, **kwargs):
        raise sa_exc.OperationalError(
            "SELECT 1", {}, psycopg.OperationalError("connection failed: Connection refused")
        )

    monkeypatch.setattr(Session, "execute", refused)
    cases = [
        operation("/api/lookup").Case(query={"lat": lat, "lon": lon}),
        operation("/api/tips", "POST").Case(body=tip(lat, lon), media_type="application/json"),
        operation("/api/tips/{receipt}").Case(path_parameters={"receipt": "7K2M-9QXA"}),
        operation("/healthz").Case(),
        operation("/readyz").Case(),
    ]
    for case in cases:  # a 503 is a "server error" to schemathesis: documented, it is right here
        response = case.call_and_validate(app=api, headers=PLAIN, checks=CHECKS[1:])
        assert response.status_code == 503, (case.operation.label, response.text)
        if case.operation.path.startswith("/api/"):
            assert response.headers["retry-after"] == [str(openapi.RETRY_AFTER_SECONDS)]


# --- the checks can fail -------------------------------------------------------------------


def test_a_field_the_document_does_not_list_is_caught(api, demo):
    _id, lat, lon = inside(demo, Level.VILLAGE, 1)[0]
    document = openapi.document()
    card = document["components"]["schemas"]["Card"]
    del card["properties"]["covered"]
    card["required"].remove("covered")
    strict = schemathesis.openapi.from_dict(document)["/api/lookup"]["GET"]
    with pytest.raises(FailureGroup, match="covered"):
        strict.Case(query={"lat": lat, "lon": lon}).call_and_validate(
            app=api, headers=PLAIN, checks=CHECKS
        )
    document = openapi.document()
    del document["paths"]["/api/lookup"]["get"]["responses"]["404"]
    strict = schemathesis.openapi.from_dict(document)["/api/lookup"]["GET"]
    with pytest.raises(FailureGroup, match="Undocumented status code"):
        strict.Case(query={"lat": 10.77, "lon": 106.70}).call_and_validate(
            app=api, headers=PLAIN, checks=CHECKS
        )
