"""Prometheus metrics at /metrics: requests, the database pool, the jobs.

Requests are counted by prometheus_flask_exporter, grouped by URL rule (so a receipt code or an
id never becomes a label, and the number of series stays bounded): `portal_http_request_duration_
seconds` (a histogram by method, route and status) and `portal_http_request_total`. The pool's
use is kept by each process as its connections are checked out and in. The jobs' figures are
read from the database when Prometheus scrapes, with a short statement timeout; a scrape still
answers when the database does not (`portal_database_up 0`).

Under gunicorn (deploy/gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR) each worker writes its
figures to that folder and a scrape, whichever worker answers it, reads them all: the pool's
figures are summed over the live workers.

Who may read them: a request on the machine itself (loopback, no proxy in between, as for
/healthz's versions), or one with `Authorization: Bearer $PORTAL_METRICS_TOKEN`. Anyone else is
told there is nothing here (404).
"""

from __future__ import annotations

import hmac
import logging
import os

from flask import Flask, Response, current_app
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_flask_exporter import PrometheusMetrics
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import MethodNotAllowed, NotFound

from portal.extensions import db
from portal.security import bearer_credentials, local_peer

log = logging.getLogger(__name__)
EXTENSION = "portal.metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# scrapes are not the users' requests, refused ones (a 400 before the view runs) neither
NOT_COUNTED = [r"^/metrics$"]


def multiprocess_dir() -> str | None:
    """The folder gunicorn's workers share their figures in, when there is one."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return folder if folder and os.path.isdir(folder) else None


def route(req) -> str:
    """The label a request is counted under: its URL rule, never its path."""
    rule = req.url_rule
    return rule.rule if rule is not None else "none"


class JobsCollector:
    """The jobs' queue, failures and worker heartbeat, read from the database at scrape time."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        from portal.health import services

        up = GaugeMetricFamily("portal_database_up", "1 when the database answered this scrape.")
        try:
            figures = services.job_figures()
        except SQLAlchemyError as exc:
            log.warning("metrics: the database does not answer: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        active = GaugeMetricFamily(
            "portal_jobs", "Jobs waiting (queued) or running, by kind.", labels=["kind", "status"]
        )
        for (kind, status), n in sorted(figures.active.items()):
            active.add_metric([kind, status], n)
        yield active
        queue = GaugeMetricFamily(
            "portal_job_queue",
            "Hand-overs in the queue to the worker (procrastinate): todo, doing.",
            labels=["status"],
        )
        for status in ("todo", "doing"):
            queue.add_metric([status], figures.queue.get(status, 0))
        yield queue
        failed = GaugeMetricFamily(
            "portal_jobs_failed", "Failed jobs kept in the database, by kind.", labels=["kind"]
        )
        recent = GaugeMetricFamily(
            "portal_jobs_failed_last_day", "Jobs failed in the last 24 hours.", labels=["kind"]
        )
        for kind in sorted(figures.failed):
            failed.add_metric([kind], figures.failed[kind])
            recent.add_metric([kind], figures.failed_last_day[kind])
        yield failed
        yield recent
        age = figures.heartbeat_age
        yield GaugeMetricFamily(
            "portal_jobs_worker_heartbeat_age_seconds",
            "Seconds since a job worker's last heartbeat (+Inf: no worker has one).",
            value=float("inf") if age is None else age,
        )


def _watch_pool(app: Flask, registry: CollectorRegistry | None) -> None:
    """Gauges of this process's pool, kept as connections are checked out and in."""
    checked_out = Gauge(
        "portal_db_pool_checked_out",
        "Database connections in use (summed over gunicorn's workers).",
        registry=registry,
        multiprocess_mode="livesum",
    )
    size = Gauge(
        "portal_db_pool_size",
        "Connections each pool keeps (summed over gunicorn's workers).",
        registry=registry,
        multiprocess_mode="livesum",
    )
    with app.app_context():
        engine = db.engine
    pool_size = getattr(engine.pool, "size", None)
    size.set(pool_size() if callable(pool_size) else 0)
    event.listen(engine, "checkout", lambda *_args: checked_out.inc())
    event.listen(engine, "checkin", lambda *_args: checked_out.dec())


# HTTP's own methods (RFC 9110, and PATCH), a bounded set of labels, which Flask answers (405 to
# the ones a route does not take). Any other word would become a label of its own.
METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


class KnownMethods:
    """Any other method is answered as Flask would (405 with the path's Allow, or 404), but
    before Flask and its counters see the request."""

    def __init__(self, app: Flask, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") not in METHODS:
            allowed = self.app.url_map.bind_to_environ(environ).allowed_methods()
            refusal = MethodNotAllowed(valid_methods=allowed) if allowed else NotFound()
            return refusal(environ, start_response)
        return self.wsgi_app(environ, start_response)


def init_app(app: Flask) -> None:
    app.wsgi_app = KnownMethods(app, app.wsgi_app)
    if multiprocess_dir():
        from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

        exporter = GunicornInternalPrometheusMetrics.for_app_factory(
            group_by=route, defaults_prefix="portal", excluded_paths=NOT_COUNTED
        )
        exporter.path = None  # served by our own view (who may read it, and the jobs' figures)
        registry = None  # the figures go to the shared folder, read by MultiProcessCollector
    else:
        # a registry per app: the tests make many apps in one process
        registry = CollectorRegistry()
        exporter = PrometheusMetrics.for_app_factory(
            path=None,
            group_by=route,
            defaults_prefix="portal",
            registry=registry,
            excluded_paths=NOT_COUNTED,
        )
        registry.register(JobsCollector(app))
    exporter.init_app(app)
    _watch_pool(app, registry)
    app.extensions[EXTENSION] = registry


def allowed() -> bool:
    """A loopback peer with no proxy in between, or the operator's bearer token."""
    given = bearer_credentials()
    if given is None:
        return local_peer()
    token = current_app.config.get("METRICS_TOKEN")
    return bool(token and given and hmac.compare_digest(given.encode(), token.encode()))


def exposition() -> Response:
    """The figures in Prometheus's text format."""
    registry = current_app.extensions[EXTENSION]
    if registry is None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(JobsCollector(current_app))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE)
