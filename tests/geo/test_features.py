"""geo.features: reading GeoJSON and naming every problem, without Flask or a database."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geo.features import MAX_VERTICES, read_geojson

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"

SQUARE = [[105.80, 21.00], [105.81, 21.00], [105.81, 21.01], [105.80, 21.01], [105.80, 21.00]]


def feature(geometry, code="00001", name="Phường Thử"):
    return {"type": "Feature", "properties": {"code": code, "fullName": name}, "geometry": geometry}


def collection(*features, **extra):
    return json.dumps({"type": "FeatureCollection", "features": list(features), **extra})


def polygon(ring=SQUARE):
    return {"type": "Polygon", "coordinates": [ring]}


def kinds(result):
    return [(p.index, p.kind) for p in result.problems]


@pytest.mark.skipif(not SHARED.exists(), reason="the shared Hanoi data is not beside the repo")
def test_real_hanoi_communes_read_without_problems():
    result = read_geojson((SHARED / "hanoi_communes2025_sapnhap.geojson").read_bytes())
    assert result.problems == []
    assert len(result.valid) == 126
    ba_dinh = next(f for f in result.valid if f.code == "00004")
    assert ba_dinh.name == "Phường Ba Đình"
    assert ba_dinh.name_en == "Ba Dinh Ward"
    assert ba_dinh.geometry.geom_type == "MultiPolygon"
    # the source rings are clockwise; we read them as they are and orient on writing
    assert 2.5e-4 < ba_dinh.geometry.area < 3.0e-4


def test_polygon_becomes_multipolygon():
    result = read_geojson(collection(feature(polygon())))
    assert result.problems == []
    assert result.valid[0].geometry.geom_type == "MultiPolygon"


def test_bow_tie_ring_is_reported_with_reason_and_place():
    bow_tie = [[105.80, 21.00], [105.81, 21.01], [105.81, 21.00], [105.80, 21.01], [105.80, 21.00]]
    result = read_geojson(collection(feature(polygon()), feature(polygon(bow_tie), code="2")))
    assert kinds(result) == [(2, "invalid_geometry")]
    problem = result.problems[0]
    assert problem.code == "2"
    assert "Self-intersection" in problem.detail
    assert "105.805" in problem.detail  # where the ring crosses itself
    assert [f.index for f in result.valid] == [1]


def test_wrong_geometry_type():
    line = {"type": "LineString", "coordinates": SQUARE}
    result = read_geojson(collection(feature(line)))
    assert kinds(result) == [(1, "wrong_type")]
    assert result.problems[0].detail == "LineString"


def test_projected_metres_are_not_wgs84():
    metres = [[585000, 2323000], [586000, 2323000], [586000, 2324000], [585000, 2323000]]
    result = read_geojson(collection(feature(polygon(metres))))
    assert kinds(result) == [(1, "not_wgs84")]
    assert "585000" in result.problems[0].detail


def test_a_declared_vn2000_crs_is_converted_to_wgs84():
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:3405", always_xy=True)
    ring = [list(to_utm.transform(x, y)) for x, y in SQUARE]
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3405"}}
    result = read_geojson(collection(feature(polygon(ring)), crs=crs))
    assert result.problems == []
    assert "VN-2000" in result.source_crs
    back = result.valid[0].geometry
    assert back.hausdorff_distance(shapely.Polygon(SQUARE)) < 1e-6  # about 10 cm


def test_lon_lat_declared_as_vn2000_lands_outside_vietnam():
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3405"}}
    result = read_geojson(collection(feature(polygon()), crs=crs))
    assert kinds(result) == [(1, "outside_vietnam")]


def test_an_unknown_declared_crs_rejects_the_file():
    crs = {"type": "name", "properties": {"name": "urn:example:not-a-crs"}}
    result = read_geojson(collection(feature(polygon()), crs=crs))
    assert kinds(result) == [(0, "crs_unknown")]
    assert result.valid == []


def test_an_invalid_ring_offers_a_repair():
    bow_tie = [[105.80, 21.00], [105.81, 21.01], [105.81, 21.00], [105.80, 21.01], [105.80, 21.00]]
    result = read_geojson(collection(feature(polygon(bow_tie))))
    problem = result.problems[0]
    assert problem.kind == "invalid_geometry"
    assert problem.where == pytest.approx((105.805, 21.005))
    assert problem.repairable
    repaired = result.features[0].repaired
    assert repaired.is_valid and len(repaired.geoms) == 2  # the two triangles of the bow tie


@pytest.mark.parametrize("data", [b"", b"   \n", b""])
def test_empty_file(data):
    result = read_geojson(data)
    assert kinds(result) == [(0, "empty_file")]


def test_collection_without_features():
    assert kinds(read_geojson(collection())) == [(0, "no_features")]


def test_not_json_names_line_and_column():
    result = read_geojson(b'{"type": "FeatureCollection",\n "features": [}')
    assert kinds(result) == [(0, "not_json")]
    assert "line 2" in result.problems[0].detail


def test_unclosed_ring():
    ring = [*SQUARE[:-1], [105.8, 21.0001]]
    assert kinds(read_geojson(collection(feature(polygon(ring))))) == [(1, "unclosed_ring")]


def test_three_d_coordinates():
    ring = [[x, y, 12.0] for x, y in SQUARE]
    assert kinds(read_geojson(collection(feature(polygon(ring))))) == [(1, "three_d")]


def test_swapped_longitude_latitude():
    ring = [[y, x] for x, y in SQUARE]
    result = read_geojson(collection(feature(polygon(ring))))
    assert kinds(result) == [(1, "swapped_axes")]
    assert result.problems[0].detail == "(21.000000, 105.800000)"


def test_missing_name_and_code_and_duplicates():
    features = [
        feature(polygon(), code="A"),
        feature(polygon(), code="A"),
        {"type": "Feature", "properties": {"code": "B"}, "geometry": polygon()},
        {"type": "Feature", "properties": {"fullName": "Xã Không Mã"}, "geometry": polygon()},
    ]
    result = read_geojson(collection(*features))
    assert kinds(result) == [(2, "duplicate_code"), (3, "missing_name"), (4, "missing_code")]
    assert result.problems[0].detail == "feature 1"


def test_names_are_normalised_to_nfc():
    decomposed = "Phu\u031bo\u031b\u0300ng Ba \u0110i\u0300nh"  # NFD input
    result = read_geojson(collection(feature(polygon(), name=decomposed)))
    assert result.valid[0].name == "Phường Ba Đình"


def test_progress_is_reported_per_feature():
    seen = []
    read_geojson(
        collection(feature(polygon(), code="1"), feature(polygon(), code="2")),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 2), (2, 2)]


def test_valid_geometry_is_usable_by_shapely():
    result = read_geojson(collection(feature(polygon())))
    assert shapely.is_valid(result.valid[0].geometry)


def test_well_formed_geometry_reads_as_shapely_builds_it():
    """Rings that pass every check at once are built from arrays: the same shapes."""
    outer = [[105.80, 21.00], [105.82, 21.00], [105.82, 21.02], [105.80, 21.02], [105.80, 21.00]]
    hole = [[105.805, 21.005], [105.805, 21.01], [105.81, 21.01], [105.805, 21.005]]
    other = [[105.83, 21.00], [105.84, 21.00], [105.84, 21.01], [105.83, 21.01], [105.83, 21.00]]
    multi = {"type": "MultiPolygon", "coordinates": [[outer, hole], [other]]}
    result = read_geojson(collection(feature(multi)))
    assert result.valid[0].geometry.equals_exact(shapely.geometry.shape(multi), 0)


@pytest.mark.parametrize(
    "position", [["105.805", 21.0], [105.805, None], [105.805, float("nan")], [True]]
)
def test_a_position_that_is_not_two_numbers_is_malformed(position):
    ring = [SQUARE[0], SQUARE[1], position, SQUARE[3], SQUARE[4]]
    result = read_geojson(collection(feature(polygon(ring))))
    assert kinds(result) == [(1, "malformed_geometry")]
    assert result.problems[0].detail == f"position {position!r}"


def circle(vertices: int, cx=105.805, cy=21.005, r=0.004) -> list[list[float]]:
    """A ring of that many coordinates, the closing one included."""
    angles = np.linspace(0, 2 * np.pi, vertices - 1, endpoint=False)
    ring = [[cx + r * np.cos(a), cy + r * np.sin(a)] for a in angles]
    return [*ring, ring[0]]


def test_a_feature_over_the_vertex_limit_says_how_many_and_the_limit():
    limit = MAX_VERTICES["village"]
    assert limit == 20_000
    result = read_geojson(
        collection(
            feature(polygon(circle(limit)), code="1"),
            feature(polygon(circle(limit + 1)), code="2"),
        )
    )
    assert kinds(result) == [(2, "too_many_vertices")]
    assert result.problems[0].detail == "20001 > 20000"
    assert [f.index for f in result.valid] == [1]


def test_the_vertex_limit_is_the_levels():
    """A commune may have more vertices than a village: the caller says which limit holds."""
    assert MAX_VERTICES["village"] < MAX_VERTICES["commune"] <= MAX_VERTICES["province"]
    data = collection(feature(polygon(circle(MAX_VERTICES["village"] + 1))))
    assert kinds(read_geojson(data, max_vertices=MAX_VERTICES["commune"])) == []
    over = collection(feature(polygon(circle(MAX_VERTICES["commune"] + 1))))
    result = read_geojson(over, max_vertices=MAX_VERTICES["commune"])
    assert kinds(result) == [(1, "too_many_vertices")]


@pytest.mark.skipif(not SHARED.exists(), reason="the shared Hanoi data is not beside the repo")
def test_every_real_hanoi_boundary_is_far_within_its_levels_limit():
    """The figures' premise, measured: the largest real commune (Xã Nội Bài, 4,521 vertices)
    is under a quarter of the village limit, the city's outlines far under the province's."""
    for name, level in (
        ("hanoi_communes2025_sapnhap.geojson", "commune"),
        ("hanoi_districts2019_gischinhphu.geojson", "district"),
        ("hanoi_province2019_gischinhphu.geojson", "province"),
        ("hanoi_province2025_sapnhap.geojson", "province"),
    ):
        doc = json.loads((SHARED / name).read_bytes())
        most = max(
            shapely.get_num_coordinates(shapely.geometry.shape(f["geometry"]))
            for f in doc["features"]
        )
        assert most * 4 < MAX_VERTICES["village"] <= MAX_VERTICES[level], (name, most)
