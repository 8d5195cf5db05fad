"""/healthz (up or down, documented for the public), /livez and /readyz (for systemd and load
balancers), /metrics (for Prometheus; portal/metrics.py)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, request

from portal import config as config_module
from portal import metrics
from portal.errors import RETRY_AFTER_SECONDS
from portal.extensions import talisman
from portal.health import services
from portal.models import AccountRole
from portal.security import current_account, local_peer

bp = Blueprint("health", __name__)

# Probes and scrapes come over plain http to gunicorn itself (systemd, a load balancer,
# Prometheus on 127.0.0.1:5000): with PORTAL_HTTPS=1 they are answered, not sent to https.
PLAIN_HTTP = talisman(force_https=False)


def _detailed() -> bool:
    """Versions for a signed-in city admin, or for `?detail=1` asked on the machine itself.

    "The machine itself" is a loopback peer with no proxy in between: with PROXY_HOPS set, the
    address is what a proxy says, so no request counts as local then.
    """
    account = current_account()
    if account is not None and account.role == AccountRole.ADMIN:
        return True
    return request.args.get("detail") == "1" and local_peer()


@bp.get("/healthz")
@PLAIN_HTTP
def healthz():
    """The public learns only up or down."""
    try:
        return jsonify(services.check(detail=_detailed()))
    except services.DatabaseDown:
        current_app.logger.warning("healthz: the database does not answer")
        # as every other answer while the database is away (portal.errors.unavailable)
        return jsonify({"status": "error"}), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


@bp.get("/livez")
@PLAIN_HTTP
def livez():
    """The process answers requests; the database is not asked (a restart would not help it)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@PLAIN_HTTP
def readyz():
    """Ready for traffic: the database answers, its schema is the migrations' head, and a job
    worker is alive. 503 names the check that failed; no versions."""
    checks = services.readiness(
        str(config_module.ROOT / "migrations"), current_app.config["JOBS_STALLED_SECONDS"]
    )
    if all(word == "ok" for word in checks.values()):
        return jsonify({"status": "ok", "checks": checks})
    failed = ", ".join(name for name, word in checks.items() if word != "ok")
    current_app.logger.warning("readyz: not ready (%s)", failed)
    return (
        jsonify({"status": "error", "checks": checks}),
        503,
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


@bp.get("/metrics")
@PLAIN_HTTP
def prometheus():
    """Prometheus's scrape; nothing here for anyone but the machine itself or the token."""
    if not metrics.allowed():
        abort(404)
    return metrics.exposition()
