"""Logs, metrics and health checks (issue 18): JSON lines with the request's id and no secrets,
Prometheus's figures for the right readers only, liveness apart from readiness.

In-process tests read what the app writes to stderr; one test serves a throwaway database with
a real gunicorn started as `make run` starts it (deploy/gunicorn.conf.py) and a real job
worker, signs in, makes and uses an API token, sends tips, forces a 500, and reads every line
both wrote."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, func, select, text

from portal import create_app, logs
from portal.auth import sessions
from portal.extensions import db
from portal.incidents.filters import LOCAL_TZ
from portal.models import Area, Job
from tests.clusters import gunicorn
from tests.conftest import (
    DEMO_PASSWORDS,
    ROOT,
    SHARED_DATA,
    database_url_for,
    fresh_database,
    make_app,
    migrate,
    start_worker,
    stop,
)
from tests.geo.test_photos import MODEL, exif_jpeg

PHONE = "0912 345 678"
EMAIL = "nguoibao.kin@example.org"


def lines(captured: str) -> list[dict]:
    """Every line written, each of which must be one JSON object."""
    found = []
    for line in captured.splitlines():
        if line.strip():
            try:
                found.append(json.loads(line))
            except ValueError:
                pytest.fail(f"not a JSON line: {line!r}")
    return found


def fetch(client, url: str, **kwargs):
    """A response read to its end and closed, as a server sends it (the access line is written
    then)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def access_lines(captured: str) -> list[dict]:
    return [line for line in lines(captured) if line["logger"] == "portal.access"]


def samples(body: str) -> dict[tuple, float]:
    """(name, sorted labels) -> value, of Prometheus's text format."""
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def labels(**values) -> tuple:
    return tuple(sorted(values.items()))


# --- logs --------------------------------------------------------------------------------------


