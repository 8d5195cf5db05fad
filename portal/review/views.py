"""The review pages: the review of a place and period (one URL for the page and its fragment)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.downloads import attachment, csv_text
from portal.errors import FormInvalid
from portal.extensions import htmx
from portal.i18n import thousands
from portal.incidents import kinds
from portal.review import emulation as emulation_service
from portal.review import periods, services
from portal.security import protect_blueprint
from portal.web import id_arg, page_arg, see

bp = Blueprint("review", __name__, url_prefix="/review")
protect_blueprint(bp)


@bp.get("/")
def index():
    result = services.page(request.args, id_arg("commune"), id_arg("team"))
    template = "review/_review.html" if htmx and htmx.target == "review" else "review/page.html"
    return render_template(template, page=result, **HELPERS)


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
}


# --- issue 15: emulation ranking ---
@bp.get("/emulation")
def emulation():
    result = emulation_service.page(request.args, id_arg("commune"), id_arg("team"), page_arg())
    fragment = htmx and htmx.target == "emulation"
    template = "review/_emulation.html" if fragment else "review/emulation.html"
    return render_template(template, page=result, **HELPERS, **EMULATION_HELPERS)


@bp.post("/emulation")
def emulation_weights():
    """The admin's new weights; the page again with the message beside a wrong one."""
    try:
        emulation_service.save_weights(request.form)
    except FormInvalid as error:
        result = emulation_service.page(request.args, id_arg("commune"), id_arg("team"), page_arg())
        result.weights, result.weight_errors = dict(request.form), error.fields
        body = render_template("review/emulation.html", page=result, **HELPERS, **EMULATION_HELPERS)
        return body, error.status
    return see("review.emulation", **request.args)


@bp.get("/emulation.csv")
def emulation_csv():
    result = emulation_service.page(request.args, id_arg("commune"), id_arg("team"))
    if result.ranking is None:
        raise FormInvalid(result.errors)
    header, rows = emulation_service.csv_rows(result.ranking)
    name = f"xep-hang-thi-dua_{result.ranking.period.slug}.csv"
    return attachment(csv_text(header, rows), "text/csv", name)


EMULATION_HELPERS = {
    "criterion_label": emulation_service.criterion_label,
    "format_value": emulation_service.format_value,
}
