"""Queries of the area browser; each returns a select() that the caller executes."""

from __future__ import annotations

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.orm import aliased, defer

from portal.lookup.queries import name_match
from portal.models import Area, AreaShape, PoliceContact, Team, TeamArea
from portal.scope import Scope
from portal.text import Word

LEVEL_ORDER = {"province": 0, "district": 1, "commune": 2, "village": 3}


# The browser's pages and lists show names, codes and counts; shapes come from area_shapes,
# so an area's full boundary (a traced ring can be megabytes) is never read here.
WITHOUT_SHAPE = defer(Area.geom)


def current_areas(scope: Scope) -> Select:
    return scope.areas(select(Area).where(Area.valid_to.is_(None))).options(WITHOUT_SHAPE)


def area(area_id: int, scope: Scope) -> Select:
    """One area, current or past, if it is in scope."""
    return scope.areas(select(Area).where(Area.id == area_id)).options(WITHOUT_SHAPE)


def roots(scope: Scope) -> Select:
    """Where the tree starts: the provinces for a city admin, the own commune for others."""
    return current_areas(scope).where(scope.root_filter()).order_by(Area.code, Area.name)


def children(parent_id: int, scope: Scope) -> Select:
    # official codes keep the official order (villages are numbered in their commune)
    return (
        current_areas(scope)
        .where(Area.parent_id == parent_id)
        .order_by(Area.code.nulls_last(), Area.name, Area.id)
    )


def child_counts(parent_ids: list[int], scope: Scope) -> Select:
    return (
        scope.areas(select(Area.parent_id, func.count()))
        .where(Area.parent_id.in_(parent_ids), Area.valid_to.is_(None))
        .group_by(Area.parent_id)
    )


def search(words: list[Word], scope: Scope) -> Select:
    """Areas in scope whose names (or their parent's) hold every word: the citizens' search
    core (portal.lookup.queries.name_match), its ranking first, then by level."""
    parent = aliased(Area)
    conditions, score = name_match(words, Area.name, Area.name_search, parent.name_search)
    level_rank = func.array_position(
        literal_column("ARRAY['province','district','commune','village']::varchar[]"),
        Area.level,
    )
    return (
        current_areas(scope)
        .outerjoin(parent, parent.id == Area.parent_id)
        .where(*conditions)
        .order_by(
            score.desc(), level_rank, func.length(Area.name_search), Area.name_search, Area.id
        )
    )


def land_area_m2(area_id: int) -> Select:
    """Area on the spheroid, in square metres (kept by a trigger in area_shapes)."""
    return select(AreaShape.area_m2).where(AreaShape.area_id == area_id)


def display_geojson(area_ids: list[int], tolerance: float) -> Select:
    """Boundaries simplified for display with 6 decimals, as GeoJSON text: from the stored
    simplified shapes (area_shapes), so a dense ring costs its few hundred kept vertices."""
    # plain Douglas-Peucker keeping tiny parts: for drawing, 30 times cheaper than keeping
    # topology, and each shape is drawn alone anyway
    simplified = func.ST_Simplify(AreaShape.geom, tolerance, True)
    return (
        select(Area.id, Area.name, func.ST_AsGeoJSON(simplified, 6))
        .join(AreaShape, AreaShape.area_id == Area.id)
        .where(Area.id.in_(area_ids))
    )


def extent(area_id: int) -> Select:
    shape = AreaShape.geom
    return select(
        func.ST_XMin(shape), func.ST_YMin(shape), func.ST_XMax(shape), func.ST_YMax(shape)
    ).where(AreaShape.area_id == area_id)


def active_teams_of_area(area_id: int, scope: Scope) -> Select:
    return (
        scope.teams(select(Team))
        .join(TeamArea, TeamArea.team_id == Team.id)
        .where(
            TeamArea.area_id == area_id,
            TeamArea.active(),
        )
    )


def ancestors(area_id: int, scope: Scope) -> Select:
    """The chain of parents in scope, from the top, by a recursive query."""
    chain = (
        select(Area.id, Area.parent_id, literal_column("0").label("depth"))
        .where(Area.id == area_id)
        .cte("chain", recursive=True)
    )
    chain = chain.union_all(
        select(Area.id, Area.parent_id, (chain.c.depth + 1).label("depth")).where(
            Area.id == chain.c.parent_id
        )
    )
    return scope.areas(
        select(Area)
        .join(chain, chain.c.id == Area.id)
        .where(chain.c.depth > 0)
        .order_by(chain.c.depth.desc())
        .options(WITHOUT_SHAPE)
    )


def police_contact(commune_id: int) -> Select:
    return select(PoliceContact).where(PoliceContact.commune_id == commune_id)
