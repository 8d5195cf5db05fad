"""The limited reader: what a hostile file can no longer make the server do.

Each file here is one the portal was attacked with, or its near relative: a GDAL virtual layer
disguised as KML or GeoPackage that lists a local file or fetches a URL, a GeoPackage whose layer
is SQL, and files that would take a web worker's CPU or memory. No Flask, no database.
"""

from __future__ import annotations

import http.server
import io
import sqlite3
import threading
import zipfile

import numpy as np
import pyogrio.raw
import pytest
import shapely

from geo import sandbox
from geo.readers import read_file

SQUARE = shapely.Polygon([(105.80, 21.00), (105.81, 21.00), (105.81, 21.01), (105.80, 21.01)])
SECOND = shapely.Polygon([(105.81, 21.00), (105.82, 21.00), (105.82, 21.01), (105.81, 21.01)])


def kinds(result):
    return [(p.index, p.kind) for p in result.problems]


@pytest.fixture
def listener():
    """A web server on loopback that counts the requests it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = b"name,WKT\nFETCHED,POINT(105.8 21.0)\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()


def vrt(source: str, layer: str) -> bytes:
    """A GDAL virtual layer: GDAL opens it whatever the file is called, if it may."""
    return f"""<OGRVRTDataSource>
  <OGRVRTLayer name="leak">
    <SrcDataSource>{source}</SrcDataSource>
    <SrcLayer>{layer}</SrcLayer>
  </OGRVRTLayer>
