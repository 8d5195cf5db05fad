"""Queries of the patrols feature; each returns a select() built with the user's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import defer

from portal.models import (
    Area,
    AreaShape,
    Member,
    Patrol,
    PatrolActivity,
    PatrolMember,
    PatrolRoute,
    PatrolTrack,
    RouteVersion,
    Team,
    TeamArea,
)
from portal.scope import Scope


@dataclass(frozen=True)
class PatrolFilter:
    """What a patrol list shows: a period of days (inclusive), and optionally a team, a route,
    a status, a commune."""

    start: date
    end: date
    team_id: int | None = None
    route_id: int | None = None
    status: str | None = None
    commune_id: int | None = None


def routes(scope: Scope, team_id: int, *, retired: bool = False) -> Select:
    """A team's routes with their current version, active ones first by name."""
    query = (
        select(PatrolRoute, RouteVersion)
        .join(RouteVersion, RouteVersion.id == PatrolRoute.current_version_id)
        .where(PatrolRoute.team_id == team_id)
    )
    if not retired:
        query = query.where(PatrolRoute.retired_at.is_(None))
    query = scope.team_rows(query, PatrolRoute)
    return query.order_by(PatrolRoute.retired_at.is_not(None), PatrolRoute.name, PatrolRoute.id)


def route(scope: Scope, route_id: int) -> Select:
    return scope.team_rows(select(PatrolRoute).where(PatrolRoute.id == route_id), PatrolRoute)


def version_lines(version_ids: list[int]) -> Select:
    """(id, GeoJSON) of route versions' lines, for a map: one query for all of them."""
    return select(RouteVersion.id, func.ST_AsGeoJSON(RouteVersion.geom, 6)).where(
        RouteVersion.id.in_(version_ids)
    )


def route_versions(route_id: int) -> Select:
    return (
        select(RouteVersion)
        .where(RouteVersion.route_id == route_id)
        .order_by(RouteVersion.number.desc())
    )


def patrols(scope: Scope, f: PatrolFilter) -> Select:
    """Patrols in a period, newest first, with their route's name and version number."""
    query = (
        select(Patrol, PatrolRoute.name.label("route_name"), Team.name.label("team_name"))
        .join(Team, Team.id == Patrol.team_id)
        .outerjoin(RouteVersion, RouteVersion.id == Patrol.route_version_id)
        .outerjoin(PatrolRoute, PatrolRoute.id == RouteVersion.route_id)
        .where(Patrol.day >= f.start, Patrol.day <= f.end)
    )
    if f.team_id:
        query = query.where(Patrol.team_id == f.team_id)
    if f.commune_id:
        query = query.where(Patrol.commune_id == f.commune_id)
    if f.route_id:
        query = query.where(RouteVersion.route_id == f.route_id)
    if f.status:
        query = query.where(Patrol.status == f.status)
    return scope.team_rows(query, Patrol).order_by(
        Patrol.day.desc(), Patrol.planned_start.desc(), Patrol.id.desc()
    )


def patrol(scope: Scope, patrol_id: int) -> Select:
    return scope.team_rows(select(Patrol).where(Patrol.id == patrol_id), Patrol)


def patrol_members(patrol_ids: list[int]) -> Select:
    """Who was planned and who went, for these patrols, by role then name."""
    role_order = case({"leader": 0, "deputy": 1}, value=Member.role, else_=2)
    return (
        select(PatrolMember.patrol_id, Member, PatrolMember.planned, PatrolMember.went)
        .join(Member, Member.id == PatrolMember.member_id)
        .where(PatrolMember.patrol_id.in_(patrol_ids))
        .order_by(PatrolMember.patrol_id, role_order, Member.full_name)
    )


def team_villages(team_id: int, *, shapes: bool) -> Select:
    """The villages a team covers today; with their full shapes when a route is checked."""
    query = (
        select(Area)
        .join(TeamArea, TeamArea.area_id == Area.id)
        .where(TeamArea.team_id == team_id, TeamArea.active())
        .order_by(Area.name)
    )
    return query if shapes else query.options(defer(Area.geom))


def villages_near(commune_id: int, team_id: int, box) -> Select:
    """Other current villages whose shapes meet a box (west, south, east, north): the ones a
    route leaving the team's villages would run through."""
    envelope = func.ST_MakeEnvelope(*box, 4326)
    own = select(TeamArea.area_id).where(TeamArea.team_id == team_id, TeamArea.active())
    return select(Area).where(
        Area.level == "village",
        Area.valid_to.is_(None),
        Area.id.not_in(own),
        func.ST_Intersects(Area.geom, envelope),
    )


