"""The planner's coverage page: a map coloured by status and the problems, largest first."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.coverage import services
from portal.downloads import attachment
from portal.extensions import htmx
from portal.pagination import Page
from portal.security import protect_blueprint
from portal.web import id_arg, page_arg

bp = Blueprint("coverage", __name__, url_prefix="/coverage")
protect_blueprint(bp)
PER_PAGE = 50


def _page(problems: list, number: int) -> Page:
    return Page(
        problems[(number - 1) * PER_PAGE : number * PER_PAGE], number, PER_PAGE, len(problems)
    )


def _render(commune_id: int | None):
    services.require_planner()
    kind = request.args.get("kind", "")
    kind = kind if kind in services.KINDS else ""
    only = id_arg("commune")
    fragment = bool(htmx and htmx.target == "problem-list")
    result = services.report(commune_id)
    problems = _page(services.filtered(result, kind, only), page_arg())
    context = {
        "result": result,
        "problems": problems,
        "kind": kind,
        "only": only,
        "commune_id": commune_id,
        "kinds": services.KINDS,
        "kind_labels": {k: services.kind_label(k) for k in services.KINDS},
    }
    if fragment:
        return render_template("coverage/_problems.html", **context)
    return render_template("coverage/page.html", map=services.report_map(result), **context)


@bp.get("/")
def city():
    return _render(None)


@bp.get("/<int:commune_id>")
def commune(commune_id: int):
    return _render(commune_id)


@bp.get("/problems.csv")
def problems_csv():
    services.require_planner()
    result = services.report(id_arg("commune_id"))
    return attachment(services.problems_csv(result), "text/csv", "van-de-phu-kin.csv")


@bp.get("/gaps.geojson")
def gaps_geojson():
    services.require_planner()
    result = services.report(id_arg("commune_id"))
    return attachment(
        services.gaps_geojson(result), "application/geo+json", "dat-chua-thuoc-thon.geojson"
    )
