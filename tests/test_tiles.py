"""Vector tiles of the villages (portal.tiles): decoded with mapbox_vector_tile and checked
against the database. Hand-built villages with known answers, the demo's for scope, and the
cache's invalidation by a boundary edited through the portal's own service."""

from __future__ import annotations

import math
from datetime import date

import mapbox_vector_tile
import pytest
import shapely
from flask import g
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import func, select, text

from portal.boundaries import editing
from portal.coverage import services as coverage
from portal.models import Account, Area, AreaShape, CoverageVillage, PatrolActivity
from portal.patrols.services import level_of
from portal.text import fold
from portal.tiles.cache import TILES, forget_tiles
from tests.conftest import signed_in

MVT = "application/vnd.mapbox-vector-tile"
ALLOWED = {
    "coverage": {"id", "name", "status"},
    "patrols": {"id", "name", "status", "n", "v"},
    "incidents": {"id", "name", "status", "n"},
}


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def tile_box(z: int, x: int, y: int) -> shapely.Polygon:
    """The tile's bounds in longitude and latitude."""
    n = 2**z

    def lat(row):
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return shapely.box(x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y))


def features(response, layer: str) -> list[dict]:
    if response.status_code == 204:
        return []
    assert response.status_code == 200 and response.mimetype == MVT
    return mapbox_vector_tile.decode(response.data).get(layer, {}).get("features", [])


def settle(session) -> None:
    """Commit with the deferred triggers fired (the generations move, as at a real commit)."""
    session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    session.commit()


def ids(response, layer: str) -> set[int]:
    return {f["properties"]["id"] for f in features(response, layer)}


@pytest.fixture(autouse=True)
def fresh_cache():
    forget_tiles()  # other tests' rolled-back data may have reached the same generations
    yield
    forget_tiles()


def place(session, level, name, shape, parent=None, code=None) -> Area:
    area = Area(
        level=level,
        kind="phuong" if level == "commune" else "to_dan_pho",
        name=name,
        name_search=fold(name),
        parent_id=parent.id if parent else None,
        code=code,
        geom=from_shape(shapely.MultiPolygon([shape]), srid=4326),
    )
    session.add(area)
    session.flush()
    return area


# a z=14 tile in the Gulf of Tonkin, far from every demo area: its villages are ours
Z = 14
X, Y = tile_of(107.31, 20.31, Z)


@pytest.fixture
def sea(app, demo):
    """A hand-built commune over the tile and its surroundings, with villages whose relation
    to the tile is known: inside, across its east edge, a tile away (outside), and one ended.
    Their ids, by what they are."""
    box = tile_box(Z, X, Y)
    w, s, e, n = box.bounds
    width = e - w
    province = demo.scalar(select(Area).where(Area.level == "province"))
    outline = shapely.box(w - 2 * width, s - 2 * width, e + 2 * width, n + 2 * width)
    commune = place(demo, "commune", "Phường Thử Nghiệm", outline, province, code="99901")
    villages = {
        "inside": place(
            demo,
            "village",
            "Tổ dân phố Trong",
            shapely.box(w + width * 0.3, s + width * 0.3, w + width * 0.5, s + width * 0.5),
            commune,
        ),
        "edge": place(
            demo,
            "village",
            "Tổ dân phố Giáp Ranh",
            shapely.box(e - width * 0.1, s + width * 0.1, e + width * 0.3, s + width * 0.4),
            commune,
        ),
        "away": place(
            demo,
            "village",
            "Tổ dân phố Xa",
            shapely.box(e + width * 0.6, s, e + width * 0.9, s + width * 0.3),
            commune,
        ),
        "ended": place(
            demo,
            "village",
            "Tổ dân phố Cũ",
            shapely.box(w + width * 0.6, s + width * 0.6, w + width * 0.8, s + width * 0.8),
            commune,
        ),
    }
    villages["ended"].valid_from, villages["ended"].valid_to = date(2024, 1, 1), date(2025, 7, 1)
    demo.flush()
    found = {key: village.id for key, village in villages.items()}
    with app.app_context():
        coverage.refresh([commune.id])
        demo.commit()  # before the context's teardown ends the session
    return found


