from __future__ import annotations

from flask import Blueprint, jsonify

from portal.health import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        return jsonify(services.versions())
    except services.DatabaseDown as exc:
        return jsonify({"status": "error", "error": exc.message}), 503
