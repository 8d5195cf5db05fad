"""The street layer: importing OSM road lines, serving them by map view, finding them by name."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from geo.features import FileProblem
from geo.lines import LineLimits, read_roads
from portal.models import Street
from portal.streets import services
from tests.conftest import SHARED_DATA

HANG_GAI = [[105.8490, 21.0330], [105.8500, 21.0333], [105.8510, 21.0336]]
HANG_GAI_EAST = [[105.8510, 21.0336], [105.8520, 21.0339]]
HANG_BONG = [[105.8450, 21.0300], [105.8490, 21.0330]]
QUOC_TU_GIAM = [[105.8357, 21.0272], [105.8375, 21.0262]]  # a tertiary: drawn from zoom 15
ALLEY = [[105.8500, 21.0333], [105.8500, 21.0340]]  # a service road: drawn from zoom 16
FAR_NGO = [[105.7000, 21.1000], [105.7010, 21.1005]]  # another "Ngõ 1", far away
# a main road through the test view, from far outside it to far outside it
ACROSS = [[105.80, 21.0334], [105.90, 21.0334]]


def feature(coords, **props) -> dict:
    geometry = {"type": "LineString", "coordinates": coords}
    return {"type": "Feature", "properties": props, "geometry": geometry}


CENTRE = {
    "type": "FeatureCollection",
    "features": [
        feature(HANG_GAI, osm_id=1, name="Phố Hàng Gai", highway="tertiary"),
        feature(HANG_GAI_EAST, osm_id=2, name="Phố Hàng Gai", highway="tertiary"),
        feature(HANG_BONG, osm_id=3, name="Phố Hàng Bông", highway="tertiary"),
        feature(QUOC_TU_GIAM, osm_id=4, name="Phố Quốc Tử Giám", highway="tertiary"),
        feature(ALLEY, osm_id=5, name="Ngõ 1", highway="service"),
        feature(FAR_NGO, osm_id=6, name="Ngõ 1", highway="service"),
        feature(ACROSS, osm_id=7, name="Đường <b>Test</b>", highway="primary"),
        feature([[1, 2]], name="one position only"),
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}},
    ],
}
UNNAMED = {
    "type": "FeatureCollection",
    "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
    "features": [feature([[105.8495, 21.0310], [105.8505, 21.0345]])],  # 400 m
}


def write(tmp_path, name: str, doc: dict):
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def streets(session, tmp_path):
    services.import_file(write(tmp_path, "centre.geojson", CENTRE))
    services.import_file(write(tmp_path, "city.geojson", UNNAMED))
    session.commit()  # releases the savepoint: the rows outlive the first request
    return session


# --- reading and importing ---------------------------------------------------------------


def test_the_reader_keeps_lines_and_counts_what_it_skips():
    roads = read_roads(json.dumps(CENTRE).encode())
    assert [r.osm_id for r in roads.roads] == [1, 2, 3, 4, 5, 6, 7]
    assert roads.roads[0].name == "Phố Hàng Gai" and roads.roads[0].highway == "tertiary"
    assert roads.skipped == 2


@pytest.mark.parametrize(
    "data, kind",
    [
        (b"[1, 2]", "not_geojson"),
        (b"{", "not_json"),
        (b'{"type": "FeatureCollection", "features": []}', "no_features"),
        (
            json.dumps(
                {**UNNAMED, "crs": {"type": "name", "properties": {"name": "EPSG:3405"}}}
            ).encode(),
            "crs_unknown",
        ),
        (b"x" * 2000, "file_too_large"),
    ],
)
def test_the_reader_refuses_a_file_it_cannot_use(data, kind):
    with pytest.raises(FileProblem) as refused:
        read_roads(data, LineLimits(max_bytes=1000))
    assert refused.value.kind == kind


def test_positions_out_of_range_or_not_numbers_are_skipped():
    bad = [[[200, 21], [105, 21]], [[105, "21"], [105, 22]], [[105, 21, 3], [105, 22, 3]]]
    doc = {"type": "FeatureCollection", "features": [feature(c) for c in bad]}
    roads = read_roads(json.dumps(doc).encode())
    assert roads.roads == [] and roads.skipped == 3


def test_import_replaces_its_source_only(streets, tmp_path):
    by_source = dict(
        streets.execute(select(Street.source, func.count()).group_by(Street.source)).all()
    )
    assert by_source == {"centre": 7, "city": 1}
    again = services.import_file(write(tmp_path, "centre.geojson", CENTRE))
    assert (again.lines, again.named, again.skipped) == (7, 7, 2)
    assert streets.scalar(select(func.count()).select_from(Street)) == 8
    row = streets.scalars(select(Street).where(Street.osm_id == 4)).one()
    assert (row.name_search, row.min_zoom) == ("pho quoc tu giam", 15)
    unnamed = streets.scalars(select(Street).where(Street.source == "city")).one()
    assert (unnamed.name, unnamed.name_search, unnamed.min_zoom) == (None, None, 14)


def test_unclassed_lines_are_drawn_by_length():
    assert [services.min_zoom(None, m) for m in (50, 400, 2500)] == [15, 14, 13]
    assert [services.min_zoom(c) for c in ("primary_link", "residential", "service")] == [
        13,
        15,
        16,
    ]
    line = read_roads(json.dumps(UNNAMED).encode()).roads[0].geometry
    assert services.length_m(line) == pytest.approx(403, rel=0.02)


def test_cli_imports_once_and_skips_missing_files(app, session, tmp_path):
    path = write(tmp_path, "centre.geojson", CENTRE)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["import-streets", str(path), str(tmp_path / "none.geojson")])
    assert first.exit_code == 0, first.output
    assert "7 đoạn đường" in first.output and "none.geojson: bỏ qua" in first.output
    second = runner.invoke(args=["import-streets", str(path)])
    assert second.exit_code == 0, second.output
    assert session.scalar(select(func.count()).select_from(Street)) == 7
    skipped = runner.invoke(args=["import-streets", "--if-empty", str(path)])
    assert "bỏ qua" in skipped.output
    broken = runner.invoke(args=["import-streets", str(write(tmp_path, "b.geojson", [1]))])
    assert broken.exit_code != 0 and "not_geojson" in broken.output


def test_the_real_files_parse_quickly():
    paths = [SHARED_DATA / name for name in services.DEFAULT_FILES]
    if not all(p.exists() for p in paths):
        pytest.skip("shared street files not found")
    started = time.perf_counter()
    centre = read_roads(paths[1].read_bytes())
    city = read_roads(paths[0].read_bytes())
    assert len(centre.roads) == 6394 and len(city.roads) == 7185
    assert centre.skipped == city.skipped == 0
    assert sum(1 for r in centre.roads if r.name) == 3350
    assert time.perf_counter() - started < 10


# --- by map view -------------------------------------------------------------------------

VIEW = "105.846,21.031,105.854,21.036"  # around Phố Hàng Gai


def layer(client, bbox=VIEW, z=16):
    return client.get("/ban-do/duong", query_string={"bbox": bbox, "z": z})


def names(response) -> set:
    return {f["properties"]["name"] for f in response.get_json()["features"]}


def test_the_view_holds_the_lines_inside_it_clipped(client, streets):
    response = layer(client)
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    body = response.get_json()
    assert body["type"] == "FeatureCollection"
    assert names(response) == {"Phố Hàng Gai", "Phố Hàng Bông", "Ngõ 1", "Đường <b>Test</b>", None}
    assert set(body["features"][0]["properties"]) == {"name", "highway"}
    (across,) = [f for f in body["features"] if f["properties"]["highway"] == "primary"]
    geometry = across["geometry"]
    lines = geometry["coordinates"]
    lines = [lines] if geometry["type"] == "LineString" else lines
    xs = [x for line in lines for x, _y in line]
    step = services.grid(16)  # the box was snapped outward to the zoom's tiles, and clipped there
    assert 105.846 - step <= min(xs) and max(xs) <= 105.854 + step
    assert max(xs) - min(xs) < 0.1


def test_classes_appear_by_zoom_and_nothing_below_13(client, streets):
    wide = "105.83,21.02,105.86,21.04"
    assert names(layer(client, wide, 16)) >= {"Ngõ 1", "Phố Quốc Tử Giám"}
    assert "Ngõ 1" not in names(layer(client, wide, 15))
    assert "Phố Quốc Tử Giám" in names(layer(client, wide, 15))
    assert names(layer(client, wide, 14)) == {"Đường <b>Test</b>", None}
    assert names(layer(client, wide, 13)) == {"Đường <b>Test</b>"}
    assert layer(client, wide, 12).get_json() == {"type": "FeatureCollection", "features": []}


def test_the_answer_is_cacheable_even_for_staff(client, streets, demo, admin):
    for c in (client, admin):
        response = layer(c)
        assert response.headers["Cache-Control"] == f"public, max-age={services.MAX_AGE}"


@pytest.mark.parametrize(
    "args, parameter",
    [
        ({"bbox": "1,2,3", "z": 16}, "bbox"),
        ({"bbox": "a,b,c,d", "z": 16}, "bbox"),
        ({"bbox": "105.9,21,105.8,21.1", "z": 16}, "bbox"),
        ({"bbox": "105,21,nan,22", "z": 16}, "bbox"),
        ({"bbox": "105.0,20.5,106.0,21.5", "z": 16}, "bbox"),  # too wide for street zoom
        ({"bbox": VIEW}, "z"),
        ({"bbox": VIEW, "z": "99"}, "z"),
    ],
)
def test_a_bad_view_is_refused_naming_its_parameter(client, streets, args, parameter):
    response = client.get("/ban-do/duong", query_string=args)
    assert response.status_code == 400
    assert parameter in response.get_data(as_text=True)


def test_the_box_snaps_to_the_zoom_grid():
    a = services.bbox_arg("105.8461,21.0311,105.8539,21.0359", 16)
    b = services.bbox_arg("105.8462,21.0312,105.8538,21.0358", 16)
    assert a == b
    step = services.grid(16)
    assert all(abs(v / step - round(v / step)) < 1e-9 for v in a)


# --- by name -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["phố hàng gai", "hang gai", "Hàng Gai", "P. Hàng Gai", "HANG GAI"]
)
def test_a_street_is_found_with_or_without_accents_and_prefix(streets, query):
    found = services.search(query)
    assert found[0].name == "Phố Hàng Gai"
    minx, miny, maxx, maxy = found[0].bbox
    # both segments merged into one street
    assert (minx, maxx) == pytest.approx((105.8490, 105.8520))
    assert minx <= found[0].lon <= maxx and miny <= found[0].lat <= maxy


def test_exact_names_rank_before_longer_ones(streets):
    assert [m.name for m in services.search("hang")][:2] == ["Phố Hàng Gai", "Phố Hàng Bông"]
    assert services.search("hàng bông")[0].name == "Phố Hàng Bông"


def test_one_name_in_two_places_is_two_streets(streets):
    found = services.search("ngõ 1")
    assert [m.name for m in found] == ["Ngõ 1", "Ngõ 1"]
    assert {round(m.lon, 2) for m in found} == {105.7, 105.85}


def test_short_or_unknown_queries_find_nothing(streets):
    assert services.search("p") == [] and services.search("phố") == []
    assert services.search("không có phố này") == []


# --- on the maps and in the look-up ------------------------------------------------------


def test_the_look_up_search_lists_streets_that_move_the_map(client, streets, demo):
    page = client.get("/tra-cuu", query_string={"q": "phố hàng gai"}).get_data(as_text=True)
    assert "Phố Hàng Gai" in page and 'data-street-bbox="105.849,21.033,105.852,21.0339"' in page
    assert "/tra-cuu/diem?lat=21.03" in page  # without JavaScript: the card of its middle
    fragment = client.get(
        "/tra-cuu",
        query_string={"q": "hang bong"},
        headers={"HX-Request": "true", "HX-Target": "lookup-results"},
    ).get_data(as_text=True)
    assert "Phố Hàng Bông" in fragment and "Phố Hàng Gai" not in fragment


def test_a_street_name_is_text_on_the_page(client, streets, demo):
    page = client.get("/tra-cuu", query_string={"q": "test"}).get_data(as_text=True)
    assert "Đường &lt;b&gt;Test&lt;/b&gt;" in page and "<b>Test</b>" not in page


def test_maps_carry_the_street_layer_and_its_credit(client, demo):
    page = client.get("/tra-cuu").get_data(as_text=True)
    assert '"streetsUrl": "/ban-do/duong"' in page
    assert "leaflet.textpath.js" in page and "js/streets.js" in page
    assert '"attributionControl": true' in page


def test_a_tile_server_keeps_its_tiles_and_no_street_layer(app):
    from portal import mapping

    app.config["MAP_TILE_URL"] = "https://tiles.example.vn/{z}/{x}/{y}.png"
    try:
        with app.test_request_context():
            parts = mapping.render(mapping.new_map((105.8, 21.0, 105.9, 21.1)))
    finally:
        app.config["MAP_TILE_URL"] = None
    assert "tiles.example.vn" in parts.script
    assert "streetsUrl" not in parts.script and not any("streets.js" in u for u in parts.js)
