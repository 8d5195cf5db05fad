"""The monthly duty sheets of a team and of a commune: a page, and CSV/XLSX to sign."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import Blueprint, Response, render_template, request

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


def _writer(fmt: str) -> Callable[[services.DutySheet], Response]:
    """The file maker of a format; another format is no such file."""
    if fmt not in DOWNLOADS:
        raise NotFound(_(MESSAGES[404]))
    return DOWNLOADS[fmt]


def _month() -> date:
    """The ?month=YYYY-MM asked for (this month when absent; a 400 naming it when bad)."""
    return services.parse_month(request.args.get("month"))


@bp.get("/teams/<int:team_id>")
def team(team_id: int):
    sheet = services.team_sheet(team_id, _month())
    return render_template("duty/page.html", sheet=sheet)


@bp.get("/teams/<int:team_id>.<fmt>")
def team_file(team_id: int, fmt: str):
    write = _writer(fmt)
    return write(services.team_sheet(team_id, _month()))


@bp.get("/communes/<int:commune_id>")
def commune(commune_id: int):
    sheet = services.commune_sheet(commune_id, _month())
    return render_template("duty/page.html", sheet=sheet)


@bp.get("/communes/<int:commune_id>.<fmt>")
def commune_file(commune_id: int, fmt: str):
    write = _writer(fmt)
    return write(services.commune_sheet(commune_id, _month()))
