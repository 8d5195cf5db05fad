"""Boundary work through the web: upload with a dry run, commit, edit, revert, export."""

from __future__ import annotations

import io
import json
import re
import subprocess
from datetime import date

import pytest
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select

from portal.models import Area, AuditEntry, BoundaryChange, ImportBatch
from tests.conftest import HANOI_COMMUNES, csrf_token, signed_in, through_job

TODAY = date.today().isoformat()
HX = {"HX-Request": "true"}


def upload(client, data: bytes, filename: str, **form):
    token = csrf_token(client, "/boundaries/")
    fields = {"level": "village", "crs": "auto", "csrf_token": token, **form}
    fields["file"] = (io.BytesIO(data), filename)
    response = client.post("/boundaries/uploads", data=fields, content_type="multipart/form-data")
    return through_job(client, response)


def post(client, url, data):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, "/boundaries/")})


def count(session, level):
    return session.scalar(
        select(func.count()).select_from(Area).where(Area.level == level, Area.valid_to.is_(None))
    )


def test_admin_uploads_the_city_reviews_the_dry_run_and_commits(admin, demo):
    assert count(demo, "commune") == 3
    response = upload(admin, HANOI_COMMUNES.read_bytes(), "hanoi.geojson", level="commune")
    assert response.status_code == 303
    batch_url = response.headers["Location"]
    assert count(demo, "commune") == 3  # the dry run writes nothing
    page = admin.get(batch_url).get_data(as_text=True)
    assert "Kiểm tra tệp hanoi.geojson" in page
    assert "mới 123" in page and "không đổi 3" in page
    # the real files disagree at the edges: the planner is shown where, and by how much
    assert "Nằm ngoài đơn vị cấp trên" in page
    assert 'data-testid="batch-map"' in page
    problems = admin.get(batch_url + "?problems_page=2", headers={**HX, "HX-Target": "problems"})
    assert "<html" not in problems.get_data(as_text=True)
    assert "Trang 2/" in problems.get_data(as_text=True)

    refused = post(admin, batch_url + "/commit", {"mode": "all", "decision_number": ""})
    assert refused.status_code == 422
    assert "Nhập số quyết định." in refused.get_data(as_text=True)
    assert count(demo, "commune") == 3

    done = post(
        admin,
        batch_url + "/commit",
        {
            "mode": "all",
            "repairs": "1",
            "decision_number": "1656/NQ-UBTVQH15",
            "decision_date": TODAY,
        },
    )
    assert done.status_code == 303
    assert count(demo, "commune") == 126
    batch = demo.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()))
    assert batch.status == "committed" and batch.result["created"] == 123
    change = demo.get(BoundaryChange, batch.result["change_id"])
    assert change.kind == "import" and len(change.after_ids) == 123
    again = post(
        admin,
        batch_url + "/commit",
        {"mode": "all", "decision_number": "x", "decision_date": TODAY},
    )
    assert again.status_code == 422  # a batch is committed once


def villages_file(session, commune_code="00004", change=None, extra=None):
    rows = session.scalars(
        select(Area).where(
            Area.parent_id == select(Area.id).where(Area.code == commune_code).scalar_subquery()
        )
    ).all()
    features = []
    for area in rows:
        geom = to_shape(area.geom)
        if change and area.code == change[0]:
            geom = change[1](geom)
        features.append(
            {
                "type": "Feature",
                "properties": {"code": area.code, "name": area.name},
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    features.extend(extra or [])
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def test_an_officer_uploads_the_villages_of_their_commune(app, demo):
    officer = signed_in(app, "canbo.xa")
    refused = upload(officer, b"{}", "x.geojson", level="commune")
    assert refused.status_code == 422
    assert "Chỉ quản trị thành phố nhập ranh giới xã, phường." in refused.get_data(as_text=True)

    shrink = ("00004-001", lambda g: g.buffer(-0.0001))
    bow_tie = {
        "type": "Feature",
        "properties": {"code": "00004-900", "name": "Tổ dân phố số 900"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [
                    [105.820, 21.030],
                    [105.821, 21.031],
                    [105.821, 21.030],
                    [105.820, 21.031],
                    [105.820, 21.030],
                ]
            ],
        },
    }
    response = upload(
        officer, villages_file(demo, change=shrink, extra=[bow_tie]), "ba_dinh.geojson"
    )
    assert response.status_code == 303
    page = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert "cập nhật 1" in page
    assert "Hình học không hợp lệ: Self-intersection" in page
    assert "có thể sửa tự động" in page
    assert "Khoảng trống" in page  # the shrunk village leaves land uncovered

    before = count(demo, "village")
    done = post(
        officer,
        response.headers["Location"] + "/commit",
        {"mode": "clean", "decision_number": "5/QĐ-UBND", "decision_date": TODAY},
    )
    assert done.status_code == 303
    assert count(demo, "village") == before  # clean only: the bow tie and the shrunk one wait
    batch = demo.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()))
    assert batch.result["created"] == 0