def display_shapes(area_ids: Select, tolerance: float) -> Select:
    """Areas' drawing shapes (area_shapes, simplified again for the map's scale) as GeoJSON."""
    return (
        select(
            Area.id,
            Area.name,
            func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(AreaShape.geom, tolerance), 6).label(
                "geojson"
            ),
        )
        .join(AreaShape, AreaShape.area_id == Area.id)
        .where(Area.id.in_(area_ids))
    )


def activity_by_village(commune_id: int, first_month: date, last_month: date) -> Select:
    """Done patrols and violations per village of a commune over months (the stored activity)."""
    villages = (
        select(Area.id)
        .where(Area.parent_id == commune_id, Area.level == "village", Area.valid_to.is_(None))
        .scalar_subquery()
    )
    return (
        select(
            PatrolActivity.area_id,
            func.sum(PatrolActivity.patrols).label("patrols"),
            func.sum(PatrolActivity.violations).label("violations"),
        )
        .where(
            PatrolActivity.commune_id == commune_id,
            PatrolActivity.month >= first_month,
            PatrolActivity.month <= last_month,
            PatrolActivity.area_id.in_(villages),
        )
        .group_by(PatrolActivity.area_id)
    )


def activity_by_commune(first_month: date, last_month: date) -> Select:
    """Per commune over months: done patrols, violations, and villages patrolled at least once."""
    per_village = (
        select(
            PatrolActivity.commune_id,
            PatrolActivity.area_id,
            func.sum(PatrolActivity.patrols).label("patrols"),
            func.sum(PatrolActivity.violations).label("violations"),
        )
        .where(PatrolActivity.month >= first_month, PatrolActivity.month <= last_month)
        .group_by(PatrolActivity.commune_id, PatrolActivity.area_id)
        .subquery()
    )
    return select(
        per_village.c.commune_id,
        func.sum(per_village.c.patrols).label("patrols"),
        func.sum(per_village.c.violations).label("violations"),
        func.count().filter(per_village.c.patrols > 0).label("patrolled"),
    ).group_by(per_village.c.commune_id)


def current_villages(commune_id: int | None = None) -> Select:
    """Current village-level areas (of a commune, or the city): id, name, commune, a point."""
    query = select(
        Area.id,
        Area.name,
        Area.parent_id,
        func.ST_X(func.ST_PointOnSurface(AreaShape.geom)).label("x"),
        func.ST_Y(func.ST_PointOnSurface(AreaShape.geom)).label("y"),
    ).join(AreaShape, AreaShape.area_id == Area.id)
    query = query.where(Area.level == "village", Area.valid_to.is_(None))
    if commune_id is not None:
        query = query.where(Area.parent_id == commune_id)
    return query


def overdue(scope: Scope, team_id: int, now) -> Select:
    """Planned patrols whose planned end has passed: not yet recorded as done (or cancelled)."""
    query = select(Patrol).where(
        Patrol.team_id == team_id,
        Patrol.status == "planned",
        Patrol.planned_end < now,
    )
    return scope.team_rows(query, Patrol).order_by(Patrol.planned_start)


def counts_by_status(scope: Scope, team_id: int, start: date, end: date) -> Select:
    query = (
        select(Patrol.status, func.count())
        .where(Patrol.team_id == team_id, Patrol.day >= start, Patrol.day <= end)
        .group_by(Patrol.status)
    )
    return scope.team_rows(query, Patrol)


def recent_tracks(team_id: int, since: date) -> Select:
    return (
        select(Patrol.id, Patrol.day, func.ST_AsGeoJSON(PatrolTrack.geom, 6).label("geojson"))
        .join(PatrolTrack, PatrolTrack.patrol_id == Patrol.id)
        .where(Patrol.team_id == team_id, Patrol.day >= since)
        .order_by(Patrol.day.desc())
        .limit(20)
    )


def route_use(team_id: int, since: date) -> Select:
    """Done patrols per route since a day, for the routes' tooltips."""
    return (
        select(RouteVersion.route_id, func.count())
        .join(Patrol, Patrol.route_version_id == RouteVersion.id)
        .where(Patrol.team_id == team_id, Patrol.day >= since, Patrol.status == "done")
        .group_by(RouteVersion.route_id)
    )
