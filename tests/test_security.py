"""Security in one place, proved route by route: CSRF, sign-in, scoping, headers."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.models import Account, Area, Team
from tests.conftest import csrf_token, signed_in

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# the only endpoints anyone may reach without signing in
# what anyone may open; tests/test_privacy.py reads every one of them for private data
PUBLIC = {
    "static",
    "vendor",
    "health.healthz",
    # issue 18: probes and Prometheus's scrape (only from the machine itself or with the
    # operator's token: tests/test_observability.py)
    "health.livez",
    "health.readyz",
    "health.prometheus",
    "auth.login",
    "auth.set_language",
    "home",
    "lookup.index",
    "lookup.choose",
    "lookup.area",
    "lookup.point",
    "lookup.api",
    # citizens' tips: the form, where a pin falls, the status by receipt, the API
    "tips.form",
    "tips.send",
    "tips.where",
    "tips.status",
    "tips.api_send",
    "tips.api_status",
    "tips.openapi",
    "streets.features",  # issue 14: OpenStreetMap's streets under the maps, public data
    # issue 17: Open311 GeoReport v2 for tips (the tips' own rules, limits and privacy)
    "open311.discovery",
    "open311.service_list",
    "open311.definition",
    "open311.create",
    "open311.request_list",
    "open311.one_request",
    # issue 17: OGC API – Features: public layers open to all; its staff layers answer GIS
    # clients 401 (JSON), not a sign-in page (tests/test_ogc.py)
    "ogc.landing",
    "ogc.openapi",
    "ogc.conformance",
    "ogc.collections",
    "ogc.collection",
    "ogc.queryables",
    "ogc.items",
    "ogc.item",
}


def ids(session) -> dict[str, int]:
    """One real object per kind of URL argument, so that every route can be called."""
    return {
        "area_id": session.scalar(select(Area.id).where(Area.level == "village").limit(1)),
        "team_id": session.scalar(select(Team.id).limit(1)),
        "account_id": session.scalar(select(Account.id).where(Account.username == "totruong")),
        "filename": "css/portal.css",
        # refusals come before any lookup, so these need not exist
        "batch_id": 1,
        "change_id": 1,
        "job_id": 1,
        "member_id": 1,
        "patrol_id": 1,
        "route_id": 1,
        "version_id": 1,
        "incident_id": 1,
        "receipt": "7K2M-9QXA",
        "commune_id": session.scalar(select(Area.id).where(Area.level == "commune").limit(1)),
        "fmt": "geojson",
        "table": "tong-hop",  # issue 15: the review's CSV of one table
        "ext": "json",  # issue 17: Open311's format
        "service_code": "theft",
        "service_request_id": "7K2M-9QXA",
        # issue 17: a vector tile over Hanoi
        "layer": "coverage",
        "z": 12,
        "x": 3252,
        "y": 1799,
        "collection_id": "villages",  # issue 17: a public layer (staff: tests/test_ogc.py)
        "item_id": 1,
        "token_id": 1,
    }


def routes(app, session):
    """(endpoint, method, url) for every rule of the app."""
    values = ids(session)
    found = []
    for rule in app.url_map.iter_rules():
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:\w+:)?{arg}>", str(values[arg]), url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, url))
    return found


def test_the_route_walk_covers_the_portal(app, demo):
    endpoints = {endpoint for endpoint, _, _ in routes(app, demo)}
    # a route added later is walked too; these prove the walk sees the blueprints
    assert {
        "areas.show",
        "teams.show",
        "accounts.update",
        "auth.logout",
        "boundaries.upload",
        "boundaries.revert",
    } <= endpoints


# JSON APIs without a session: a forged cross-site form cannot send application/json, and the
# API acts for no account, so there is nothing for a forged request to ride on
CSRF_EXEMPT = {"tips.api_send", "open311.create"}
# Open311 takes a form-encoded body, as its specification says: a page of another site is
# refused by its Origin and Sec-Fetch-Site instead (tests/test_open311.py)
JSON_ONLY = CSRF_EXEMPT - {"open311.create"}


def test_every_state_changing_route_refuses_a_request_without_csrf_token(app, admin, demo):
    checked = 0
    for endpoint, method, url in routes(app, demo):
        if method not in STATE_CHANGING or endpoint in CSRF_EXEMPT:
            continue
        for headers in ({}, {"HX-Request": "true"}):
            response = admin.open(url, method=method, data={"x": "1"}, headers=headers)
            assert response.status_code == 400, (endpoint, url, headers, response.status_code)
            assert "CSRF" in response.get_data(as_text=True)
        checked += 1
    assert checked >= 6


def test_a_csrf_exempt_api_refuses_what_a_forged_form_can_send(app, client, demo):
    for endpoint, method, url in routes(app, demo):
        if endpoint not in JSON_ONLY:
            continue
        for body, kind in (
            ({"kind": "theft"}, "application/x-www-form-urlencoded"),
            ({"kind": "theft"}, "multipart/form-data"),
            ('{"kind": "theft"}', "text/plain"),
        ):
            response = client.open(url, method=method, data=body, content_type=kind)
            assert response.status_code == 415, (endpoint, kind, response.status_code)
            assert response.get_json()["details"] == [{"parameter": "body"}]


def test_every_non_public_route_refuses_an_anonymous_user(app, client, demo):
    token = csrf_token(client)  # a valid token, so that only the missing sign-in can refuse
    checked = 0
    for endpoint, method, url in routes(app, demo):
        if endpoint in PUBLIC:
            continue
        data = {"csrf_token": token} if method in STATE_CHANGING else None
        page = client.open(url, method=method, data=data)
        assert page.status_code == 302, (endpoint, method, url, page.status_code)
        assert page.headers["Location"].startswith("/login"), (endpoint, url)
        fragment = client.open(url, method=method, data=data, headers={"HX-Request": "true"})
        assert fragment.status_code == 401, (endpoint, method, url)
        assert fragment.headers["HX-Redirect"].startswith("/login")
        checked += 1
    assert checked >= 10


def test_no_route_edits_the_audit_log(app):
    assert not [r.rule for r in app.url_map.iter_rules() if "audit" in r.rule]


@pytest.fixture
def objects(demo):
    """Objects of the officer's and leader's own commune and team, and of others."""
    s = demo
    own_commune = s.scalar(select(Area).where(Area.code == "00004"))  # Phường Ba Đình
    other_commune = s.scalar(select(Area).where(Area.code == "00008"))  # Phường Ngọc Hà
    leader = s.scalar(select(Account).where(Account.username == "totruong"))
    own_team = s.get(Team, leader.team_id)
    other_team_same_commune = s.scalar(
        select(Team).where(Team.commune_id == own_commune.id, Team.id != own_team.id).limit(1)
    )
    other_team_other_commune = s.scalar(
        select(Team).where(Team.commune_id == other_commune.id).limit(1)
    )
    village_other_commune = s.scalar(
        select(Area).where(Area.parent_id == other_commune.id).limit(1)
    )
    own_village = s.scalar(
        select(Area).where(Area.parent_id == own_commune.id, Area.code == "00004-001")
    )
    other_village_same_commune = s.scalar(
        select(Area).where(Area.parent_id == own_commune.id, Area.code == "00004-002")
    )
    admin = s.scalar(select(Account).where(Account.username == "quantri"))
    return {
        "province": f"/areas/{own_commune.parent_id}",
        "own commune": f"/areas/{own_commune.id}",
        "own village": f"/areas/{own_village.id}",
        "other village, same commune": f"/areas/{other_village_same_commune.id}",
        "other commune": f"/areas/{other_commune.id}",
        "village of other commune": f"/areas/{village_other_commune.id}",
        "own team": f"/teams/{own_team.id}",
        "other team, same commune": f"/teams/{other_team_same_commune.id}",
        "team of other commune": f"/teams/{other_team_other_commune.id}",
        "an account": f"/accounts/{admin.id}",
    }


# what each role may open; everything else must answer 404
VISIBLE = {
    "quantri": "all",
    "canbo.xa": {
        "own commune",
        "own village",
        "other village, same commune",
        "own team",
        "other team, same commune",
    },
    "totruong": {"own commune", "own village", "own team"},
}


@pytest.mark.parametrize("username", sorted(VISIBLE))
def test_each_role_sees_its_scope_and_gets_404_outside_it(app, objects, username):
    client = signed_in(app, username)
    allowed = VISIBLE[username]
    for name, url in objects.items():
        expected = 200 if allowed == "all" or name in allowed else 404
        page = client.get(url)
        assert page.status_code == expected, (username, name, url)
        for target in ("history", "children-1"):
            fragment = client.get(url, headers={"HX-Request": "true", "HX-Target": target})
            assert fragment.status_code == expected, (username, name, target)


@pytest.mark.parametrize("username", ["canbo.xa", "totruong"])
def test_state_changes_on_objects_outside_scope_answer_404(app, demo, objects, username):
    client = signed_in(app, username)
    token = csrf_token(client, "/areas/")
    account_url = objects["an account"]
    for suffix, data in (
        ("", {"full_name": "X", "role": "admin"}),
        ("/active", {"active": "0", "confirm": "yes"}),
        ("/password", {"password": "mot-mat-khau-rat-dai-2025"}),
    ):
        response = client.post(account_url + suffix, data={**data, "csrf_token": token})
        assert response.status_code == 404, (username, suffix)
    admin = demo.scalar(select(Account).where(Account.username == "quantri"))
    demo.refresh(admin)
    assert admin.is_active and admin.role == "admin"


@pytest.mark.parametrize("username", ["canbo.xa", "totruong"])
def test_lists_and_search_show_only_the_scope(app, objects, username):
    client = signed_in(app, username)
    tree = client.get("/areas/").get_data(as_text=True)
    assert "Phường Ba Đình" in tree
    assert "Phường Ngọc Hà" not in tree
    assert "Thành phố Hà Nội" not in tree
    found = client.get("/areas/", query_string={"q": "ngoc ha"}).get_data(as_text=True)
    assert "Không có địa bàn nào khớp" in found
    assert client.get("/accounts/").status_code == 404
    teams = client.get("/teams/").get_data(as_text=True)
    assert "Tổ dân phố số 1<" in teams


def test_security_headers_and_a_nonce_for_every_inline_script(admin, objects):
    response = admin.get(objects["own village"])
    csp = response.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    nonce = re.search(r"'nonce-([^']+)'", script_src).group(1)
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = response.get_data(as_text=True)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert inline, "the map's script is inline"
    assert all(f'nonce="{nonce}"' in attrs for attrs in inline)
    assert not re.search(r"\son[a-z]+\s*=", page)  # no inline event handlers


def test_session_cookie_flags(app, demo):
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"username": "quantri", "password": "ha-noi-an-toan-2025", "csrf_token": token},
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
