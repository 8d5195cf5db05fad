"""The maps of incidents and tips: a commune's items clustered, the city's as a heat map or
counts per village, filtered through HTMX."""

from __future__ import annotations

from flask import render_template, request, url_for

from portal.extensions import htmx
from portal.incidents import maps
from portal.incidents.views import bp
from portal.models import TEAM_KINDS, TIP_KINDS, Source, Status
from portal.security import current_scope

_ANY_ID = 987654321  # stands for an item's id while building the pattern of its URL


def item_url() -> str:
    """An item's page with "{id}" for its id."""
    return url_for("incidents.item", incident_id=_ANY_ID).replace(str(_ANY_ID), "{id}")


@bp.get("/map", endpoint="map")
def incident_map():
    page = maps.map_page(current_scope(), request.args, item_url())
    context = {
        "page": page,
        "tip_kinds": TIP_KINDS,
        "team_kinds": TEAM_KINDS,
        "statuses": Status.ALL,
        "sources": Source.ALL,
    }
    if htmx and htmx.target == "incident-map":
        return render_template("incidents/_map_section.html", **context)
    return render_template("incidents/map.html", **context)
