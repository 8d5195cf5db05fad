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
