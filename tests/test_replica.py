"""Public reads from a streaming replica (portal/replica.py).

The routing is checked on the suite's own database, reached through two engines told apart by
their application_name; the failures on a real primary and its real hot standby
(tests/clusters.py): the primary stopped, the look-up keeps answering from the replica while
writes answer 503; the replica stopped, the look-up reads from the primary.
"""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from portal import create_app, replica
from portal.errors import RETRY_AFTER_SECONDS, NotFound
from portal.extensions import db
from portal.models import Area, TipLimit
from tests.clusters import Installation
from tests.conftest import CSRF_META, DEMO_PASSWORDS, SHARED_DATA

PRIMARY, REPLICA = "portal-primary-test", "portal-replica-test"
UNAVAILABLE = "Cơ sở dữ liệu tạm thời không trả lời"


def _named(url: str, name: str) -> str:
    return make_url(url).update_query_dict({"application_name": name}).render_as_string(False)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is


def routed_app(app, replica_url: str):
    """The suite's database as the primary, and `replica_url` as the replica."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    return create_app(
        {
            "PORTAL_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": _named(url, PRIMARY),
            "MIGRATION_DATABASE_URI": app.config["MIGRATION_DATABASE_URI"],
            "DATABASE_REPLICA_URL": replica_url,
            "SECRET_KEY": "test-secret-key",
            "SHARED_DATA_DIR": SHARED_DATA,
        }
    )


def _dispose(routed) -> None:
    with routed.app_context():
        db.engine.dispose()
    replica.reader(routed).dispose()


@pytest.fixture(scope="module")
def routed(app):
    made = routed_app(app, _named(app.config["SQLALCHEMY_DATABASE_URI"], REPLICA))
    yield made
    _dispose(made)


def _which_database(*args, **kwargs):
    """Stands in for a service: answers 404 naming the connection the request's reads use."""
    raise NotFound(db.session.scalar(sa.text("SELECT current_setting('application_name')")))


@pytest.fixture
def spy(monkeypatch):
    from portal.lookup import services as lookup
    from portal.tips import services as tips

    monkeypatch.setattr(lookup, "at_point", _which_database)
    monkeypatch.setattr(tips, "status", _which_database)


def answered_by(response) -> str:
    assert response.status_code == 404, response.get_data(as_text=True)
    return response.get_json()["message"]


def test_a_visitors_lookup_reads_from_the_replica(routed, spy):
    client = routed.test_client()
    assert answered_by(client.get("/api/lookup?lat=21.03&lon=105.83")) == REPLICA


def test_a_tip_status_reads_its_own_writes_on_the_primary(routed, spy):
    assert answered_by(routed.test_client().get("/api/tips/ABCD-EFGH")) == PRIMARY


def test_a_request_with_a_session_token_reads_from_the_primary(routed, spy):
    """Staff see their own changes on the public card at once: nothing signed in is replica."""
    client = routed.test_client()
    with client.session_transaction() as cookie:
        cookie["sid"] = "a-token-the-server-checks"
    assert answered_by(client.get("/api/lookup?lat=21.03&lon=105.83")) == PRIMARY


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/tra-cuu", True),
        ("GET", "/tra-cuu/diem", True),
        ("HEAD", "/api/lookup", True),
        ("GET", "/bao-tin", True),
        ("GET", "/bao-tin/vi-tri", True),
        ("POST", "/bao-tin", False),
        ("POST", "/api/tips", False),
        ("GET", "/bao-tin/theo-doi", False),
        ("GET", "/healthz", False),  # a load balancer must see that writes cannot be served
        ("GET", "/login", False),
        ("GET", "/khu-vuc", False),
    ],
)
def test_which_requests_are_public_reads(routed, method, path, expected):
    with routed.test_request_context(path, method=method):
        assert replica.public_read() is expected


def test_writes_in_a_public_request_go_to_the_primary(routed):
    with routed.test_request_context("/api/lookup"):
        reader, primary = replica.reader(), db.engine
        assert db.session.get_bind(clause=sa.select(Area.id)) is reader
        assert db.session.get_bind(clause=sa.insert(TipLimit)) is primary
        assert db.session.get_bind(clause=sa.delete(TipLimit)) is primary
        assert db.session.get_bind(clause=sa.select(Area.id).with_for_update()) is primary
        db.session.remove()
    with routed.app_context():  # the CLI and the job worker: no request, the primary
        assert db.session.get_bind(clause=sa.select(Area.id)) is db.engine
        db.session.remove()


def test_without_a_replica_everything_uses_the_primary(app, spy):
    plain = routed_app(app, "")
    try:
        assert replica.reader(plain) is None
        assert answered_by(plain.test_client().get("/api/lookup?lat=1&lon=2")) == PRIMARY
    finally:
        with plain.app_context():
            db.engine.dispose()


def test_a_replica_that_does_not_answer_falls_back_to_the_primary(app, spy):
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(port=_closed_port())
    down = routed_app(app, _named(url.render_as_string(False), REPLICA))
    try:
        client = down.test_client()
        assert answered_by(client.get("/api/lookup?lat=21.03&lon=105.83")) == PRIMARY
        assert answered_by(client.get("/api/lookup?lat=21.03&lon=105.83")) == PRIMARY
    finally:
        _dispose(down)


