"""The planner's coverage page: a map coloured by status and the problems, largest first, all
read from the figures stored per commune (portal.coverage.services)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from portal.coverage import services
from portal.downloads import attachment
from portal.extensions import htmx
from portal.security import protect_blueprint
from portal.web import id_arg, page_arg

bp = Blueprint("coverage", __name__, url_prefix="/coverage")
protect_blueprint(bp)


def context(result: services.Overview, commune_id: int | None) -> dict:
    """What the page and its fragments need besides the overview."""
    return {
        "result": result,
        "problems": result.problems,
        "kind": result.kind,
        "only": result.only,
        "commune_id": commune_id,
        "kinds": services.KINDS,
        "kind_labels": {k: services.kind_label(k) for k in services.KINDS},
        "legend": services.legend(result.city),
    }


def _render(commune_id: int | None):
    target = htmx.target if htmx else None
    if target == "coverage-status":  # the banner asking whether the refresh is over
        result = services.status(commune_id)
        return render_template("coverage/_status.html", polled=True, **context(result, commune_id))
    kind = request.args.get("kind", "")
    kind = kind if kind in services.KINDS else ""
    result = services.overview(commune_id, kind, id_arg("commune"), page_arg())
    if target == "problem-list":
        return render_template("coverage/_problems.html", **context(result, commune_id))
    return render_template(
        "coverage/page.html", map=services.overview_map(result), **context(result, commune_id)
    )


@bp.get("/")
def city():
    return _render(None)


@bp.get("/<int:commune_id>")
def commune(commune_id: int):
    return _render(commune_id)


@bp.get("/<int:commune_id>/villages.json")
def villages(commune_id: int):
    """The commune's villages for the city map, loaded when it is zoomed in on the commune."""
    body = services.commune_villages(commune_id)
    return current_app.response_class(body, mimetype="application/geo+json")


@bp.get("/problems.csv")
def problems_csv():
    body = services.problems_csv(id_arg("commune_id"))
    return attachment(body, "text/csv", "van-de-phu-kin.csv")


@bp.get("/gaps.geojson")
def gaps_geojson():
    body = services.gaps_geojson(id_arg("commune_id"))
    return attachment(body, "application/geo+json", "dat-chua-thuoc-thon.geojson")
