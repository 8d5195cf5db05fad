"""The boundary import core on the real Hanoi files and on broken inputs."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
import shapely
from geoalchemy2.shape import to_shape
from pyproj import Geod, Transformer
from sqlalchemy import func, select

from geo.checks import area_m2
from portal.boundaries.planning import (
    ImportRejected,
    apply_plan,
    describe,
    import_features,
    plan_file,
)
from portal.models import Area, AreaVersion, Level
from tests.conftest import HANOI_COMMUNES, HANOI_DISTRICTS, HANOI_PROVINCE

SQUARE = [[105.80, 21.00], [105.81, 21.00], [105.81, 21.01], [105.80, 21.01], [105.80, 21.00]]
BOW_TIE = [[105.80, 21.00], [105.81, 21.01], [105.81, 21.00], [105.80, 21.01], [105.80, 21.00]]


def fc(*features):
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def commune(code, name, ring=SQUARE, gtype="Polygon"):
    coords = [ring] if gtype == "Polygon" else ring
    return {
        "type": "Feature",
        "properties": {"code": code, "fullName": name},
        "geometry": {"type": gtype, "coordinates": coords},
    }


def count(session, level=None):
    query = select(func.count()).select_from(Area)
    if level:
        query = query.where(Area.level == level)
    return session.scalar(query)


def test_real_hanoi_communes_import(hanoi):
    session = hanoi
    assert count(session, "province") == 1
    assert count(session, "commune") == 126
    kinds = dict(
        session.execute(
            select(Area.kind, func.count()).where(Area.level == "commune").group_by(Area.kind)
        ).all()
    )
    assert kinds == {"phuong": 51, "xa": 75}
    ba_dinh = session.scalar(select(Area).where(Area.code == "00004"))
    province = session.scalar(select(Area).where(Area.level == "province"))
    assert ba_dinh.name == "Phường Ba Đình"
    assert ba_dinh.name_search == "phuong ba dinh"
    assert ba_dinh.parent_id == province.id
    # stored with counter-clockwise outer rings (RFC 7946), whatever the file had
    geom = to_shape(ba_dinh.geom)
    assert all(p.exterior.is_ccw for p in geom.geoms)
    # land area on the spheroid matches the source's areaKm2 (2.97 km²) closely
    m2 = session.scalar(
        select(func.ST_Area(func.Geography(Area.geom))).where(Area.id == ba_dinh.id)
    )
    assert m2 / 1e6 == pytest.approx(2.97, abs=0.05)


def test_communes_are_found_inside_the_province_without_a_parent_code(session):
    import_features(HANOI_PROVINCE.read_bytes(), Level.PROVINCE)
    doc = json.loads(HANOI_COMMUNES.read_bytes())
    doc["features"] = doc["features"][:5]
    report = import_features(json.dumps(doc).encode(), Level.COMMUNE)
    assert report.created == 5
    province_id = session.scalar(select(Area.id).where(Area.level == "province"))
    parents = set(session.scalars(select(Area.parent_id).where(Area.level == "commune")))
    assert parents == {province_id}


def test_reimport_is_idempotent_and_a_changed_boundary_keeps_its_history(hanoi):
    session = hanoi
    report = import_features(HANOI_COMMUNES.read_bytes(), Level.COMMUNE, parent_code="01")
    assert (report.created, report.updated, report.unchanged) == (0, 0, 126)

    doc = json.loads(HANOI_COMMUNES.read_bytes())
    target = next(f for f in doc["features"] if f["properties"]["code"] == "00004")
    old = shapely.geometry.shape(target["geometry"])
    target["geometry"] = shapely.geometry.mapping(old.buffer(0.0005).simplify(0.0001))
    before_id = session.scalar(select(Area.id).where(Area.code == "00004"))
    report = import_features(
        json.dumps(doc).encode(),
        Level.COMMUNE,
        parent_code="01",
        valid_from=date(2026, 1, 1),
        decision_number="99/NQ-TEST",
    )
    assert (report.updated, report.unchanged) == (1, 125)
    area = session.get(Area, before_id)
    assert area.decision_number == "99/NQ-TEST"
    assert area.valid_from == date(2026, 1, 1)
    version = session.scalar(select(AreaVersion).where(AreaVersion.area_id == before_id))
    assert version.valid_to == date(2025, 12, 31)
    assert to_shape(version.geom).equals(shapely.orient_polygons(shapely.MultiPolygon(old.geoms)))


def test_pre_2025_districts_import_as_history(session):
    import_features(HANOI_PROVINCE.read_bytes(), Level.PROVINCE)
    report = import_features(
        HANOI_DISTRICTS.read_bytes(),
        Level.DISTRICT,
        parent_code="01",
        valid_from=date(2014, 1, 1),
        valid_to=date(2025, 6, 30),
    )
    assert report.created == 30
    kinds = set(session.scalars(select(Area.kind).where(Area.level == "district")))
    assert kinds == {"quan", "huyen", "thi_xa"}


BROKEN = {
    "invalid ring": (
        fc(commune("1", "Xã Một"), commune("2", "Xã Hai", BOW_TIE)),
        "Đối tượng #2 (mã 2): Hình học không hợp lệ: Self-intersection",
    ),
    "wrong type": (
        fc(
            {
                "type": "Feature",
                "properties": {"code": "1", "fullName": "Xã Một"},
                "geometry": {"type": "Point", "coordinates": [105.8, 21.0]},
            }
        ),
        "Đối tượng #1 (mã 1): Sai kiểu hình học (cần Polygon hoặc MultiPolygon): Point",
    ),
    "not wgs84": (
        fc(
            commune(
                "1",
                "Xã Một",
                [[585000, 2323000], [586000, 2323000], [586000, 2324000], [585000, 2323000]],
            )
        ),
        "Đối tượng #1 (mã 1): Tọa độ nằm ngoài kinh độ/vĩ độ WGS 84",
    ),
    "empty file": (b"", "Tệp: Tệp rỗng"),
    "no features": (fc(), "Tệp: Tệp không có đối tượng nào"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_input_writes_nothing_and_names_the_problem(session, case):
    import_features(HANOI_PROVINCE.read_bytes(), Level.PROVINCE)
    before = count(session)
    data, expected = BROKEN[case]
    with pytest.raises(ImportRejected) as rejected:
        import_features(data, Level.COMMUNE, parent_code="01")
    assert any(line.startswith(expected) for line in rejected.value.details), rejected.value.details
    assert count(session) == before


def test_skip_invalid_imports_the_valid_features_only(session):
    import_features(HANOI_PROVINCE.read_bytes(), Level.PROVINCE)
    data = fc(
        commune("90001", "Xã Một"),
        commune("90002", "Xã Hai", BOW_TIE),
        commune("90003", "Phường Ba"),
    )
    report = import_features(data, Level.COMMUNE, parent_code="01", skip_invalid=True)
    assert report.created == 2
    assert [(p.index, p.kind) for p in report.skipped] == [(2, "invalid_geometry")]
    assert count(session, "commune") == 2


def test_a_commune_outside_every_province_has_no_parent(session):
    import_features(HANOI_PROVINCE.read_bytes(), Level.PROVINCE)
    saigon = [[106.70, 10.77], [106.71, 10.77], [106.71, 10.78], [106.70, 10.78], [106.70, 10.77]]
    with pytest.raises(ImportRejected) as rejected:
        import_features(fc(commune("1", "Xã Xa", saigon)), Level.COMMUNE)
    assert rejected.value.details == [
        "Đối tượng #1 (mã 1): Không tìm thấy đơn vị cấp trên chứa đối tượng này"
    ]


def test_cli_reports_problems_per_feature_and_exits_non_zero(app, session, tmp_path):
    import_features(HANOI_PROVINCE.read_bytes(), Level.PROVINCE)
    bad = tmp_path / "bad.geojson"
    bad.write_bytes(fc(commune("1", "Xã Một"), commune("2", "Xã Hai", BOW_TIE)))
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["import-boundaries", str(bad), "--level", "commune", "--parent", "01"]
    )
    assert result.exit_code == 1
    assert "Không nhập gì: 1 lỗi trong tệp." in result.output
    assert "Đối tượng #2 (mã 2): Hình học không hợp lệ" in result.output
    assert count(session, "commune") == 0


def test_cli_imports_the_real_communes_with_progress(app, session):
    import_features(HANOI_PROVINCE.read_bytes(), Level.PROVINCE)
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["import-boundaries", str(HANOI_COMMUNES), "--level", "commune", "--parent", "01"]
    )
    assert result.exit_code == 0, result.output
    assert "126 mới, 0 cập nhật, 0 không đổi, 0 bỏ qua" in result.output
    assert "hanoi_communes2025_sapnhap.geojson write" in result.output  # the progress bar's label
    assert count(session, "commune") == 126


# --- limits that fit villages ---------------------------------------------------------------


def ring_of(vertices: int, cx: float, cy: float, r: float = 0.002) -> list[list[float]]:
    """A closed ring of that many coordinates (the closing one included) around a point."""
    angles = np.linspace(0, 2 * np.pi, vertices - 1, endpoint=False)
    ring = (np.array([cx, cy]) + r * np.column_stack([np.cos(angles), np.sin(angles)])).tolist()
    return [*ring, ring[0]]


def test_a_village_over_the_vertex_limit_is_named_with_its_count_and_the_limit(hanoi):
    ba_dinh = to_shape(hanoi.scalar(select(Area.geom).where(Area.code == "00004")))
    x, y = shapely.point_on_surface(ba_dinh).coords[0]
    data = fc(
        commune("T1", "Tổ dân phố 1", ring_of(33, x - 0.001, y, 0.0004)),
        commune("T2", "Tổ dân phố 2", ring_of(20_000, x + 0.0003, y - 0.001, 0.0004)),
        commune("T3", "Tổ dân phố 3", ring_of(20_001, x + 0.0003, y + 0.001, 0.0004)),
    )
    plan = plan_file(data, "lang.geojson", Level.VILLAGE, parent_code="00004")
    assert [(p.index, p.kind) for p in plan.problems] == [(3, "too_many_vertices")]
    assert describe(plan.problems[0]) == (
        "Đối tượng #3 (mã T3): Quá nhiều đỉnh cho một đối tượng: 20.001 đỉnh, tối đa 20.000"
    )
    assert [i.action for i in plan.items] == ["create", "create", "blocked"]


def test_a_commune_may_have_more_vertices_than_a_village(session):
    import_features(HANOI_PROVINCE.read_bytes(), Level.PROVINCE)
    data = fc(commune("90001", "Xã Nhiều Đỉnh", ring_of(20_001, 105.70, 21.00, 0.01)))
    assert plan_file(data, "xa.geojson", Level.COMMUNE, parent_code="01").problems == []
    data = fc(commune("90001", "Xã Nhiều Đỉnh", ring_of(50_001, 105.70, 21.00, 0.01)))
    (problem,) = plan_file(data, "xa.geojson", Level.COMMUNE, parent_code="01").problems
    assert describe(problem).endswith(": 50.001 đỉnh, tối đa 50.000")


def hanoi_villages(count: int, vertices: int = 33) -> bytes:
    """`count` round villages of `vertices` coordinates each, 150 m across, every one inside a
    commune of Hanoi: the centres of a 350 m grid that fall well inside one."""
    doc = json.loads(HANOI_COMMUNES.read_bytes())
    communes = [shapely.geometry.shape(f["geometry"]).buffer(-0.002) for f in doc["features"]]
    tree = shapely.STRtree(communes)
    west, south, east, north = shapely.total_bounds(communes)
    xs, ys = np.meshgrid(np.arange(west, east, 0.0033), np.arange(south, north, 0.0033))
    centres = shapely.points(xs.ravel(), ys.ravel())
    inside = np.unique(tree.query(centres, predicate="within")[0])
    assert len(inside) >= count
    inside = inside[np.linspace(0, len(inside) - 1, count).round().astype(int)]  # the whole city
    assert len(set(inside)) == count
    features = []
    for n, i in enumerate(inside):
        x, y = centres[i].x, centres[i].y
        ring = np.round(ring_of(vertices, x, y, 0.0007), 6).tolist()
        features.append(commune(f"V{n:05d}", f"Thôn {n + 1}", ring))
    return fc(*features)


@pytest.mark.slow
def test_villages_across_the_city_are_planned_and_written(hanoi):
    """Villages all over the city go through planning and writing, each in its own commune.
    The issue's 20,000 villages of 33 vertices run as jobs in bench/bench_upload_job.py, which
    asserts the same (a test suite keeps to small data)."""
    data = hanoi_villages(2_000)
    plan = plan_file(data, "lang.geojson", Level.VILLAGE)
    assert plan.problems == []
    assert len(plan.items) == 2_000
    assert len({i.parent_id for i in plan.items}) > 100  # found in their own communes
    report = apply_plan(plan)
    assert report.created == 2_000
    assert count(hanoi, "village") == 2_000


# --- exact imports: the same boundary in another projection is unchanged --------------------


def reprojected(doc: dict, epsg: str) -> bytes:
    """The communes converted to a VN-2000 CRS by pyproj's reference transformation."""
    to = Transformer.from_crs("EPSG:4326", epsg, always_xy=True)
    urn = "urn:ogc:def:crs:EPSG::" + epsg.split(":")[1]
    doc["crs"] = {"type": "name", "properties": {"name": urn}}
    for feature in doc["features"]:
        geom = shapely.geometry.shape(feature["geometry"])
        geom = shapely.transform(geom, lambda xy: np.column_stack(to.transform(*xy.T)))
        feature["geometry"] = shapely.geometry.mapping(geom)
    return json.dumps(doc).encode()


