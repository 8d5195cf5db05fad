"""OGC API – Features at /ogc/ (issue 17): public layers hold public fields only, staff layers
need an account or an API token and answer within its scope, paging and bbox are exact, and
GDAL's OAPIF driver reads the service end to end on the live server.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from datetime import date
from pathlib import Path

import psycopg
import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import func, select, text, update

from portal.models import (
    Account,
    ApiToken,
    Area,
    AuditEntry,
    Member,
    PatrolActivity,
    Team,
    TeamArea,
)
from portal.ogc.collections import COLLECTIONS, PUBLIC, STAFF
from portal.text import fold
from tests.conftest import csrf_token, database_url_for, signed_in

# --- a small hand-built place with known answers -----------------------------------------


def square(x: float, y: float, size: float = 1.0) -> MultiPolygon:
    return MultiPolygon([box(x, y, x + size, y + size)])


def area(session, level, kind, name, parent=None, geom=None, code=None, **extra):
    a = Area(
        level=level,
        kind=kind,
        name=name,
        name_search=fold(name),
        parent_id=parent.id if parent else None,
        code=code,
        geom=from_shape(geom, srid=4326) if geom is not None else None,
        **extra,
    )
    session.add(a)
    session.flush()
    return a


def member(session, team, role, name, phone):
    m = Member(
        team_id=team.id,
        full_name=name,
        role=role,
        phone=phone,
        birth_date=date(1980, 1, 1),
        education="upper_secondary",
        appointment_number="1/QĐ-UBND",
        appointment_date=date(2024, 7, 1),
        appointment_signer="Chủ tịch UBND",
    )
    session.add(m)
    return m


@pytest.fixture
def place(session):
    """A province and a commune over [100, 110] × [0, 10]; three current villages (unit
    squares at (100, 0), (102, 0) and (100, 2)) and one ended; a team covering the first with a
    leader, a deputy and a plain member."""
    province = area(session, "province", "tinh", "Tỉnh Thử", geom=square(100, 0, 10), code="97")
    commune = area(session, "commune", "xa", "Xã Thử", province, square(100, 0, 10), code="97001")
    villages = [
        area(session, "village", "thon", f"Thôn {i}", commune, square(x, y), code=f"T{i}")
        for i, (x, y) in enumerate([(100, 0), (102, 0), (100, 2)], start=1)
    ]
    ended = area(
        session,
        "village",
        "thon",
        "Thôn Cũ",
        commune,
        square(104, 0),
        valid_from=date(2020, 1, 1),
        valid_to=date(2024, 1, 1),
    )
    team = Team(
        commune_id=commune.id,
        name="Tổ Thử",
        name_search="to thu",
        phone="0241234567",
        established_on=date(2024, 7, 1),
    )
    session.add(team)
    session.flush()
    session.add(
        TeamArea(
            team_id=team.id,
            commune_id=commune.id,
            area_id=villages[0].id,
            valid_from=date(2024, 7, 1),
        )
    )
    member(session, team, "leader", "Trần Văn Trưởng", "0912345678")
    member(session, team, "deputy", "Lê Thị Phó", "0987654321")
    member(session, team, "member", "Phạm Văn Viên", "0900000001")
    session.commit()
    # ids, not rows: the rows detach when a request ends its session
    return province.id, commune.id, [v.id for v in villages], ended.id, team.id


def get_json(client, url: str, **kwargs):
    response = client.get(url, **kwargs)
    return response.status_code, response.get_json()


def ids_of(document) -> list:
    return [f["id"] for f in document["features"]]


def link(document, rel: str) -> str | None:
    return next((x["href"] for x in document["links"] if x["rel"] == rel), None)


# --- the service's documents ---------------------------------------------------------------


def test_conformance_lists_the_classes_we_pass(client):
    status, body = get_json(client, "/ogc/conformance")
    assert status == 200
    classes = set(body["conformsTo"])
    for needed in (
        "ogcapi-features-1/1.0/conf/core",
        "ogcapi-features-1/1.0/conf/geojson",
        "ogcapi-features-1/1.0/conf/oas30",
    ):
        assert "http://www.opengis.net/spec/" + needed in classes
    # nothing we do not serve: no HTML pages, no writes
    assert not [c for c in classes if c.endswith("/html") or "features-4" in c]


def test_the_openapi_document_parses_and_covers_every_ogc_route(app, client):
    response = client.get("/ogc/api")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.oai.openapi+json"
    document = json.loads(response.get_data(as_text=True))
    assert document["openapi"].startswith("3.0")
    paths = set(document["paths"])
    # every route of the blueprint is documented, for each public collection (our /api is the
    # document itself, pygeoapi names it /openapi)
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/ogc/") or rule.rule == "/ogc/api":
            continue
        path = rule.rule.removeprefix("/ogc").rstrip("/") or "/"
        for collection in PUBLIC:
            concrete = path.replace("<collection_id>", collection)
            concrete = concrete.replace("<item_id>", "{featureId}")
            assert concrete in paths, concrete
    # anonymous: the staff layers are not even named
    assert not [p for p in paths if any(f"/collections/{s}" in p for s in STAFF)]


def test_a_browser_gets_json_not_pygeoapis_html(client):
    response = client.get("/ogc/collections", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert not [
        link_ for c in body["collections"] for link_ in c["links"] if link_["type"] == "text/html"
    ]
    # the portal's own headers still apply
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "X-Powered-By" not in response.headers
    assert {"Authorization", "Cookie"} <= set(response.vary)


def test_formats_other_than_json_are_refused_naming_f(client):
    # JSON-LD and the rest are pygeoapi's, not declared by us: a 400 that names the parameter
    for asked in ("jsonld", "xml", "1e400"):
        response = client.get("/ogc/collections", query_string={"f": asked})
        assert response.status_code == 400, asked
        assert response.get_json()["description"].startswith("f: ")
    for asked in ("json", "JSON", "html"):
        assert client.get("/ogc/collections", query_string={"f": asked}).status_code == 200
    # an Accept header naming JSON-LD still gets the JSON we declare
    response = client.get("/ogc/collections", headers={"Accept": "application/ld+json"})
    assert response.status_code == 200 and response.mimetype == "application/json"


def test_anonymous_collections_list_only_public_layers(client, place):
    status, body = get_json(client, "/ogc/collections")
    assert status == 200
    assert {c["id"] for c in body["collections"]} == set(PUBLIC)


# --- public layers: public fields only -------------------------------------------------------


def test_public_views_hold_only_the_public_columns(session):
    """The views themselves: a mistake in Python cannot show what the view does not hold."""
    for collection_id in PUBLIC:
        collection = COLLECTIONS[collection_id]
        columns = set(
            session.scalars(
                text(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = :t"
                ).bindparams(t=collection.view)
            )
        )
        assert columns == {*collection.fields, "geom"}, collection_id


VILLAGE_FIELDS = {
    "id", "code", "name", "kind", "commune_id", "commune", "province", "team_name",
    "team_phone", "leader_name", "leader_phone", "deputy_contacts", "police_name",
    "police_phone", "police_address",
}  # fmt: skip


def test_villages_carry_exactly_the_look_ups_public_fields(client, place):
    _p, commune, villages, _e, _t = place
    status, body = get_json(client, f"/ogc/collections/villages/items/{villages[0]}")
    assert status == 200
    properties = body["properties"]
    assert set(properties) == VILLAGE_FIELDS
    assert properties["team_name"] == "Tổ Thử"
    assert properties["team_phone"] == "0241234567"
    assert properties["leader_name"] == "Trần Văn Trưởng"
    assert properties["leader_phone"] == "0912345678"
    assert properties["deputy_contacts"] == "Lê Thị Phó (0987654321)"
    assert properties["police_name"] == "Công an xã Thử"  # as the card names it
    assert properties["commune"] == "Xã Thử" and properties["commune_id"] == commune
    text_ = json.dumps(body, ensure_ascii=False)
    # a plain member is not posted; no birth date, no account
    assert "Phạm Văn Viên" not in text_ and "0900000001" not in text_
    assert "1980" not in text_
    # a village without a team says so by empty fields
    status, body = get_json(client, f"/ogc/collections/villages/items/{villages[1]}")
    assert body["properties"]["team_name"] is None and body["properties"]["leader_name"] is None


def test_the_geometry_is_the_real_one(client, place):
    _p, _c, villages, _e, _t = place
    _s, body = get_json(client, f"/ogc/collections/villages/items/{villages[0]}")
    assert body["geometry"]["type"] == "MultiPolygon"
    ring = body["geometry"]["coordinates"][0][0]
    assert sorted(map(tuple, ring[:4])) == [(100, 0), (100, 1), (101, 0), (101, 1)]


def test_ended_areas_are_not_current_features(client, place):
    _p, _c, villages, ended, _t = place
    _s, body = get_json(client, "/ogc/collections/villages/items?limit=100")
    assert sorted(ids_of(body)) == sorted(villages)
    assert client.get(f"/ogc/collections/villages/items/{ended}").status_code == 404


def test_village_months_read_the_stored_monthly_figures(client, session, place):
    _p, commune, villages, _e, _t = place
    session.add(
        PatrolActivity(
            month=date(2026, 3, 1),
            area_id=villages[1],
            commune_id=commune,
            patrols=7,
            violations=2,
        )
    )
    session.commit()
    status, body = get_json(client, "/ogc/collections/village_months/items")
    assert status == 200
    assert body["numberMatched"] == 1
    (feature,) = body["features"]
    assert feature["id"] == f"{villages[1]}-2026-03"
    assert feature["properties"] == {
        "id": f"{villages[1]}-2026-03", "village_id": villages[1], "village": "Thôn 2",
        "commune_id": commune, "commune": "Xã Thử", "month": "2026-03", "patrols": 7,
        "violations": 2, "incidents": 0, "tips": 0, "fires": 0, "rescues": 0,
    }  # fmt: skip
    assert feature["geometry"]["type"] == "Point"


# --- paging and bbox -------------------------------------------------------------------------


def test_limit_offset_and_next_prev_links(client, place):
    _p, _c, villages, _e, _t = place
    expected = sorted(villages)
    status, first = get_json(client, "/ogc/collections/villages/items?limit=2")
    assert status == 200
    assert (first["numberMatched"], first["numberReturned"]) == (3, 2)
    assert ids_of(first) == expected[:2]
    assert link(first, "prev") is None
    following = link(first, "next")
    assert "offset=2" in following and "limit=2" in following
    _s, second = get_json(client, following.removeprefix("http://localhost"))
    assert ids_of(second) == expected[2:]
    assert (second["numberMatched"], second["numberReturned"]) == (3, 1)
    assert link(second, "next") is None
    assert "offset=0" in link(second, "prev")
    # the default page and the ceiling
    _s, default = get_json(client, "/ogc/collections/villages/items")
    assert default["numberReturned"] == 3
    for bad in ("limit=0", "limit=abc", "offset=-1"):
        assert client.get(f"/ogc/collections/villages/items?{bad}").status_code == 400


def test_the_limit_has_a_ceiling(client, place, monkeypatch):
    from portal.ogc import api

    api._api.cache_clear()
    monkeypatch.setattr(api, "MAX_ITEMS", 2)
    try:
        _s, body = get_json(client, "/ogc/collections/villages/items?limit=1000")
        assert body["numberReturned"] == 2 and link(body, "next")
    finally:
        api._api.cache_clear()


def test_bbox_gives_exactly_the_features_it_touches(client, place):
    _p, _c, villages, _e, _t = place
    v1, v2, v3 = villages
    for bbox, expected in (
        ("100.5,0.5,102.5,0.8", {v1, v2}),  # across the first two
        ("101.2,1.2,101.8,1.8", set()),  # between them: their boxes do not reach it
        ("99,-1,111,11", {v1, v2, v3}),
        ("100.2,2.2,100.4,2.4", {v3}),
    ):
        _s, body = get_json(client, f"/ogc/collections/villages/items?bbox={bbox}")
        assert set(ids_of(body)) == expected, bbox
        assert body["numberMatched"] == len(expected)
    assert client.get("/ogc/collections/villages/items?bbox=1,2,3").status_code == 400


def test_bbox_on_computed_geometries_is_exact_too(client, session, place):
    _p, commune, villages, _e, _t = place
    for v in villages[:2]:
        session.add(PatrolActivity(month=date(2026, 3, 1), area_id=v, commune_id=commune))
    session.commit()
    _s, body = get_json(client, "/ogc/collections/village_months/items?bbox=101.5,0,103,1")
    assert [f["properties"]["village_id"] for f in body["features"]] == [villages[1]]


def test_a_property_filter(client, place):
    _p, _c, villages, _e, _t = place
    _s, body = get_json(client, "/ogc/collections/villages/items?code=T2")
    assert ids_of(body) == [villages[1]]


def test_out_of_range_or_mistyped_values_are_400_or_404_not_500(client, place):
    """A value the database cannot hold (an integer past bigint, a number past double, an
    offset past bigint) is the client's mistake: a JSON 400 or 404, never a 500."""
    for url in (
        "/ogc/collections/villages/items?commune_id=abc",
        "/ogc/collections/villages/items?id=99999999999999999999999",
        "/ogc/collections/village_months/items?patrols=1e400",
        "/ogc/collections/village_months/items?patrols=99999999999999999999999",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert response.mimetype == "application/json", url
    huge = client.get("/ogc/collections/villages/items?offset=99999999999999999999999")
    assert huge.status_code == 200 and huge.get_json()["features"] == []
    missing = client.get("/ogc/collections/villages/items/99999999999999999999999")
    assert missing.status_code == 404 and missing.mimetype == "application/json"


def test_a_bbox_across_the_antimeridian_is_not_the_world_between(client, place):
    """bbox=170,0,-170,10 is the 20 degrees around 180°, not the 340 degrees between."""
    _s, body = get_json(client, "/ogc/collections/villages/items?bbox=170,0,-170,10")
    assert body["features"] == [] and body["numberMatched"] == 0
    _p, _c, villages, _e, _t = place
    _s, body = get_json(client, "/ogc/collections/villages/items?bbox=100.5,0.5,-179,0.8")
    assert set(ids_of(body)) == {villages[0], villages[1]}


def test_a_gis_client_may_ask_for_english(client, place):
    """A GIS client has no portal session to choose English with: ?lang=en (pygeoapi's own
    parameter) or an Accept-Language preferring English gives the English titles, as Open311's
    locale does; a browser's plain Vietnamese-first header keeps Vietnamese."""
    from tests.test_i18n import load_catalogue

    english = load_catalogue().get("Tỉnh, thành phố").string
    for headers, url, title in (
        ({}, "/ogc/collections/provinces?lang=en", english),
        ({"Accept-Language": "en-GB,en;q=0.9"}, "/ogc/collections/provinces", english),
        ({"Accept-Language": "vi,en;q=0.5"}, "/ogc/collections/provinces", "Tỉnh, thành phố"),
        ({}, "/ogc/collections/provinces", "Tỉnh, thành phố"),
    ):
        response = client.get(url, headers=headers)
        assert response.get_json()["title"] == title, (url, headers)
        assert "Accept-Language" in response.vary


def test_filters_the_service_does_not_apply_are_refused_not_ignored(client, place):
    """CQL filter=, q= and datetime= are not served: silently ignoring them would hand a GIS
    client every feature as if they matched (numberMatched included)."""
    for url in (
        "/ogc/collections/villages/items?filter=code%3D%27T2%27",
        "/ogc/collections/villages/items?filter=code%3D%27T2%27&filter-lang=cql-text",
        "/ogc/collections/villages/items?q=T2",
        "/ogc/collections/village_months/items?datetime=2020-01-01",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert response.mimetype == "application/json"


def test_the_portals_own_errors_under_ogc_are_json_too(client):
    """/ogc/ answers JSON only: a 404 or 405 the portal makes before pygeoapi (an unknown path,
    a POST) must not be an HTML page a GIS client cannot read."""
    for response in (
        client.get("/ogc/nonexistent"),
        client.post("/ogc/collections/villages/items", json={"filter": {}}),
    ):
        assert response.status_code in (404, 405)
        assert response.mimetype == "application/json"


def test_a_deep_page_of_village_months_makes_points_for_its_own_rows_only(client, session, place):
    """The view's point (ST_PointOnSurface of a real outline) is costly; with an OFFSET,
    PostgreSQL makes a selected expression for every row the offset skips too (a page at
    offset 60,000 of Hanoi's months took 1.4 s, 0.27 s without). So the page's rows are chosen
    without the geometry, and their points made after; the points are the view's own."""
    from portal.ogc import queries
    from portal.ogc.collections import COLLECTIONS
    from portal.scope import Scope

    _p, commune, villages, _e, _t = place
    for v in villages:
        for month in (1, 2):
            session.add(PatrolActivity(month=date(2026, month, 1), area_id=v, commune_id=commune))
    session.commit()
    collection = COLLECTIONS["village_months"]
    sql = str(
        queries.items(
            collection,
            Scope(role=None),
            box=None,
            equals={},
            order=[],
            offset=3,
            limit=2,
            fields=list(collection.fields),
            with_geometry=True,
        )
    )
    paged = sql[sql.rindex("SELECT") :]  # the innermost select: the one with the OFFSET
    assert "OFFSET" in paged and "geom" not in paged
    _s, body = get_json(client, "/ogc/collections/village_months/items?offset=3&limit=2")
    expected = session.execute(
        text(
            "SELECT id, ST_AsGeoJSON(geom) FROM ogc_village_months"
            " ORDER BY village_id, month OFFSET 3 LIMIT 2"
        )
    ).all()
    assert [(f["id"], f["geometry"]) for f in body["features"]] == [
        (i, json.loads(g)) for i, g in expected
    ]


def test_a_bbox_with_heights_is_read_as_its_two_corners(client, place):
    """OGC API allows 6 numbers (minx, miny, minz, maxx, maxy, maxz); the flat features match
    on x and y: not the first four numbers (x, y, minz, maxx) as a 2D box."""
    _p, _c, villages, _e, _t = place
    _s, flat = get_json(client, "/ogc/collections/villages/items?bbox=100.2,0.2,100.4,0.4")
    _s, tall = get_json(client, "/ogc/collections/villages/items?bbox=100.2,0.2,5,100.4,0.4,50")
    assert set(ids_of(tall)) == set(ids_of(flat)) == {villages[0]}


# --- staff layers ----------------------------------------------------------------------------


def test_staff_layers_answer_401_to_anonymous_clients(client, place):
    for collection in STAFF:
        for url in (
            f"/ogc/collections/{collection}",
            f"/ogc/collections/{collection}/items",
            f"/ogc/collections/{collection}/items/1",
        ):
            response = client.get(url)
            assert response.status_code == 401, url
            assert response.mimetype == "application/json"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def _officer(session) -> Account:
    return session.scalar(select(Account).where(Account.username == "canbo.xa"))


def _token(client) -> str:
    """A token made through the page (the secret shown once)."""
    page = client.post(
        "/account/tokens/",
        data={"name": "QGIS phòng kế hoạch", "csrf_token": csrf_token(client, "/account/tokens/")},
    )
    assert page.status_code == 201
    return re.search(r'value="(antt_[^"]+)"', page.get_data(as_text=True)).group(1)


def test_a_signed_in_account_sees_staff_layers_in_its_scope(app, demo):
    officer = _officer(demo)
    client = signed_in(app, "canbo.xa")
    _s, body = get_json(client, "/ogc/collections")
    assert set(PUBLIC) | set(STAFF) == {c["id"] for c in body["collections"]}
    _s, teams = get_json(client, "/ogc/collections/teams/items?limit=1000")
    expected = set(
        demo.scalars(
            select(Team.id).where(
                Team.commune_id == officer.commune_id, Team.dissolved_on.is_(None)
            )
        )
    )
    assert expected and set(ids_of(teams)) == expected
    assert teams["numberMatched"] == len(expected)


def test_a_token_reads_staff_layers_scoped_like_its_account(app, demo):
    officer = _officer(demo)
    token = _token(signed_in(app, "canbo.xa"))
    anonymous = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    for collection in STAFF:
        status, body = get_json(
            anonymous, f"/ogc/collections/{collection}/items?limit=1000", headers=bearer
        )
        assert status == 200, collection
        assert {f["properties"]["commune_id"] for f in body["features"]} <= {officer.commune_id}
    _s, coverage = get_json(anonymous, "/ogc/collections/coverage/items?limit=1000", headers=bearer)
    villages = demo.scalar(
        select(func.count()).where(
            Area.parent_id == officer.commune_id, Area.valid_to.is_(None), Area.level == "village"
        )
    )
    assert coverage["numberMatched"] == villages > 0
    # another commune's team, by id: not found
    other = demo.scalar(select(Team.id).where(Team.commune_id != officer.commune_id).limit(1))
    assert anonymous.get(f"/ogc/collections/teams/items/{other}", headers=bearer).status_code == 404
    # the token was used: noted, without an audit row per read
    row = demo.scalar(select(ApiToken).where(ApiToken.account_id == officer.id))
    demo.refresh(row)
    assert row.last_used_at is not None
    # a token is for /ogc/ only: the rest of the portal does not take it
    assert anonymous.get("/areas/", headers=bearer).status_code == 302


def test_a_revoked_token_or_a_disabled_account_is_refused(app, demo):
    officer = _officer(demo)
    client = signed_in(app, "canbo.xa")
    token = _token(client)
    bearer = {"Authorization": f"Bearer {token}"}
    anonymous = app.test_client()
    assert anonymous.get("/ogc/collections/teams/items", headers=bearer).status_code == 200
    token_id = demo.scalar(select(ApiToken.id).where(ApiToken.account_id == officer.id))
    # revoking asks first (a page without JavaScript), then revokes
    ask = client.post(
        f"/account/tokens/{token_id}/revoke",
        data={"csrf_token": csrf_token(client, "/account/tokens/")},
    )
    assert ask.status_code == 200 and 'name="confirm" value="yes"' in ask.get_data(as_text=True)
    assert anonymous.get("/ogc/collections/teams/items", headers=bearer).status_code == 200
    done = client.post(
        f"/account/tokens/{token_id}/revoke",
        data={"confirm": "yes", "csrf_token": csrf_token(client, "/account/tokens/")},
    )
    assert done.status_code == 303
    refused = anonymous.get("/ogc/collections/teams/items", headers=bearer)
    assert refused.status_code == 401 and refused.mimetype == "application/json"
    # even on a public layer: a bad token is an error, not silently anonymous
    assert anonymous.get("/ogc/collections/villages/items", headers=bearer).status_code == 401
    # a second token, then the account disabled
    token = _token(client)
    bearer = {"Authorization": f"Bearer {token}"}
    demo.execute(update(Account).where(Account.id == officer.id).values(is_active=False))
    demo.commit()
    assert anonymous.get("/ogc/collections/teams/items", headers=bearer).status_code == 401
    assert anonymous.get("/ogc/", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_a_password_reset_ends_the_accounts_tokens_as_its_sessions(app, admin, demo):
    """An admin resets a password when an account is taken over: whoever held it may have made
    a token meanwhile, and a token left working would keep them reading the staff layers."""
    officer = _officer(demo)
    bearer = {"Authorization": f"Bearer {_token(signed_in(app, 'canbo.xa'))}"}
    anonymous = app.test_client()
    assert anonymous.get("/ogc/collections/teams/items", headers=bearer).status_code == 200
    reset = admin.post(
        f"/accounts/{officer.id}/password",
        data={"password": "mat-khau-moi-sau-su-co", "csrf_token": csrf_token(admin, "/areas/")},
        headers={"HX-Request": "true"},  # the form's own request: its fragment, with the notice
    )
    assert reset.status_code == 200
    assert "các phiên đăng nhập cũ và mã truy cập API" in reset.get_data(as_text=True)  # it says so
    assert anonymous.get("/ogc/collections/teams/items", headers=bearer).status_code == 401
    demo.expire_all()
    token = demo.scalar(select(ApiToken).where(ApiToken.account_id == officer.id))
    assert token.revoked_at is not None  # shown revoked on the token page, audited as such


def test_the_token_page_makes_lists_and_revokes_with_an_audit_trail(app, demo):
    officer = _officer(demo)
    client = signed_in(app, "canbo.xa")
    assert client.get("/account/tokens/").status_code == 200
    # CSRF is required, as on every form
    refused = client.post("/account/tokens/", data={"name": "x"})
    assert refused.status_code == 400
    empty = client.post(
        "/account/tokens/",
        data={"name": "  ", "csrf_token": csrf_token(client, "/account/tokens/")},
    )
    assert empty.status_code == 422 and "Hãy đặt tên" in empty.get_data(as_text=True)
    secret = _token(client)
    row = demo.scalar(select(ApiToken).where(ApiToken.account_id == officer.id))
    # stored hashed, never in clear; shown once
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps([row.name, row.prefix, row.token_hash])
    listing = client.get("/account/tokens/").get_data(as_text=True)
    assert "QGIS phòng kế hoạch" in listing and secret not in listing
    created = demo.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_type == "api_token", AuditEntry.action == "create"
        )
    )
    assert (created.owner_type, created.owner_id, created.actor) == (
        "account", officer.id, "canbo.xa",
    )  # fmt: skip
    assert created.changes["token_hash"] == [None, "[ẩn]"]
    assert secret not in json.dumps(created.changes)
    client.post(
        f"/account/tokens/{row.id}/revoke",
        data={"confirm": "yes", "csrf_token": csrf_token(client, "/account/tokens/")},
    )
    revoked = demo.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_type == "api_token", AuditEntry.action == "update"
        )
    )
    assert set(revoked.changes) == {"revoked_at"}
    # another account's token is not found
    admin = signed_in(app, "quantri")
    answer = admin.post(
        f"/account/tokens/{row.id}/revoke",
        data={"confirm": "yes", "csrf_token": csrf_token(admin, "/account/tokens/")},
    )
    assert answer.status_code == 404


