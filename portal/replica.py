"""Public reads from a PostgreSQL streaming replica (DATABASE_REPLICA_URL).

Which requests read from the replica: a GET or HEAD to a public page or API that only reads
(PUBLIC_READS: the citizens' look-up, the tip form and its "where does my pin fall" preview)
by a visitor who is not signed in. Everything else uses the primary: every write, every staff
page, sign-in and sessions, throttling, jobs, the tips' status by receipt (read-your-writes: a
receipt just made must be found at once, and each status look-up is counted by a write), and
any request that carries a session token (an officer who has just changed a team sees the
change on the public card at once). /healthz asks the primary: a load balancer must learn
when writes cannot be served.

How: `db.session` is a RoutingSession (portal/extensions.py) whose get_bind hands out the
reader engine when the request is such a public read, so feature code keeps using db.session
unchanged, and a per-worker index loaded through db.session during a look-up reads from the
replica too. A write inside such a request (an INSERT/UPDATE/DELETE, a flush, SELECT … FOR
UPDATE) still goes to the primary. The choice is made at the first statement, not before the
request: a look-up served from memory costs nothing here.

Failures: the reader engine connects to the replica, and when the replica does not answer it
connects to the primary instead (the look-up keeps working while the replica is down); such a
stand-in connection is dropped after FALLBACK_SECONDS so that the replica is tried again. When
the primary is down, public reads keep coming from the replica, and writes answer 503 with
Retry-After (portal/errors.py). Both down: 503.
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request, session
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)

# endpoints that only read, open to everyone; "lookup." is the whole citizens' look-up
PUBLIC_READS = frozenset({"tips.form", "tips.where"})
PUBLIC_PREFIXES = ("lookup.",)
READ_METHODS = frozenset({"GET", "HEAD"})

CONNECT_TIMEOUT = 2  # seconds: a replica that does not answer costs a request at most this
FALLBACK_SECONDS = 10  # a stand-in connection to the primary is kept this long
RECYCLE_SECONDS = 300


def reader(app: Flask | None = None) -> sa.Engine | None:
    """The engine public reads use, or None without a replica."""
    app = app or current_app
    return app.extensions.get("portal_replica")


def public_read() -> bool:
    """Whether this request may be served from the replica (see the module's docstring)."""
    if request.method not in READ_METHODS:
        return False
    endpoint = request.endpoint or ""
    if endpoint not in PUBLIC_READS and not endpoint.startswith(PUBLIC_PREFIXES):
        return False
    from portal.auth.sessions import COOKIE_KEY

    return session.get(COOKIE_KEY) is None


def _wants_reader() -> bool:
    if not has_request_context():
        return False
    chosen = g.get("_db_reader")
    if chosen is None:
        chosen = g._db_reader = reader() is not None and public_read()
    return chosen


def _writes(clause) -> bool:
    if isinstance(clause, sa.sql.dml.UpdateBase):
        return True
    return getattr(clause, "_for_update_arg", None) is not None


class RoutingSession(FlaskSession):
    """Flask-SQLAlchemy's session, sending a public request's reads to the replica."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and not self._flushing and not _writes(clause) and _wants_reader():
            return reader()
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def make_reader(replica_url: str, primary_url: str) -> sa.Engine:
    """An engine on the replica that falls back to the primary when the replica is down."""
    engine = sa.create_engine(
        replica_url,
        pool_pre_ping=True,
        pool_recycle=RECYCLE_SECONDS,
        connect_args={"connect_timeout": CONNECT_TIMEOUT},
    )
    fallback_args, fallback_params = engine.dialect.create_connect_args(sa.make_url(primary_url))
    fallback_params.setdefault("connect_timeout", CONNECT_TIMEOUT)

    @event.listens_for(engine, "do_connect")
    def replica_or_primary(dialect, record, cargs, cparams):
        record.info.pop("fallback", None)
        try:
            return dialect.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.OperationalError as exc:
            log.warning("replica unavailable, public reads use the primary: %s", exc)
            record.info["fallback"] = True
            return dialect.connect(*fallback_args, **fallback_params)

    @event.listens_for(engine, "checkout")
    def retry_replica(dbapi_connection, record, proxy):
        if record.info.get("fallback") and time.time() - record.starttime > FALLBACK_SECONDS:
            # the pool connects afresh, trying the replica first
            raise sa_exc.DisconnectionError("trying the replica again")

    return engine


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_REPLICA_URL")
    if not url:
        return
    app.extensions["portal_replica"] = make_reader(url, app.config["SQLALCHEMY_DATABASE_URI"])
