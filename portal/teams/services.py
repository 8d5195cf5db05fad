"""Reading teams within the user's scope."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import defer

from portal import audit
from portal.errors import NotFound
from portal.extensions import db
from portal.i18n import _, label
from portal.models import Area, Member, Team
from portal.pagination import Page, paginate
from portal.security import current_scope
from portal.teams import queries
from portal.text import fold

ROLE_LABELS = {"leader": "Tổ trưởng", "deputy": "Tổ phó", "member": "Tổ viên"}


EDUCATION_LABELS = {
    "primary": "Tiểu học",
    "lower_secondary": "Trung học cơ sở",
    "upper_secondary": "Trung học phổ thông",
    "higher": "Trung cấp trở lên",
}


def education_label(education: str) -> str:
    return label(EDUCATION_LABELS, education)


def role_label(role: str) -> str:
    return label(ROLE_LABELS, role)


@dataclass
class TeamView:
    team: Team
    commune: Area
    areas: list[Area]
    members: list[Member]
    history: Page


def list_teams(text: str = "", page: int = 1) -> Page:
    return paginate(queries.teams(current_scope(), fold(text)), page)


def get_team(team_id: int) -> Team:
    team = db.session.scalar(queries.team(team_id, current_scope()))
    if team is None:
        raise NotFound(_("Không tìm thấy tổ số {id}.", id=team_id))
    return team


def team_history(team_id: int, page: int = 1) -> tuple[Team, Page]:
    team = get_team(team_id)
    return team, paginate(audit.history("team", team.id), page)


def team_view(team_id: int, history_page: int = 1) -> TeamView:
    team = get_team(team_id)
    return TeamView(
        team=team,
        commune=db.session.get(Area, team.commune_id, options=[defer(Area.geom)]),
        areas=list(db.session.scalars(queries.covered_areas(team.id))),
        members=list(db.session.scalars(queries.serving_members(team.id, current_scope()))),
        history=paginate(audit.history("team", team.id), history_page),
    )
