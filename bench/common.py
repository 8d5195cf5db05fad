"""What the database benchmarks share: a scratch database built by the migrations, the app on
it, and the demo data they seed."""

from __future__ import annotations

import contextlib
import re
import statistics
import time
from collections.abc import Callable, Iterator

from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from portal import config, create_app
from portal.config import DB_ROLES, local_database_url
from portal.dbsetup import drop_database, ensure_database, grant_app
from portal.demo.seed import DEMO_ACCOUNTS
from portal.extensions import db

ROOT = config.ROOT
SHARED = ROOT.parent / "shared" / "data"
DEMO_DATA = SHARED if SHARED.exists() else None  # a synthetic city when it is missing


def bench_app(url: str):
    return create_app(
        {"PORTAL_ENV": "testing", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url}
    )


def fresh_database(name: str = "antt_portal_bench") -> str:
    """A new database in the project's cluster, migrated as its owner and granted as set-up
    does; the URL the portal connects with (its own role)."""
    admin = local_database_url(name, role="admin")
    drop_database(admin)
    ensure_database(admin, owner=DB_ROLES["owner"][0])
    url = local_database_url(name)
    migrator = create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "MIGRATION_DATABASE_URI": local_database_url(name, role="owner"),
        }
    )
    with migrator.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
    grant_app(admin, DB_ROLES["owner"][0], DB_ROLES["app"][0])
    return url


def drop(url: str) -> None:
    """Drop a scratch database (as the cluster's superuser: the portal's role may not)."""
    drop_database(local_database_url(url.rsplit("/", 1)[1], role="admin"))


def analyze(url: str) -> None:
    """Planner statistics, as autovacuum gathers them within a minute of a bulk load: a
    benchmark that loads and measures at once would otherwise time plans made blind."""
    engine = create_engine(local_database_url(url.rsplit("/", 1)[1], role="owner"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def signed_in(app, username: str):
    """A test client signed in as one of the demo's accounts."""
    client = app.test_client()
    token = CSRF_META.search(client.get("/login").get_data(as_text=True)).group(1)
    password = {a[0]: a[1] for a in DEMO_ACCOUNTS}[username]
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.status_code
    return client


def opener(client, path: str) -> Callable[[], int]:
    """Open a page (a 200, or the run fails saying what the page said); its size in bytes."""

    def open_page() -> int:
        response = client.get(path)
        if response.status_code != 200:
            body = response.get_data(as_text=True)
            message = re.findall(r'role="alert"[^>]*>([^<]*)', body)
            raise AssertionError(f"{path} answered {response.status_code}: {message}")
        return len(response.get_data())

    return open_page


@contextlib.contextmanager
def without_indexes(url: str, indexes: dict[str, str]) -> Iterator[None]:
    """The named indexes dropped (as the tables' owner) for a baseline, and made again after
    from their CREATE statements."""
    owner = create_engine(local_database_url(url.rsplit("/", 1)[1], role="owner"))
    with owner.begin() as connection:
        for name in indexes:
            connection.execute(text(f"DROP INDEX {name}"))
    try:
        yield
    finally:
        with owner.begin() as connection:
            for statement in indexes.values():
                connection.execute(text(statement))
        owner.dispose()
        analyze(url)


def timed(
    function: Callable[[], object], runs: int, warmups: int = 2
) -> tuple[float, float, object]:
    """p50 and p99 in milliseconds of `runs` calls after `warmups`, and the last call's result."""
    result = None
    for _ in range(warmups):
        result = function()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return (
        statistics.median(times),
        times[min(len(times) - 1, round(0.99 * (len(times) - 1)))],
        result,
    )


def page_lines(ours: dict, plain: dict) -> list[str]:
    """One line per page: ours (p50, p99, bytes) against the baseline's p50."""
    lines = []
    for name, (p50, p99, size) in ours.items():
        base = plain[name][0]
        lines.append(
            f"page={name} p50_ms={p50:.1f} p99_ms={p99:.1f} bytes={size}"
            f" baseline_p50_ms={base:.1f} baseline_ratio={base / p50:.1f}"
        )
    return lines