@pytest.mark.parametrize("epsg", ["EPSG:5897", "EPSG:3405"])
def test_the_same_wards_in_vn2000_are_unchanged(hanoi, epsg):
    """Re-uploading the city's communes in VN-2000 (TM-3 105°00' or UTM 48N) changes nothing:
    the round trip moves no point by more than a millimetre, under the 1 cm line."""
    data = reprojected(json.loads(HANOI_COMMUNES.read_bytes()), epsg)
    plan = plan_file(data, "xa_vn2000.geojson", Level.COMMUNE, parent_code="01")
    assert plan.source_crs.startswith("VN-2000")
    assert {i.action for i in plan.items} == {"unchanged"}
    report = apply_plan(plan)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 126)
    assert hanoi.scalar(select(func.count()).select_from(AreaVersion)) == 0


def moved_ward(code: str, metres: float, name: str | None = None) -> bytes:
    """The city's communes with one moved east by `metres` (on the spheroid), or renamed."""
    doc = json.loads(HANOI_COMMUNES.read_bytes())
    target = next(f for f in doc["features"] if f["properties"]["code"] == code)
    geod = Geod(ellps="WGS84")

    def east(xy):
        n = len(xy)
        x, y, _ = geod.fwd(xy[:, 0], xy[:, 1], np.full(n, 90.0), np.full(n, metres))
        return np.column_stack([x, y])

    geom = shapely.transform(shapely.geometry.shape(target["geometry"]), east)
    target["geometry"] = shapely.geometry.mapping(geom)
    if name:
        target["properties"]["fullName"] = name
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("metres", "name", "expected"),
    [
        (0.005, None, (0, 126)),  # 5 mm: the same boundary
        (0.02, None, (1, 125)),  # 2 cm: a new version
        (0.0, "Phường Ba Đình Mới", (1, 125)),  # a new name is a new version
    ],
)
def test_differences_under_1_cm_are_unchanged(hanoi, metres, name, expected):
    data = moved_ward("00004", metres, name)
    plan = plan_file(data, "xa.geojson", Level.COMMUNE, parent_code="01")
    actions = [i.action for i in plan.items]
    assert (actions.count("update"), actions.count("unchanged")) == expected
    report = apply_plan(plan)
    assert (report.updated, report.unchanged) == expected


