"""Queries of the street layer; each returns a select() that the caller executes."""

from __future__ import annotations

from sqlalchemy import Select, case, func, select, union_all

from portal.models import Street
from portal.text import like_pattern

# The words a street's name starts with, folded: a search for "phố hàng gai" and "hang gai"
# must find the same street, and "Ngõ Huyện" is found by "huyen" too.
PREFIXES = ("pho", "duong", "ngo", "ngach", "hem", "p.", "d.", "p", "d")
_PREFIX_SQL = r"^(pho|duong|ngo|ngach|hem|p\.|d\.)\s+"


def _envelope(bbox: tuple[float, float, float, float]):
    return func.ST_MakeEnvelope(*bbox, 4326)


def in_view(bbox: tuple[float, float, float, float], zoom: int, limit: int) -> Select:
    """The lines drawn at this zoom inside bbox, clipped to it and simplified to about a pixel,
    as one JSON array of GeoJSON features (name and class only), with its length.

    The segments of one named street are merged into as few lines as join up: a name then
    follows the street rather than each of its short OSM pieces, and the answer is smaller.
    Main roads are kept first when the cap cuts.
    """
    envelope = _envelope(bbox)
    pixel = 360 / (256 * 2**zoom)  # degrees of longitude per pixel at this zoom
    clipped = (
        select(
            Street.name,
            Street.highway,
            func.ST_ClipByBox2D(Street.geom, envelope).label("shape"),
        )
        .where(Street.geom.op("&&")(envelope), Street.min_zoom <= zoom)
        .order_by(Street.min_zoom, Street.name.is_(None), Street.id)
        .limit(limit)
        .cte("clipped")  # read by both branches below: clipped once (a CTE used twice is kept)
    )
    lines = func.ST_CollectionExtract(func.ST_Collect(clipped.c.shape), 2)
    named = (
        select(clipped.c.name, clipped.c.highway, func.ST_LineMerge(lines).label("shape"))
        .where(clipped.c.name.is_not(None))
        .group_by(clipped.c.name, clipped.c.highway)
    )
    unnamed = select(clipped.c.name, clipped.c.highway, clipped.c.shape).where(
        clipped.c.name.is_(None)
    )
    rows = union_all(unnamed, named).subquery()
    shape = func.ST_SimplifyPreserveTopology(rows.c.shape, pixel)
    digits = 6 if zoom >= 16 else 5  # about 10 cm, or a metre where a pixel is 2 m or more
    # each feature written as text: the geometry's GeoJSON is not parsed again as JSON
    feature = func.format(
        '{"type":"Feature","properties":%s,"geometry":%s}',
        func.json_build_object("name", rows.c.name, "highway", rows.c.highway),
        func.ST_AsGeoJSON(shape, digits),
    )
    return select(
        "[" + func.coalesce(func.string_agg(feature, ","), "") + "]",
        func.count(),
    ).where(~func.ST_IsEmpty(rows.c.shape))


def matching(folded: str, stripped: str, limit: int, cluster_degrees: float) -> Select:
    """Named streets whose folded name holds the query, one row per name and place (segments of
    one name within cluster_degrees of each other are one street), best match first."""
    bare = func.regexp_replace(Street.name_search, _PREFIX_SQL, "")
    rank = case(
        (Street.name_search == folded, 0),
        (bare == stripped, 1),
        (bare.like(like_pattern(stripped)[1:]), 2),  # starts with it: % and _ typed escaped
        ((" " + Street.name_search).like(like_pattern(" " + stripped)), 3),
        else_=4,
    )
    hits = (
        select(
            Street.name,
            Street.geom,
            rank.label("rank"),
            func.ST_ClusterDBSCAN(Street.geom, cluster_degrees, 1)
            .over(partition_by=Street.name)
            .label("place"),
        )
        .where(Street.name_search.is_not(None))
        .where(Street.name_search.like(like_pattern(stripped)))
        .subquery()
    )
    merged = func.ST_Collect(hits.c.geom)
    middle = func.ST_ClosestPoint(merged, func.ST_Centroid(merged))
    extent = func.ST_Extent(hits.c.geom)
    return (
        select(
            hits.c.name,
            func.min(hits.c.rank).label("rank"),
            func.ST_XMin(extent).label("minx"),
            func.ST_YMin(extent).label("miny"),
            func.ST_XMax(extent).label("maxx"),
            func.ST_YMax(extent).label("maxy"),
            func.ST_X(middle).label("lon"),
            func.ST_Y(middle).label("lat"),
        )
        .group_by(hits.c.name, hits.c.place)
        .order_by(func.min(hits.c.rank), func.length(hits.c.name), hits.c.name, hits.c.place)
        .limit(limit)
    )