def test_a_replica_that_falls_behind_is_not_read_while_the_primary_answers(app, spy, monkeypatch):
    made = routed_app(app, _named(app.config["SQLALCHEMY_DATABASE_URI"], REPLICA))
    try:
        client = made.test_client()
        assert answered_by(client.get("/api/lookup?lat=21.03&lon=105.83")) == REPLICA
        # the pooled connection is checked before its next use, as pool_pre_ping would
        monkeypatch.setattr(replica, "LAG_SQL", "SELECT 99.5")
        assert answered_by(client.get("/api/lookup?lat=21.03&lon=105.83")) == PRIMARY
        monkeypatch.setattr(replica, "LAG_SQL", "SELECT 0")
        monkeypatch.setattr(replica, "FALLBACK_SECONDS", 0)  # the stand-in's time is up
        assert answered_by(client.get("/api/lookup?lat=21.03&lon=105.83")) == REPLICA
    finally:
        _dispose(made)


def test_a_lagging_replica_is_still_read_when_the_primary_is_down(app, spy, monkeypatch):
    monkeypatch.setattr(replica, "LAG_SQL", "SELECT 99.5")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    made = create_app(
        {
            "PORTAL_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": make_url(url)
            .set(port=_closed_port())
            .render_as_string(False),
            "DATABASE_REPLICA_URL": _named(url, REPLICA),
            "SECRET_KEY": "test-secret-key",
            "SHARED_DATA_DIR": SHARED_DATA,
        }
    )
    try:
        client = made.test_client()
        assert answered_by(client.get("/api/lookup?lat=21.03&lon=105.83")) == REPLICA
        assert client.get("/api/tips/ABCD-EFGH").status_code == 503  # the primary's reads
    finally:
        _dispose(made)


def test_the_projects_own_replica_is_found_outside_tests_only(monkeypatch, tmp_path):
    from portal import config

    for name, secret in (("pg.app.password", "pw"), ("pg.port", "54329")):
        (tmp_path / name).write_text(secret)
    monkeypatch.setattr(config, "LOCAL", tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_REPLICA_URL", raising=False)
    assert config.replica_url("production", {}) is None  # no replica made
    (tmp_path / "pg.replica.port").write_text("54330\n")
    found = make_url(config.replica_url("production", {}))
    assert (found.port, found.username, found.database) == (54330, "portal_app", "antt_portal")
    assert config.replica_url("testing", {}) is None
    monkeypatch.setenv("DATABASE_REPLICA_URL", "")  # set empty: none
    assert config.replica_url("production", {}) is None
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgresql+psycopg://u:p@db2/x")
    assert config.replica_url("testing", {}) == "postgresql+psycopg://u:p@db2/x"


# --- a real primary and its hot standby ------------------------------------------------------


def _wait(predicate, seconds: float = 20, what: str = ""):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.1)


def _village_with_team(url: str) -> tuple[float, float, str, str]:
    """A point inside a village that has a team, the team's name, and the primary's WAL position."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            lat, lon, team = connection.execute(
                sa.text(
                    "SELECT ST_Y(ST_PointOnSurface(a.geom)), ST_X(ST_PointOnSurface(a.geom)),"
                    " t.name FROM areas a JOIN team_areas ta ON ta.area_id = a.id"
                    " JOIN teams t ON t.id = ta.team_id"
                    " WHERE a.level = 'village' AND a.valid_to IS NULL AND ta.valid_to IS NULL"
                    " ORDER BY a.id LIMIT 1"
                )
            ).one()
            lsn = connection.scalar(sa.text("SELECT pg_current_wal_lsn()::text"))
    finally:
        engine.dispose()
    return lat, lon, team, lsn


def _copy_in(url: str, rows: list[tuple[str, bytes]]) -> None:
    """The suite's demo (three communes, made once per test process) into another database,
    its sequences moved past the copied ids."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            raw = connection.connection.driver_connection
            for name, data in rows:
                with raw.cursor().copy(f'COPY "{name}" FROM STDIN') as copy:
                    copy.write(data)
            for table in db.metadata.sorted_tables:
                if "id" not in table.c:
                    continue
                sequence = connection.scalar(
                    sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}
                )
                if sequence:
                    highest = f'SELECT coalesce(max(id), 0) + 1 FROM "{table.name}"'
                    connection.execute(
                        sa.text(f"SELECT setval(:s, ({highest}), false)"), {"s": sequence}
                    )
    finally:
        engine.dispose()


def _execute(url: str, statement: str, **params) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(statement), params)
    finally:
        engine.dispose()


def _replayed(url: str, lsn: str) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(
                sa.text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"), {"lsn": lsn}
            )
    finally:
        engine.dispose()


def _sign_in(web: requests.Session, base: str, username: str, password: str):
    token = CSRF_META.search(web.get(f"{base}/login", timeout=10).text).group(1)
    data = {"username": username, "password": password, "csrf_token": token}
    return web.post(f"{base}/login", data=data, timeout=10)