def test_a_tile_holds_exactly_the_current_villages_that_intersect_it(admin, sea, demo):
    response = admin.get(f"/tiles/coverage/{Z}/{X}/{Y}.pbf")
    assert response.status_code == 200
    found = {f["properties"]["id"]: f for f in features(response, "coverage")}
    assert set(found) == {sea["inside"], sea["edge"]}
    # the database agrees: the current villages whose stored shape meets the tile's bounds
    box = from_shape(tile_box(Z, X, Y), srid=4326)
    meeting = demo.scalars(
        select(Area.id)
        .join(AreaShape, AreaShape.area_id == Area.id)
        .where(Area.level == "village", Area.valid_to.is_(None), AreaShape.geom.ST_Intersects(box))
    ).all()
    assert set(found) == set(meeting)
    inside = found[sea["inside"]]
    assert inside["properties"] == {
        "id": sea["inside"],
        "name": "Tổ dân phố Trong",
        "status": "no_team",
    }
    assert inside["geometry"]["type"] == "Polygon"
    # the next tile east holds the village across the edge and the one a tile away
    east = admin.get(f"/tiles/coverage/{Z}/{X + 1}/{Y}.pbf")
    assert ids(east, "coverage") == {sea["edge"], sea["away"]}


def test_attributes_are_only_what_the_maps_need(admin, demo):
    ba_dinh = demo.scalar(select(Area).where(Area.code == "00004"))
    centre = to_shape(ba_dinh.geom).centroid
    x, y = tile_of(centre.x, centre.y, 13)
    for layer, allowed in ALLOWED.items():
        found = features(admin.get(f"/tiles/{layer}/13/{x}/{y}.pbf"), layer)
        assert found, layer
        assert all(set(f["properties"]) == allowed for f in found), layer
        names = dict(demo.execute(select(Area.id, Area.name)).all())
        assert all(names[f["properties"]["id"]] == f["properties"]["name"] for f in found)


def test_patrol_counts_and_classes_are_those_of_the_activity_page(admin, demo):
    ba_dinh = demo.scalar(select(Area).where(Area.code == "00004"))
    villages = demo.scalars(
        select(Area.id).where(Area.parent_id == ba_dinh.id).order_by(Area.code).limit(3)
    ).all()
    # a year: 10 patrols (under 4 a month), 100 (under 20 a month), 300; and one the year after
    for area_id, month, patrols in [
        (villages[0], date(2025, 3, 1), 10),
        (villages[1], date(2025, 5, 1), 60),
        (villages[1], date(2025, 6, 1), 40),
        (villages[2], date(2025, 7, 1), 300),
        (villages[2], date(2026, 1, 1), 999),  # outside the period
    ]:
        demo.execute(
            text(
                "INSERT INTO patrol_activity (month, area_id, commune_id, patrols, violations)"
                " VALUES (:m, :a, :c, :p, 1) ON CONFLICT (month, area_id)"
                " DO UPDATE SET patrols = excluded.patrols"
            ),
            {"m": month, "a": area_id, "c": ba_dinh.id, "p": patrols},
        )
    demo.commit()
    expected = dict(
        demo.execute(
            select(PatrolActivity.area_id, func.sum(PatrolActivity.patrols))
            .where(PatrolActivity.month.between(date(2025, 1, 1), date(2025, 12, 1)))
            .group_by(PatrolActivity.area_id)
        ).all()
    )
    west, south, east, north = to_shape(ba_dinh.geom).bounds
    (x0, y0), (x1, y1) = tile_of(west, north, 13), tile_of(east, south, 13)
    found = {}
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            url = f"/tiles/patrols/13/{x}/{y}.pbf?from=2025-01&to=2025-12"
            for f in features(admin.get(url), "patrols"):
                found[f["properties"]["id"]] = f["properties"]
    assert [found[i]["status"] for i in villages] == ["low", "mid", "high"]
    for area_id, p in found.items():
        assert p["n"] == expected.get(area_id, 0)
        assert p["status"] == level_of(p["n"], 12)


