"""The street layer's public endpoint: the lines of a map view as GeoJSON (no sign-in)."""

from __future__ import annotations

from flask import Blueprint, request

from portal.streets import services

bp = Blueprint("streets", __name__)


@bp.get("/ban-do/duong")
def features():
    """GET /ban-do/duong?bbox=minx,miny,maxx,maxy&z=16: the streets drawn in that view."""
    body, _count = services.features(request.args.get("bbox"), request.args.get("z"))
    headers = {
        "Content-Type": "application/geo+json",
        # the same for everyone (security.SHARED_FILES): browsers and proxies may keep it
        "Cache-Control": f"public, max-age={services.MAX_AGE}",
    }
    return body, 200, headers
