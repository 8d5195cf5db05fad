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

Failures and lag: the reader engine connects to the replica, and when the replica does not
answer, or lags more than REPLICA_MAX_LAG_SECONDS (checked before each use, in place of
pool_pre_ping's SELECT 1), it connects to the primary instead: the look-up keeps working, and no
older than that bound. Such a stand-in is dropped after FALLBACK_SECONDS so that the replica is
tried again. When the primary is down, public reads keep coming from the replica (a lagging one
too: old answers beat none), and writes answer 503 with Retry-After (portal/errors.py). Both
down: 503.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

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


# Set by public_reads(): reads go to the replica whatever the request (or outside any request).
_public_block: ContextVar[bool] = ContextVar("portal_public_reads", default=False)


@contextmanager
def public_reads() -> Iterator[None]:
    """Reads in this block go where public requests read: the look-up index's generation checks
    and loads, made outside requests or for any request, must see no newer data than the cards
    they keep, which public requests read from the replica (portal/lookup/index.py)."""
    token = _public_block.set(True)
    try:
        yield
    finally:
        _public_block.reset(token)


def _wants_reader() -> bool:
    if _public_block.get():
        return reader() is not None
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


# How far behind the primary the replica's data is, in seconds: the age of the last transaction
# replayed, counted only while WAL that has arrived waits to be replayed (a long query on the
# replica holds replay back; an idle primary sends nothing, which is no lag). 0 on a primary.
LAG_SQL = (
    "SELECT CASE WHEN pg_is_in_recovery() AND pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()"
    " THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp()) ELSE 0 END"
)


def _lag(dbapi_connection) -> float:
    """The replica's lag; doubles as the ping before each use (pool_pre_ping's SELECT 1)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(LAG_SQL)
        return float(cursor.fetchone()[0] or 0)
    finally:
        cursor.close()


def _ping(dbapi_connection) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
    finally:
        cursor.close()


def make_reader(replica_url: str, primary_url: str, max_lag: float = 2.0) -> sa.Engine:
    """An engine on the replica that uses the primary instead while the replica does not answer
    or lags more than `max_lag` seconds (unless the primary does not answer either)."""
    engine = sa.create_engine(
        replica_url,
        pool_recycle=RECYCLE_SECONDS,
        hide_parameters=True,  # as the primary's engine (config.py): logged errors carry no values
        connect_args={"connect_timeout": CONNECT_TIMEOUT},
    )
    primary_args, primary_params = engine.dialect.create_connect_args(sa.make_url(primary_url))
    primary_params.setdefault("connect_timeout", CONNECT_TIMEOUT)
    dbapi = engine.dialect.loaded_dbapi

    def settle(record, how: str):
        """A second-best connection, kept FALLBACK_SECONDS before the replica is tried again."""
        record.info["second_best"] = how
        record.info["since"] = time.monotonic()

    @event.listens_for(engine, "do_connect")
    def replica_or_primary(dialect, record, cargs, cparams):
        record.info.pop("second_best", None)
        try:
            connection = dialect.connect(*cargs, **cparams)
        except dbapi.OperationalError as exc:
            log.warning("replica unavailable, public reads use the primary: %s", exc)
            settle(record, "primary")
            return dialect.connect(*primary_args, **primary_params)
        try:
            lag = _lag(connection)
            connection.rollback()
        except dbapi.Error:
            connection.close()
            raise
        if lag <= max_lag:
            return connection
        try:
            primary = dialect.connect(*primary_args, **primary_params)
        except dbapi.OperationalError:
            log.warning("replica %.1f s behind, and the primary does not answer: reading it", lag)
            settle(record, "lagging replica")
            return connection
        log.warning("replica %.1f s behind, public reads use the primary", lag)
        connection.close()
        settle(record, "primary")
        return primary

    @event.listens_for(engine, "checkout")
    def check(dbapi_connection, record, proxy):
        """Before each use: alive (as pool_pre_ping), and on the replica, not lagging."""
        try:
            if record.info.get("second_best"):
                if time.monotonic() - record.info["since"] > FALLBACK_SECONDS:
                    raise sa_exc.DisconnectionError("trying the replica again")
                _ping(dbapi_connection)
                return
            lag = _lag(dbapi_connection)
        except dbapi.Error as exc:
            raise sa_exc.DisconnectionError(str(exc)) from exc
        if lag > max_lag:  # the pool connects afresh: the primary, if it answers
            raise sa_exc.DisconnectionError(f"the replica is {lag:.1f} s behind")

    return engine


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_REPLICA_URL")
    if not url:
        return
    app.extensions["portal_replica"] = make_reader(
        url, app.config["SQLALCHEMY_DATABASE_URI"], app.config["REPLICA_MAX_LAG_SECONDS"]
    )
