"""Liveness and readiness for operators and load balancers."""

from __future__ import annotations

import functools
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from portal.errors import DomainError, discard_session
from portal.extensions import db
from portal.models import Job


class DatabaseDown(DomainError):
    status = 503


def check(detail: bool) -> dict:
    """Up, and with `detail` the database and PostGIS versions (which tell an attacker which
    published flaws to try, so only operators get them); DatabaseDown when the database does
    not answer."""
    try:
        row = db.session.execute(
            text("SELECT current_setting('server_version'), postgis_lib_version()")
        ).one()
    except SQLAlchemyError as exc:
        db.session.rollback()
        raise DatabaseDown("database unavailable") from exc
    if not detail:
        return {"status": "ok"}
    return {"status": "ok", "database": f"PostgreSQL {row[0]}", "postgis": row[1]}


# --- readiness and the figures /metrics reads from the database ------------------------------

# a check or a scrape waits this long for a statement, not the request's whole budget
STATEMENT_TIMEOUT_MS = 2000


@contextmanager
def _briefly():
    """db.session inside a savepoint with a short statement timeout, undone when it ends (the
    timeout with it): a slow or locked database makes a probe fail fast, not hang."""
    nested = db.session.begin_nested()
    try:
        db.session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
        yield db.session
    finally:
        nested.rollback()


@functools.cache
def _scripts(directory: str):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", directory)
    return ScriptDirectory.from_config(config)


def _heads(directory: str) -> frozenset[str]:
    """The migrations' head revisions, read once per process."""
    return frozenset(_scripts(directory).get_heads())


def _revisions(directory: str) -> frozenset[str]:
    """Every revision this code knows."""
    return frozenset(script.revision for script in _scripts(directory).walk_revisions())


def readiness(migrations: str, stalled_seconds: float) -> dict[str, str]:
    """Each check's word: the database answers ("ok", "error"), its schema is the migrations'
    head ("ok", "behind"), a job worker beat within `stalled_seconds` ("ok", "stale", "none")."""
    checks = {"database": "error", "migrations": "unknown", "worker": "unknown"}
    try:
        with _briefly() as session:
            current = set(session.scalars(text("SELECT version_num FROM alembic_version")))
            age = session.scalar(text(_HEARTBEAT_AGE))
    except SQLAlchemyError:
        discard_session()
        return checks
    checks["database"] = "ok"
    # behind: a revision this code knows, short of its head (run the migrations). One it does
    # not know is a later release's, migrated while this code still serves: expand/contract
    # keeps this code working on it, so it stays ready until it is restarted.
    known = _revisions(migrations)
    behind = current != set(_heads(migrations)) and current <= known
    checks["migrations"] = "behind" if behind else "ok"
    if age is None:
        checks["worker"] = "none"
    else:
        checks["worker"] = "ok" if float(age) < stalled_seconds else "stale"
    return checks


# clock_timestamp(), not now(): now() is when the transaction began
_HEARTBEAT_AGE = (
    "SELECT extract(epoch FROM clock_timestamp() - max(last_heartbeat)) FROM procrastinate_workers"
)


@dataclass
class JobFigures:
    """What /metrics tells of the jobs, read at scrape time."""

    # (kind, status) -> jobs waiting ("queued") or running
    active: dict[tuple[str, str], int] = field(default_factory=dict)
    # kind -> failed jobs, ever and within the last day
    failed: dict[str, int] = field(default_factory=dict)
    failed_last_day: dict[str, int] = field(default_factory=dict)
    # procrastinate's hand-overs: status ("todo", "doing") -> entries
    queue: dict[str, int] = field(default_factory=dict)
    heartbeat_age: float | None = None  # seconds since the freshest worker heartbeat


def job_figures() -> JobFigures:
    """The jobs' figures; SQLAlchemyError when the database does not answer in time."""
    figures = JobFigures()
    try:
        with _briefly() as session:
            for kind, status, n in session.execute(
                select(Job.kind, Job.status, func.count())
                .where(Job.status.in_(("queued", "running")))
                .group_by(Job.kind, Job.status)
            ):
                figures.active[kind, status] = n
            day_ago = func.clock_timestamp() - timedelta(days=1)
            for kind, n, recent in session.execute(
                select(
                    Job.kind,
                    func.count(),
                    func.count().filter(Job.finished_at > day_ago),
                )
                .where(Job.status == "failed")
                .group_by(Job.kind)
            ):
                figures.failed[kind], figures.failed_last_day[kind] = n, recent
            figures.queue = dict(
                session.execute(
                    text(
                        "SELECT status::text, count(*) FROM procrastinate_jobs"
                        " WHERE status IN ('todo', 'doing') GROUP BY status"
                    )
                ).all()
            )
            age = session.scalar(text(_HEARTBEAT_AGE))
            figures.heartbeat_age = None if age is None else float(age)
    except SQLAlchemyError:
        discard_session()
        raise
    return figures
