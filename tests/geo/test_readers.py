"""geo.readers: every upload format, VN-2000 coordinates, and a corpus of hostile files."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import shapely
from pyproj import Transformer

from geo.crs import crs_for
from geo.readers import Limits, read_file

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
HANOI = SHARED / "hanoi_communes2025_sapnhap.geojson"
SQUARE = shapely.Polygon([(105.80, 21.00), (105.81, 21.00), (105.81, 21.01), (105.80, 21.01)])
SECOND = shapely.Polygon([(105.81, 21.00), (105.82, 21.00), (105.82, 21.01), (105.81, 21.01)])


def kinds(result):
    return [(p.index, p.kind) for p in result.problems]


def write(tmp_path, driver, suffix, geoms, crs="EPSG:4326", names=("Thôn Đông", "Thôn Đoài")):
    path = tmp_path / f"villages{suffix}"
    pyogrio.raw.write(
        path,
        np.array([shapely.to_wkb(g) for g in geoms], dtype=object),
        [
            np.array(list(names[: len(geoms)]), dtype=object),
            np.array(["T1", "T2"][: len(geoms)], dtype=object),
        ],
        fields=["name", "code"],
        geometry_type="Polygon",
        crs=crs,
        driver=driver,
    )
    return path


def zipped(folder: Path, files: dict[str, bytes] | None = None, members=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in members or []:
            archive.write(path, path.name)
        for name, data in (files or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def to_vn2000(geom, key):
    transformer = Transformer.from_crs("EPSG:4326", crs_for(key), always_xy=True)
    return shapely.transform(
        geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def test_zipped_shapefile(tmp_path):
    shp = write(tmp_path, "ESRI Shapefile", ".shp", [SQUARE, SECOND])
    members = [p for p in tmp_path.iterdir() if p.stem == shp.stem]
    result = read_file(zipped(tmp_path, members=members), "lang.zip")
    assert result.problems == []
    assert [f.name for f in result.valid] == ["Thôn Đông", "Thôn Đoài"]
    assert result.valid[0].geometry.equals(shapely.MultiPolygon([SQUARE]))


def test_geopackage(tmp_path):
    path = write(tmp_path, "GPKG", ".gpkg", [SQUARE, SECOND])
    result = read_file(path.read_bytes(), "villages.gpkg")
    assert result.problems == []
    assert [f.code for f in result.valid] == ["T1", "T2"]


def test_kml(tmp_path):
    path = write(tmp_path, "KML", ".kml", [SQUARE])
    result = read_file(path.read_bytes(), "villages.kml", require_code=False)
    assert result.problems == []
    assert result.valid[0].name == "Thôn Đông"
    assert result.valid[0].geometry.equals(shapely.MultiPolygon([SQUARE]))


@pytest.mark.parametrize("key", ["EPSG:3405", "TM3:105.0"])
def test_vn2000_shapefile_with_its_prj_lands_within_a_metre(tmp_path, key):
    if not HANOI.exists():
        pytest.skip("the shared Hanoi data is not beside the repo")
    feature = json.loads(HANOI.read_text())["features"][0]  # Phường Ba Đình
    original = shapely.geometry.shape(feature["geometry"]).geoms[0]
    shp = write(
        tmp_path, "ESRI Shapefile", ".shp", [to_vn2000(original, key)], crs=crs_for(key).to_wkt()
    )
    members = [p for p in tmp_path.iterdir() if p.stem == shp.stem]
    result = read_file(zipped(tmp_path, members=members), "ba_dinh_vn2000.zip")
    assert result.problems == []
    back = result.valid[0].geometry
    # within a metre everywhere (1e-5 degrees is about 1.1 m here)
    assert back.hausdorff_distance(original) < 1e-5
    assert result.source_crs.startswith("VN-2000")


def test_vn2000_without_a_declared_crs_needs_the_planners_choice():
    metres = to_vn2000(SQUARE, "TM3:105.0")
    data = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": "1", "name": "Thôn Một"},
                    "geometry": shapely.geometry.mapping(metres),
                }
            ],
        }
    )
    assert kinds(read_file(data.encode(), "x.geojson")) == [(1, "not_wgs84")]
    chosen = read_file(data.encode(), "x.geojson", crs_key="TM3:105.0")
    assert chosen.problems == []
    assert chosen.valid[0].geometry.hausdorff_distance(SQUARE) < 1e-6


# --- hostile and broken files: each gives its message and nothing is usable -------------


def geojson(geometry):
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": "1", "name": "Thôn Một"},
                    "geometry": geometry,
                }
            ],
        }
    ).encode()


RING = [[105.80, 21.00], [105.81, 21.00], [105.81, 21.01], [105.80, 21.01], [105.80, 21.00]]
BROKEN = {
    "bow-tie ring": (
        geojson(
            {
                "type": "Polygon",
                "coordinates": [
                    [
                        [105.80, 21.00],
                        [105.81, 21.01],
                        [105.81, 21.00],
                        [105.80, 21.01],
                        [105.80, 21.00],
                    ]
                ],
            }
        ),
        "invalid_geometry",
    ),
    "unclosed ring": (geojson({"type": "Polygon", "coordinates": [RING[:-1]]}), "unclosed_ring"),
    "empty geometry": (geojson({"type": "Polygon", "coordinates": []}), "empty_geometry"),
    "3D coordinates": (
        geojson({"type": "Polygon", "coordinates": [[[x, y, 9.0] for x, y in RING]]}),
        "three_d",
    ),
    "swapped axes": (
        geojson({"type": "Polygon", "coordinates": [[[y, x] for x, y in RING]]}),
        "swapped_axes",
    ),
    "wrong CRS": (
        geojson({"type": "Polygon", "coordinates": [[[x * 5000, y * 100000] for x, y in RING]]}),
        "not_wgs84",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_geometry(case):
    data, kind = BROKEN[case]
    result = read_file(data, "broken.geojson")
    assert kinds(result) == [(1, kind)]
    assert result.valid == []


def test_zip_bomb_is_refused_before_extraction():
    bomb = zipped(Path("."), {"villages.geojson": b" " * (50 * 1024 * 1024)})
    assert len(bomb) < 100_000  # tiny on the wire
    assert kinds(read_file(bomb, "bomb.zip")) == [(0, "zip_bomb")]


def test_zip_with_a_path_outside_the_folder_is_refused(tmp_path):
    evil = zipped(
        tmp_path,
        {"../../etc/cron.d/x.geojson": geojson({"type": "Polygon", "coordinates": [RING]})},
    )
    assert kinds(read_file(evil, "evil.zip")) == [(0, "zip_unsafe_path")]
    assert not (tmp_path.parent.parent / "etc").exists()


def test_zip_with_too_many_entries_is_refused():
    many = zipped(Path("."), {f"f{i}.txt": b"x" for i in range(60)})
    assert kinds(read_file(many, "many.zip")) == [(0, "too_many_zip_entries")]


def test_kml_entity_expansion_is_refused():
    laughs = b"""<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&c;</name></Placemark></kml>"""
    assert kinds(read_file(laughs, "laughs.kml")) == [(0, "xml_entities")]


def test_kml_external_entity_is_refused():
    xxe = b"""<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&x;</name></Placemark></kml>"""
    assert kinds(read_file(xxe, "xxe.kml")) == [(0, "xml_entities")]


def test_file_size_and_feature_count_limits():
    data = geojson({"type": "Polygon", "coordinates": [RING]})
    assert kinds(read_file(data, "x.geojson", limits=Limits(max_bytes=100))) == [
        (0, "file_too_large")
    ]
    assert kinds(read_file(data, "x.geojson", limits=Limits(max_features=0))) == [
        (0, "too_many_features")
    ]


def test_unknown_format_and_empty_file():
    assert kinds(read_file(b"abc", "notes.docx")) == [(0, "unknown_format")]
    assert kinds(read_file(b"", "empty.geojson")) == [(0, "empty_file")]


def villages(n: int, vertices: int = 33) -> bytes:
    """n small villages of `vertices` coordinates each (a 32-gon, 200 m across), 150 a row."""
    angles = np.linspace(0, 2 * np.pi, vertices - 1, endpoint=False)
    circle = 0.001 * np.column_stack([np.cos(angles), np.sin(angles)])
    circle = np.vstack([circle, circle[:1]])
    features = []
    for i in range(n):
        centre = np.array([105.70 + (i % 150) * 0.003, 20.90 + (i // 150) * 0.003])
        features.append(
            {
                "type": "Feature",
                "properties": {"code": f"V{i:05d}", "name": f"Thôn {i + 1}"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [(centre + circle).round(6).tolist()],
                },
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def test_20000_villages_of_33_vertices_are_within_the_file_limits():
    """The largest upload a city makes at once: every feature is read and usable."""
    data = villages(20_000)
    assert len(data) < Limits().max_bytes
    result = read_file(data, "lang.geojson", require_code=False)
    assert result.problems == []
    assert len(result.valid) == 20_000
    assert {int(shapely.get_num_coordinates(f.geometry)) for f in result.valid} == {33}


def test_the_vertex_limit_reaches_the_reader():
    data = villages(2, vertices=40)
    assert kinds(read_file(data, "lang.geojson", limits=Limits(max_vertices=40))) == []
    result = read_file(data, "lang.geojson", limits=Limits(max_vertices=39))
    assert kinds(result) == [(1, "too_many_vertices"), (2, "too_many_vertices")]
    assert result.problems[0].detail == "40 > 39"
