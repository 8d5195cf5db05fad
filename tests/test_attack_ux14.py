"""A hostile review of issue 14: what an anonymous user, a commune officer of Ba Đình and a
team leader could do with the new pages that they should not."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select

from portal.lookup import queries as lookup_queries
from portal.models import Account, Area, BoundaryChange, Member, Street, Team
from portal.streets import services as streets
from portal.text import search_words
from tests.conftest import csrf_token, signed_in

# --- anyone: the look-up's search ---------------------------------------------------------


def _likes(text: str) -> int:
    """How many LIKE tests the look-up's search query makes for a typed text."""
    sql = str(lookup_queries.search(search_words(text)).compile())
    return sql.upper().count(" LIKE ")


def test_a_search_of_hundreds_of_words_costs_no_more_than_a_few(client, demo):
    """Each word typed added several LIKE tests over every area: 1,300 one-letter words (a
    2.6 kB URL) kept the database busy 40 s for an anonymous caller."""
    few = _likes("tổ dân phố số 7 ngọc hà")
    many = " ".join(f"w{i}" for i in range(600))
    assert _likes(many) <= few * 2
    answer = client.get("/tra-cuu", query_string={"q": " ".join(["a"] * 1300)})
    assert answer.status_code == 200
    # the words kept are the first ones: a real search still finds its place
    assert [w.folded for w in search_words("tdp 7 ngoc ha " + "x " * 500)][:6] == [
        "to",
        "dan",
        "pho",
        "7",
        "ngoc",
        "ha",
    ]


# --- officers: the split preview ----------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        '{"type":"LineString","coordinates":[[105.8,NaN],[105.9,21.1]]}',
        '{"type":"LineString","coordinates":[[105.8,-Infinity],[105.9,Infinity]]}',
        '{"type":"LineString","coordinates":[[105.8,21.0]]}',
        '{"type":"LineString","coordinates":[[1e308,1e308],[-1e308,-1e308]]}',
    ],
)
def test_an_odd_cut_line_is_refused_in_words_not_a_server_error(app, demo, line):
    """json.loads reads NaN and Infinity; a one-point or non-finite line made GEOS raise (500)
    in the preview and in the split itself."""
    officer = signed_in(app, "canbo.xa")
    token = csrf_token(officer, "/boundaries/")
    commune_id = demo.scalar(select(Account.commune_id).where(Account.username == "canbo.xa"))
    village = demo.scalar(
        select(Area)
        .where(Area.parent_id == commune_id, Area.level == "village", Area.valid_to.is_(None))
        .order_by(Area.id)
    )
    changes = demo.scalar(select(func.max(BoundaryChange.id)))
    preview = officer.post(
        f"/boundaries/villages/{village.id}/split-preview",
        data={"line": line, "csrf_token": token},
    )
    assert preview.status_code == 422, preview.status_code
    admin = signed_in(app, "quantri")
    token = csrf_token(admin, "/boundaries/")
    preview = admin.post(
        f"/boundaries/villages/{village.id}/split-preview",
        data={"line": line, "csrf_token": token},
    )
    assert preview.status_code == 422
    split = admin.post(
        f"/boundaries/villages/{village.id}/edit",
        data={
            "action": "split",
            "line": line,
            "name_a": "A",
            "name_b": "B",
            "decision_number": "1/QĐ",
            "decision_date": "2025-01-01",
            "csrf_token": token,
        },
    )
    assert split.status_code == 422
    assert demo.scalar(select(func.max(BoundaryChange.id))) == changes


def test_a_team_leader_gets_no_split_preview(app, demo):
    leader = signed_in(app, "totruong")
    village = demo.scalar(select(Area).where(Area.level == "village").order_by(Area.id))
    shape = to_shape(village.geom)
    minx, miny, maxx, maxy = shape.bounds
    mid = (miny + maxy) / 2
    line = {"type": "LineString", "coordinates": [[minx - 0.001, mid], [maxx + 0.001, mid]]}
    answer = leader.post(
        f"/boundaries/villages/{village.id}/split-preview",
        data={"line": json.dumps(line), "csrf_token": csrf_token(leader, "/teams/")},
    )
    assert answer.status_code == 404


