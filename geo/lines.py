"""Reading road lines from a GeoJSON file, within limits, every position checked.

geo.readers reads boundary uploads (polygons only, in a sandboxed child). Street files are
lines, which that reader refuses by design, so they are read here with the same discipline:
a size cap before parsing, WGS 84 only, LineString/MultiLineString of finite 2-D lon/lat
positions, a cap on features and on vertices per feature. A feature that fails is counted and
skipped; a file that fails as a whole raises FileProblem.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from shapely.geometry import LineString, MultiLineString

from geo.features import WGS84_CRS_NAMES, FileProblem


@dataclass(frozen=True)
class LineLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_features: int = 50_000
    max_vertices: int = 5_000  # per feature


@dataclass(frozen=True)
class Road:
    """One road line: its OSM id (when the file has one), name, class and WGS 84 shape."""

    osm_id: int | None
    name: str | None
    highway: str | None
    geometry: LineString | MultiLineString


@dataclass
class RoadFile:
    roads: list[Road]
    skipped: int  # features whose shape or structure was unusable


def _line(coords, max_vertices: int) -> LineString | None:
    """A line from a coordinate array, or None unless it is 2-D, finite, in range and ≥ 2 long."""
    if not isinstance(coords, list) or not 2 <= len(coords) <= max_vertices:
        return None
    try:
        xy = np.array(coords)
    except (ValueError, TypeError):  # ragged
        return None
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.dtype.kind not in "iuf":  # text is no number
        return None
    xy = xy.astype(float, copy=False)
    if not np.isfinite(xy).all():
        return None
    if (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
        return None
    return LineString(xy)


def _shape(geometry, max_vertices: int) -> LineString | MultiLineString | None:
    if not isinstance(geometry, dict):
        return None
    coords = geometry.get("coordinates")
    if geometry.get("type") == "LineString":
        return _line(coords, max_vertices)
    if geometry.get("type") == "MultiLineString" and isinstance(coords, list) and coords:
        parts = [_line(part, max_vertices) for part in coords]
        if any(p is None for p in parts) or sum(len(p.coords) for p in parts) > max_vertices:
            return None
        return MultiLineString(parts)
    return None


def _text(value, length: int) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    return text[:length] or None


def _osm_id(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _features(data: bytes, limits: LineLimits) -> Iterator:
    if len(data) > limits.max_bytes:
        raise FileProblem("file_too_large", f"{len(data)} > {limits.max_bytes} bytes")
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise FileProblem("not_utf8", f"byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise FileProblem("not_json", f"line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise FileProblem("not_json", "nested too deeply") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise FileProblem("not_geojson", str(doc.get("type") if isinstance(doc, dict) else doc))
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise FileProblem("no_features")
    if len(features) > limits.max_features:
        raise FileProblem("too_many_features", f"{len(features)} > {limits.max_features}")
    crs = doc.get("crs")
    if crs:
        name = (crs.get("properties") or {}).get("name") if isinstance(crs, dict) else None
        if name not in WGS84_CRS_NAMES:  # roads are drawn as they are: WGS 84 only
            raise FileProblem("crs_unknown", str(name or crs))
    return iter(features)


def read_roads(data: bytes, limits: LineLimits = LineLimits()) -> RoadFile:
    """The road lines of a GeoJSON FeatureCollection; FileProblem when the file is unusable."""
    roads: list[Road] = []
    skipped = 0
    for item in _features(data, limits):
        if not isinstance(item, dict) or item.get("type") != "Feature":
            skipped += 1
            continue
        geometry = _shape(item.get("geometry"), limits.max_vertices)
        if geometry is None:
            skipped += 1
            continue
        props = item.get("properties")
        props = props if isinstance(props, dict) else {}
        roads.append(
            Road(
                _osm_id(props.get("osm_id")),
                _text(props.get("name"), 200),
                _text(props.get("highway"), 30),
                geometry,
            )
        )
    return RoadFile(roads, skipped)
