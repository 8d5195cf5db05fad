"""Queries of the OGC API over its views (migration 0017); each returns a select()."""

from __future__ import annotations

from sqlalchemy import Select, and_, column, false, func, null, select, table, text, true

from portal.models import AccountRole
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


def _conditions(collection: Collection, scope: Scope, t, box: Box | None, equals: dict) -> list:
    conditions = [in_scope(collection, scope, t)]
    if box is not None:
        w, s, e, n = box
        envelope = func.ST_MakeEnvelope(w, s, e, n, 4326)
        if collection.bbox_hint:
            conditions.append(text(collection.bbox_hint).bindparams(w=w, s=s, e=e, n=n))
        # ST_Intersects carries its own && test, which the areas' GiST index answers
        conditions.append(func.ST_Intersects(t.c.geom, envelope))
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
    columns = [t.c[name] for name in fields]
    if "id" not in fields:
        columns.append(t.c.id)
    geometry = func.ST_AsGeoJSON(t.c.geom) if with_geometry else null()
    ordering = [t.c[name].desc() if desc else t.c[name] for name, desc in order]
    ordering += [t.c[name] for name in collection.order]  # a stable order for paging
    return (
        select(*columns, geometry.label("_geometry"))
        .where(and_(*_conditions(collection, scope, t, box, equals)))
        .order_by(*ordering)
        .offset(offset)
        .limit(limit)
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
