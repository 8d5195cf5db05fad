"""The team leader's week and the planners' view of it: routes, the patrol log, tracks, maps."""

from __future__ import annotations

from flask import Blueprint

from portal.security import protect_blueprint

bp = Blueprint("patrols", __name__, url_prefix="/patrols")
protect_blueprint(bp)


# --- GPS tracks (portal.patrols.tracks) -------------------------------------------------------