def test_each_request_has_an_id_in_its_log_line_and_its_answer(client, capsys):
    capsys.readouterr()
    given = "nginx-7f3a.0b2c_99"
    response = fetch(client, "/livez", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == given
    (line,) = access_lines(capsys.readouterr().err)
    assert line["request_id"] == given
    assert line["route"] == "/livez" and line["endpoint"] == "health.livez"
    assert line["method"] == "GET" and line["status"] == 200 and line["bytes"] > 0
    assert {"time", "level", "logger", "message", "duration_ms"} <= set(line)
    assert datetime.fromisoformat(line["time"]).tzinfo is not None

    for bad in ("short", "has space in it", "x" * 65, "<script>alert(1)</script>"):
        response = fetch(client, "/livez", headers={"X-Request-ID": bad})
        made = response.headers["X-Request-ID"]
        assert made != bad and re.fullmatch(r"[0-9a-f]{32}", made)
        (line,) = access_lines(capsys.readouterr().err)
        assert line["request_id"] == made
    # without one, each request gets its own
    first = client.get("/livez").headers["X-Request-ID"]
    assert first != client.get("/livez").headers["X-Request-ID"]


def test_the_access_line_names_the_rule_never_the_path_or_the_query(client, capsys):
    capsys.readouterr()
    fetch(client, "/bao-tin/theo-doi?ma=7K2M-9QXA&moi=1")
    fetch(client, "/api/tips/7K2M-9QXA")
    fetch(client, "/khong-co-trang-nay/0912345678")
    captured = capsys.readouterr().err
    found = access_lines(captured)
    assert [(line["route"], line["status"]) for line in found] == [
        ("/bao-tin/theo-doi", 404),
        ("/api/tips/<receipt>", 404),
        (None, 404),
    ]
    for secret in ("7K2M", "9QXA", "moi=1", "0912345678", "khong-co", "127.0.0.1"):
        assert secret not in captured


def test_a_500_is_logged_with_its_id_rule_and_exception_masked(app, client, capsys, monkeypatch):
    from portal.lookup import services

    def fail(*args, **kwargs):
        raise RuntimeError(f"boom for {PHONE} / {EMAIL} password=hunter2-secret")

    monkeypatch.setattr(services, "at_point", fail)
    capsys.readouterr()
    response = client.get("/api/lookup?lat=21.03&lon=105.83", headers={"X-Request-ID": "abcd1234"})
    assert response.status_code == 500
    captured = capsys.readouterr().err
    (error,) = [line for line in lines(captured) if line["message"] == "unhandled error"]
    assert error["level"] == "ERROR" and error["request_id"] == "abcd1234"
    assert error["route"] == "/api/lookup"
    assert "RuntimeError: boom for [phone] / [email] password=[redacted]" in error["exception"]
    for secret in (PHONE, EMAIL, "hunter2"):
        assert secret not in captured


@pytest.mark.parametrize(
    ("said", "hidden"),
    [
        ("password=hunter2 then", "hunter2"),
        ('{"password": "two words"}', "two words"),
        ("Authorization: Bearer antt_s3cr3tT0kenValue", "s3cr3tT0ken"),
        ("token antt_s3cr3tT0kenValue used", "s3cr3tT0ken"),
        # the metrics token (hex), as a header's line: the scheme is not the secret
        ("Authorization: Bearer 9f86d081884c7d659a2feaa0", "9f86d081884c"),
        ("authorization=Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("Authorization: Token 9f86d081884c7d659a2feaa0", "9f86d081884c"),
        ("Cookie: session=.eJwrzs9Jjc8vSs3PS0; thiet_bi=abc", "eJwrzs9J"),
        ("session_id=4f2a9c", "4f2a9c"),
        ("write to nguoi.bao+1@mail.example.vn today", "nguoi.bao"),
        ("call 0912 345 678", "345 678"),
        ("call 0912.345.678", "345.678"),
        ("call +84 912 345 678", "912 345"),
        ("call 84912345678", "84912345678"),
        ("landline 024 3825 1234", "3825"),
        ("landline (024) 3825 1234", "3825"),
        ("call (+84) 912 345 678", "345 678"),
        ("receipt 7K2M-9QXA", "7K2M-9QXA"),
        # the portal reads a code typed in small letters too (portal.tips.receipts.normalise)
        ("Error handling request /api/tips/7k2m-9qxa", "7k2m-9qxa"),
        ("Error handling request /bao-tin/theo-doi?ma=x&lat=21.0", "lat=21.0"),
    ],
)
def test_redact_masks_secrets_and_contacts(said, hidden):
    masked = logs.redact(said)
    assert hidden not in masked
    assert "[" in masked  # it says that something was there


@pytest.mark.parametrize(
    "kept",
    [
        "pid 12345",
        "took 0.123456789 s",
        "GET /tra-cuu/<int:area_id> 200",
        "job 84 failed",
        "cannot execute INSERT in a read-only transaction",
    ],
)
def test_redact_leaves_ordinary_words_alone(kept):
    assert logs.redact(kept) == kept


def test_every_handler_masks_a_careless_line(app, capsys):
    """The second line of defence: code that logs a contact or password by mistake."""
    capsys.readouterr()
    try:
        raise ValueError(f"bad contact {EMAIL}")
    except ValueError:
        logging.getLogger("portal.careless").exception(
            "login %s with password=%s from %s", "canbo.xa", "hunter2", PHONE
        )
    (line,) = lines(capsys.readouterr().err)
    assert line["message"] == "login canbo.xa with password=[redacted] from [phone]"
    assert "ValueError: bad contact [email]" in line["exception"]
    assert "request_id" not in line  # logged outside a request


def test_a_database_error_logged_keeps_no_value_of_the_row(session, capsys):
    """hide_parameters hides the statement's values, but PostgreSQL's own DETAIL line repeats
    them ("Failing row contains (…, Nguyễn Thị Hoa, …)", "Key (username)=(…)"): a reporter's
    name is no pattern Redact knows, so the DETAIL line goes."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    capsys.readouterr()
    try:
        with session.begin_nested():
            session.execute(
                text("INSERT INTO tip_contacts (incident_id, name, contact) VALUES (-1, :n, NULL)"),
                {"n": "Nguyễn Thị Hoa"},
            )
    except IntegrityError:
        logging.getLogger("portal.careless").exception("could not save the contact")
    (line,) = lines(capsys.readouterr().err)
    assert "NotNullViolation" in line["exception"]  # what went wrong stays
    assert "Nguyễn Thị Hoa" not in line["exception"]
    assert "DETAIL:  [redacted]" in line["exception"]


def test_the_log_level_is_read_in_any_case(monkeypatch):
    """PORTAL_LOG_LEVEL=debug, as an operator may well write it, is DEBUG, not a crash at start
    (logging knows the names in capitals only)."""
    root = logging.getLogger()
    level = root.level
    monkeypatch.setenv("PORTAL_LOG_LEVEL", "debug")
    try:
        logs.configure()
        assert root.level == logging.DEBUG
    finally:
        root.setLevel(level)


# --- metrics -----------------------------------------------------------------------------------


def scrape(client, **kwargs) -> dict[tuple, float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "Set-Cookie" not in response.headers  # no session for a scrape
    return samples(response.get_data(as_text=True))


def test_requests_are_counted_by_rule_and_status_with_a_histogram(client):
    count = ("portal_http_request_duration_seconds_count",)
    ok = labels(method="GET", route="/tra-cuu/<int:area_id>", status="404")
    before = scrape(client).get((*count, ok), 0)
    assert client.get("/tra-cuu/987654321").status_code == 404
    assert client.get("/tra-cuu/987654322").status_code == 404
    assert client.get("/metrics?x=%01").status_code == 400  # refused before the view
    after = scrape(client)
    assert after[(*count, ok)] == before + 2
    buckets = {
        dict(key[1])["le"]: value
        for key, value in after.items()
        if key[0] == "portal_http_request_duration_seconds_bucket"
        and {k: v for k, v in key[1] if k != "le"} == dict(ok)
    }
    assert len(buckets) > 5 and buckets["+Inf"] == after[(*count, ok)]
    # the scrapes themselves are not counted, and no path is a label
    assert not [key for key in after if ("route", "/metrics") in key[1]]
    assert not [key for key in after if ("route", "/tra-cuu/987654321") in key[1]]


def test_a_made_up_http_method_makes_no_new_series(client):
    """The method is a label: every word a client sends as its method would be a new series in
    every worker's files, for ever (nginx passes any word of capitals on). Refused before Flask,
    they are not counted."""
    for n in range(3):
        response = client.open("/tra-cuu", method=f"XMETHOD{n}")
        assert response.status_code == 405  # as Flask answers a method the route does not take
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    methods = {
        dict(label_set).get("method")
        for name, label_set in scrape(client)
        if name.startswith("portal_http_request")
    }
    assert not {m for m in methods if m and m.startswith("XMETHOD")}
    assert client.open("/tra-cuu", method="OPTIONS").status_code == 200  # a real one answers
    assert client.open("/khong-co", method="XMETHOD").status_code == 404  # no such path
    # a 5xx would read as a server error to a client of the standard (test_api_schema sends
    # TRACE and QUERY)
    for method in ("TRACE", "QUERY"):
        assert client.open("/api/lookup", method=method).status_code == 405


def test_job_queue_failures_and_heartbeat_match_the_database(app, client, session):
    now = datetime.now(UTC)

    def job(kind, status, finished_at=None):
        session.add(Job(kind=kind, status=status, actor="t", title="t", finished_at=finished_at))

    for _ in range(3):
        job("obs.export", "queued")
    job("obs.export", "running")
    job("obs.import", "queued")
    job("obs.export", "failed", now - timedelta(hours=2))
    job("obs.export", "failed", now - timedelta(days=3))
    job("obs.import", "done", now)
    session.execute(
        text(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, status)"
            " VALUES ('default', 'portal.run_job', 'todo'), ('default', 'portal.run_job', 'todo')"
        )
    )
    session.execute(
        text(
            "INSERT INTO procrastinate_workers (last_heartbeat)"
            " VALUES (clock_timestamp() - interval '42 s')"
        )
    )
    session.commit()
    found = scrape(client)
    assert found["portal_database_up", ()] == 1
    assert found["portal_jobs", labels(kind="obs.export", status="queued")] == 3
    assert found["portal_jobs", labels(kind="obs.export", status="running")] == 1
    assert found["portal_jobs", labels(kind="obs.import", status="queued")] == 1
    assert ("portal_jobs", labels(kind="obs.import", status="running")) not in found
    assert found["portal_jobs_failed", labels(kind="obs.export")] == 2
    assert found["portal_jobs_failed_last_day", labels(kind="obs.export")] == 1
    assert ("portal_jobs_failed", labels(kind="obs.import")) not in found
    assert found["portal_job_queue", labels(status="todo")] == 2
    age = found["portal_jobs_worker_heartbeat_age_seconds", ()]
    assert 42 <= age < 42 + 600


def test_pool_gauges_follow_the_connections_in_use(app, client):
    with app.app_context():
        size = db.engine.pool.size()
    found = scrape(client)
    assert found["portal_db_pool_size", ()] == size
    in_use = found["portal_db_pool_checked_out", ()]
    with app.app_context(), db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        assert scrape(client)["portal_db_pool_checked_out", ()] == in_use + 1
    assert scrape(client)["portal_db_pool_checked_out", ()] == in_use


@pytest.mark.parametrize(
    ("address", "headers", "hops"),
    [
        ("203.0.113.9", {}, 0),  # from another machine
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, 0),  # through a proxy on this one
        ("127.0.0.1", {"X-Real-IP": "203.0.113.9"}, 0),
        ("127.0.0.1", {"Forwarded": "for=203.0.113.9"}, 0),
        ("127.0.0.1", {}, 1),  # behind a proxy, no address counts as local
        ("127.0.0.1", {"Authorization": "Bearer not-the-token"}, 0),
        ("203.0.113.9", {"Authorization": "Bearer not-the-token"}, 0),
        ("203.0.113.9", {"Authorization": "Basic the-right-token"}, 0),
    ],
)
def test_metrics_are_refused_to_others_as_not_found(
    app, client, monkeypatch, address, headers, hops
):
    monkeypatch.setitem(app.config, "PROXY_HOPS", hops)
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "the-right-token")
    response = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 404
    assert b"portal_" not in response.data


def test_metrics_with_the_operators_token_from_anywhere(app, client, monkeypatch):
    bearer = {"Authorization": "Bearer the-right-token"}
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", headers=bearer, environ_base=remote).status_code == 404
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "the-right-token")
    response = client.get("/metrics", headers=bearer, environ_base=remote)
    assert response.status_code == 200 and b"portal_database_up" in response.data


# --- liveness and readiness --------------------------------------------------------------------


def heartbeat(session, seconds_ago: float) -> None:
    session.execute(text("DELETE FROM procrastinate_workers"))
    session.execute(
        text(
            "INSERT INTO procrastinate_workers (last_heartbeat)"
            " VALUES (clock_timestamp() - make_interval(secs => :s))"
        ),
        {"s": seconds_ago},
    )
    session.commit()  # releases the test's savepoint: the rows outlive the request


def test_ready_when_the_database_the_schema_and_a_worker_are(app, client, session):
    heartbeat(session, 1)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "worker": "ok"},
    }


def test_not_ready_without_a_fresh_worker_heartbeat(app, client, session):
    session.execute(text("DELETE FROM procrastinate_workers"))
    session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "worker": "none",
    }
    heartbeat(session, app.config["JOBS_STALLED_SECONDS"] + 5)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "error",
        "checks": {"database": "ok", "migrations": "ok", "worker": "stale"},
    }


def test_not_ready_when_the_schema_is_behind_the_migrations(app, client, session, monkeypatch):
    """New code whose migration has not run yet: its head is not the database's revision."""
    from portal.health import services

    heartbeat(session, 1)
    monkeypatch.setattr(services, "_heads", lambda _directory: frozenset({"a_newer_one"}))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {
        "database": "ok",
        "migrations": "behind",
        "worker": "ok",
    }


def test_ready_when_the_schema_is_a_release_ahead_of_the_code(app, client, session, monkeypatch):
    """`make upgrade` migrates while the release before still serves (expand/contract): its
    servers must stay in the load balancer until they are restarted, not all turn unready. Seen
    from the code of the release before, the database's revision is one it does not know."""
    from sqlalchemy import text

    from portal.health import services

    current = session.scalar(text("SELECT version_num FROM alembic_version"))
    known = services._revisions(str(ROOT / "migrations"))
    assert current in known
    monkeypatch.setattr(services, "_heads", lambda _directory: frozenset({"the_one_before"}))
    monkeypatch.setattr(services, "_revisions", lambda _directory: known - {current})
    heartbeat(session, 1)
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"]["migrations"] == "ok"


def test_alive_but_not_ready_while_the_database_is_down(capsys):
    down = create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody:x@127.0.0.1:9/none",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
        }
    )
    web = down.test_client()
    # a signed-in session makes other pages ask the database who it is; not the probes
    with web.session_transaction() as cookie:
        cookie[sessions.COOKIE_KEY] = "a-session-token"
    assert web.get("/login").status_code == 503
    live = web.get("/livez")
    assert live.status_code == 200 and live.get_json() == {"status": "ok"}
    ready = web.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json() == {
        "status": "error",
        "checks": {"database": "error", "migrations": "unknown", "worker": "unknown"},
    }
    assert "Retry-After" in ready.headers
    # a scrape still answers, and says so
    scraped = samples(web.get("/metrics").get_data(as_text=True))
    assert scraped["portal_database_up", ()] == 0
    assert ("portal_db_pool_size", ()) in scraped