def test_a_hostile_upload_changes_nothing_and_says_why(admin, demo):
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "lol">]>'
        b"<kml><Placemark><name>&a;</name></Placemark></kml>"
    )
    response = upload(admin, laughs, "x.kml")
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tệp KML chứa khai báo DTD hoặc thực thể XML" in page
    refused = post(
        admin,
        response.headers["Location"] + "/commit",
        {"mode": "all", "decision_number": "1", "decision_date": TODAY},
    )
    assert refused.status_code == 422


def test_team_leaders_have_no_boundary_pages(app, demo):
    leader = signed_in(app, "totruong")
    assert leader.get("/boundaries/").status_code == 404
    village = demo.scalar(select(Area.id).where(Area.level == "village").limit(1))
    assert leader.get(f"/boundaries/villages/{village}/edit").status_code == 404


def test_edit_through_the_form_then_revert(admin, demo):
    village = demo.scalar(select(Area).where(Area.code == "00004-003"))
    smaller = to_shape(village.geom).buffer(-0.0001)
    page = admin.get(f"/boundaries/villages/{village.id}/edit").get_data(as_text=True)
    assert 'id="village-geometry"' in page and "leaflet-geoman.js" in page
    response = post(
        admin,
        f"/boundaries/villages/{village.id}/edit",
        {
            "action": "edit",
            "geometry": json.dumps(shapely.geometry.mapping(smaller)),
            "decision_number": "31/QĐ-UBND",
            "decision_date": TODAY,
        },
    )
    assert response.status_code == 303
    change_url = response.headers["Location"]
    history = admin.get(f"/areas/{village.id}").get_data(as_text=True)
    assert "Ranh giới" in history and "31/QĐ-UBND" in history
    assert (
        demo.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.entity_type == "area",
                AuditEntry.entity_id == village.id,
                AuditEntry.action == "update",
            )
        )
        >= 1
    )
    reverted = post(admin, change_url + "/revert", {})
    assert reverted.status_code == 303
    demo.expire_all()
    assert to_shape(demo.get(Area, village.id).geom).equals(to_shape(village.geom))


def test_a_bad_drawing_is_refused_with_its_reason(admin, demo):
    village = demo.scalar(select(Area).where(Area.code == "00004-003"))
    response = post(
        admin,
        f"/boundaries/villages/{village.id}/edit",
        {
            "action": "edit",
            "geometry": json.dumps(
                {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [105.8, 21.0],
                            [105.81, 21.01],
                            [105.81, 21.0],
                            [105.8, 21.01],
                            [105.8, 21.0],
                        ]
                    ],
                }
            ),
            "decision_number": "1",
            "decision_date": TODAY,
        },
    )
    assert response.status_code == 422
    assert "Hình học không hợp lệ" in response.get_data(as_text=True)


def ogrinfo(path):
    return subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True, text=True, check=True
    ).stdout


