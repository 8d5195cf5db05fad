"""Test fixtures: a real PostGIS database built by the migrations, one transaction per test.

The test database is dropped and rebuilt by `flask db upgrade` at the start of every run, so
the migrations themselves are under test. Each test runs inside a transaction that is rolled
back; the code under test may commit, which only releases a savepoint.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import scoped_session, sessionmaker

from portal import create_app, i18n
from portal.auth import passwords
from portal.config import DB_ROLES, local_database_url
from portal.dbsetup import drop_database, ensure_database, grant_app
from portal.demo.seed import seed
from portal.extensions import db

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("PORTAL_SHARED_DATA", ROOT.parent / "shared" / "data"))
HANOI_COMMUNES = SHARED_DATA / "hanoi_communes2025_sapnhap.geojson"
HANOI_PROVINCE = SHARED_DATA / "hanoi_province2025_sapnhap.geojson"
HANOI_DISTRICTS = SHARED_DATA / "hanoi_districts2019_gischinhphu.geojson"


# Several suites may run side by side on one cluster (e.g. two work trees): each sets its own
# TEST_DB_SUFFIX so that none drops another's database. Under pytest-xdist (`-n 2`) each worker
# (gw0, gw1, …) is such a suite of its own: its own test, e2e and migrations databases.
DB_SUFFIX = os.environ.get("TEST_DB_SUFFIX", "") + (
    "_" + os.environ["PYTEST_XDIST_WORKER"] if os.environ.get("PYTEST_XDIST_WORKER") else ""
)
OWNER, APP_ROLE = DB_ROLES["owner"][0], DB_ROLES["app"][0]


# The suite signs in well over a thousand times; argon2id at production cost (64 MiB, 3 passes)
# takes a quarter to half a second each on a small machine. In-process, the suite hashes with the
# same algorithm at its lowest cost; test_auth.py checks the production parameters, and the live
# server (a separate process) hashes and verifies at production cost, its demo seeded so.
PRODUCTION_HASHER = passwords._hasher
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def use_hasher(hasher: PasswordHasher) -> None:
    passwords._hasher = hasher
    passwords._DUMMY_HASH = hasher.hash("not-a-real-password-only-for-timing")


use_hasher(TEST_HASHER)


def database_url_for(name: str, role: str = "app") -> str:
    """The test database `name` as one of the cluster's roles (portal.config.DB_ROLES).

    With TEST_DATABASE_URL (a server of your own) that one role does everything.
    """
    name += DB_SUFFIX
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url.rsplit("/", 1)[0] + "/" + name
    url = local_database_url(name, role=role)
    if not url:
        pytest.exit(
            "No database: run `make test` (scripts/setup.sh makes one) or set TEST_DATABASE_URL"
        )
    return url


def fresh_database(name: str) -> str:
    """Drop and re-create a database with its extensions, owned by the owner role; the
    migrations build the schema (see migrate). The URL the portal connects with."""
    admin = database_url_for(name, "admin")
    drop_database(admin)
    ensure_database(admin, owner=None if os.environ.get("TEST_DATABASE_URL") else OWNER)
    return database_url_for(name)


def make_app(url: str):
    database = url.rsplit("/", 1)[1]
    return create_app(
        {
            "PORTAL_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": url,
            "MIGRATION_DATABASE_URI": database_url_for(database.removesuffix(DB_SUFFIX), "owner")
            if not os.environ.get("TEST_DATABASE_URL")
            else url,
            "SECRET_KEY": "test-secret-key",
            "SHARED_DATA_DIR": SHARED_DATA,
        }
    )


def migrate(app) -> None:
    """The migrations as the schema's owner, then the portal role's grants, as set-up does."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    if not os.environ.get("TEST_DATABASE_URL"):
        database = app.config["SQLALCHEMY_DATABASE_URI"].rsplit("/", 1)[1]
        grant_app(database_url_for(database.removesuffix(DB_SUFFIX), "admin"), OWNER, APP_ROLE)


