"""When the database does not answer, every page says so with 503 and Retry-After."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import exc as sa_exc

from portal.errors import RETRY_AFTER_SECONDS, database_unavailable


def _failing(monkeypatch, error: Exception):
    """Every statement of the request fails as a dead server makes it fail."""
    from portal.lookup import services

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(services, "at_point", fail)


def _refused() -> sa_exc.OperationalError:
    return sa_exc.OperationalError(
        "SELECT 1", {}, psycopg.OperationalError("connection failed: Connection refused")
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_refused(), True),
        (sa_exc.TimeoutError("QueuePool limit reached"), True),
        (sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key")), False),
        (ValueError("not a database error"), False),
    ],
)
def test_which_errors_mean_unavailable(error, expected):
    assert database_unavailable(error) is expected


def test_api_answers_503_with_retry_after(client, monkeypatch):
    _failing(monkeypatch, _refused())
    response = client.get("/api/lookup?lat=21.03&lon=105.83")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    body = response.get_json()
    assert body["status"] == 503
    assert "thử lại" in body["message"]


def test_page_answers_503_in_vietnamese(client, monkeypatch):
    _failing(monkeypatch, _refused())
    response = client.get("/tra-cuu/diem?lat=21.03&lon=105.83")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "Cơ sở dữ liệu tạm thời không trả lời" in response.get_data(as_text=True)


def test_a_bug_in_a_query_stays_a_500(client, monkeypatch):
    _failing(monkeypatch, sa_exc.ProgrammingError("SELECT nope", {}, Exception("syntax error")))
    response = client.get("/api/lookup?lat=21.03&lon=105.83")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers


def test_a_look_up_waits_for_an_unreachable_database_once(app, socket_closed_port):
    """With the look-up's index on and the database not answering, a look-up tries to
    connect once (one connect timeout, one log line), then answers 503."""
    from sqlalchemy import event

    from portal import create_app
    from portal.extensions import db

    url = f"postgresql+psycopg://portal_app:x@127.0.0.1:{socket_closed_port}/nothing"
    down = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "PORTAL_ENV": "testing",
            "LOOKUP_INDEX": True,
            "LOOKUP_INDEX_INLINE": True,
        }
    )
    attempts = []
    with down.app_context():
        event.listen(db.engine, "do_connect", lambda *args: attempts.append(1))
    client = down.test_client()
    for path, headers in (
        ("/api/lookup?lat=21.0367&lon=105.8346", {}),
        ("/tra-cuu/diem?lat=21.0367&lon=105.8346", {"HX-Request": "true", "HX-Target": "card"}),
    ):
        attempts.clear()
        response = client.get(path, headers=headers)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert len(attempts) == 1, path


@pytest.fixture
def socket_closed_port():
    """A local port nothing listens on: connecting is refused at once."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
