"""Teams within the user's scope: a list, and a team's page."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.extensions import htmx
from portal.security import protect_blueprint
from portal.teams import services
from portal.web import history_fragment, page_arg

bp = Blueprint("teams", __name__, url_prefix="/teams")
protect_blueprint(bp)
bp.add_app_template_global(services.role_label, "role_label")


@bp.get("/")
def index():
    q = request.args.get("q", "").strip()
    teams = services.list_teams(q, page_arg())
    if htmx and htmx.target == "team-list":
        return render_template("teams/_list.html", teams=teams, q=q)
    return render_template("teams/index.html", teams=teams, q=q)


@bp.get("/<int:team_id>")
def show(team_id: int):
    if htmx and htmx.target == "history":
        team, history = services.team_history(team_id, page_arg("history_page"))
        return history_fragment(history, "teams.show", team_id=team.id)
    return render_template(
        "teams/page.html", view=services.team_view(team_id, page_arg("history_page"))
    )
