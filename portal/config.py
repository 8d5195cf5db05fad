"""Configuration from the environment: nothing secret is hard-coded."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# per-clone state made by scripts/setup.sh, ignored by git; PORTAL_LOCAL names another (a second
# cluster of one's own, as the fault tests make: scripts/pg.sh)
LOCAL = Path(os.environ.get("PORTAL_LOCAL") or ROOT / ".local")


# The project's own cluster has three roles, each with its password in .local/ (scripts/pg.sh,
# portal/dbsetup.py): the bootstrap superuser, used by set-up only; the owner of the schema, as
# which migrations run; and the role the portal connects as, with only the grants it needs.
DB_ROLES = {
    "admin": ("portal", "pg.password"),
    "owner": ("portal_owner", "pg.owner.password"),
    "app": ("portal_app", "pg.app.password"),
}


def local_database_url(name: str | None = None, role: str = "app") -> str | None:
    """The URL of the project's own cluster (scripts/pg.sh) as one of its roles, if set-up has
    created it."""
    user, file_name = DB_ROLES[role]
    try:
        password = (LOCAL / file_name).read_text().strip()
    except (FileNotFoundError, PermissionError):
        # not made yet, or not ours: the portal's service user reads the app role's only
        return None
    port_file = LOCAL / "pg.port"
    port = port_file.read_text().strip() if port_file.exists() else "54329"
    name = name or os.environ.get("PORTAL_DBNAME", "antt_portal")
    return f"postgresql+psycopg://{user}:{password}@127.0.0.1:{port}/{name}"


def local_replica_url(name: str | None = None) -> str | None:
    """The streaming replica `scripts/pg.sh replica start` made beside the project's cluster,
    as the portal's role (a physical copy: same roles, same passwords), if there is one."""
    primary = local_database_url(name)
    try:
        port = (LOCAL / "pg.replica.port").read_text().strip()
    except OSError:  # none made (or not ours to read)
        return None
    if primary is None:
        return None
    head, _port_and_name = primary.rsplit(":", 1)
    return f"{head}:{port}/{primary.rsplit('/', 1)[1]}"


def replica_url(env: str, overrides: dict) -> str | None:
    """Where public reads go (portal/replica.py): DATABASE_REPLICA_URL (set empty: none), else
    the project's own replica when the portal runs on the project's own cluster. Never found by
    itself in tests, which read what they have just written."""
    if "DATABASE_REPLICA_URL" in overrides:
        return overrides["DATABASE_REPLICA_URL"] or None
    if "DATABASE_REPLICA_URL" in os.environ:
        return os.environ["DATABASE_REPLICA_URL"] or None
    if env == "testing" or os.environ.get("DATABASE_URL") or "SQLALCHEMY_DATABASE_URI" in overrides:
        return None
    return local_replica_url()


def connect_timeout() -> int:
    """Seconds a connection to PostgreSQL may take to open (PORTAL_DB_CONNECT_TIMEOUT)."""
    return int(os.environ.get("PORTAL_DB_CONNECT_TIMEOUT", "5"))


ENVIRONMENTS = ("development", "testing", "demo", "production")


def environment() -> str:
    """development, testing, demo or production; `flask run --debug` counts as development.

    demo (`make run`) is production in everything but one: it may hold the demo's accounts,
    whose passwords are published (portal.demo.guard)."""
    env = os.environ.get("PORTAL_ENV")
    if env:
        return env
    return "development" if os.environ.get("FLASK_DEBUG") == "1" else "production"


def _secret_key(env: str) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    # set-up writes one random key per clone so that all gunicorn workers share it
    key_file = LOCAL / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    if env in ("development", "testing"):
        return secrets.token_hex(32)
    raise RuntimeError("SECRET_KEY must be set outside development and tests")


def retention_months(value) -> int:
    """The months reporters' contacts are kept (PORTAL_CONTACT_RETENTION_MONTHS): a whole number,
    1 or more; anything else stops the start with a message, as deleting contacts at once or
    never would both break the rule the city set."""
    text = str(value).strip()
    months = int(text) if text.isascii() and text.isdigit() else 0
    if months < 1:
        raise RuntimeError(
            f"PORTAL_CONTACT_RETENTION_MONTHS must be a whole number of months, 1 or more"
            f" (it is {text!r}); unset it for the default of 12"
        )
    return months


