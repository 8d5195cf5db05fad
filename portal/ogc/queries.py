"""Queries of the OGC API over its views (migration 0017); each returns a select()."""

from __future__ import annotations

from sqlalchemy import Select, and_, column, false, func, null, or_, select, table, text, true

from portal.models import AccountRole, Area
from portal.ogc.collections import Collection
from portal.scope import Scope

Box = tuple[float, float, float, float]


def view(collection: Collection):
    """The collection's view as a lightweight table: its listed fields and its geometry."""
    return table(collection.view, *(column(name) for name in collection.fields), column("geom"))


def in_scope(collection: Collection, scope: Scope, t):
    """Staff layers are read through the account's scope (portal.scope): an officer their
    commune's rows, a team leader their team's, anyone else nothing. Public layers: all."""
    if not collection.staff:
        return true()
    if scope.is_admin:
        return true()
    if scope.role == AccountRole.COMMUNE_OFFICER:
        return t.c.commune_id == scope.commune_id
    if scope.role == AccountRole.TEAM_LEADER:
        return t.c.team_id == scope.team_id
    return false()


def boxes(box: Box) -> list[Box]:
    """The bbox as boxes PostGIS reads: one crossing the antimeridian (west > east, as OGC API
    allows) is its two halves, not the box between them that ST_MakeEnvelope would make."""
    w, s, e, n = box
    if w <= e:
        return [box]
    return [(w, s, 180.0, n), (-180.0, s, e, n)]


def _conditions(collection: Collection, scope: Scope, t, box: Box | None, equals: dict) -> list:
    conditions = [in_scope(collection, scope, t)]
    if box is not None:
        hints, tests = [], []
        for w, s, e, n in boxes(box):
            if collection.bbox_hint:
                hints.append(text(collection.bbox_hint).bindparams(w=w, s=s, e=e, n=n))
            # ST_Intersects carries its own && test, which the areas' GiST index answers
            tests.append(func.ST_Intersects(t.c.geom, func.ST_MakeEnvelope(w, s, e, n, 4326)))
        if hints:
            conditions.append(or_(*hints))
        conditions.append(or_(*tests))
    for name, value in equals.items():
        conditions.append(t.c[name] == value)
    return conditions


def items(
    collection: Collection,
    scope: Scope,
    *,
    box: Box | None,
    equals: dict,
    order: list[tuple[str, bool]],
    offset: int,
    limit: int,
    fields: list[str],
    with_geometry: bool,
) -> Select:
    """A page of features: the chosen fields, the geometry as GeoJSON text (full precision,
    not simplified: this is a data service)."""
    t = view(collection)
    ordering = [(name, desc) for name, desc in order]
    ordering += [(name, False) for name in collection.order]  # a stable order for paging

    def ordered(table_):
        return [table_.c[n].desc() if desc else table_.c[n] for n, desc in ordering]

    conditions = and_(*_conditions(collection, scope, t, box, equals))

    def columns(table_):
        found = [table_.c[name] for name in fields]
        if "id" not in fields:
            found.append(table_.c.id)
        geometry = func.ST_AsGeoJSON(table_.c.geom) if with_geometry else null()
        return [*found, geometry.label("_geometry")]

    if collection.point_in and with_geometry:
        # the page's rows without the geometry, then a point in each page row's area: the
        # view's own expression, made for these rows only, not for every row OFFSET skips
        wanted = [*dict.fromkeys([*fields, "id", collection.point_in, *(n for n, _d in ordering)])]
        page = (
            select(*(t.c[n] for n in wanted))
            .where(conditions)
            .order_by(*ordered(t))
            .offset(offset)
            .limit(limit)
            .subquery("page_rows")
        )
        point = (
            select(func.ST_AsGeoJSON(func.ST_PointOnSurface(Area.geom)))
            .where(Area.id == page.c[collection.point_in])
            .scalar_subquery()
        )
        return select(
            *(page.c[n] for n in fields),
            *([] if "id" in fields else [page.c.id]),
            point.label("_geometry"),
        ).order_by(*ordered(page))
    if not collection.page_by_id:
        return (
            select(*columns(t)).where(conditions).order_by(*ordered(t)).offset(offset).limit(limit)
        )
    # the page's ids first, on the columns the filters and the order need: the view's costly
    # columns (a team's people, the outline as GeoJSON) are then made for this page only, not
    # for every row an offset skips
    page = select(t.c.id).where(conditions).order_by(*ordered(t)).offset(offset).limit(limit)
    rows = view(collection).alias("page_rows")
    return (
        select(*columns(rows)).where(rows.c.id.in_(page.scalar_subquery())).order_by(*ordered(rows))
    )


def matched(collection: Collection, scope: Scope, *, box: Box | None, equals: dict) -> Select:
    t = view(collection)
    return (
        select(func.count())
        .select_from(t)
        .where(and_(*_conditions(collection, scope, t, box, equals)))
    )


def one(collection: Collection, scope: Scope, fid) -> Select:
    t = view(collection)
    columns = [t.c[name] for name in collection.fields]
    return select(*columns, func.ST_AsGeoJSON(t.c.geom).label("_geometry")).where(
        t.c.id == fid, in_scope(collection, scope, t)
    )


def extent(collection: Collection) -> Select:
    """The layer's bounding box (ST_Extent over the view)."""
    t = view(collection)
    box = func.ST_Extent(t.c.geom)
    return select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))
