"""Teams within the user's scope: a list, and a team's page."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.extensions import htmx
from portal.security import protect_blueprint
from portal.teams import services

bp = Blueprint("teams", __name__, url_prefix="/teams")
protect_blueprint(bp)
bp.add_app_template_global(services.role_label, "role_label")


def _page_arg(name: str = "page") -> int:
    return max(request.args.get(name, 1, type=int) or 1, 1)


@bp.get("/")
def index():
    q = request.args.get("q", "").strip()
    teams = services.list_teams(q, _page_arg())
    if htmx and htmx.target == "team-list":
        return render_template("teams/_list.html", teams=teams, q=q)
    return render_template("teams/index.html", teams=teams, q=q)


@bp.get("/<int:team_id>")
def show(team_id: int):
    if htmx and htmx.target == "history":
        team, history = services.team_history(team_id, _page_arg("history_page"))
        return render_template(
            "audit/_history.html", history=history, endpoint="teams.show", args={"team_id": team.id}
        )
    return render_template(
        "teams/page.html", view=services.team_view(team_id, _page_arg("history_page"))
    )
