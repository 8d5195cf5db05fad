"""The queue beneath the jobs: procrastinate on the portal's own PostgreSQL (no other server).

procrastinate only carries "run job N" to a worker, with its heartbeats and retries; what the
job is, its progress and its outcome live in portal.models.Job.
"""

from __future__ import annotations

import threading

import procrastinate
import psycopg_pool
from flask import Flask, current_app
from sqlalchemy.engine import make_url

TASK = "portal.run_job"
# issue 18: the retention job (portal.retention), every night at 02:17 in Vietnam. procrastinate
# reads cron in UTC, and Vietnam is UTC+7 all year (no summer time), so 19:17 UTC.
PURGE_TASK = "portal.purge_personal_data"
PURGE_CRON = "17 19 * * *"
PURGE_PERIODIC_ID = "nightly"
_flask_app: Flask | None = None  # the app a worker runs jobs in (set by portal.jobs.worker)
_open_lock = threading.Lock()


def conninfo(app: Flask) -> str:
    """libpq's form of the portal's database URL (the portal's own role, never the owner)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    # as the portal's own engine: a server that does not answer fails in seconds (config.py)
    timeout = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {}).get("connect_timeout")
    if timeout and "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": str(timeout)})
    return url.render_as_string(hide_password=False)


def init_app(app: Flask) -> None:
    queue = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(app), min_size=1, max_size=3)
    )
    # a task per procrastinate app: a task object remembers the one app it belongs to, so
    # one shared between apps (tests make several) would defer into the last one's database
    queue.task(name=TASK, pass_context=False)(run_job)
    # deferred by the worker's periodic deferrer (started with every run_worker_async); the
    # database keeps two workers from deferring the same night twice
    queue.periodic(cron=PURGE_CRON, periodic_id=PURGE_PERIODIC_ID)(
        queue.task(name=PURGE_TASK, pass_context=False)(purge_personal_data)
    )
    app.extensions["procrastinate"] = queue


def queue_app(app: Flask | None = None) -> procrastinate.App:
    return (app or current_app).extensions["procrastinate"]


def defer(job_id: int) -> int:
    """Hand job `job_id` to a worker; procrastinate's job id."""
    queue = queue_app()
    with _open_lock:
        connector = queue.connector.get_sync_connector()
        if getattr(connector, "_pool", None) is None:
            # opened in the process that defers (after gunicorn forked), one connection a time
            queue.open(psycopg_pool.NullConnectionPool(conninfo(current_app), open=True))
    return queue.tasks[TASK].defer(job_id=job_id)


def run_job(job_id: int) -> None:
    """What the worker runs: the job, inside the portal's app."""
    from portal.jobs import runner

    with _flask_app.app_context():
        runner.execute(job_id)


def purge_personal_data(timestamp: int) -> None:
    """The nightly retention run (`timestamp`: the schedule's time, from procrastinate)."""
    from portal.retention import services

    with _flask_app.app_context():
        services.purge()