def test_the_token_page_needs_a_signed_in_account(client):
    assert client.get("/account/tokens/").status_code == 302


# --- the database role -----------------------------------------------------------------------


def test_the_app_role_may_read_but_not_write_the_views(session):
    for collection in COLLECTIONS.values():
        session.execute(text(f"SELECT count(*) FROM {collection.view}"))
    with pytest.raises(Exception, match="permission denied"), session.begin_nested():
        session.execute(text("UPDATE ogc_provinces SET name = 'x'"))


# --- GDAL reads the live server ---------------------------------------------------------------


def gdal(*args: str, env: dict | None = None) -> str:
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=300, env={**os_environ(), **(env or {})}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def os_environ() -> dict:
    import os

    # no GDAL cache between runs: each read goes to the server
    return {**os.environ, "GDAL_HTTP_TIMEOUT": "60", "CPL_VSIL_CURL_NON_CACHED": "/"}


def e2e_rows(sql: str, *params):
    url = database_url_for("antt_portal_e2e").replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def e2e_write(sql: str, *params) -> None:
    url = database_url_for("antt_portal_e2e").replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        conn.execute(sql, params)


def test_gdal_lists_the_public_layers(live_server):
    out = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{live_server}/ogc")
    layers = re.findall(r"^\d+: (\w+)", out, re.M)
    assert sorted(layers) == sorted(PUBLIC)


