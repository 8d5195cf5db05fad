"""Queries of the duty sheets: a month's done patrols of a team or commune, through the indexes
on patrols (team_id, day) and (commune_id, day)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import defer

from portal.models import Area, Member, Team
from portal.models.area import Level
from portal.models.patrol import Patrol, PatrolMember, PatrolRules, PatrolStatus
from portal.scope import Scope


def team(team_id: int, scope: Scope) -> Select:
    return scope.teams(select(Team).where(Team.id == team_id))


def commune(commune_id: int, scope: Scope) -> Select:
    return scope.areas(
        select(Area).where(Area.id == commune_id, Area.level == Level.COMMUNE.value)
    ).options(defer(Area.geom))


def area(area_id: int) -> Select:
    return select(Area).where(Area.id == area_id).options(defer(Area.geom))


def rules(province_id: int) -> Select:
    return select(PatrolRules).where(PatrolRules.province_id == province_id)


def commune_teams(commune_id: int, first: date) -> Select:
    """The commune's teams not dissolved before the month began."""
    return (
        select(Team)
        .where(
            Team.commune_id == commune_id,
            or_(Team.dissolved_on.is_(None), Team.dissolved_on >= first),
        )
        .order_by(Team.id)  # the order they were set up in: "số 2" before "số 10"
    )


def shifts(first: date, last: date, *, team_id=None, commune_id=None) -> Select:
    """(team_id, member_id, started_at, ended_at) of the done patrols members went on, planned
    from the day before the month (a shift of the 1st may start on the evening before) to the
    day after it, of one team or one commune."""
    query = (
        select(Patrol.team_id, PatrolMember.member_id, Patrol.started_at, Patrol.ended_at)
        .join(PatrolMember, PatrolMember.patrol_id == Patrol.id)
        .where(
            # a patrol's actual start may lie a day from its planned day (a night patrol,
            # one recorded late): the days either side of the month are read too
            Patrol.day.between(first - timedelta(days=1), last + timedelta(days=1)),
            Patrol.status == PatrolStatus.DONE,
            PatrolMember.went.is_(True),
        )
    )
    if team_id is not None:
        query = query.where(Patrol.team_id == team_id)
    else:
        query = query.where(Patrol.commune_id == commune_id)
    return query


def members(team_ids: list[int], first: date, last: date, extra_ids: set[int]) -> Select:
    """The members serving in the teams at some time in the month, and those who went on the
    teams' patrols (a member since moved to another team keeps their duty here)."""
    serving = (
        Member.team_id.in_(team_ids)
        & (Member.appointment_date <= last)
        & (Member.left_on.is_(None) | (Member.left_on >= first))
    )
    return select(Member).where(or_(serving, Member.id.in_(extra_ids)))
