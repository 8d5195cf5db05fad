"""The application factory: configuration from the environment, errors in one place."""

from __future__ import annotations

import pytest

from portal import config, create_app
from portal.errors import Forbidden


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config, "LOCAL", tmp_path)  # no per-clone key file either
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://x@127.0.0.1/x")
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        create_app({"PORTAL_ENV": "production"})


def test_development_gets_a_random_key_and_environment_wins(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config, "LOCAL", tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://x@127.0.0.1/x")
    a = create_app({"PORTAL_ENV": "development"})
    b = create_app({"PORTAL_ENV": "development"})
    assert a.config["SECRET_KEY"] != b.config["SECRET_KEY"]
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert create_app({"PORTAL_ENV": "production"}).config["SECRET_KEY"] == "from-the-environment"


def test_cookies_are_httponly_and_samesite(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.fixture
def failing_app(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://x@127.0.0.1/x")
    application = create_app({"PORTAL_ENV": "testing", "SECRET_KEY": "x"})
    application.add_url_rule("/boom", "boom", lambda: 1 / 0)

    def forbidden():
        raise Forbidden("Chỉ quản trị viên thành phố.")

    application.add_url_rule("/forbidden", "forbidden", forbidden)
    return application


def test_unexpected_error_is_a_500_page_fragment_or_json(failing_app):
    client = failing_app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500
    assert "Lỗi hệ thống" in page.get_data(as_text=True)
    assert "ZeroDivisionError" not in page.get_data(as_text=True)
    fragment = client.get("/boom", headers={"HX-Request": "true"})
    assert fragment.status_code == 500
    assert "<html" not in fragment.get_data(as_text=True)
    json_body = client.get("/boom", headers={"Accept": "application/json"}).get_json()
    assert json_body == {
        "error": "Lỗi hệ thống",
        "message": "Đã có lỗi xảy ra. Xin thử lại sau.",
        "status": 500,
    }


def test_domain_error_keeps_its_status_and_message(failing_app):
    response = failing_app.test_client().get("/forbidden")
    assert response.status_code == 403
    assert "Chỉ quản trị viên thành phố." in response.get_data(as_text=True)