def test_geojson_export_is_rfc7946_and_gdal_reads_it(admin, demo, tmp_path):
    commune = demo.scalar(select(Area).where(Area.code == "00004"))
    response = admin.get(f"/boundaries/export.geojson?commune_id={commune.id}")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    doc = json.loads(response.data)
    villages = count(demo, "village")  # all three communes' villages
    expected = 1 + demo.scalar(
        select(func.count())
        .select_from(Area)
        .where(Area.parent_id == commune.id, Area.valid_to.is_(None))
    )
    assert len(doc["features"]) == expected < villages
    for feature in doc["features"]:
        for polygon in feature["geometry"]["coordinates"]:
            assert shapely.LinearRing(polygon[0]).is_ccw  # outer rings counter-clockwise
    assert not re.search(r"\d\.\d{7,}", response.get_data(as_text=True))  # 6 decimals at most
    path = tmp_path / "export.geojson"
    path.write_bytes(response.data)
    info = ogrinfo(path)
    assert f"Feature Count: {expected}" in info
    assert "Multi Polygon" in info


def test_geopackage_export_for_the_city_is_a_job_whose_file_gdal_reads(admin, demo, tmp_path):
    assert admin.get("/boundaries/export.gpkg").status_code == 404  # a GET starts no job
    started = post(admin, "/boundaries/export.gpkg", {"commune_id": ""})
    assert started.status_code == 303 and started.headers["Location"].startswith("/jobs/")
    job_page = admin.get(started.headers["Location"]).get_data(as_text=True)
    assert "Xuất ranh giới" in job_page and "Tải tệp về" in job_page
    response = admin.get(through_job(admin, started).headers["Location"])
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    path = tmp_path / "city.gpkg"
    path.write_bytes(response.data)
    info = ogrinfo(path)
    total = count(demo, "commune") + count(demo, "village")
    assert f"Feature Count: {total}" in info
    assert "Layer name: areas" in info and "EPSG" in info and "4326" in info
    assert "name: String" in info


@pytest.mark.parametrize("username", ["canbo.xa"])
def test_exports_stay_in_scope(app, demo, username):
    officer = signed_in(app, username)
    other = demo.scalar(select(Area.id).where(Area.code == "00008"))
    assert officer.get(f"/boundaries/export.geojson?commune_id={other}").status_code == 404
    own = officer.get("/boundaries/export.geojson")
    names = {f["properties"]["name"] for f in json.loads(own.data)["features"]}
    assert "Phường Ba Đình" in names and "Phường Ngọc Hà" not in names


def test_an_upload_over_the_size_limit_is_refused_before_it_is_read(app, admin, demo):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    try:
        response = upload(admin, b" " * 20_000, "big.geojson")
        assert response.status_code == 413
        assert "Tệp tải lên vượt quá 50 MB." in response.get_data(as_text=True)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 55 * 1024 * 1024


def map_layers(page: str) -> str:
    """The change page's map script (folium's), where the layers' names and styles are."""
    return page[page.index('data-testid="change-map"') :]


def features(script: str) -> list[dict]:
    """The before and after features folium put in the page's script, in their order."""
    found = []
    for match in re.finditer(r'_add\((\{"features".*?\})\);', script):
        found.extend(json.loads(match.group(1))["features"])
    # the faint villages around, for orientation, carry a name rather than a label
    return [f for f in found if "label" in f["properties"]]


def test_the_change_page_maps_the_boundary_before_and_after(admin, demo):
    village = demo.scalar(select(Area).where(Area.code == "00004-003"))
    smaller = to_shape(village.geom).buffer(-0.0003)
    response = post(
        admin,
        f"/boundaries/villages/{village.id}/edit",
        {
            "action": "edit",
            "geometry": json.dumps(shapely.geometry.mapping(smaller)),
            "decision_number": "32/QĐ-UBND",
            "decision_date": TODAY,
        },
    )
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    script = map_layers(page)
    assert '"dashArray": "6 5"' in script  # the earlier outline is dashed
    # both outlines are drawn: the earlier one reaches further out than the new one
    drawn = {
        f["properties"]["label"]: shapely.geometry.shape(f["geometry"]) for f in features(script)
    }
    assert set(drawn) == {f"{village.name} (trước)", f"{village.name} (sau)"}
    before, after = drawn[f"{village.name} (trước)"], drawn[f"{village.name} (sau)"]
    assert before.area > after.area
    assert before.buffer(1e-5).contains(to_shape(village.geom).buffer(-1e-5))
    before = page[page.index('data-testid="change-before"') :]
    assert village.name in before.split("</dd>")[0]


