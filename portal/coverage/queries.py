"""Queries of the coverage view; each returns a select() the caller executes."""

from __future__ import annotations

from sqlalchemy import Select, and_, func, select

from portal.models import Area, Member, Team, TeamArea


def villages(commune_ids: list[int]) -> Select:
    """Current villages with their boundary (WKB), people and active team."""
    return (
        select(
            Area.id,
            Area.parent_id,
            Area.name,
            func.ST_AsBinary(Area.geom),
            Area.population,
            TeamArea.team_id,
        )
        .outerjoin(TeamArea, and_(TeamArea.area_id == Area.id, TeamArea.active()))
        .where(Area.parent_id.in_(commune_ids), Area.valid_to.is_(None), Area.level == "village")
        .order_by(Area.parent_id, Area.id)
    )


def communes(ids: list[int] | None, scope_query: Select) -> Select:
    query = scope_query.where(Area.level == "commune", Area.valid_to.is_(None))
    if ids is not None:
        query = query.where(Area.id.in_(ids))
    return query.order_by(Area.code)


def communes_geometry(commune_ids: list[int]) -> Select:
    return select(Area.id, func.ST_AsBinary(Area.geom)).where(Area.id.in_(commune_ids))


def teams(commune_ids: list[int]) -> Select:
    """Active teams with their serving members and leaders counted."""
    serving = and_(Member.team_id == Team.id, Member.left_on.is_(None))
    size = select(func.count()).where(serving).correlate(Team).scalar_subquery()
    leaders = (
        select(func.count())
        .where(serving, Member.role == "leader")
        .correlate(Team)
        .scalar_subquery()
    )
    return select(Team.id, Team.commune_id, Team.name, size, leaders).where(
        Team.commune_id.in_(commune_ids), Team.dissolved_on.is_(None)
    )
