"""Queries of the teams feature; each returns a select() built with the user's scope."""

from __future__ import annotations

from sqlalchemy import Integer, Numeric, Select, and_, case, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased, defer

from portal.models import Area, Member, SizingRule, Team, TeamArea
from portal.scope import Scope
from portal.teams.rules import HANOI
from portal.text import like_pattern


def teams(scope: Scope, folded: str = "") -> Select:
    query = scope.teams(select(Team)).where(Team.dissolved_on.is_(None))
    if folded:
        query = query.where(Team.name_search.like(f"%{folded}%"))
    return query.order_by(Team.commune_id, Team.id)


def team(team_id: int, scope: Scope) -> Select:
    return scope.teams(select(Team).where(Team.id == team_id))


def covered_areas(team_id: int) -> Select:
    """The villages the team covers today."""
    return (
        select(Area)
        .join(TeamArea, TeamArea.area_id == Area.id)
        .where(
            TeamArea.team_id == team_id,
            TeamArea.active(),
        )
        .order_by(Area.code, Area.name)
        .options(defer(Area.geom))  # a list of names: never the boundaries
    )


def serving_members(team_id: int, scope: Scope) -> Select:
    role_order = case({"leader": 0, "deputy": 1}, value=Member.role, else_=2)
    return scope.members(
        select(Member).where(Member.team_id == team_id, Member.left_on.is_(None))
    ).order_by(role_order, Member.full_name)


# --- the teams list: one query, each team's figures aggregated --------------------------------

STATUSES = ("understaffed", "no_leader", "overstaffed", "ok")
SORTS = ("name", "commune", "size", "status")
VI = "vi-VN-x-icu"  # PostgreSQL's ICU collation: Vietnamese dictionary order


def name_order(column) -> list:
    """Vietnamese order with numbers by value ("số 7" before "số 10"): the text before the first
    number, then that number, then the whole name."""
    head = func.substring(column, r"^\D*")
    number = func.substring(column, r"\d+")
    return [
        head.collate(VI),
        cast(func.left(number, 9), Integer),
        column.collate(VI),
    ]


def team_rows(scope: Scope, folded: str = "", commune_id: int | None = None) -> Select:
    """Teams in scope with their commune, villages and serving members counted, the size the
    province's rule needs and their status (the coverage page's team problems), unordered:
    what the list sorts and filters on (names are read for one page: team_details)."""
    members = (
        select(
            Member.team_id,
            func.count().label("size"),
            func.count().filter(Member.role == "leader").label("leaders"),
        )
        .where(Member.left_on.is_(None))
        .group_by(Member.team_id)
        .subquery("serving")
    )
    village = aliased(Area, name="village")
    villages = (
        select(
            TeamArea.team_id,
            func.count().label("village_count"),
            func.sum(village.population).label("population"),
        )
        .join(village, village.id == TeamArea.area_id)
        .where(TeamArea.active())
        .group_by(TeamArea.team_id)
        .subquery("covered")
    )
    commune = aliased(Area, name="commune")
    size = func.coalesce(members.c.size, 0)
    leaders = func.coalesce(members.c.leaders, 0)
    population = func.coalesce(villages.c.population, 0)
    minimum = func.coalesce(SizingRule.min_members, HANOI.min_members)
    extra = case(
        (
            and_(SizingRule.population_base.is_not(None), population > SizingRule.population_base),
            func.ceil(
                cast(population - SizingRule.population_base, Numeric) / SizingRule.population_step
            ),
        ),
        else_=0,
    )
    needed = (minimum + extra).label("needed")
    # no rule recorded for the province: Hanoi's (as management.sizing_of_province)
    maximum = case((SizingRule.id.is_(None), HANOI.max_members), else_=SizingRule.max_members)
    status = case(
        (size < needed, "understaffed"),
        (leaders == 0, "no_leader"),
        (and_(maximum.is_not(None), size > maximum), "overstaffed"),
        else_="ok",
    ).label("status")
    query = (
        select(
            Team.id,
            Team.name,
            Team.phone,
            Team.commune_id,
            commune.name.label("commune"),
            func.coalesce(villages.c.village_count, 0).label("village_count"),
            size.label("size"),
            needed,
            leaders.label("leaders"),
            maximum.label("maximum"),
            status,
        )
        .join(commune, commune.id == Team.commune_id)
        .outerjoin(SizingRule, SizingRule.province_id == commune.parent_id)
        .outerjoin(members, members.c.team_id == Team.id)
        .outerjoin(villages, villages.c.team_id == Team.id)
        .where(Team.dissolved_on.is_(None))
    )
    query = scope.teams(query)
    if folded:
        query = query.where(Team.name_search.like(like_pattern(folded)))
    if commune_id is not None:
        query = query.where(Team.commune_id == commune_id)
    return query


def filtered(rows, status: str = "") -> Select:
    """The rows with one problem (a team may have two: "no_leader" finds the small ones too),
    or with none ("ok")."""
    query = select(rows)
    if status == "understaffed":
        query = query.where(rows.c.size < rows.c.needed)
    elif status == "no_leader":
        query = query.where(rows.c.leaders == 0)
    elif status == "overstaffed":
        query = query.where(rows.c.maximum.is_not(None), rows.c.size > rows.c.maximum)
    elif status == "ok":
        query = query.where(rows.c.status == "ok")
    return query


def ordered(query: Select, rows, sort: str, descending: bool = False) -> Select:
    """The list's order: by one column, the team's name (Vietnamese order) breaking ties."""
    names = name_order(rows.c.name)
    if sort == "commune":
        first = name_order(rows.c.commune)
    elif sort == "size":
        first = [rows.c.size]
    elif sort == "status":
        rank = case({s: i for i, s in enumerate(STATUSES)}, value=rows.c.status)
        first = [rank, rows.c.size]
    else:
        first, names = names, []
    if descending:
        first = [c.desc() for c in first]
    return query.order_by(*first, *names, rows.c.id)


def communes_with_teams(scope: Scope) -> Select:
    """The communes of the teams in scope, by their names in Vietnamese order."""
    ids = scope.teams(select(Team.commune_id)).where(Team.dissolved_on.is_(None))
    return (
        select(Area.id, Area.name)
        .where(Area.id.in_(ids))
        .order_by(
            *name_order(func.regexp_replace(Area.name, r"^(Phường|Xã|Thị trấn|Đặc khu) ", ""))
        )
    )


def team_details(team_ids: list[int]) -> Select:
    """For one page of the list: each team's leader (name, phone) and its villages' names."""
    leader = aliased(Member, name="leader")
    village = aliased(Area, name="village")
    names = (
        select(
            func.string_agg(village.name, aggregate_order_by(literal_column("', '"), village.name))
        )
        .join(TeamArea, TeamArea.area_id == village.id)
        .where(TeamArea.team_id == Team.id, TeamArea.active())
        .correlate(Team)
        .scalar_subquery()
    )
    return (
        select(Team.id, leader.full_name, leader.phone, names.label("villages"))
        .outerjoin(
            leader,
            and_(leader.team_id == Team.id, leader.role == "leader", leader.left_on.is_(None)),
        )
        .where(Team.id.in_(team_ids))
    )