def test_a_split_shows_both_parts_after_and_the_whole_before(admin, demo):
    village = demo.scalar(select(Area).where(Area.code == "00004-003"))
    minx, miny, maxx, maxy = to_shape(village.geom).bounds
    mid = (miny + maxy) / 2
    line = {"type": "LineString", "coordinates": [[minx - 0.001, mid], [maxx + 0.001, mid]]}
    response = post(
        admin,
        f"/boundaries/villages/{village.id}/edit",
        {
            "action": "split",
            "line": json.dumps(line),
            "name_a": "Phần <b>A</b>",
            "name_b": "Phần B",
            "decision_number": "33/QĐ-UBND",
            "decision_date": TODAY,
        },
    )
    assert response.status_code == 303
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    labels = [f["properties"]["label"] for f in features(map_layers(page))]
    # every part is drawn, its name escaped once (geo.maps.text): it shows as typed
    assert labels == [
        "Phần &lt;b&gt;A&lt;/b&gt; (sau)",
        "Phần B (sau)",
        f"{village.name} (trước)",
    ]


def test_an_imported_update_records_the_boundary_it_replaced(app, demo):
    officer = signed_in(app, "canbo.xa")
    shrunk = demo.scalar(select(Area).where(Area.code == "00004-001"))
    shrink = ("00004-001", lambda g: g.buffer(-0.0001))
    response = upload(officer, villages_file(demo, change=shrink), "ba_dinh.geojson")
    # the level in words on the batch and in the upload list, never its code
    assert "Cấp: Thôn, tổ dân phố" in officer.get(response.headers["Location"]).get_data(
        as_text=True
    )
    listed = officer.get("/boundaries/", headers={**HX, "HX-Target": "batches"})
    assert "Thôn, tổ dân phố ·" in listed.get_data(as_text=True)
    assert "village" not in re.sub(r"<[^>]+>", "", listed.get_data(as_text=True))
    done = post(
        officer,
        response.headers["Location"] + "/commit",
        {"mode": "all", "decision_number": "6/QĐ-UBND", "decision_date": TODAY},
    )
    assert done.status_code == 303
    batch = demo.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()))
    change = demo.get(BoundaryChange, batch.result["change_id"])
    # the import names what it changed before and after, as an edit does, with its version
    assert change.before_ids == [shrunk.id] and shrunk.id in change.after_ids
    assert len(change.version_ids) == 1
    page = officer.get(f"/boundaries/changes/{change.id}").get_data(as_text=True)
    before = page[page.index('data-testid="change-before"') :].split("</dd>")[0]
    assert shrunk.name in before and "—" not in before
    assert len(features(map_layers(page))) == len(change.after_ids) + 1
    # a change recorded before imports named their updates reads them from its versions
    change.before_ids = []
    demo.flush()
    page = officer.get(f"/boundaries/changes/{change.id}").get_data(as_text=True)
    before = page[page.index('data-testid="change-before"') :].split("</dd>")[0]
    assert shrunk.name in before


