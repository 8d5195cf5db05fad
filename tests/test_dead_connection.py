"""A connection PostgreSQL dropped under a request (killed, restarting) costs that request its
database, not its answer: nothing at the end of the request may turn it into a 500."""

from __future__ import annotations

import socket
import threading
import time

import psycopg
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from portal import create_app
from portal.jobs.queue import conninfo


def _dead() -> sa_exc.OperationalError:
    return sa_exc.OperationalError(
        "ROLLBACK",
        {},
        psycopg.OperationalError("consuming input failed: server closed the connection"),
    )


def test_a_connection_dead_at_the_end_of_a_request_keeps_the_answer(app, monkeypatch):
    """Flask-SQLAlchemy closes the session after the answer is made; closing rolls back, and a
    rollback on a connection the server dropped raises (tests/test_faults.py met it as
    gunicorn's 500 after PostgreSQL was killed)."""
    real_close = Session.close
    failed = []

    def close_on_a_dead_connection(self):
        if not failed:
            failed.append(self)
            raise _dead()
        return real_close(self)

    monkeypatch.setattr(Session, "close", close_on_a_dead_connection)
    client = app.test_client()
    response = client.get("/healthz")
    assert failed, "the session was never closed"
    assert response.status_code == 200
    monkeypatch.undo()
    # the next request has a session of its own, on a connection that works
    assert client.get("/healthz").status_code == 200


def test_healthz_down_says_when_to_come_back(app, monkeypatch):
    """A load balancer or monitor polling /healthz while PostgreSQL restarts is told, as every
    other client is, when to try again."""
    from portal.errors import RETRY_AFTER_SECONDS
    from portal.health import services

    def down(detail):
        raise services.DatabaseDown("database unavailable")

    monkeypatch.setattr(services, "check", down)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.get_json() == {"status": "error"}


def test_a_database_that_never_answers_is_a_503_within_seconds(monkeypatch):
    """A server that takes the connection and never says a word (PostgreSQL stopped with
    SIGSTOP, swamped, or a network that drops packets): without a connect timeout the worker
    would wait for ever, and every worker after it."""
    monkeypatch.setenv("PORTAL_DB_CONNECT_TIMEOUT", "1")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nothing reads or answers
        port = silent.getsockname()[1]
        app = create_app(
            {
                "PORTAL_ENV": "testing",
                "SECRET_KEY": "x",
                "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://nobody:x@127.0.0.1:{port}/none",
            }
        )
        assert "connect_timeout=1" in conninfo(app)  # the job queue's connections too
        answers = []
        asking = threading.Thread(
            target=lambda: answers.append(app.test_client().get("/api/lookup?lat=21.03&lon=105.8")),
            daemon=True,
        )
        started = time.monotonic()
        asking.start()
        asking.join(20)
        took = time.monotonic() - started
    assert answers, f"no answer after {took:.0f} s"
    assert answers[0].status_code == 503 and answers[0].headers["Retry-After"] == "5"
    assert took < 10, took
