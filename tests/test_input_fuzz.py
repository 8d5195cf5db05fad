"""No input causes a 500: every route of `app.url_map`, as every role, with hostile values.

The walk needs no list of parameters kept by hand: the request's argument and form dicts
record every name a view reads, and a name first read by a request is sent again at once with
the hostile value (so a parameter added later is fuzzed too). Each route starts from the same
world: what its requests write is rolled back after it. Each hostile value goes once per
route, method and role, in every parameter at the same time; tests/test_inputs.py proves each
class of value (over-long texts, big ids) on valid forms one field at a time.
"""

from __future__ import annotations

import io
import json
import re
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar

import pytest
import shapely
from flask import Request, request
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import select, text
from werkzeug.datastructures import ImmutableMultiDict

from portal import errors
from portal.extensions import db
from portal.models import (
    Account,
    Area,
    ImportBatch,
    Incident,
    Member,
    Patrol,
    PatrolRoute,
    RouteVersion,
    Team,
)
from tests.conftest import CSRF_META, signed_in

HOSTILE_IDS = (2**31, 2**63, 10**30, -1)  # in <int:…> path converters: each must be a 404
HOSTILE_PATHS = ("a\x00b", "x" * 5000, "../" * 50 + "etc/passwd")  # in the others: no 5xx
HOSTILE = {
    "NUL": "a\x00b",
    "past int4": str(2**31),
    "30 digits": "9" * 30,
    "negative": "-1",
    "superscript digit": "²",
    "long text": "x" * 5000,
    # twenty times past any JSON parser's nesting limit (Python's is its recursion limit, about
    # a thousand); 100,000 cost the walk 7 s a request in percent-decoding alone, on every route
    "nested JSON": "[" * 20_000,
    "deep JSON number": "1" * 5000,
}
# Sent to every route whatever it reads; the names a view reads are added as it reads them.
COMMON = (
    "q",
    "page",
    "commune_id",
    "team_id",
    "to_team_id",
    "member_id",
    "area_ids",
    "name",
    "full_name",
    "phone",
    "decision_number",
    "decision_date",
    "geometry",
    "line",
    "lat",
    "lon",
    "tinh",
    "xa",
    "lang",
    "next",
    "service_request_id",  # issue 17: Open311 (a list answers only for the receipts named)
)
# A query string is cut to this: servers refuse longer request lines (gunicorn: 4094 bytes),
# and it is still deeper than Python's JSON parser and longer than any column
QUERY_VALUE = 3000
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
ROLES = ("quantri", "canbo.xa", "totruong", None)
# fuzzed as the public only: each attempt costs an argon2 verification (a quarter second)
PUBLIC_ONLY = {"auth.login"}


class _Recorded(ImmutableMultiDict):
    """request.args and request.form that note each name a view asks for."""

    read: ClassVar[set[tuple[str, str]]] = set()

    def _note(self, key) -> None:
        if isinstance(key, str) and key != "csrf_token":
            source = "args" if request.args is self else "form" if request.form is self else None
            if source:
                _Recorded.read.add((source, key))

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)

    def getlist(self, key, type=None):
        self._note(key)
        return super().getlist(key, type)


class _RecordingRequest(Request):
    parameter_storage_class = _Recorded


