"""Vector tiles of the villages (portal.tiles.services): /tiles/<layer>/<z>/<x>/<y>.pbf."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from portal.security import protect_blueprint
from portal.tiles import services

bp = Blueprint("tiles", __name__, url_prefix="/tiles")
protect_blueprint(bp)

MVT = "application/vnd.mapbox-vector-tile"


@bp.get("/<layer>/<int:z>/<int:x>/<int:y>.pbf")
def tile(layer: str, z: int, x: int, y: int):
    known = tuple(request.if_none_match.as_set(include_weak=True))
    found = services.tile(layer, z, x, y, request.args, known)
    response = current_app.response_class(found.body or b"", mimetype=MVT)
    if found.body is None:
        response.status_code = 304
    elif not found.body:
        response.status_code = 204
    response.set_etag(found.etag, weak=True)  # weak: compression keeps it as it is
    # kept by this reader's browser only, and always asked again (a 304 when unchanged)
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Cookie")
    return response
