"""Staff pages of incidents and tips: the queue, an item and its triage steps, team incidents."""

from __future__ import annotations

from flask import Blueprint

from portal.incidents import kinds
from portal.security import protect_blueprint

bp = Blueprint("incidents", __name__, url_prefix="/incidents")
protect_blueprint(bp)
bp.add_app_template_global(kinds.kind_label, "incident_kind_label")
bp.add_app_template_global(kinds.status_label, "incident_status_label")
bp.add_app_template_global(kinds.source_label, "incident_source_label")


from portal.incidents import map_views  # noqa: E402, F401  (the maps' routes, same blueprint)