@pytest.fixture
def world(app, demo, monkeypatch):
    """Real ids in the officer's and leader's own commune (so every role gets past the
    scope), a draft upload and a boundary change; one client per role; FormInvalid spied."""
    s = demo
    # a job worker alive, so that /readyz answers 200 (a 503 would be a server error here)
    s.execute(text("INSERT INTO procrastinate_workers DEFAULT VALUES"))
    s.commit()
    monkeypatch.setitem(app.config, "JOBS_STALLED_SECONDS", 3600)
    ba_dinh = s.scalar(select(Area).where(Area.code == "00004"))
    leader = s.scalar(select(Account).where(Account.username == "totruong"))
    team = s.get(Team, leader.team_id)
    member = s.scalar(select(Member).where(Member.team_id == team.id, Member.left_on.is_(None)))
    village = s.scalar(select(Area).where(Area.code == "00004-001"))
    admin = signed_in(app, "quantri")
    token = _token(admin, "/boundaries/")
    feature = {
        "type": "Feature",
        "properties": {"name": "Tổ dân phố số 1", "code": "00004-001"},
        "geometry": shapely.geometry.mapping(to_shape(village.geom)),
    }
    data = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    uploaded = admin.post(
        "/boundaries/uploads",
        data={
            "level": "village",
            "crs": "auto",
            "commune_id": str(ba_dinh.id),
            "csrf_token": token,
            "file": (io.BytesIO(data), "v.geojson"),
        },
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 303, uploaded.get_data(as_text=True)
    smaller = to_shape(village.geom).buffer(-0.00005)
    edited = admin.post(
        f"/boundaries/villages/{village.id}/edit",
        data={
            "action": "edit",
            "geometry": json.dumps(shapely.geometry.mapping(smaller)),
            "decision_number": "1/QĐ-UBND",
            "decision_date": "2025-01-02",
            "csrf_token": token,
        },
    )
    assert edited.status_code == 303, edited.get_data(as_text=True)
    start = datetime(2026, 1, 5, 19, tzinfo=UTC)  # a patrol of the leader's team (issue 12)
    patrol = Patrol(
        team_id=team.id,
        commune_id=team.commune_id,
        day=date(2026, 1, 6),
        planned_start=start,
        planned_end=start + timedelta(hours=3),
    )
    s.add(patrol)
    route = PatrolRoute(team_id=team.id, commune_id=team.commune_id, name="Tuyến thử")
    s.add(route)
    s.flush()
    inside = to_shape(village.geom).representative_point()
    version = RouteVersion(
        route_id=route.id,
        number=1,
        geom=from_shape(
            shapely.MultiLineString([[(inside.x, inside.y), (inside.x + 1e-5, inside.y)]]),
            srid=4326,
        ),
        length_m=1.0,
        outside_m=0.0,
        area_ids=[village.id],
        created_by="test",
    )
    s.add(version)
    s.flush()
    route.current_version_id = version.id
    tip = Incident(  # a citizen's tip in the village (issue 13)
        source="tip",
        kind="theft",
        receipt="7K2M-9QXA",
        status="received",
        occurred_at=start,
        description="Mất trộm xe máy",
        geom=f"SRID=4326;POINT({inside.x} {inside.y})",
        located_by="map",
        area_id=village.id,
        commune_id=ba_dinh.id,
        team_id=team.id,
        handed_to_police=False,
        has_photo=False,
        has_contact=False,
    )
    s.add(tip)
    s.flush()
    s.commit()
    ids = {
        "incident_id": tip.id,
        "receipt": tip.receipt,
        "patrol_id": patrol.id,
        "route_id": route.id,
        "version_id": version.id,
        "area_id": village.id,
        "commune_id": ba_dinh.id,
        "team_id": team.id,
        "member_id": member.id,
        "account_id": leader.id,
        "batch_id": s.scalar(select(ImportBatch.id).order_by(ImportBatch.id.desc())),
        "change_id": int(edited.headers["Location"].rsplit("/", 1)[1]),
        "job_id": int(uploaded.headers["Location"].rsplit("/", 1)[1]),  # the upload's job
        "filename": "css/portal.css",
        "fmt": "geojson",
        "table": "tong-hop",  # the review's CSV tables
        "ext": "json",  # issue 17: Open311's format
        "service_code": "theft",
        "service_request_id": tip.receipt,
        # issue 17: a vector tile over the demo's Ba Đình, an OGC layer and feature, a token
        "layer": "coverage",
        "z": 12,
        "x": 3252,
        "y": 1799,
        "collection_id": "villages",
        "item_id": village.id,
        "token_id": 1,
    }
    clients = {role: signed_in(app, role) if role else app.test_client() for role in ROLES}
    raised: list[dict[str, str]] = []
    original = errors.FormInvalid.__init__

    def spy(self, fields):
        raised.append(fields)
        original(self, fields)

    monkeypatch.setattr(errors.FormInvalid, "__init__", spy)
    monkeypatch.setattr(app, "request_class", _RecordingRequest)
    return ids, clients, raised


# endpoints that read a JSON body only (tests/test_tips.py sends them hostile JSON)
JSON_ONLY = {"tips.api_send"}


def _token(client, path: str = "/login") -> str:
    return CSRF_META.search(client.get(path).get_data(as_text=True)).group(1)


def _rules(app):
    """(rule, method), the sign-out last so that each role's client stays signed in."""
    found = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    return sorted(found, key=lambda rm: rm[0].endpoint == "auth.logout")


def _url(rule, ids: dict, hostile: tuple[str, int] | None = None) -> str:
    url = rule.rule
    for arg in rule.arguments:
        value = hostile[1] if hostile and hostile[0] == arg else ids[arg]
        url = re.sub(rf"<(?:\w+:)?{arg}>", str(value), url)
    return url


def _problem(response, sent: set[str], raised: list[dict]) -> str | None:
    """What is wrong with the answer to a hostile request, if anything."""
    status = response.status_code
    body = response.get_data(as_text=True)
    if status >= 500:
        return f"{status}: {body[:200]}"
    for header in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        if header not in response.headers:
            return f"{status} without {header}"
    if status not in (400, 422):
        return None
    if raised:  # a form's refusal: its message is shown, beside or above the field it names
        if not any(_shown(message, body) for message in raised[-1].values()):
            return f"{status}: {raised[-1]} not shown"
    elif not any(re.search(rf"\b{re.escape(name)}\b", body) for name in sent):
        return f"{status} naming no parameter: {body[:200]}"
    return None


def _shown(message: str, body: str) -> bool:
    escaped = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.replace('"', "&#34;").replace("'", "&#39;")
    return message[:60] in body or escaped[:60] in body or json.dumps(message)[1:60] in body


def _turned_away(response) -> bool:
    """The role was refused before the view read anything: 404, or sent to sign in."""
    location = response.headers.get("Location", "")
    return response.status_code in (401, 404) or location.startswith("/login")


@contextmanager
def _undone(connection):
    """Whatever the requests inside write, rolled back at the end (a savepoint of the test's
    transaction, inside which each request's own savepoints come and go)."""
    nested = connection.begin_nested()
    try:
        yield
    finally:
        nested.rollback()


@pytest.mark.long  # thousands of requests: under `make test` it starts first
def test_no_input_causes_a_500_on_any_route_as_any_role(app, world):
    ids, clients, raised = world
    connection = db.session.get_bind()  # the test's own (tests/conftest.py: session)
    reads: dict[tuple[str, str], set[tuple[str, str]]] = {}
    sent = 0
    problems: list[str] = []

    def send(client, url, method, args, form, known, label):
        nonlocal sent
        _Recorded.read = set()
        raised.clear()
        response = client.open(
            url,
            method=method,
            query_string=args,
            data=form,
            content_type="multipart/form-data" if method in STATE_CHANGING else None,
        )
        sent += 1
        problem = _problem(response, {n for _, n in known}, raised)
        if problem:
            problems.append(f"{client.role} {method} {url[:80]!r} {label}: {problem}")
        return response

    for role, client in clients.items():
        client.role = role
        token = _token(client)
        for rule, method in _rules(app):
            # each route from the world's state, its writes undone after it: thousands of writes
            # in the test's one transaction piled the savepoints' row locks up until every read
            # of those rows crawled (by the walk's end the review's pages took 30-80 s each)
            with _undone(connection):
                changing = method in STATE_CHANGING
                csrf = {"csrf_token": token} if changing else {}
                for arg in rule.arguments:
                    is_int = f"<int:{arg}>" in rule.rule
                    for bad in HOSTILE_IDS if is_int else HOSTILE_PATHS:
                        url = _url(rule, ids, (arg, bad))
                        response = send(client, url, method, {}, csrf, set(), "path")
                        if is_int and response.status_code != 404:
                            problems.append(f"{role} {method} {url}: {response.status_code}")
                url = _url(rule, ids)
                known = reads.setdefault((rule.endpoint, method), {("args", n) for n in COMMON})
                if rule.endpoint in JSON_ONLY:  # a form body is refused whole, naming "body"
                    known.add(("form", "body"))
                if changing:
                    known |= {("form", n) for n in COMMON}
                probe = send(client, url, method, {}, dict(csrf), known, "no parameters")
                values = HOSTILE
                if (_turned_away(probe) and not _Recorded.read) or (
                    role and rule.endpoint in PUBLIC_ONLY
                ):
                    # nothing of the request reaches this role's view: the check before every view
                    values = dict(list(HOSTILE.items())[:1])
                for label, value in values.items():
                    for _attempt in range(4):  # until the view reads nothing it was not sent
                        args = {n: value[:QUERY_VALUE] for source, n in known if source == "args"}
                        form = {n: value for source, n in known if source == "form"} | csrf
                        if rule.endpoint == "boundaries.upload":
                            form["file"] = (io.BytesIO(value.encode()), value[:300] + ".geojson")
                        send(client, url, method, args, form or None, known, label)
                        new = _Recorded.read - known
                        if not new:
                            break
                        known |= new
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(dict.fromkeys(problems))
    assert sent > 1000
