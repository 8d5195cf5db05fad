"""The OGC API's data: pages of features read through the request's scope."""

from __future__ import annotations

import json
import math
import time

from portal.extensions import db
from portal.ogc import queries
from portal.ogc.collections import COLLECTIONS, INTEGER, NUMBER, Collection
from portal.scope import Scope

BIGINT = 2**63 - 1  # PostgreSQL's largest integer: a larger bound value is a database error


class BadValue(ValueError):
    """A query value that does not fit its field's type."""


def _typed(collection: Collection, name: str, value: str):
    """The value as its field's type; BadValue for one the field's column cannot hold (not an
    integer, past bigint, not a finite number), which the database would refuse with a 500."""
    kind = collection.fields[name]
    try:
        if kind == INTEGER:
            number = int(value)
            if not -BIGINT <= number <= BIGINT:
                raise ValueError(value)
            return number
        if kind == NUMBER:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(value)
            return number
    except ValueError as exc:
        raise BadValue(name) from exc
    return value


def _feature(collection: Collection, row, fields: list[str]) -> dict:
    values = row._mapping
    geometry = values["_geometry"]
    return {
        "type": "Feature",
        "id": values["id"],
        "geometry": json.loads(geometry) if geometry is not None else None,
        "properties": {name: values[name] for name in fields},
    }


def _corners(bbox: list[float]) -> tuple[float, float, float, float] | None:
    """West, south, east, north of a bbox of 4 numbers, or of 6 (minx, miny, minz, maxx, maxy,
    maxz: the heights do not matter to flat features)."""
    if len(bbox) == 6:
        return bbox[0], bbox[1], bbox[3], bbox[4]
    return tuple(bbox[:4]) if bbox else None


def page(
    collection_id: str,
    scope: Scope,
    *,
    offset: int,
    limit: int,
    bbox: list[float],
    properties: list[tuple[str, str]],
    sortby: list[dict],
    select_properties: list[str],
    skip_geometry: bool,
    resulttype: str,
) -> dict:
    """One page of a collection as a GeoJSON FeatureCollection with numberMatched and
    numberReturned; pygeoapi adds the links (self, next, prev)."""
    collection = COLLECTIONS[collection_id]
    box = _corners(bbox)
    equals = {name: _typed(collection, name, value) for name, value in properties}
    matched = db.session.scalar(queries.matched(collection, scope, box=box, equals=equals))
    features = []
    if resulttype != "hits":
        fields = [f for f in collection.fields if not select_properties or f in select_properties]
        order = [(s["property"], s["order"] == "-") for s in sortby]
        offset = min(offset, BIGINT)  # past every row anyway; a larger OFFSET is an error
        rows = db.session.execute(
            queries.items(
                collection,
                scope,
                box=box,
                equals=equals,
                order=order,
                offset=offset,
                limit=limit,
                fields=fields,
                with_geometry=not skip_geometry,
            )
        )
        features = [_feature(collection, row, fields) for row in rows]
    return {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": len(features),
    }


def feature(collection_id: str, scope: Scope, fid: str) -> dict | None:
    """One feature by its id, if in scope; None when there is none."""
    collection = COLLECTIONS[collection_id]
    try:
        key = _typed(collection, "id", fid)
    except BadValue:
        return None
    row = db.session.execute(queries.one(collection, scope, key)).first()
    if row is None:
        return None
    return _feature(collection, row, list(collection.fields))


_extent: tuple[float, list[float] | None] = (0.0, None)
EXTENT_SECONDS = 300


def extent() -> list[float] | None:
    """The provinces' bounding box, every layer's extent; kept a few minutes per process (a
    boundary change moves it rarely, and clients only use it to zoom)."""
    global _extent
    at, box = _extent
    if time.monotonic() - at > EXTENT_SECONDS:
        row = db.session.execute(queries.extent(COLLECTIONS["provinces"])).first()
        box = None if row is None or row[0] is None else [round(float(v), 6) for v in row]
        _extent = (time.monotonic(), box)
    return box