def test_the_merge_form_maps_the_villages_and_who_borders_whom(admin, demo):
    commune = demo.scalar(select(Area).where(Area.code == "00004"))
    villages = demo.scalars(
        select(Area).where(Area.parent_id == commune.id, Area.valid_to.is_(None))
    ).all()
    full = {v.id: to_shape(v.geom) for v in villages}
    villages[0].name = "Tổ <img src=x onerror=alert(1)>"
    demo.commit()
    page = admin.get(f"/boundaries/communes/{commune.id}/merge").get_data(as_text=True)
    assert "<img" not in page  # in the list escaped by Jinja, on the map as map text
    assert 'data-testid="merge-map"' in page and "merge-map.js" in page
    shapes = json.loads(re.search(r'id="merge-villages">(.*?)</script>', page).group(1))
    neighbours = json.loads(re.search(r'id="merge-neighbours">(.*?)</script>', page).group(1))
    assert {f["properties"]["id"] for f in shapes["features"]} == set(full)
    assert "Tổ &lt;img src=x onerror=alert(1)&gt;" in {
        f["properties"]["name"] for f in shapes["features"]
    }
    # the checkboxes stay: the form without the map, and for screen readers
    assert page.count('name="area_ids"') == len(full)
    pairs = {(int(a), b) for a, found in neighbours.items() for b in found}
    assert pairs and all((b, a) in pairs for a, b in pairs)  # both ways
    for a, b in pairs:  # each pair shares a border longer than a corner
        assert full[a].boundary.intersection(full[b].buffer(1e-5)).length > 5e-5
    for a in full:
        for b in full:
            if a == b:
                continue
            shared = full[a].boundary.intersection(full[b].buffer(1e-5)).length
            if full[a].distance(full[b]) > 1e-4:
                assert (a, b) not in pairs  # apart: not a neighbour
            elif shared > 1e-3:
                assert (a, b) in pairs  # a long common border (about 100 m): a neighbour


def test_the_split_preview_names_the_northern_part_a_and_writes_nothing(admin, demo):
    village = demo.scalar(select(Area).where(Area.code == "00004-003"))
    minx, miny, maxx, maxy = to_shape(village.geom).bounds
    mid = (miny + maxy) / 2
    line = {"type": "LineString", "coordinates": [[minx - 0.001, mid], [maxx + 0.001, mid]]}
    url = f"/boundaries/villages/{village.id}/split-preview"
    villages, changes = count(demo, "village"), demo.scalar(select(func.max(BoundaryChange.id)))
    answer = post(admin, url, {"line": json.dumps(line)})
    assert answer.status_code == 200
    parts = answer.get_json()["features"]
    assert [p["properties"]["part"] for p in parts] == ["A", "B"]
    a, b = (shapely.geometry.shape(p["geometry"]) for p in parts)
    assert a.centroid.y > mid > b.centroid.y  # A is the northern part, as the split names it
    for part, shape in zip(parts, (a, b), strict=True):
        assert shape.contains(shapely.Point(part["properties"]["label_at"]))
    assert count(demo, "village") == villages
    assert demo.scalar(select(func.max(BoundaryChange.id))) == changes
    short = {"type": "LineString", "coordinates": [[minx - 0.001, mid], [minx - 0.0005, mid]]}
    refused = post(admin, url, {"line": json.dumps(short)})
    assert refused.status_code == 422
    assert "đúng hai phần" in refused.get_json()["error"]
    # the editor offers it, with undo and cancel, and the split's button is a primary one
    page = admin.get(f"/boundaries/villages/{village.id}/edit").get_data(as_text=True)
    assert f'data-preview="{url}"' in page
    assert 'id="undo"' in page and 'id="cancel-edits"' in page
    assert re.search(r'<button type="submit" class="primary"[^>]*id="save-split"', page)


def test_the_coordinate_systems_are_named_in_the_readers_language(admin, demo):
    vietnamese = admin.get("/boundaries/").get_data(as_text=True)
    assert "Theo tệp (WGS 84 nếu tệp không ghi)" in vietnamese
    assert "VN-2000 / TM-3, kinh tuyến trục 105°00&#39; (Hà Nội)" in vietnamese
    with admin.session_transaction() as session:
        session["lang"] = "en"
    english = admin.get("/boundaries/").get_data(as_text=True)
    assert "As the file says (WGS 84 if it does not)" in english
    assert "VN-2000 / TM-3, central meridian 105°00&#39; (Hà Nội)" in english
    assert "VN-2000 / UTM zone 48N (EPSG:3405)" in english
    assert "Theo tệp" not in english and "kinh tuyến" not in english and " múi " not in english