# --- a real gunicorn and job worker ------------------------------------------------------------


@pytest.fixture(scope="module")
def served():
    """A database with one commune of the demo, served by gunicorn as `make run` serves it."""
    url = fresh_database("antt_portal_obs")
    application = make_app(url)
    migrate(application)
    with application.app_context():
        from portal.demo.seed import seed

        seed(SHARED_DATA, limit_communes=1, echo=lambda _line: None)
        point = func.ST_PointOnSurface(Area.geom)
        lat, lon = db.session.execute(
            select(func.ST_Y(point), func.ST_X(point))
            .where(Area.level == "village")
            .order_by(Area.id)
            .limit(1)
        ).one()
        db.session.remove()
        db.engine.dispose()
    folder = Path(tempfile.mkdtemp(prefix="obs-"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "observability-test-key",
        "PORTAL_ENV": "testing",
        "PORTAL_JOBS_INLINE": "0",
        "PYTHONPATH": str(ROOT),
        "PORTAL_METRICS_TOKEN": "scrape-token-0123456789",
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),  # made by on_starting
        "PORTAL_WORKERS": "2",
    }
    log = folder / "gunicorn.log"
    base, server = gunicorn(env, log, workers=2)
    try:
        yield {"base": base, "env": env, "log": log, "folder": folder, "lat": lat, "lon": lon}
    finally:
        server.terminate()
        server.wait(timeout=15)
        shutil.rmtree(folder, ignore_errors=True)


CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf(web: requests.Session, url: str) -> str:
    return CSRF.search(web.get(url, timeout=30).text).group(1)


@pytest.mark.long
def test_no_secret_reaches_gunicorns_or_the_portals_log(served):
    base = served["base"]
    web = requests.Session()
    username, password = "canbo.xa", DEMO_PASSWORDS["canbo.xa"]
    wrong = "sai-mat-khau-Zq81x"
    token_field = csrf(web, f"{base}/login")
    refused = web.post(
        f"{base}/login",
        data={"username": username, "password": wrong, "csrf_token": token_field},
        timeout=30,
    )
    assert refused.status_code in (200, 401, 422), refused.status_code
    signed = web.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": csrf(web, f"{base}/login")},
        allow_redirects=False,
        timeout=30,
    )
    assert signed.status_code == 302
    cookies = [c.value for c in web.cookies]
    assert cookies
    made = web.post(
        f"{base}/account/tokens/",
        data={"name": "QGIS", "csrf_token": csrf(web, f"{base}/account/tokens/")},
        timeout=30,
    )
    assert made.status_code == 201
    token = re.search(r'value="(antt_[^"]+)"', made.text).group(1)
    used = requests.get(
        f"{base}/ogc/collections/teams/items",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert used.status_code == 200

    # a tip with a contact and a photo, then its status by receipt
    public = requests.Session()
    tip = {
        "kind": "theft",
        "occurred_at": (datetime.now(LOCAL_TZ) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "description": "Hai người đi xe máy giật túi xách.",
        "lat": str(served["lat"]),
        "lon": str(served["lon"]),
        "located_by": "map",
        "contact_name": "Trần Thị Kín Đáo",
        "contact": PHONE,
    }
    photo_name = "anh-ten-bi-mat-4411.jpg"
    sent = public.post(
        f"{base}/bao-tin",
        data={**tip, "csrf_token": csrf(public, f"{base}/bao-tin")},
        files={"photo": (photo_name, io.BytesIO(exif_jpeg()), "image/jpeg")},
        allow_redirects=False,
        timeout=60,
    )
    assert sent.status_code == 303, sent.text[:2000]
    receipt = re.search(r"ma=([0-9A-Z]{4}-[0-9A-Z]{4})", sent.headers["Location"]).group(1)
    assert public.get(f"{base}/bao-tin/theo-doi?ma={receipt}", timeout=30).status_code == 200
    assert public.get(f"{base}/api/tips/{receipt}", timeout=30).status_code == 200

    # a 500 while storing a contact: the portal's role may not write it for a moment
    admin = create_engine(database_url_for("antt_portal_obs", "admin"))
    with admin.begin() as connection:
        connection.execute(text("REVOKE INSERT ON tip_contacts FROM portal_app"))
    try:
        failed = public.post(
            f"{base}/bao-tin",
            data={**tip, "contact": EMAIL, "csrf_token": csrf(public, f"{base}/bao-tin")},
            allow_redirects=False,
            timeout=60,
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text("GRANT INSERT ON tip_contacts TO portal_app"))
        admin.dispose()
    assert failed.status_code == 500
    failed_id = failed.headers["X-Request-ID"]

    # the scrape: requests by rule, summed over both workers; refused through a proxy
    scraped = requests.get(f"{base}/metrics", timeout=30)
    assert scraped.status_code == 200
    found = samples(scraped.text)
    key = labels(method="POST", route="/bao-tin", status="303")
    assert found["portal_http_request_duration_seconds_count", key] == 1
    assert found["portal_db_pool_size", ()] == 2 * 5  # two workers, SQLAlchemy's pool of 5
    assert found["portal_database_up", ()] == 1
    proxied = requests.get(
        f"{base}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=30
    )
    assert proxied.status_code == 404
    wrong_token = {"Authorization": "Bearer scrape-token-wrong"}
    assert requests.get(f"{base}/metrics", headers=wrong_token, timeout=30).status_code == 404
    right_token = {"Authorization": "Bearer scrape-token-0123456789", "X-Real-IP": "203.0.113.9"}
    assert requests.get(f"{base}/metrics", headers=right_token, timeout=30).status_code == 200

    # not ready until a job worker beats; then ready
    waiting = requests.get(f"{base}/readyz", timeout=30)
    assert waiting.status_code == 503 and waiting.json()["checks"]["worker"] == "none"
    worker_log = served["folder"] / "worker.log"
    with worker_log.open("w") as out:
        worker = start_worker(served["env"], out)
        try:
            deadline = time.monotonic() + 90
            while (ready := requests.get(f"{base}/readyz", timeout=30)).status_code != 200:
                assert worker.poll() is None, worker_log.read_text()[-2000:]
                assert time.monotonic() < deadline, ready.text
                time.sleep(0.5)
        finally:
            stop(worker)
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "worker": "ok"}

    written = served["log"].read_text() + worker_log.read_text()
    every = lines(written)
    assert any(line["logger"] == "gunicorn.error" for line in every)
    assert any(line["logger"].startswith("procrastinate") for line in every)  # the worker's
    assert any(line["message"].startswith("worker: waiting") for line in every)
    (error,) = [line for line in every if line["message"] == "unhandled error"]
    assert error["request_id"] == failed_id and error["route"] == "/bao-tin"
    assert "permission denied" in error["exception"]
    assert "parameters hidden" in error["exception"]  # hide_parameters: no values at all
    routes = {line["route"] for line in every if line["logger"] == "portal.access"}
    assert {"/login", "/account/tokens/", "/bao-tin", "/api/tips/<receipt>"} <= routes
    for secret in (
        password,
        wrong,
        token,
        token[5:],
        PHONE,
        PHONE.replace(" ", ""),
        EMAIL,
        "Kín Đáo",
        receipt,
        photo_name,
        MODEL,
        *cookies,
    ):
        assert secret not in written, secret
    assert "127.0.0.1" not in written.replace(f"Listening at: {base}", "")


@pytest.fixture
def talisman_restored():
    """flask-talisman keeps its settings on the one shared object (portal.extensions), so an app
    made with https forced would send every later test's pages to https: put them back."""
    from portal.extensions import talisman

    saved = dict(vars(talisman))
    yield
    vars(talisman).clear()
    vars(talisman).update(saved)


def test_probes_and_scrapes_answer_plain_http_when_https_is_forced(talisman_restored):
    """PORTAL_HTTPS=1 sends every page to https; systemd's, a load balancer's and Prometheus'
    requests to gunicorn itself (plain http on 127.0.0.1) are answered instead."""
    forced = create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "x",
            "SESSION_COOKIE_SECURE": True,  # what PORTAL_HTTPS=1 sets
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody:x@127.0.0.1:9/none",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
        }
    )
    web = forced.test_client()
    assert web.get("/login").status_code == 302  # a page: to https
    assert web.get("/livez").status_code == 200
    assert web.get("/readyz").status_code == 503  # answered (the database is away), not moved
    assert web.get("/healthz").status_code == 503
    assert web.get("/metrics").status_code == 200  # from the machine itself
