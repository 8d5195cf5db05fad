"""Pages and their fragments through Flask's test client, on real PostGIS."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal import create_app
from portal.demo.seed import seed
from portal.models import Area
from tests.conftest import csrf_token, login

HX = {"HX-Request": "true"}


def area_id(session, name):
    return session.scalar(select(Area.id).where(Area.name == name))


def test_healthz_tells_the_public_only_up_or_down(client):
    # versions for operators only: tests/test_responses.py
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_is_503_when_the_database_is_down():
    down = create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody:x@127.0.0.1:9/none",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
        }
    )
    response = down.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error"}


def test_pages_need_a_signed_in_account(client):
    response = client.get("/areas/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/areas/")
    fragment = client.get("/areas/", headers=HX)
    assert fragment.status_code == 401
    assert fragment.headers["HX-Redirect"].startswith("/login")


def test_wrong_password_and_unknown_user_get_the_same_answer(client, demo):
    wrong = login(client, "quantri", "not-the-password")
    unknown = login(client, "nobody-here", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    message = "Tên đăng nhập hoặc mật khẩu không đúng."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)


def test_login_renews_the_session_and_logout_ends_it(client, demo):
    client.get("/login")
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    login(client, "quantri", "ha-noi-an-toan-2025")
    with client.session_transaction() as s:
        assert "planted" not in s
        assert s["sid"]
    token = csrf_token(client, "/areas/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/areas/").status_code == 302


def test_post_without_csrf_token_is_refused(client, demo):
    response = client.post(
        "/login", data={"username": "quantri", "password": "ha-noi-an-toan-2025"}
    )
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_next_parameter_cannot_redirect_off_site(client, demo):
    token = csrf_token(client)
    response = client.post(
        "/login?next=//evil.example/x",
        data={"username": "quantri", "password": "ha-noi-an-toan-2025", "csrf_token": token},
    )
    # the portal's home, which sends each role to its own start page
    assert response.headers["Location"] == "/"


def test_area_browser_lists_the_province_and_its_communes(admin, demo):
    page = admin.get("/areas/").get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Thành phố Hà Nội" in page
    assert "Phường Ba Đình" in page
    assert "Phường Ngọc Hà" in page


def test_commune_children_come_as_a_fragment_to_htmx(admin, demo):
    commune = area_id(demo, "Phường Ba Đình")
    response = admin.get(f"/areas/{commune}", headers={**HX, "HX-Target": f"children-{commune}"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body
    assert "Tổ dân phố số 1<" in body
    assert "HX-Request" in response.headers["Vary"]
    full = admin.get(f"/areas/{commune}")
    assert "<html" in full.get_data(as_text=True)
    assert "HX-Request" in full.headers["Vary"]


@pytest.mark.parametrize("query", ["ba dinh", "Ba Đình", "BA ĐINH", "ba đình", "phuong ba d"])
def test_search_ignores_diacritics(admin, demo, query):
    response = admin.get(
        "/areas/", query_string={"q": query}, headers={**HX, "HX-Target": "search-results"}
    )
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert "Phường Ba Đình" in body


def test_search_for_d_finds_d_bar(admin, demo):
    body = admin.get("/areas/", query_string={"q": "thon dong"}).get_data(as_text=True)
    demo_names = set(demo.scalars(select(Area.name).where(Area.name.like("Thôn Đông%"))))
    for name in demo_names:
        assert name in body


def test_search_results_are_paginated(admin, demo, app):
    body = admin.get("/areas/", query_string={"q": "to dan pho"}).get_data(as_text=True)
    assert body.count('<li>\n      <a href="/areas/') == app.config["PAGE_SIZE"]
    assert "page=2" in body


def test_short_query_asks_for_more(admin, demo):
    body = admin.get("/areas/", query_string={"q": "b"}).get_data(as_text=True)
    assert "Nhập ít nhất 2 ký tự." in body


def test_area_page_embeds_a_map_drawn_with_our_own_leaflet(admin, demo):
    village = demo.scalar(select(Area.id).where(Area.level == "village").order_by(Area.id))
    page = admin.get(f"/areas/{village}").get_data(as_text=True)
    # under URLs carrying their content's hash (portal.assets)
    assert re.search(r'src="/vendor/leaflet/dist/leaflet\.js\?v=[0-9a-f]{12}"', page)
    assert re.search(r'href="/vendor/leaflet/dist/leaflet\.css\?v=[0-9a-f]{12}"', page)
    assert "L.map(" in page
    assert "L.geoJson(" in page or "L.geoJSON(" in page
    assert admin.get("/vendor/leaflet/dist/leaflet.js").status_code == 200
    assert admin.get("/vendor/htmx.org/dist/htmx.min.js").status_code == 200


def test_vendor_route_serves_only_the_front_end_packages(client):
    assert client.get("/vendor/leaflet/package.json").status_code == 404
    assert client.get("/vendor/../pyproject.toml").status_code == 404


def test_unknown_area_is_a_404_page_or_fragment(admin, demo):
    page = admin.get("/areas/999999999")
    assert page.status_code == 404
    assert "<html" in page.get_data(as_text=True)
    assert "Không tìm thấy" in page.get_data(as_text=True)
    fragment = admin.get("/areas/999999999", headers=HX)
    assert fragment.status_code == 404
    assert "<html" not in fragment.get_data(as_text=True)
    assert fragment.headers["HX-Retarget"] == "#flash"
    api = admin.get("/areas/999999999", headers={"Accept": "application/json"})
    assert api.get_json()["status"] == 404


def test_english_is_available(admin, demo):
    token = csrf_token(admin, "/areas/")
    admin.post("/lang", data={"lang": "en", "next": "/areas/", "csrf_token": token})
    page = admin.get("/areas/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert ">Areas<" in page
    assert "Phường Ba Đình" in page  # names stay Vietnamese


EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", re.I)


def test_no_page_or_asset_refers_to_another_host(admin, demo):
    commune = area_id(demo, "Phường Ba Đình")
    village = demo.scalar(select(Area.id).where(Area.parent_id == commune))
    province = area_id(demo, "Thành phố Hà Nội")
    pages = [
        "/areas/",
        f"/areas/{province}",
        f"/areas/{commune}",
        f"/areas/{village}",
        "/areas/?q=ba",
    ]
    assets = set()
    for path in pages:
        body = admin.get(path).get_data(as_text=True)
        assert not EXTERNAL.search(body), (path, EXTERNAL.search(body))
        # the masked CSRF tokens and nonces are random letters that may spell "cdn" by chance
        words = re.sub(r'\bm\.[\w-]{40,}=*|nonce="[^"]*"', "", body)
        assert "cdn" not in words.lower()
        assets.update(re.findall(r'(?:src|href)="(/(?:vendor|static)/[^"]+)"', body))
    assert any(a.split("?")[0].endswith("leaflet.js") for a in assets)
    for asset in assets:
        text = admin.get(asset).get_data(as_text=True)
        # stylesheets and scripts load nothing from elsewhere
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", text), asset
        assert not re.search(r"@import\s+['\"]?(?:url\()?['\"]?(?:https?:)?//", text), asset


def test_synthetic_city_when_the_shared_data_is_missing(session):
    summary = seed(None, limit_communes=6, echo=lambda _line: None)
    assert summary.communes == 6
    assert summary.villages > 6 * 20
    assert summary.members >= summary.teams * 2
    city = session.scalar(select(Area).where(Area.level == "province"))
    assert city.name == "Thành phố Mẫu"
