"""Queries of the teams feature; each returns a select() built with the user's scope."""

from __future__ import annotations

from sqlalchemy import Select, case, select
from sqlalchemy.orm import defer

from portal.models import Area, Member, Team, TeamArea
from portal.scope import Scope


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
