"""The review pages: the review of a place and period (one URL for the page and its fragment)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.downloads import attachment, csv_text
from portal.errors import FormInvalid
from portal.extensions import htmx
from portal.i18n import thousands
from portal.incidents import kinds
from portal.review import emulation as emulation_service
from portal.review import exports, maps, periods, review_charts, services
from portal.security import protect_blueprint
from portal.web import form_id, id_arg, page_arg, see

bp = Blueprint("review", __name__, url_prefix="/review")
protect_blueprint(bp)


@bp.get("/")
def index():
    # "Toàn thành phố" chosen in the form: the team left selected below it no longer applies
    team_id = None if request.args.get("commune") == "" else id_arg("team")
    if htmx and htmx.target == "review-map":  # another figure on the map: the map alone
        section = maps.fragment(request.args, id_arg("commune"), team_id)
        return render_template("review/_map.html", map_section=section, **HELPERS)
    result = services.page(request.args, id_arg("commune"), team_id)
    section = maps.for_page(result, request.args.get("figure"))
    template = "review/_fragment.html" if htmx and htmx.target == "review" else "review/page.html"
    return render_template(template, page=result, map_section=section, **HELPERS)


# what the review's templates format figures with
HELPERS = {
    "figure_label": services.figure_label,
    "format_figure": services.format_figure,
    "format_delta": services.format_delta,
    "format_percent": services.format_percent,
    "decimal": services.decimal,
    "thousands": thousands,
    "period_kind_label": periods.kind_label,
    "source_label": kinds.source_label,
    "unit_figures": services.UNIT_FIGURES,
    "unit_cells": services.unit_cells,
    # issue 15: review charts, each above its table
    "month_charts": review_charts.month_charts,
    "kind_charts": review_charts.kind_charts,
    "unit_chart": review_charts.unit_chart,
    "review_map_assets": maps.assets,
}


# --- issue 15: exports ---


@bp.get("/<table>.csv")
def table_csv(table: str):
    return exports.csv_download(request.args, id_arg("commune"), id_arg("team"), table)


@bp.post("/xlsx")
def xlsx():
    """The whole review as XLSX: a job, whose page offers the file once it is made."""
    job = exports.start_xlsx(request.form, form_id("commune"), form_id("team"))
    return see("jobs.show", job_id=job.id)


@bp.get("/print")
def print_report():
    report = exports.report(request.args, id_arg("commune"), id_arg("team"))
    return render_template(
        "review/print.html",
        report=report,
        r=report.review,
        cell=exports.cell_text,
        date_line=exports.date_line(report),
        **HELPERS,
    )


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
