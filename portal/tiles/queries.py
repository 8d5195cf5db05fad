"""The tiles' queries: villages in a tile with their layer's attributes, made into a Mapbox
vector tile by PostGIS (ST_TileEnvelope, ST_AsMVTGeom, ST_AsMVT). Each returns a select()."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Integer, Select, case, cast, func, literal, select

from portal.models import (
    Area,
    AreaShape,
    CoverageVillage,
    Incident,
    LookupGeneration,
    PatrolActivity,
    TileGeneration,
)
from portal.patrols.services import LOW_BELOW, MID_BELOW

WEB_MERCATOR = 3857
EARTH = 40075016.68557849  # the width of the Web Mercator world, in its metres


def generations() -> Select:
    """The numbers a tile's freshness depends on: boundaries, coverage, patrols, incidents."""
    return select(
        LookupGeneration.bounds,
        TileGeneration.coverage,
        TileGeneration.patrols,
        TileGeneration.incidents,
    ).join(TileGeneration, TileGeneration.id == LookupGeneration.id)


def _envelope(z: int, x: int, y: int):
    return func.ST_TileEnvelope(
        cast(literal(z), Integer), cast(literal(x), Integer), cast(literal(y), Integer)
    )


def villages(z: int, x: int, y: int) -> Select:
    """Current villages whose boundary intersects the tile: id, name. The GiST index on the
    full boundary finds them; the light stored shape (area_shapes) is tested and drawn."""
    box = func.ST_Transform(_envelope(z, x, y), 4326)
    return (
        select(Area.id, Area.name)
        .join(AreaShape, AreaShape.area_id == Area.id)
        .where(
            Area.level == "village",
            Area.valid_to.is_(None),
            Area.geom.op("&&")(box),
            func.ST_Intersects(AreaShape.geom, box),
        )
    )


def with_coverage(query: Select) -> Select:
    """Villages with their stored coverage status (only those of communes computed)."""
    return query.join(CoverageVillage, CoverageVillage.area_id == Area.id).add_columns(
        CoverageVillage.status.label("status")
    )


def with_patrols(query: Select, first: date, last: date, months: int) -> Select:
    """Villages with their done patrols and violations over the months and the activity class
    portal.patrols.services.level_of gives, by its bounds (none, low, mid, high)."""
    done = (
        select(
            PatrolActivity.area_id,
            func.sum(PatrolActivity.patrols).label("patrols"),
            func.sum(PatrolActivity.violations).label("violations"),
        )
        .where(PatrolActivity.month >= first, PatrolActivity.month <= last)
        .group_by(PatrolActivity.area_id)
        .subquery("done")
    )
    patrols = func.coalesce(done.c.patrols, 0)
    level = case(
        (patrols <= 0, "none"),
        (patrols < LOW_BELOW * months, "low"),
        (patrols < MID_BELOW * months, "mid"),
        else_="high",
    )
    return query.outerjoin(done, done.c.area_id == Area.id).add_columns(
        cast(patrols, Integer).label("n"),
        cast(func.coalesce(done.c.violations, 0), Integer).label("v"),
        level.label("status"),
    )


def with_incidents(query: Select, counted: Select) -> Select:
    """Villages with their count of the items `counted` selects (Incident rows, already
    filtered and scoped by the caller), and its class: none, low (1–2), mid (3–9), high."""
    counts = (
        counted.with_only_columns(Incident.area_id, func.count().label("n"))
        .where(Incident.area_id.is_not(None))
        .group_by(Incident.area_id)
        .subquery("counts")
    )
    n = func.coalesce(counts.c.n, 0)
    level = case((n <= 0, "none"), (n < 3, "low"), (n < 10, "mid"), else_="high")
    return query.outerjoin(counts, counts.c.area_id == Area.id).add_columns(
        cast(n, Integer).label("n"), level.label("status")
    )


def mvt(
    query: Select, layer: str, z: int, x: int, y: int, extent: int, buffer: int, simplify: bool
) -> Select:
    """The villages of `query` (and its attribute columns) as one layer of a vector tile. With
    `simplify`, shapes are simplified to a unit of the tile's grid first (ST_AsMVTGeom snaps
    to the grid anyway: this spares it the vertices it would merge)."""
    envelope = _envelope(z, x, y)
    shape = func.ST_Transform(AreaShape.geom, WEB_MERCATOR)
    if simplify:
        shape = func.ST_Simplify(shape, EARTH / 2**z / extent, True)
    drawn = query.add_columns(
        func.ST_AsMVTGeom(shape, envelope, extent, buffer, True).label("geom")
    ).subquery("drawn")
    rows = select(drawn).where(drawn.c.geom.is_not(None)).subquery("features")
    return select(func.coalesce(func.ST_AsMVT(rows.table_valued(), layer, extent, "geom"), b""))
