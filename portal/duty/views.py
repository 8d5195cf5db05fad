"""The monthly duty sheets of a team and of a commune: a page, and CSV/XLSX to sign."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.duty import services, sheets
from portal.errors import MESSAGES, NotFound
from portal.i18n import _
from portal.security import protect_blueprint

bp = Blueprint("duty", __name__, url_prefix="/duty")
protect_blueprint(bp)
bp.add_app_template_global(services.hours_text, "duty_hours")

# A month's sheet is small (a team's few members, a commune's few hundred): the files are built
# in the request and sent at once, not as a job.
DOWNLOADS = {"csv": sheets.csv_download, "xlsx": sheets.xlsx_download}


def _download(sheet, fmt: str):
    if fmt not in DOWNLOADS:
        raise NotFound(_(MESSAGES[404]))
    return DOWNLOADS[fmt](sheet)


@bp.get("/teams/<int:team_id>")
def team(team_id: int):
    sheet = services.team_sheet(team_id, services.parse_month(request.args.get("month")))
    return render_template("duty/page.html", sheet=sheet)


@bp.get("/teams/<int:team_id>/<month>.<fmt>")
def team_file(team_id: int, month: str, fmt: str):
    return _download(services.team_sheet(team_id, services.parse_month(month)), fmt)


@bp.get("/communes/<int:commune_id>")
def commune(commune_id: int):
    sheet = services.commune_sheet(commune_id, services.parse_month(request.args.get("month")))
    return render_template("duty/page.html", sheet=sheet)


@bp.get("/communes/<int:commune_id>/<month>.<fmt>")
def commune_file(commune_id: int, month: str, fmt: str):
    return _download(services.commune_sheet(commune_id, services.parse_month(month)), fmt)