@functools.cache
def xdist_group(module: str) -> str:
    """The worker's share a test module goes in: the module itself, so that its module-scoped
    fixtures are made once; every module on the live server in one share, so that one gunicorn,
    one job worker and one Chromium serve them all."""
    try:
        live = module.startswith("tests/browser/") or "live_server" in (ROOT / module).read_text()
    except OSError:
        live = False
    return "live_server" if live else module


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, which a bare `pytest` runs without
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup` (`make test`) shares the tests out by xdist_group above. (xdist's own
    loadgroup reads xdist_group marks by rewriting node ids, which pytest 9 no longer allows.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False  # in the order of pytest_collection_modifyitems below

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid.split("::", 1)[0])

    return ByGroup(config, log)


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist, the longest shares first (a test marked long, the live server's, the
    modules that seed or import a whole city): started last, one would keep a worker busy long
    after the others."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return

    def modules(mark: str) -> set[str]:
        return {item.nodeid.split("::", 1)[0] for item in items if item.get_closest_marker(mark)}

    long, slow = modules("long"), modules("slow")

    def weight(item) -> int:
        module = item.nodeid.split("::", 1)[0]
        if module in long:
            return 0
        return 1 if xdist_group(module) == "live_server" else 2 if module in slow else 3

    items.sort(key=weight)  # stable: each module's tests keep their order


def pytest_sessionstart(session):
    """The English catalogue compiled as scripts/setup.sh does, for a bare `pytest` too (each
    xdist worker may: the .mo is written whole, then renamed)."""
    i18n.compile_catalogues()


@pytest.fixture(scope="session")
def app():
    url = fresh_database("antt_portal_test")
    application = make_app(url)
    migrate(application)
    yield application
    with application.app_context():
        db.engine.dispose()


@contextmanager
def rolled_back_session(app):
    """Swap db.session for one bound to a connection whose transaction is rolled back at exit.

    No app context stays pushed meanwhile: requests made by the test client then get their own
    context and `g`, exactly as in production.
    """
    with app.app_context():
        connection = db.engine.connect()
    transaction = connection.begin()
    original = db.session
    db.session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    )
    try:
        yield db.session
    finally:
        db.session.remove()
        db.session = original
        transaction.rollback()
        connection.close()


@pytest.fixture
def session(app):
    """db.session bound to one connection whose transaction is rolled back after the test."""
    with rolled_back_session(app) as s:
        yield s


@pytest.fixture
def client(app, session):
    return app.test_client()


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return CSRF_META.search(page).group(1)


def login(client, username: str, password: str):
    token = csrf_token(client)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


DEMO_PASSWORDS = {
    "quantri": "ha-noi-an-toan-2025",
    "canbo.xa": "ba-dinh-binh-yen-2025",
    "totruong": "to-dan-pho-vung-manh",
}


# Tables whose rows triggers on `areas` and `patrols` write: restoring the areas writes them again.
MADE_BY_TRIGGERS = {
    "area_parts",
    "area_shapes",
    "patrol_activity",
    "review_patrols",
    "review_incidents",
    "review_communes",
    "lookup_generation",  # issue 16: fast look-up; its one row is the migration's
    "tile_generation",  # issue 17: vector tiles; likewise
}


def copy_out(session) -> list[tuple[str, bytes]]:
    """Every row the session's transaction can see, table by table in foreign-key order."""
    session.flush()
    raw = session.connection().connection.driver_connection
    rows = []
    for table in db.metadata.sorted_tables:
        if table.name in MADE_BY_TRIGGERS:
            continue
        data = bytearray()
        with raw.cursor().copy(f'COPY "{table.name}" TO STDOUT') as copy:
            for block in copy:
                data += block
        if data:
            rows.append((table.name, bytes(data)))
    return rows


def copy_in(session, rows: list[tuple[str, bytes]]) -> None:
    """Write rows taken by copy_out into the session's transaction (its triggers run)."""
    raw = session.connection().connection.driver_connection
    for name, data in rows:
        with raw.cursor().copy(f'COPY "{name}" FROM STDIN') as copy:
            copy.write(data)
    session.commit()  # releases the session's savepoint: the rows outlive the first request
    # the same rows have the same ids and times in every test: a map a worker kept for an
    # earlier test (keyed on them) must not stand in for this test's
    from portal.mapping import forget_maps
    from portal.tiles.cache import forget_tiles

    forget_maps()
    forget_tiles()  # likewise the tiles, keyed on generations a rolled-back test also reached


@pytest.fixture(scope="session")
def demo_rows(app) -> list[tuple[str, bytes]]:
    """The demo's rows, made once by the seed and copied into each test that asks for them:
    seeding costs seconds, copying the same rows in milliseconds. The sequences stay past
    these ids (nextval is never rolled back), so rows a test adds never collide with them."""
    with rolled_back_session(app) as session:
        seed(SHARED_DATA, limit_communes=3, echo=lambda _line: None)
        return copy_out(session)


@pytest.fixture
def demo(session, demo_rows):
    """Three real communes of Hanoi with villages, teams and one account per role."""
    copy_in(session, demo_rows)
    return session


def signed_in(app, username: str):
    client = app.test_client()
    response = login(client, username, DEMO_PASSWORDS[username])
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def admin(app, demo):
    return signed_in(app, "quantri")


@pytest.fixture(scope="session")
def hanoi_rows(app) -> list[tuple[str, bytes]]:
    """The real Hanoi outline and its 126 communes, imported once through the import core."""
    if not HANOI_COMMUNES.exists():
        pytest.skip(f"shared Hanoi data not found at {SHARED_DATA}")
    from portal.boundaries.planning import import_features
    from portal.models import Level

    in_force = date(2025, 7, 1)  # the 2025 layout
    with rolled_back_session(app) as session:
        import_features(HANOI_PROVINCE.read_bytes(), Level.PROVINCE, valid_from=in_force)
        import_features(
            HANOI_COMMUNES.read_bytes(), Level.COMMUNE, parent_code="01", valid_from=in_force
        )
        return copy_out(session)


@pytest.fixture
def hanoi(session, hanoi_rows):
    """The real Hanoi outline and its 126 communes (see hanoi_rows)."""
    copy_in(session, hanoi_rows)
    return session


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server():
    """A committed demo (three real communes) in its own database, served by gunicorn."""
    url = fresh_database("antt_portal_e2e")
    app = make_app(url)
    migrate(app)
    use_hasher(PRODUCTION_HASHER)  # the accounts gunicorn verifies, hashed as in production
    try:
        with app.app_context():
            seed(SHARED_DATA, limit_communes=3, echo=lambda _line: None)
            db.session.remove()
            db.engine.dispose()
    finally:
        use_hasher(TEST_HASHER)
    port = _free_port()
    log_path = Path(tempfile.mkdtemp(prefix="live-server-")) / "gunicorn.log"
    log = log_path.open("w")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "browser-test-key",
        "PORTAL_ENV": "testing",
        "PORTAL_JOBS_INLINE": "0",  # jobs go through the queue to the worker, as in production
    }
    worker = start_worker(env, log)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--no-control-socket",  # its default path is shared by every gunicorn of the user
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        # a file, not a pipe: a pipe nobody reads fills up and then blocks the server
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # a busy machine (a suite on every core) boots slowly
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("gunicorn did not start: " + log_path.read_text()[-2000:])
            time.sleep(0.2)
    yield base
    server.terminate()
    server.wait(timeout=10)
    stop(worker)
    log.close()


def start_worker(env: dict, log) -> subprocess.Popen:
    """The job worker (`flask --app wsgi worker`), as `make run` starts it beside gunicorn."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


JOB_RESULT = re.compile(r'href="([^"]+)" data-testid="job-result"')


def through_job(client, response):
    """After a form that started a job (run inline in tests): point the response at what the
    job made, as the job's page links to it once it is done; a failed job's page stays."""
    location = response.headers.get("Location", "")
    if response.status_code == 303 and location.startswith("/jobs/"):
        page = client.get(location).get_data(as_text=True)
        found = JOB_RESULT.search(page)
        if found:
            response.headers["Location"] = found.group(1)
    return response
