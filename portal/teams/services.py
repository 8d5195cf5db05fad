"""Reading teams within the user's scope."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import defer

from portal import audit
from portal.errors import NotFound
from portal.extensions import db
from portal.i18n import N_, _, label
from portal.models import Area, Member, Team
from portal.pagination import Page, paginate
from portal.security import current_scope
from portal.teams import queries
from portal.text import fold

ROLE_LABELS = {"leader": N_("Tổ trưởng"), "deputy": N_("Tổ phó"), "member": N_("Tổ viên")}


EDUCATION_LABELS = {
    "primary": N_("Tiểu học"),
    "lower_secondary": N_("Trung học cơ sở"),
    "upper_secondary": N_("Trung học phổ thông"),
    "higher": N_("Trung cấp trở lên"),
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
    needed: int = 0
    maximum: int | None = None
    problems: list[str] = field(default_factory=list)
    saved: Member | None = None  # the member just saved, for the confirmation


STATUS_LABELS = {
    "understaffed": N_("Thiếu người"),
    "no_leader": N_("Chưa có tổ trưởng"),
    "overstaffed": N_("Quá số người"),
    "ok": N_("Đủ người, có tổ trưởng"),
}
SORT_LABELS = {
    "name": N_("Tên tổ"),
    "commune": N_("Xã, phường"),
    "size": N_("Số thành viên"),
    "status": N_("Tình trạng"),
}


def status_label(status: str) -> str:
    return label(STATUS_LABELS, status)


def problems(row) -> list[str]:
    """A listed team's problems, as the coverage page names them (a small team may also have no
    leader); empty when it has none."""
    return size_problems(row.size, row.needed, row.maximum, row.leaders)


def size_problems(size: int, needed: int, maximum: int | None, leaders: int) -> list[str]:
    """What is wrong with a team of this size and number of leaders under its rule."""
    found = []
    if size < needed:
        found.append("understaffed")
    elif maximum is not None and size > maximum:
        found.append("overstaffed")
    if leaders == 0:
        found.append("no_leader")
    return found


@dataclass
class ListedTeam:
    """A row of the teams list: its figures, then its leader and villages by name."""

    id: int
    name: str
    phone: str | None
    commune_id: int
    commune: str
    village_count: int
    size: int
    needed: int
    leaders: int
    maximum: int | None
    status: str
    leader: str | None = None
    leader_phone: str | None = None
    villages: str | None = None


@dataclass
class TeamList:
    """The teams list's query as asked (kept by its pager, sort links and filters)."""

    q: str = ""
    commune_id: int | None = None
    status: str = ""
    sort: str = "name"
    descending: bool = False

    def args(self, **changes) -> dict:
        """The query string of this list, with changes (None or "" drop a parameter)."""
        values = {
            "q": self.q,
            "commune_id": self.commune_id,
            "status": self.status,
            "sort": "" if self.sort == "name" else self.sort,
            "desc": "1" if self.descending else "",
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}

    def sort_args(self, column: str) -> dict:
        """The link of a column's heading: sorts by it, or turns its order round."""
        descending = column == self.sort and not self.descending
        return self.args(sort="" if column == "name" else column, desc="1" if descending else "")


def team_list(q: str, commune_id: int | None, status: str, sort: str, descending: bool) -> TeamList:
    """The list's parameters, odd values ignored (the default list), so links never break."""
    return TeamList(
        q,
        commune_id,
        status if status in queries.STATUSES else "",
        sort if sort in queries.SORTS else "name",
        descending,
    )


def list_teams(asked: TeamList | None = None, page: int = 1) -> Page:
    """One page of the teams in scope with their figures: one query, aggregates joined."""
    asked = asked or TeamList()
    rows = queries.team_rows(current_scope(), fold(asked.q), asked.commune_id).subquery("teams")
    query = queries.ordered(
        queries.filtered(rows, asked.status), rows, asked.sort, asked.descending
    )
    listed = paginate(query, page, rows=True)
    # the names of one page's teams, in a second query (not one per row)
    ids = [row.id for row in listed.items]
    details = {row.id: row for row in db.session.execute(queries.team_details(ids))}
    listed.items = [
        ListedTeam(
            **row._mapping,
            leader=details[row.id].full_name,
            leader_phone=details[row.id].phone,
            villages=details[row.id].villages,
        )
        for row in listed.items
    ]
    return listed


def commune_choices() -> list[tuple[int, str]]:
    """The communes in scope that have teams, A to Z in Vietnamese order (for the filter)."""
    return [
        (r.id, r.name) for r in db.session.execute(queries.communes_with_teams(current_scope()))
    ]


def get_team(team_id: int) -> Team:
    team = db.session.scalar(queries.team(team_id, current_scope()))
    if team is None:
        raise NotFound(_("Không tìm thấy tổ số {id}.", id=team_id))
    return team


def team_history(team_id: int, page: int = 1) -> tuple[Team, Page]:
    team = get_team(team_id)
    return team, paginate(audit.history("team", team.id), page)


def team_view(team_id: int, history_page: int = 1, saved_id: int | None = None) -> TeamView:
    """A team's page: its members, villages, the size the rule needs and what is wrong (as the
    list and the coverage page say it), and the member just saved when there is one."""
    # imported here: management imports the coverage feature, which imports this package
    from portal.teams.management import sizing_for

    team = get_team(team_id)
    areas = list(db.session.scalars(queries.covered_areas(team.id)))
    members = list(db.session.scalars(queries.serving_members(team.id, current_scope())))
    sizing = sizing_for(team.commune_id)
    needed = sizing.needed(sum(a.population or 0 for a in areas))
    leaders = sum(1 for m in members if m.role == "leader")
    found = size_problems(len(members), needed, sizing.max_members, leaders)
    saved = None
    if saved_id is not None:
        saved = db.session.scalar(
            current_scope().members(
                select(Member).where(Member.id == saved_id, Member.team_id == team.id)
            )
        )
    return TeamView(
        team=team,
        commune=db.session.get(Area, team.commune_id, options=[defer(Area.geom)]),
        areas=areas,
        members=members,
        history=paginate(audit.history("team", team.id), history_page),
        needed=needed,
        maximum=sizing.max_members,
        problems=found,
        saved=saved,
    )