# --- anyone: the street layer -------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        {"bbox": "nan,nan,nan,nan", "z": "16"},
        {"bbox": "105.8,21,105.9,21.1", "z": "inf"},
        {"bbox": "105.8,21,105.9,21.1", "z": "1e3"},
        {"bbox": "105.8,21,105.9,21.1", "z": "-1"},
        {"bbox": "105.8,21,105.9,21.1", "z": "99999999999999999999"},
        {"bbox": "-180,-90,180,90", "z": "18"},
        {"bbox": "105.9,21,105.8,21.1", "z": "16"},
        {"bbox": "105.8,21,105.9", "z": "16"},
        {"bbox": "1e400,21,105.9,21.1", "z": "16"},
        {"bbox": "105.8,21,105.9,21.1,1", "z": "16"},
        {"bbox": "105.8;21;105.9;21.1", "z": "16"},
        {"z": "16"},
        {},
    ],
)
def test_odd_street_views_are_refused_as_bad_parameters(client, args):
    answer = client.get("/ban-do/duong", query_string=args)
    assert answer.status_code == 400
    assert "public" not in answer.headers.get("Cache-Control", "")


def test_a_street_read_from_a_file_is_only_text_on_the_map(client, session, tmp_path: Path):
    """A name with markup is stored as it is and sent as JSON text (streets.js draws it as an
    SVG text node); the search lists it escaped."""
    evil = '<img src=x onerror=alert(1)>Phố "Gai"'
    data = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"osm_id": 9, "name": evil, "highway": "primary"},
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[105.849, 21.033], [105.851, 21.0336]],
                },
            }
        ],
    }
    path = tmp_path / "evil.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    streets.import_file(path)
    assert session.scalar(select(Street.name).where(Street.source == "evil")) == evil
    answer = client.get(
        "/ban-do/duong", query_string={"bbox": "105.84,21.02,105.86,21.04", "z": "16"}
    )
    names = [f["properties"]["name"] for f in answer.get_json()["features"]]
    assert evil in names
    page = client.get("/tra-cuu", query_string={"q": "gai"}).get_data(as_text=True)
    assert "<img src=x" not in page


# --- officers and leaders: teams ----------------------------------------------------------


def _ba_dinh_teams(session) -> list[Team]:
    ba_dinh = session.scalar(select(Area.id).where(Area.code == "00004"))
    return session.scalars(select(Team).where(Team.commune_id == ba_dinh).order_by(Team.id)).all()


def _serving(session, team_id: int) -> list[Member]:
    return session.scalars(
        select(Member)
        .where(Member.team_id == team_id, Member.left_on.is_(None))
        .order_by(Member.id)
    ).all()


def _move(client, team_id, member_id, to_team_id):
    return client.post(
        f"/teams/{team_id}/members/{member_id}/move",
        data={
            "to_team_id": str(to_team_id),
            "left_on": date.today().isoformat(),
            "left_decision": "1/QĐ",
            "signer": "Chủ tịch",
            "csrf_token": csrf_token(client, "/teams/"),
        },
    )


def test_no_one_moves_a_member_out_of_their_reach(app, demo):
    """An officer cannot move a member into another commune's team, nor out of one; a team
    leader cannot move anyone at all."""
    mine = _ba_dinh_teams(demo)
    elsewhere = demo.scalar(
        select(Team).where(Team.commune_id != mine[0].commune_id).order_by(Team.id).limit(1)
    )
    member = _serving(demo, mine[0].id)[-1]
    foreign = _serving(demo, elsewhere.id)[-1]
    officer = signed_in(app, "canbo.xa")
    assert _move(officer, mine[0].id, member.id, elsewhere.id).status_code in (404, 422)
    assert _move(officer, elsewhere.id, foreign.id, mine[0].id).status_code == 404
    leader_team = demo.scalar(select(Account.team_id).where(Account.username == "totruong"))
    leader = signed_in(app, "totruong")
    theirs = _serving(demo, leader_team)[-1]
    other = next(t for t in mine if t.id != leader_team)
    assert _move(leader, leader_team, theirs.id, other.id).status_code in (404, 422)
    demo.expire_all()
    for moved in (member, foreign, theirs):
        assert demo.get(Member, moved.id).left_on is None


def test_saved_names_only_a_member_of_the_team_shown(app, demo):
    mine = _ba_dinh_teams(demo)
    leader_team = demo.scalar(select(Account.team_id).where(Account.username == "totruong"))
    other = next(t for t in mine if t.id != leader_team)
    stranger = _serving(demo, other.id)[-1]
    elsewhere = demo.scalar(
        select(Team).where(Team.commune_id != mine[0].commune_id).order_by(Team.id).limit(1)
    )
    far = _serving(demo, elsewhere.id)[-1]
    officer, leader = signed_in(app, "canbo.xa"), signed_in(app, "totruong")
    page = officer.get(f"/teams/{mine[0].id}?saved={far.id}").get_data(as_text=True)
    assert far.full_name not in page
    page = leader.get(f"/teams/{leader_team}?saved={stranger.id}").get_data(as_text=True)
    assert stranger.full_name not in page


