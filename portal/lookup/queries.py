"""Queries of the public look-up; each returns a select() that the caller executes.

Privacy is built in here: members are read column by column (name, role, phone of the leader
and deputies), never as whole rows, so a birth date or an address cannot reach a template.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import Float, Select, bindparam, case, false, func, literal, or_, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased

from portal.models import (
    Area,
    AreaPart,
    AreaShape,
    Level,
    Member,
    PoliceContact,
    Role,
    Team,
    TeamArea,
)
from portal.text import Word, like_pattern

DEPTH = case(
    {Level.PROVINCE.value: 0, Level.DISTRICT.value: 1, Level.COMMUNE.value: 2},
    value=Area.level,
    else_=3,
)


SET_GENERIC_PLANS = text("SET LOCAL plan_cache_mode = force_generic_plan")


def _point(lon: float, lat: float):
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


def areas_at(lon: float, lat: float) -> Select:
    """Current areas holding the point, deepest level first, found on their subdivided parts.

    A point on a shared border belongs to both neighbours; both are returned.
    """
    return _areas_at().params(lon=lon, lat=lat)


@cache
def _areas_at() -> Select:
    # built once, like every statement of the look-up's hot path: building costs more than
    # running it
    hits = select(AreaPart.area_id).where(
        func.ST_Intersects(
            AreaPart.geom, _point(bindparam("lon", type_=Float), bindparam("lat", type_=Float))
        )
    )
    return (
        select(Area.id, Area.level, Area.name)
        .where(Area.id.in_(hits), Area.valid_to.is_(None))
        .order_by(DEPTH.desc(), Area.id)
    )


def areas_at_whole_polygons(lon: float, lat: float) -> Select:
    """The same answer tested on the undivided polygons: the benchmark's baseline."""
    return (
        select(Area.id, Area.level, Area.name)
        .where(func.ST_Intersects(Area.geom, _point(lon, lat)), Area.valid_to.is_(None))
        .order_by(DEPTH.desc(), Area.id)
    )


def chain(area_id: int, outline_tolerance: float | None) -> Select:
    """The area, its parent and grandparent, the police of whichever of them is a commune,
    and the area's active team with its serving leader and deputies (JSON), in one query.

    With a tolerance, also the area's outline simplified to it, as GeoJSON.
    """
    statement = _chain(outline_tolerance is not None)
    return statement.params(area_id=area_id, tolerance=outline_tolerance)


@cache
def _chain(with_outline: bool) -> Select:
    # aliasing a mapped class with geometry columns costs milliseconds
    parent, grand = aliased(Area), aliased(Area)
    commune_id = case((Area.level == Level.COMMUNE.value, Area.id), else_=parent.id)
    outline = literal(None).label("outline")
    if with_outline:
        # from the stored simplified shape: a dense traced ring is not simplified per request
        simple = func.ST_SimplifyPreserveTopology(AreaShape.geom, bindparam("tolerance"))
        outline = func.ST_AsGeoJSON(simple, 6).label("outline")
    columns = []
    for prefix, table in (("", Area), ("parent_", parent), ("grand_", grand)):
        columns += [
            table.id.label(f"{prefix}id"),
            table.level.label(f"{prefix}level"),
            table.kind.label(f"{prefix}kind"),
            table.code.label(f"{prefix}code"),
            table.name.label(f"{prefix}name"),
        ]
    statement = (
        select(
            *columns,
            Area.valid_to,
            outline,
            _team_json().label("team"),
            PoliceContact.name.label("police_name"),
            PoliceContact.phone.label("police_phone"),
            PoliceContact.address.label("police_address"),
        )
        .outerjoin(parent, parent.id == Area.parent_id)
        .outerjoin(grand, grand.id == parent.parent_id)
        .outerjoin(PoliceContact, PoliceContact.commune_id == commune_id)
        .where(Area.id == bindparam("area_id"))
    )
    if with_outline:
        statement = statement.outerjoin(AreaShape, AreaShape.area_id == Area.id)
    return statement


NEIGHBOUR_DISTANCE = 0.0002  # degrees, about 20 m: traced outlines leave slivers between them


def neighbours(area_id: int, tolerance: float) -> Select:
    """Current areas of the same level beside the area (across a commune's border too), with
    their parent's name, outlines simplified to the tolerance as GeoJSON, by name."""
    return _neighbours().params(area_id=area_id, tolerance=tolerance)


@cache
def _neighbours() -> Select:
    mine, other, parent = aliased(Area), aliased(Area), aliased(Area)
    my_shape = aliased(AreaShape)
    # against the area's drawing shape (simplified below half a metre, far under the 20 m
    # asked): a village traced with a 200,000-vertex ring costs a few hundred vertices
    simple = func.ST_Simplify(AreaShape.geom, bindparam("tolerance"), True)
    return (
        select(other.id, other.name, other.parent_id, parent.name, func.ST_AsGeoJSON(simple, 6))
        .select_from(mine)
        .join(my_shape, my_shape.area_id == mine.id)
        .join(
            other,
            (other.level == mine.level)
            & (other.id != mine.id)
            & other.valid_to.is_(None)
            & func.ST_DWithin(other.geom, my_shape.geom, NEIGHBOUR_DISTANCE),
        )
        .join(AreaShape, AreaShape.area_id == other.id)
        .outerjoin(parent, parent.id == other.parent_id)
        .where(mine.id == bindparam("area_id"))
        .order_by(other.name_search, other.id)
    )