def _tip(lat: float, lon: float) -> dict:
    return {
        "kind": "drugs",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "description": "Nhóm thanh niên tụ tập sử dụng ma túy ở cuối ngõ.",
        "lat": lat,
        "lon": lon,
    }


@pytest.mark.long  # a cluster and its replica of its own: under `make test` it starts first
def test_the_lookup_keeps_answering_from_the_replica_while_the_primary_is_down(
    monkeypatch, request
):
    # ports below the ephemeral range (32768…), where no outgoing connection takes one between
    # pg.sh finding it free and the server binding it; pg.sh moves on from any that is taken
    monkeypatch.setenv("PORTAL_TEST_PGPORT", "5131")
    monkeypatch.setenv("PORTAL_REPLICA_PGPORT", "5133")
    with ThreadPoolExecutor(1) as pool:  # the cluster is made while this process seeds the demo
        making = pool.submit(Installation.create, replica=True)
        demo_rows = request.getfixturevalue("demo_rows")
        installation = making.result()
    try:
        _copy_in(installation.url("owner"), demo_rows)
        lat, lon, team, lsn = _village_with_team(installation.url("owner"))
        replica_url = installation.replica_url()
        _wait(lambda: _replayed(replica_url, lsn), what="the replica to replay the demo")
        base, _server = installation.serve(
            workers=1,
            extra_env={
                "DATABASE_REPLICA_URL": replica_url,
                "PORTAL_REPLICA_MAX_LAG": "0.5",
                "PORTAL_LOOKUP_INDEX": "1",  # as in production: answers kept in memory
            },
        )
        point = {"lat": lat, "lon": lon}
        web = requests.Session()
        assert web.get(f"{base}/api/lookup", params=point, timeout=10).status_code == 200
        staff = requests.Session()
        assert _sign_in(staff, base, "quantri", DEMO_PASSWORDS["quantri"]).status_code == 200

        installation.stop()  # the primary: a clean shutdown, connections closed

        looked_up = web.get(f"{base}/api/lookup", params=point, timeout=10)
        assert looked_up.status_code == 200, looked_up.text
        assert looked_up.json()["team"]["name"] == team
        card = web.get(
            f"{base}/tra-cuu/diem",
            params=point,
            headers={"HX-Request": "true", "HX-Target": "card"},
            timeout=10,
        )
        assert card.status_code == 200 and team in card.text

        sent = web.post(f"{base}/api/tips", json=_tip(lat, lon), timeout=10)
        assert sent.status_code == 503, sent.text
        assert sent.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert UNAVAILABLE in sent.json()["message"]
        for refused in (
            _sign_in(web, base, "quantri", DEMO_PASSWORDS["quantri"]),
            staff.get(f"{base}/areas/", timeout=10),  # a signed-in officer's page
        ):
            assert refused.status_code == 503 and UNAVAILABLE in refused.text
            assert refused.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert web.get(f"{base}/healthz", timeout=10).status_code == 503

        installation.start()  # the same gunicorn writes again: its pool pings and reconnects

        def taken():
            response = web.post(f"{base}/api/tips", json=_tip(lat, lon), timeout=10)
            return response if response.status_code == 201 else None

        sent = _wait(taken, what="a tip to be taken again")
        status = web.get(sent.json()["status_url"], timeout=10)  # at once, from the primary
        assert status.status_code == 200 and status.json()["status"] == "received"

        # a replica held back (replay paused, as a long query on it would) is not read
        replica_admin = make_url(installation.url("admin")).set(port=make_url(replica_url).port)
        _execute(replica_admin.render_as_string(False), "SELECT pg_wal_replay_pause()")
        renamed = team + " (đổi tên)"
        _execute(
            installation.url("owner"),
            "UPDATE teams SET name = :new WHERE name = :old",
            new=renamed,
            old=team,
        )
        _wait(
            lambda: (
                web.get(f"{base}/api/lookup", params=point, timeout=10).json()["team"]["name"]
                == renamed
            ),
            what="the look-up to leave the lagging replica",
        )
        team = renamed

        installation.pg("replica", "stop")  # and the other way: the look-up uses the primary
        looked_up = web.get(f"{base}/api/lookup", params=point, timeout=10)
        assert looked_up.status_code == 200, looked_up.text
        assert json.loads(looked_up.text)["team"]["name"] == team
    finally:
        installation.destroy()


def test_the_lookup_index_reads_its_generation_where_public_cards_come_from(routed, monkeypatch):
    """Outside any request (the fast path, the index's build thread) the index's generation is
    read from the replica, where public cards come from: a generation newer than the cards kept
    under it would keep a stale card for good."""
    from portal.lookup.index import WorkerIndex

    asked = []
    real = db.session.execute

    def spying(statement, *args, **kwargs):
        asked.append(db.session.scalar(sa.text("SELECT current_setting('application_name')")))
        return real(statement, *args, **kwargs)

    monkeypatch.setattr(db.session, "execute", spying)
    with routed.app_context():
        index = WorkerIndex(routed)
        index.too_large = True  # the generation only: no thread building the tree
        index.check()
        db.session.remove()
    assert asked == [REPLICA]