def test_a_villages_map_of_another_commune_is_not_found(app, demo):
    mine = _ba_dinh_teams(demo)[0].commune_id
    other = demo.scalar(
        select(Area.id).where(Area.level == "commune", Area.id != mine).order_by(Area.id)
    )
    assert signed_in(app, "canbo.xa").get(f"/coverage/{other}/villages.json").status_code == 404
    leader = signed_in(app, "totruong")
    assert leader.get(f"/coverage/{mine}/villages.json").status_code == 404
    assert app.test_client().get(f"/coverage/{mine}/villages.json").status_code in (302, 401, 404)


def test_a_search_of_punctuation_alone_finds_nothing(client, demo, app):
    """ "--" passed the length check but had no word: it listed every area of the city."""
    page = client.get("/tra-cuu", query_string={"q": "--"}).get_data(as_text=True)
    assert 'class="results"' not in page
    staff = signed_in(app, "canbo.xa")
    listed = staff.get(
        "/areas/",
        query_string={"q": ".."},
        headers={"HX-Request": "true", "HX-Target": "search-results"},
    ).get_data(as_text=True)
    village = demo.scalar(
        select(Area.name)
        .where(Area.level == "village", Area.parent_id == _ba_dinh_teams(demo)[0].commune_id)
        .order_by(Area.id)
    )
    assert village not in listed


def test_a_streets_ranking_reads_wildcards_typed_as_letters(app, session, tmp_path: Path):
    """ "x_y" typed: a street starting with "x_y" comes before one that merely holds it ("_"
    was LIKE's any-letter in the ranking, so "Xay x_y" counted as starting with it)."""

    def road(i, name):
        coords = [[105.849 + i * 0.01, 21.033], [105.851 + i * 0.01, 21.0336]]
        return {
            "type": "Feature",
            "properties": {"osm_id": 100 + i, "name": name, "highway": "residential"},
            "geometry": {"type": "LineString", "coordinates": coords},
        }

    data = {
        "type": "FeatureCollection",
        "features": [road(0, "Phố Xay x_y"), road(1, "Phố X_Y Bắc Ninh")],
    }
    path = tmp_path / "wild.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    streets.import_file(path)
    with app.test_request_context():
        found = [s.name for s in streets.search("x_y")]
    assert found == ["Phố X_Y Bắc Ninh", "Phố Xay x_y"]


def test_a_shared_street_answer_is_never_served_to_another_cookie(app, demo):
    """The layer is public and cacheable even for a signed-in user, whose session cookie is
    refreshed on it: a shared cache must key it on the cookie (Vary), or it hands one user's
    session to the next."""
    officer = signed_in(app, "canbo.xa")
    view = {"bbox": "105.84,21.02,105.86,21.04", "z": "16"}
    answer = officer.get("/ban-do/duong", query_string=view)
    assert answer.status_code == 200
    if "Set-Cookie" in answer.headers:
        assert "Cookie" in answer.headers.get("Vary", "")
    anonymous = app.test_client().get("/ban-do/duong", query_string=view)
    assert "Set-Cookie" not in anonymous.headers
    assert "public" in anonymous.headers["Cache-Control"]


@pytest.mark.parametrize(
    "geometry",
    [
        '{"type":"Polygon","coordinates":[[[105.8,NaN],[105.9,21.0],[105.9,21.1],[105.8,NaN]]]}',
        '{"type":"Polygon","coordinates":[[[105.8,21.0]]]}',
        '{"type":"Polygon","coordinates":[[[105.8,21.0],[105.9,Infinity],[105.8,21.0]]]}',
    ],
)
def test_an_odd_drawn_boundary_is_refused_in_words(admin, demo, geometry):
    village = demo.scalar(
        select(Area).where(Area.level == "village", Area.valid_to.is_(None)).order_by(Area.id)
    )
    changes = demo.scalar(select(func.max(BoundaryChange.id)))
    answer = admin.post(
        f"/boundaries/villages/{village.id}/edit",
        data={
            "action": "draw",
            "geometry": geometry,
            "decision_number": "1/QĐ",
            "decision_date": date.today().isoformat(),
            "csrf_token": csrf_token(admin, "/boundaries/"),
        },
    )
    assert answer.status_code == 422
    assert demo.scalar(select(func.max(BoundaryChange.id))) == changes