</OGRVRTDataSource>""".encode()


def test_a_virtual_layer_named_kml_lists_no_local_file(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("name,code\nSECRET-LINE-1,1\nSECRET-LINE-2,2\n")
    for data, name in [
        (vrt(f"CSV:{secret}", "secret"), "villages.kml"),
        (vrt(str(secret), "secret"), "villages.kml"),
        (vrt(f"CSV:{secret}", "secret"), "villages.gpkg"),
        (zip_of({"doc.kml": vrt(f"CSV:{secret}", "secret")}), "villages.kmz"),
    ]:
        result = read_file(data, name, require_code=False)
        assert result.features == [], name
        assert "SECRET" not in repr(result), name
        assert result.file_problems, name


def test_a_virtual_layer_fetches_no_url(listener):
    port, hits = listener
    url = f"/vsicurl/http://127.0.0.1:{port}/layer.csv"
    for data, name in [
        (vrt(url, "layer"), "villages.kml"),
        (vrt(f"CSV:{url}", "layer"), "villages.kml"),
        (vrt(url, "layer"), "villages.gpkg"),
        (zip_of({"villages.kml": vrt(url, "layer")}), "villages.zip"),
        (zip_of({"villages.shp": vrt(url, "layer")}), "villages.zip"),
    ]:
        result = read_file(data, name, require_code=False)
        assert "FETCHED" not in repr(result), name
    assert hits == []


def test_the_child_has_no_network_and_only_the_drivers_it_is_given(listener):
    port, hits = listener
    report = sandbox.run(
        "selftest", b"x", {"connect": ["127.0.0.1", port], "drivers": True}, drivers=("KML",)
    )
    assert report["network_isolated"] is True
    assert report["connected"] is False
    assert report["drivers"] == ["KML"]
    assert hits == []


def test_cpu_memory_and_time_are_limited():
    with pytest.raises(sandbox.SandboxFailure) as cpu:
        sandbox.run("selftest", b"", {"spin": 30}, limits=sandbox.ProcessLimits(cpu_seconds=1))
    assert cpu.value.kind == "reader_timeout"
    with pytest.raises(sandbox.SandboxFailure) as memory:
        sandbox.run(
            "selftest",
            b"",
            {"allocate": 2 << 30},
            limits=sandbox.ProcessLimits(memory_bytes=1 << 30),
        )
    assert memory.value.kind == "reader_memory"
    with pytest.raises(sandbox.SandboxFailure) as wall:
        sandbox.run("selftest", b"", {"spin": 30}, limits=sandbox.ProcessLimits(wall_seconds=1))
    assert wall.value.kind == "reader_timeout"
    # and within the limits the same task answers
    assert sandbox.run("selftest", b"abc", {"allocate": 1 << 20})["allocated"] == 1 << 20


def test_a_hostile_upload_becomes_a_file_problem_not_a_crash():
    tiny = sandbox.ProcessLimits(memory_bytes=64 << 20)  # too little even to start GDAL
    result = read_file(geojson(SQUARE), "x.geojson", process=tiny)
    assert result.features == []
    assert kinds(result)[0][0] == 0
    assert kinds(result)[0][1] in ("reader_memory", "reader_crashed")


def test_deeply_nested_geojson_is_refused_with_a_message():
    result = read_file(b"[" * 200_000 + b"]" * 200_000, "deep.geojson")
    assert kinds(result) == [(0, "not_json")]
    assert "nested" in result.problems[0].detail


def write_gpkg(path, layer, geoms, names):
    pyogrio.raw.write(
        path,
        np.array([shapely.to_wkb(g) for g in geoms], dtype=object),
        [np.array(names, dtype=object)],
        fields=["name"],
        geometry_type="Polygon",
        crs="EPSG:4326",
        driver="GPKG",
        layer=layer,
        append=path.exists(),
    )


def test_a_geopackage_layer_that_is_sql_is_not_run(tmp_path):
    path = tmp_path / "views.gpkg"
    write_gpkg(path, "real", [SQUARE], ["Thôn Thật"])
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE VIEW sneaky AS SELECT fid, geom, 'Thôn ' || sqlite_version() AS name FROM real"
        )
        conn.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id)"
            " VALUES ('sneaky', 'features', 'sneaky', 4326)"
        )
        conn.execute(
            "INSERT INTO gpkg_geometry_columns VALUES ('sneaky', 'geom', 'POLYGON', 4326, 0, 0)"
        )
    result = read_file(path.read_bytes(), "views.gpkg", require_code=False)
    assert kinds(result) == [(0, "gpkg_sql")]
    assert "sneaky" in result.problems[0].detail


def test_a_geopackage_without_a_geometry_layer_says_so(tmp_path):
    path = tmp_path / "table.gpkg"
    pyogrio.raw.write(
        path,
        None,
        [np.array(["Thôn Đông"], dtype=object)],
        fields=["name"],
        geometry_type=None,
        driver="GPKG",
        layer="names_only",
    )
    result = read_file(path.read_bytes(), "table.gpkg", require_code=False)
    assert kinds(result) == [(0, "no_geometry_layer")]
    assert "names_only" in result.problems[0].detail


def test_several_polygon_layers_name_the_one_read_and_another_can_be_chosen(tmp_path):
    path = tmp_path / "two.gpkg"
    write_gpkg(path, "thon_cu", [SQUARE], ["Thôn Cũ"])
    write_gpkg(path, "thon_moi", [SECOND], ["Thôn Mới"])
    first = read_file(path.read_bytes(), "two.gpkg", require_code=False)
    assert [f.name for f in first.features] == ["Thôn Cũ"]
    assert first.notes == [
        {"kind": "layers", "chosen": "thon_cu", "layers": ["thon_cu", "thon_moi"]}
    ]
    second = read_file(path.read_bytes(), "two.gpkg", require_code=False, layer="thon_moi")
    assert [f.name for f in second.features] == ["Thôn Mới"]
    missing = read_file(path.read_bytes(), "two.gpkg", require_code=False, layer="khac")
    assert kinds(missing) == [(0, "no_such_layer")]


def test_progress_comes_back_from_the_child():
    seen = []
    read_file(geojson(SQUARE, SECOND), "x.geojson", progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 2), (2, 2)]


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def geojson(*shapes) -> bytes:
    import json

    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"name": f"Thôn {i}", "code": str(i)},
                    "geometry": shapely.geometry.mapping(s),
                }
                for i, s in enumerate(shapes, start=1)
            ],
        }
    ).encode()


def test_gdal_opens_a_file_from_outside_only_in_the_child(tmp_path):
    from geo import readers

    path = tmp_path / "x.kml"
    path.write_bytes(b"<kml/>")
    with pytest.raises(RuntimeError, match=r"only in geo\.sandbox"):
        readers._read_with_gdal(path, None, [])
    with pytest.raises(RuntimeError, match=r"only in geo\.sandbox"):
        readers.read_in_child(b"{}", {}, lambda _d, _t: None)
    with pytest.raises(RuntimeError, match=r"only in geo\.sandbox"):
        sandbox.keep_only_drivers(("KML",))