def _team_json():
    """The active team of the outer query's area, as JSON: name and phones, nothing else."""
    person = func.json_build_object(
        "name", Member.full_name, "role", Member.role, "phone", Member.phone
    )
    people = (
        select(
            func.json_agg(aggregate_order_by(person, Member.role != Role.LEADER.value, Member.id))
        )
        .where(
            Member.team_id == Team.id,
            Member.left_on.is_(None),
            Member.role != Role.MEMBER.value,  # plain members' names are not posted
        )
        .scalar_subquery()
    )
    return (
        select(func.json_build_object("name", Team.name, "phone", Team.phone, "people", people))
        .join(TeamArea, TeamArea.team_id == Team.id)
        .where(TeamArea.area_id == Area.id, TeamArea.active(), Team.dissolved_on.is_(None))
        .order_by(Team.id)
        .limit(1)
        .scalar_subquery()
    )


def provinces() -> Select:
    return (
        select(Area.id, Area.name, Area.kind)
        .where(Area.level == Level.PROVINCE.value, Area.valid_to.is_(None))
        .order_by(Area.code, Area.name)
    )


def parent_of(area_id: int) -> Select:
    return select(Area.parent_id).where(Area.id == area_id)


def children(parent_id: int) -> Select:
    """Current areas directly under a parent, in their official order, names only."""
    return (
        select(Area.id, Area.name, Area.kind)
        .where(Area.parent_id == parent_id, Area.valid_to.is_(None))
        .order_by(Area.code.nulls_last(), Area.name, Area.id)
    )


def name_match(words: list[Word], name, name_search, parent_search) -> tuple[list, object]:
    """What every typed word must match, and a score that ranks better matches first.

    One core for the citizens' and the staff's searches. A word counts most as a whole word
    of the place's own name written with its marks ("Ngọc Hà"), then as a whole word without
    them, then as the start of a word, then inside one (three letters or more); in the
    parent's name (a village's commune) it counts less, so "Ngọc Hà" puts Phường Ngọc Hà
    before Xã Ngọc Hồi of Thành phố Hà Nội. A number matches only as a whole number: "tdp 7"
    is Tổ dân phố số 7, not 17, 27 or 70.
    """
    if not words:  # "--" is long enough to search on but has no word: it matches nothing
        return [false()], literal(0)
    own = func.concat(" ", name_search, " ")
    marked = func.concat(" ", func.lower(name), " ")
    parent = func.concat(" ", func.coalesce(parent_search, ""), " ")
    conditions, score = [], []
    for word in words:
        folded, typed = _escaped(word.folded), _escaped(word.typed)
        whole, in_parent = own.like(f"% {folded} %"), parent.like(f"% {folded} %")
        if word.number:
            conditions.append(or_(whole, in_parent))
            score.append(case((whole, 6), else_=3))
            continue
        start, parent_start = own.like(f"% {folded}%"), parent.like(f"% {folded}%")
        inside = own.like(f"%{folded}%") if len(word.folded) >= 3 else false()
        conditions.append(or_(start, inside, parent_start))
        score.append(
            case(
                (marked.like(f"% {typed} %"), 8),
                (whole, 6),
                (start, 4),
                (inside, 2),
                (in_parent, 3),
                else_=1,
            )
        )
    if len(words) > 1:  # the words together, as a name: "ngoc ha" is Ngọc Hà, not Ngọc Hồi
        phrase = _escaped(" ".join(w.folded for w in words))
        score.append(case((own.like(f"% {phrase} %"), 10), else_=0))
        score.append(case((parent.like(f"% {phrase} %"), 6), else_=0))
    return conditions, sum(score[1:], score[0]) if score else literal(0)


def _escaped(word: str) -> str:
    return like_pattern(word)[1:-1]


def search(words: list[Word]) -> Select:
    """Current communes and villages whose names (or their commune's) hold every word typed,
    best matches first (name_match), then communes before villages, shorter names first."""
    parent = aliased(Area)
    conditions, score = name_match(words, Area.name, Area.name_search, parent.name_search)
    return (
        select(Area.id, Area.name, Area.kind, Area.level, parent.name.label("parent_name"))
        .outerjoin(parent, parent.id == Area.parent_id)
        .where(
            *conditions,
            Area.valid_to.is_(None),
            Area.level.in_((Level.COMMUNE.value, Level.VILLAGE.value)),
        )
        .order_by(score.desc(), DEPTH, func.length(Area.name_search), Area.name_search, Area.id)
    )


def count_current(level: str) -> Select:
    return select(func.count()).where(Area.level == level, Area.valid_to.is_(None))


def outlines(tolerance: float, *, level: str | None = None, parent_id: int | None = None) -> Select:
    """Current areas of a level or under a parent, simplified for a small screen, as GeoJSON
    (from the stored simplified shapes, area_shapes)."""
    simple = func.ST_Simplify(AreaShape.geom, tolerance, True)  # for drawing: cheap, kept parts
    query = (
        select(Area.name, func.ST_AsGeoJSON(simple, 6))
        .join(AreaShape, AreaShape.area_id == Area.id)
        .where(Area.valid_to.is_(None))
    )
    if level is not None:
        query = query.where(Area.level == level)
    if parent_id is not None:
        query = query.where(Area.parent_id == parent_id)
    return query


def extent(level: str) -> Select:
    box = func.ST_Extent(AreaShape.geom)
    return (
        select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))
        .select_from(Area)
        .join(AreaShape, AreaShape.area_id == Area.id)
        .where(Area.level == level, Area.valid_to.is_(None))
    )