def test_an_officer_gets_only_the_villages_of_their_commune(app, admin, demo):
    ba_dinh = demo.scalar(select(Area).where(Area.code == "00004"))
    own = set(demo.scalars(select(Area.id).where(Area.parent_id == ba_dinh.id)))
    officer = signed_in(app, "canbo.xa")
    seen_others = False
    # the tiles over Ba Đình and around it, where other communes' villages are too
    west, south, east, north = to_shape(ba_dinh.geom).bounds
    (x0, y0), (x1, y1) = tile_of(west, north, 13), tile_of(east, south, 13)
    for x in range(x0 - 1, x1 + 2):
        for y in range(y0 - 1, y1 + 2):
            for layer in ("coverage", "patrols", "incidents"):
                mine = ids(officer.get(f"/tiles/{layer}/13/{x}/{y}.pbf"), layer)
                everyone = ids(admin.get(f"/tiles/{layer}/13/{x}/{y}.pbf"), layer)
                assert mine <= own and mine == everyone & own
                seen_others |= bool(everyone - own)
    assert seen_others  # the test could have failed: other communes' villages were there
    leader = signed_in(app, "totruong")
    assert leader.get(f"/tiles/coverage/13/{x0}/{y0}.pbf").status_code == 404  # planners'
    assert leader.get(f"/tiles/incidents/13/{x0}/{y0}.pbf").status_code in (200, 204)
    anonymous = app.test_client().get(f"/tiles/coverage/13/{x0}/{y0}.pbf")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_an_unchanged_tile_is_a_304_and_kept_in_memory(admin, demo):
    ba_dinh = demo.scalar(select(Area).where(Area.code == "00004"))
    centre = to_shape(ba_dinh.geom).centroid
    url = "/tiles/coverage/14/{}/{}.pbf".format(*tile_of(centre.x, centre.y, 14))
    first = admin.get(url)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "private, no-cache"
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    again = admin.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    misses = TILES.misses
    assert admin.get(url).data == first.data and TILES.misses == misses  # from memory
    compressed = admin.get(url, headers={"Accept-Encoding": "gzip"})
    assert compressed.headers.get("Content-Encoding") == "gzip"
    assert compressed.headers["ETag"] == etag  # weak: compression leaves it as it is


def test_a_boundary_change_through_the_portal_changes_the_tile(app, admin, demo):
    """Edited and committed (the deferred triggers fire): the generation moves, so the browser's
    copy and the worker's kept tile are both replaced."""
    ba_dinh = demo.scalar(select(Area).where(Area.code == "00004"))
    village = demo.scalar(
        select(Area)
        .where(Area.parent_id == ba_dinh.id, Area.valid_to.is_(None))
        .order_by(Area.code)
        .limit(1)
    )
    old = to_shape(village.geom)
    x, y = tile_of(old.centroid.x, old.centroid.y, 15)
    url = f"/tiles/coverage/15/{x}/{y}.pbf"
    before = admin.get(url)
    shape_before = next(
        f for f in features(before, "coverage") if f["properties"]["id"] == village.id
    )
    with app.test_request_context():
        g.account = demo.scalar(select(Account).where(Account.username == "quantri"))
        smaller = old.buffer(-0.0004)  # about 40 m in on every side
        editing.edit_boundary(
            village.id, shapely.geometry.mapping(smaller), "12/QĐ-UBND", "2026-11-01"
        )
    settle(demo)
    after = admin.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    shape_after = next(
        f for f in features(after, "coverage") if f["properties"]["id"] == village.id
    )
    assert shape_after["geometry"] != shape_before["geometry"]
    drawn = shapely.geometry.shape(shape_after["geometry"]).area
    assert drawn < shapely.geometry.shape(shape_before["geometry"]).area  # it shrank


def test_patrols_logged_move_only_the_patrol_tiles(admin, demo):
    ba_dinh = demo.scalar(select(Area).where(Area.code == "00004"))
    village = demo.scalar(
        select(Area)
        .where(Area.parent_id == ba_dinh.id, Area.valid_to.is_(None))
        .order_by(Area.code)
        .limit(1)
    )
    village_id, commune_id = village.id, ba_dinh.id  # the requests end the session's objects
    centre = to_shape(village.geom).representative_point()
    x, y = tile_of(centre.x, centre.y, 15)
    month = date.today().replace(day=1)
    settle(demo)  # the demo's own rows moved the generations once, before this test's change
    patrols = f"/tiles/patrols/15/{x}/{y}.pbf?from={month:%Y-%m}"
    cover = f"/tiles/coverage/15/{x}/{y}.pbf"
    before, cover_before = admin.get(patrols), admin.get(cover)
    count = {f["properties"]["id"]: f["properties"]["n"] for f in features(before, "patrols")}
    demo.execute(
        text(
            "INSERT INTO patrol_activity (month, area_id, commune_id, patrols, violations)"
            " VALUES (:m, :a, :c, 40, 0) ON CONFLICT (month, area_id)"
            " DO UPDATE SET patrols = patrol_activity.patrols + 40"
        ),
        {"m": month, "a": village_id, "c": commune_id},
    )
    settle(demo)
    after = admin.get(patrols)
    now = {f["properties"]["id"]: f["properties"]["n"] for f in features(after, "patrols")}
    assert now[village_id] == count[village_id] + 40
    assert admin.get(cover).headers["ETag"] == cover_before.headers["ETag"]  # not its data


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/tiles/coverage/21/0/0.pbf", 404),  # beyond the largest zoom
        ("/tiles/coverage/3/8/0.pbf", 404),  # x outside the world at z=3
        ("/tiles/coverage/3/0/8.pbf", 404),
        ("/tiles/coverage/-1/0/0.pbf", 404),
        ("/tiles/coverage/a/b/c.pbf", 404),
        ("/tiles/roads/12/0/0.pbf", 404),  # no such layer
        ("/tiles/patrols/12/0/0.pbf?from=2026-13", 400),
        ("/tiles/incidents/12/0/0.pbf?from=hôm-qua", 400),
        ("/tiles/coverage/5/25/14.pbf", 204),  # the whole country in a tile: drawn as communes
    ],
)
def test_bad_tiles_are_refused(admin, demo, path, status):
    assert admin.get(path).status_code == status


