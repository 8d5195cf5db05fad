"""Uploads through the web go through the limited reader: the attack files of the review, and a
GeoPackage with several layers."""

from __future__ import annotations

import io

import numpy as np
import pyogrio.raw
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select

from portal.models import Area
from tests.conftest import csrf_token, signed_in, through_job


def upload(client, data: bytes, filename: str, **form):
    fields = {
        "level": "village",
        "crs": "auto",
        "csrf_token": csrf_token(client, "/boundaries/"),
        **form,
        "file": (io.BytesIO(data), filename),
    }
    response = client.post("/boundaries/uploads", data=fields, content_type="multipart/form-data")
    return through_job(client, response)


def test_a_kml_that_is_a_virtual_layer_shows_nothing_of_the_file_it_names(app, demo, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("name,WKT\nSECRET-LINE,POINT (105.83 21.03)\n")
    kml = f"""<OGRVRTDataSource><OGRVRTLayer name="x">
      <SrcDataSource>CSV:{secret}</SrcDataSource><SrcLayer>secret</SrcLayer>
      </OGRVRTLayer></OGRVRTDataSource>""".encode()
    officer = signed_in(app, "canbo.xa")
    response = upload(officer, kml, "villages.kml")
    assert response.status_code == 303
    page = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert "SECRET-LINE" not in page
    assert "Tệp:" in page  # a problem with the file as a whole, said on the page


def test_a_geopackage_with_two_layers_names_the_one_read_and_reads_the_one_asked(
    app, demo, tmp_path
):
    officer = signed_in(app, "canbo.xa")
    commune = demo.scalar(select(Area).where(Area.code == "00004"))
    inner = to_shape(commune.geom).representative_point().buffer(0.0005)
    path = tmp_path / "two.gpkg"
    for layer, name in (("thon_cu", "Tổ dân phố Cũ"), ("thon_moi", "Tổ dân phố Mới")):
        pyogrio.raw.write(
            path,
            np.array([shapely.to_wkb(inner)], dtype=object),
            [np.array([name], dtype=object)],
            fields=["name"],
            geometry_type="Polygon",
            crs="EPSG:4326",
            driver="GPKG",
            layer=layer,
            append=path.exists(),
        )
    first = officer.get(upload(officer, path.read_bytes(), "two.gpkg").headers["Location"])
    page = first.get_data(as_text=True)
    assert "đã đọc lớp “thon_cu”" in page
    assert "Tổ dân phố Cũ" in page and "Tổ dân phố Mới" not in page
    chosen = upload(officer, path.read_bytes(), "two.gpkg", layer="thon_moi")
    page = officer.get(chosen.headers["Location"]).get_data(as_text=True)
    assert "Tổ dân phố Mới" in page and "Tổ dân phố Cũ" not in page
    assert demo.scalar(select(func.count()).where(Area.name == "Tổ dân phố Mới")) == 0


def test_a_code_or_name_longer_than_its_column_is_a_problem_not_a_crash(app, demo):
    import json

    officer = signed_in(app, "canbo.xa")
    commune = demo.scalar(select(Area).where(Area.code == "00004"))
    inner = to_shape(commune.geom).representative_point().buffer(0.0005)
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": name},
            "geometry": shapely.geometry.mapping(inner),
        }
        for code, name in (("0" * 21, "Tổ dân phố Dài"), ("00004-777", "Tổ " + "x" * 300))
    ]
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    response = upload(officer, data, "long.geojson")
    page = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert "Mã dài quá số ký tự cho phép: 21 &gt; 20 ký tự" in page
    assert "Tên dài quá số ký tự cho phép: 303 &gt; 200 ký tự" in page
    committed = officer.post(
        response.headers["Location"] + "/commit",
        data={
            "mode": "all",
            "decision_number": "1/QĐ",
            "decision_date": "2026-01-01",
            "csrf_token": csrf_token(officer, "/boundaries/"),
        },
    )
    assert committed.status_code == 422
    assert demo.scalar(select(func.count()).where(Area.code == "00004-777")) == 0


def test_a_read_that_outlasts_the_limit_is_stopped_with_a_message(app, demo, monkeypatch):
    """The upload's job gives the reader a time limit, and says so when it runs out."""
    monkeypatch.setitem(app.config, "UPLOAD_READ_SECONDS", 0)
    officer = signed_in(app, "canbo.xa")
    data = b'{"type": "FeatureCollection", "features": []}'
    response = upload(officer, data, "slow.geojson")
    page = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đọc tệp quá lâu nên đã dừng" in page
