"""The review pages: the review of a place and period (one URL for the page and its fragment)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.extensions import htmx
from portal.i18n import thousands
from portal.incidents import kinds
from portal.review import maps, periods, services
from portal.security import protect_blueprint
from portal.web import id_arg

bp = Blueprint("review", __name__, url_prefix="/review")
protect_blueprint(bp)


@bp.get("/")
def index():
    if htmx and htmx.target == "review-map":  # another figure on the map: the map alone
        section = maps.fragment(request.args, id_arg("commune"), id_arg("team"))
        return render_template("review/_map.html", map_section=section, **HELPERS)
    result = services.page(request.args, id_arg("commune"), id_arg("team"))
    section = maps.for_page(result, request.args.get("figure"))
    template = "review/_review.html" if htmx and htmx.target == "review" else "review/page.html"
    return render_template(template, page=result, map_section=section, **HELPERS)


# what the review's templates format figures with
HELPERS = {
    "figure_label": services.figure_label,
    "format_figure": services.format_figure,
    "format_delta": services.format_delta,
    "decimal": services.decimal,
    "thousands": thousands,
    "period_kind_label": periods.kind_label,
    "source_label": kinds.source_label,
    "unit_figures": services.UNIT_FIGURES,
    "review_map_assets": maps.assets,
}