def test_the_city_coverage_map_draws_every_village_from_our_tiles(admin, demo):
    body = admin.get("/coverage/").get_data(as_text=True)
    assert "/vendor/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js?v=" in body
    assert '"url":"/tiles/coverage/{z}/{x}/{y}.pbf"' in body
    assert '"/areas/{id}"' in body and '"/teams/new?village={id}"' in body
    # the statuses' words and colours are the legend's
    for key, style in coverage.STATUS_STYLES.items():
        assert f'"{key}":{{"color":"{style["color"]}"' in body.replace(", ", ",")


def test_the_statuses_drawn_are_the_stored_ones(admin, demo):
    commune_id = demo.scalar(
        select(CoverageVillage.commune_id).where(CoverageVillage.status == "no_team").limit(1)
    )
    commune = demo.get(Area, commune_id)
    stored = dict(
        demo.execute(
            select(CoverageVillage.area_id, CoverageVillage.status).where(
                CoverageVillage.commune_id == commune_id
            )
        ).all()
    )
    west, south, east, north = to_shape(commune.geom).bounds
    (x0, y0), (x1, y1) = tile_of(west, north, 14), tile_of(east, south, 14)
    drawn = {}
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            for f in features(admin.get(f"/tiles/coverage/14/{x}/{y}.pbf"), "coverage"):
                drawn[f["properties"]["id"]] = f["properties"]["status"]
    assert {i: drawn[i] for i in stored} == stored  # every village of the commune, its status
    assert len(set(stored.values())) > 1


def test_a_team_leaders_tile_follows_the_teams_villages_not_a_kept_copy(app, demo):
    """A team's villages change at midnight with no row written (a hand-over dated ahead ends
    by the calendar, TeamArea.active()) and so with no tile generation moving: the leader's
    tile must not keep showing a village, and its incident count, the team no longer covers."""
    from portal.models import TeamArea

    leader_account = demo.scalar(select(Account).where(Account.username == "totruong"))
    covered = demo.scalars(
        select(TeamArea).where(TeamArea.team_id == leader_account.team_id, TeamArea.active())
    ).all()
    assert len(covered) >= 1
    village = demo.get(Area, covered[0].area_id)
    centre = to_shape(village.geom).representative_point()
    url = "/tiles/incidents/15/{}/{}.pbf".format(*tile_of(centre.x, centre.y, 15))
    leader = signed_in(app, "totruong")
    first = leader.get(url)
    assert village.id in ids(first, "incidents")
    # midnight passes on a hand-over: the row ends today, and the generations are where they
    # were (the write that dated it was days ago; here it is undone to stand for that)
    kept = demo.execute(text("SELECT * FROM lookup_generation, tile_generation")).one()
    demo.execute(
        TeamArea.__table__.update()
        .where(TeamArea.id == covered[0].id)
        .values(valid_to=func.current_date())
    )
    settle(demo)
    demo.execute(
        text("UPDATE lookup_generation SET cards = :c, bounds = :b"), {"c": kept[1], "b": kept[2]}
    )
    demo.execute(
        text("UPDATE tile_generation SET coverage = :c, patrols = :p, incidents = :i"),
        {"c": kept[4], "p": kept[5], "i": kept[6]},
    )
    settle(demo)
    again = leader.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code != 304
    assert village.id not in ids(again, "incidents")


def test_the_tile_layer_writes_its_counts_in_the_pages_language(admin, demo):
    # a village's count in a tooltip ("…: 1.234 việc") as the rest of the page writes numbers
    body = admin.get("/patrols/activity").get_data(as_text=True)
    assert "new Intl.NumberFormat(" in body and "numbers.format(value)" in body