def test_a_neighbours_name_reaches_the_card_as_text(client, demo):
    """A name with markup (typed by an officer, or in an imported file) stays text in the
    card's data-neighbours attribute; lookup.js draws it with textContent."""
    village = demo.scalar(
        select(Area).where(Area.level == "village", Area.valid_to.is_(None)).order_by(Area.id)
    )
    beside = demo.execute(lookup_queries.neighbours(village.id, 0.0001)).first()
    assert beside is not None
    neighbour = demo.get(Area, beside[0])
    neighbour.name = '<img src=x onerror=alert(1)>"Thôn'
    demo.flush()
    page = client.get(f"/tra-cuu/{village.id}").get_data(as_text=True)
    attribute = page.split('data-neighbours="', 1)[1].split('"', 1)[0]
    assert "<img" not in page.split("<body", 1)[1].replace(attribute, "")
    assert "<" not in attribute and '"' not in attribute
    assert "\\u003cimg" in attribute  # JSON's escape, decoded by JSON.parse, drawn as text


def test_import_streets_reads_no_more_of_a_file_than_its_cap(app, tmp_path: Path):
    """A huge file (a wrong path, a dump of the world) is refused after reading the cap, not
    read whole into memory first."""
    import tracemalloc

    from geo.features import FileProblem
    from geo.lines import LineLimits

    huge = tmp_path / "world.geojson"
    with huge.open("wb") as out:
        out.truncate(LineLimits().max_bytes * 4)  # sparse: costs no disk
    tracemalloc.start()
    try:
        with pytest.raises(FileProblem):
            streets.import_file(huge)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < LineLimits().max_bytes * 2


def test_a_cut_line_of_thousands_of_points_is_refused_before_splitting(admin, demo):
    """The preview writes nothing and may be asked again and again: a zigzag of 200,000
    points (a few MB, under the upload cap) kept GEOS splitting a village for half a minute."""
    village = demo.scalar(
        select(Area).where(Area.level == "village", Area.valid_to.is_(None)).order_by(Area.id)
    )
    minx, miny, maxx, maxy = to_shape(village.geom).bounds
    n = 5000
    coords = [
        [minx - 0.001 + (maxx - minx + 0.002) * i / n, miny - 1e-4 if i % 2 else maxy + 1e-4]
        for i in range(n)
    ]
    line = json.dumps({"type": "LineString", "coordinates": coords})
    answer = admin.post(
        f"/boundaries/villages/{village.id}/split-preview",
        data={"line": line, "csrf_token": csrf_token(admin, "/boundaries/")},
    )
    assert answer.status_code == 422
    assert "điểm" in answer.get_json()["error"]  # says why: too many points, not "two parts"


def test_a_villages_name_in_villages_json_is_escaped_map_text(app, demo):
    """zoom-to-row.js puts label and state into popups as HTML: the server escapes them."""
    officer = signed_in(app, "canbo.xa")  # first: signing in ends the test's open writes
    commune_id = _ba_dinh_teams(demo)[0].commune_id
    from portal.models import CoverageVillage

    shown = demo.scalar(
        select(CoverageVillage.area_id)
        .where(CoverageVillage.commune_id == commune_id, CoverageVillage.area_id.is_not(None))
        .limit(1)
    )
    village = demo.get(Area, shown)
    village.name = "<img src=x onerror=alert(1)>"
    demo.flush()
    body = officer.get(f"/coverage/{commune_id}/villages.json").get_data(as_text=True)
    assert "<img" not in body
    assert "&lt;img" in body


def test_a_kept_card_holds_its_neighbours_as_compact_text(app, demo):
    """Each worker keeps up to 20,000 cards for anyone who asks (a crawler asks them all):
    neighbours' outlines kept as parsed lists of floats weighed six times their JSON, so the
    card keeps the JSON text itself (a str is one object of its length)."""
    from portal.lookup import services as lookup

    # a commune: its neighbours are other communes, with long outlines
    village = demo.scalar(
        select(Area).where(Area.level == "commune", Area.valid_to.is_(None)).order_by(Area.id)
    )
    with app.test_request_context():
        kept = lookup.neighbours(village.id, village.parent_id)
    assert isinstance(kept, str) and len(kept) > 1000  # text, and it has neighbours
    assert sys.getsizeof(kept) < 4 * len(kept) + 100  # no hidden structure behind it
    parsed = json.loads(kept)
    assert parsed and all(n["outline"]["type"].endswith("Polygon") for n in parsed)