def load(overrides: dict | None = None) -> dict:
    """Build the app's configuration; `overrides` (tests) win over the environment."""
    overrides = overrides or {}
    env = overrides.get("PORTAL_ENV") or environment()
    if env not in ENVIRONMENTS:  # a typo must not slip past production's checks
        raise RuntimeError(f"PORTAL_ENV is {env!r}: one of {', '.join(ENVIRONMENTS)}")
    database_url = (
        overrides.get("SQLALCHEMY_DATABASE_URI")
        or os.environ.get("DATABASE_URL")
        or local_database_url()
    )
    if not database_url:
        raise RuntimeError("DATABASE_URL is not set and scripts/setup.sh has not made a database")
    # Migrations run as the schema's owner; the portal itself never does (see dbsetup.grant_app).
    migration_url = (
        overrides.get("MIGRATION_DATABASE_URI")
        or os.environ.get("DATABASE_OWNER_URL")
        or (None if os.environ.get("DATABASE_URL") else local_database_url(role="owner"))
        or database_url
    )
    config = {
        "PORTAL_ENV": env,
        "TESTING": env == "testing",
        "SECRET_KEY": overrides.get("SECRET_KEY") or _secret_key(env),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MIGRATION_DATABASE_URI": migration_url,
        # issue 16: a streaming replica the public look-up reads from (portal/replica.py)
        "DATABASE_REPLICA_URL": replica_url(env, overrides),
        # a replica further behind than this is not read while the primary answers
        "REPLICA_MAX_LAG_SECONDS": float(os.environ.get("PORTAL_REPLICA_MAX_LAG", "2")),
        # pre-ping: a pooled connection PostgreSQL dropped (a restart) is found and replaced
        # before use; connect_timeout: a server that accepts but does not answer (stopped,
        # overloaded, a network black hole) costs a request seconds and a 503, not a worker
        # hide_parameters: a failed statement's error (logged) never carries its values, which
        # may be a reporter's contact, a name or a password's hash (issue 18)
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": True,
            "hide_parameters": True,
            "connect_args": {"connect_timeout": connect_timeout()},
        },
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("PORTAL_HTTPS") == "1",
        # Tiles are off by default: the portal runs on closed networks, so the map background is
        # plain; set MAP_TILE_URL (and MAP_TILE_ATTRIBUTION) to a tile server you run yourselves.
        "MAP_TILE_URL": os.environ.get("MAP_TILE_URL") or None,
        "MAP_TILE_ATTRIBUTION": os.environ.get("MAP_TILE_ATTRIBUTION", ""),
        "SHARED_DATA_DIR": Path(
            os.environ.get("PORTAL_SHARED_DATA", ROOT.parent / "shared" / "data")
        ),
        "PAGE_SIZE": 50,
        # uploads beyond this are refused before they are read (geo.readers has the finer limits)
        "MAX_CONTENT_LENGTH": 55 * 1024 * 1024,
        # an upload's reader (in the worker's job, never in a request) stops after this long
        "UPLOAD_READ_SECONDS": int(os.environ.get("PORTAL_UPLOAD_READ_SECONDS", "120")),
        # a GPS track up to this size is read during the request (still in geo.sandbox's child,
        # within TRACK_READ_SECONDS); a larger one as a job (geo.tracks.Limits has the limits)
        "TRACK_INLINE_BYTES": 256 * 1024,
        "TRACK_READ_SECONDS": 20,
        # Long work runs as jobs in the worker (portal/jobs). Tests run them inline, in the
        # test's own transaction, unless they start a worker (PORTAL_JOBS_INLINE=0).
        "JOBS_INLINE": os.environ.get("PORTAL_JOBS_INLINE", "1" if env == "testing" else "0")
        == "1",
        "JOBS_HEARTBEAT_SECONDS": float(os.environ.get("PORTAL_JOBS_HEARTBEAT", "10")),
        # a worker silent this long is taken for dead, and its job is run again or failed
        "JOBS_STALLED_SECONDS": float(os.environ.get("PORTAL_JOBS_STALLED", "30")),
        "JOBS_SWEEP_SECONDS": float(os.environ.get("PORTAL_JOBS_SWEEP", "15")),
        "JOBS_MAX_ATTEMPTS": 2,
        "JOBS_MAX_PENDING": 4,  # jobs one account may have waiting or running at a time
        "JOBS_KEEP_FILES_DAYS": 7,  # an export's file, for its owner to download
        "JOBS_STEP_DELAY": float(os.environ.get("PORTAL_JOBS_STEP_DELAY", "0")),  # tests only
        "IDLE_TIMEOUT_MINUTES": int(os.environ.get("PORTAL_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": 12,  # a session ends after this even when in use
        # failed sign-ins allowed in the window before the account name or address is refused
        "LOGIN_WINDOW_MINUTES": 15,
        "LOGIN_MAX_PER_ACCOUNT": 5,
        "LOGIN_MAX_PER_ADDRESS": 30,
        # citizens' tips: how many one address (IPv6 by its /64) or one device may send, counted
        # on keyed hashes kept a day (portal.tips.limits)
        "TIP_MAX_PER_HOUR": 5,
        "TIP_MAX_PER_DAY": 20,
        # status look-ups by receipt code per address an hour: enough to check, too few to guess
        "TIP_STATUS_PER_HOUR": 60,
        # issue 18: a reporter's contact is kept this many months after the tip came, then
        # deleted by the nightly retention job (portal.retention); the law or the city sets it
        "CONTACT_RETENTION_MONTHS": os.environ.get("PORTAL_CONTACT_RETENTION_MONTHS", "12"),
        "PROXY_HOPS": int(os.environ.get("PORTAL_PROXY_HOPS", "0")),
        # /metrics for a Prometheus on another machine: `Authorization: Bearer <this>`
        # (portal/metrics.py); without it only the machine itself may read them
        "METRICS_TOKEN": os.environ.get("PORTAL_METRICS_TOKEN") or None,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # The public look-up keeps each area's card this long in each worker: teams change by
        # decisions, not by the minute, and a card costs two queries. 0 turns it off (tests).
        "LOOKUP_CARD_SECONDS": 0 if env == "testing" else 60,
        # issue 16: each worker answers look-ups from an in-memory index of the areas' parts
        # and pre-rendered answers, refreshed within a second of a change (portal.lookup.index,
        # portal.lookup.fast); 0 is today's path, the database for every look-up. Off in tests
        # (their rolled-back transactions never commit a generation); tests switch it on.
        "LOOKUP_INDEX": os.environ.get("PORTAL_LOOKUP_INDEX", "0" if env == "testing" else "1")
        == "1",
        # past this many vertices a worker keeps no index: the database answers instead. 12
        # million: twice the national benchmark's, whose index held 232 MB a worker with the
        # kept answers (bench/bench_lookup.py).
        "LOOKUP_INDEX_MAX_VERTICES": int(
            os.environ.get("PORTAL_LOOKUP_INDEX_MAX_VERTICES", "12000000")
        ),
    }
    config.update(overrides)
    config["CONTACT_RETENTION_MONTHS"] = retention_months(config["CONTACT_RETENTION_MONTHS"])
    return config