def test_gdal_pages_through_villages_and_gets_each_feature_once(live_server, tmp_path: Path):
    target = tmp_path / "villages.geojson"
    gdal(
        "ogr2ogr", "-f", "GeoJSON", str(target), f"OAPIF:{live_server}/ogc", "villages",
        "-oo", "PAGE_SIZE=5",
    )  # fmt: skip
    features = json.loads(target.read_text())["features"]
    ids = [f["properties"]["id"] for f in features]
    expected = {
        r[0] for r in e2e_rows("SELECT id FROM areas WHERE level = 'village' AND valid_to IS NULL")
    }
    assert len(ids) == len(set(ids)) == len(expected) > 5
    assert set(ids) == expected
    # only the public attributes, exactly
    assert {k for f in features for k in f["properties"]} == VILLAGE_FIELDS


def test_gdal_reads_a_staff_layer_with_a_token_in_its_scope(live_server, tmp_path: Path):
    secret = "antt_gdal-test-" + hashlib.sha256(live_server.encode()).hexdigest()[:20]
    digest = hashlib.sha256(secret.encode()).hexdigest()
    ((account_id, commune_id),) = e2e_rows(
        "SELECT id, commune_id FROM accounts WHERE username = 'canbo.xa'"
    )
    e2e_write(
        "INSERT INTO api_tokens (account_id, name, token_hash, prefix) VALUES (%s, 'gdal', %s, %s)"
        " ON CONFLICT (token_hash) DO UPDATE SET revoked_at = NULL",
        account_id, digest, secret[:12],
    )  # fmt: skip
    try:
        target = tmp_path / "teams.geojson"
        headers = {"GDAL_HTTP_HEADERS": f"Authorization: Bearer {secret}"}
        gdal(
            "ogr2ogr", "-f", "GeoJSON", str(target), f"OAPIF:{live_server}/ogc", "teams",
            "-oo", "PAGE_SIZE=7", env=headers,
        )  # fmt: skip
        got = [f["properties"]["id"] for f in json.loads(target.read_text())["features"]]
        expected = {
            r[0]
            for r in e2e_rows(
                "SELECT id FROM teams WHERE commune_id = %s AND dissolved_on IS NULL", commune_id
            )
        }
        assert len(got) == len(set(got)) and set(got) == expected and expected
        listed = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{live_server}/ogc", env=headers)
        assert set(re.findall(r"^\d+: (\w+)", listed, re.M)) == {*PUBLIC, *STAFF}
        # revoked: refused
        e2e_write("UPDATE api_tokens SET revoked_at = now() WHERE token_hash = %s", digest)
        done = subprocess.run(
            ["ogrinfo", "-ro", "-so", f"OAPIF:{live_server}/ogc", "teams"],
            capture_output=True, text=True, timeout=120, env={**os_environ(), **headers},
        )  # fmt: skip
        assert done.returncode != 0 and "401" in done.stderr
    finally:
        e2e_write("DELETE FROM api_tokens WHERE token_hash = %s", digest)


def test_gdal_bbox_matches_the_database(live_server, tmp_path: Path):
    ((west, south, east, north),) = e2e_rows(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
        " SELECT ST_Expand(ST_Centroid(geom), 0.002) AS e FROM areas"
        " WHERE level = 'village' AND valid_to IS NULL ORDER BY id LIMIT 1) b"
    )
    target = tmp_path / "box.geojson"
    gdal(
        "ogr2ogr", "-f", "GeoJSON", str(target), f"OAPIF:{live_server}/ogc", "villages",
        "-spat", str(west), str(south), str(east), str(north), "-oo", "PAGE_SIZE=3",
    )  # fmt: skip
    got = {f["properties"]["id"] for f in json.loads(target.read_text())["features"]}
    expected = {
        r[0]
        for r in e2e_rows(
            "SELECT id FROM areas WHERE level = 'village' AND valid_to IS NULL"
            " AND ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
            west, south, east, north,
        )
    }  # fmt: skip
    assert got == expected and len(expected) >= 1
