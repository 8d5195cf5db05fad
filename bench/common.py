"""What the database benchmarks share: a scratch database built by the migrations, the app on
it, and the demo data they seed."""

from __future__ import annotations

from flask_migrate import upgrade

from portal import config, create_app
from portal.config import local_database_url
from portal.dbsetup import drop_database, ensure_database
from portal.extensions import db

ROOT = config.ROOT
SHARED = ROOT.parent / "shared" / "data"
DEMO_DATA = SHARED if SHARED.exists() else None  # a synthetic city when it is missing


def bench_app(url: str):
    return create_app(
        {"PORTAL_ENV": "testing", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url}
    )


def fresh_database(name: str = "antt_portal_bench") -> str:
    """A new, migrated database in the project's cluster; its URL."""
    url = local_database_url(name)
    drop_database(url)
    ensure_database(url)
    with bench_app(url).app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
    return url