# --- a commune's upload lists the gaps its own features leave ---------------------------------


def test_an_upload_lists_the_gaps_it_leaves_not_those_already_in_the_city(hanoi):
    doc = json.loads(HANOI_COMMUNES.read_bytes())
    province = to_shape(hanoi.scalar(select(Area.geom).where(Area.level == "province")))
    communes = [
        to_shape(g) for g in hanoi.scalars(select(Area.geom).where(Area.level == "commune"))
    ]
    existing = province.difference(shapely.union_all(communes))
    assert area_m2(existing) > 1_000_000  # the city already has gaps between its communes

    doc["features"] = [f for f in doc["features"] if f["properties"]["code"] in ("00004", "00008")]
    same = plan_file(json.dumps(doc).encode(), "xa.geojson", Level.COMMUNE, parent_code="01")
    assert [w.kind for w in same.warnings] == []

    ba_dinh = doc["features"][0]
    smaller = shapely.geometry.shape(ba_dinh["geometry"]).buffer(-0.0005)  # about 50 m in
    ba_dinh["geometry"] = shapely.geometry.mapping(smaller)
    plan = plan_file(json.dumps(doc).encode(), "xa.geojson", Level.COMMUNE, parent_code="01")
    gaps = [w for w in plan.warnings if w.kind == "gap"]
    assert len(gaps) == 1
    old = to_shape(hanoi.scalar(select(Area.geom).where(Area.code == "00004")))
    assert gaps[0].shape.difference(old).area < 1e-9  # land Ba Đình covered, and no other
    assert gaps[0].area_m2 == pytest.approx(area_m2(old) - area_m2(smaller), rel=0.01)
