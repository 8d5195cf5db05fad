"""Reading and checking boundary features from GeoJSON, feature by feature.

Nothing here writes anything: the result says which features are usable and, for each that is
not, its number, code and what is wrong, so that callers can refuse the whole file.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

# Where Vietnam lies, to recognise projected metres and swapped axes in a message.
_VN_LON = (102.0, 110.5)
_VN_LAT = (8.0, 23.5)

CODE_KEYS = ("code", "ma", "level2_id", "level1_id", "ma_xa", "ma_tinh")
NAME_KEYS = ("fullName", "full_name", "ten", "name")
NAME_EN_KEYS = ("fullNameEn", "nameEn", "name_en")
WGS84_CRS_NAMES = {
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:OGC::CRS84",
    "urn:ogc:def:crs:EPSG::4326",
    "EPSG:4326",
}


@dataclass(frozen=True)
class Problem:
    """What is wrong with one feature (index from 1) or with the file (index 0)."""

    index: int
    code: str | None
    kind: str  # a stable key, e.g. "invalid_geometry"; callers turn it into a sentence
    detail: str = ""


@dataclass
class Feature:
    index: int
    code: str | None
    name: str | None
    name_en: str | None
    properties: dict
    geometry: MultiPolygon | None


@dataclass
class ReadResult:
    features: list[Feature] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def bad_indexes(self) -> set[int]:
        return {p.index for p in self.problems}

    @property
    def file_problems(self) -> list[Problem]:
        return [p for p in self.problems if p.index == 0]

    @property
    def valid(self) -> list[Feature]:
        if self.file_problems:
            return []
        bad = self.bad_indexes
        return [f for f in self.features if f.index not in bad]


def _first(props: dict, keys: Iterable[str]) -> str | None:
    for key in keys:
        value = props.get(key)
        if value not in (None, ""):
            return unicodedata.normalize("NFC", str(value)).strip()
    return None


def _positions(coords, depth: int):
    """Yield every position of a Polygon (depth 2) or MultiPolygon (depth 3) coordinate array."""
    if depth == 0:
        yield coords
        return
    for item in coords:
        yield from _positions(item, depth - 1)


def _rings(coords, depth: int):
    if depth == 1:
        yield coords
        return
    for item in coords:
        yield from _rings(item, depth - 1)


def _inside(values: list[float], bounds: tuple[float, float]) -> bool:
    return bounds[0] <= min(values) and max(values) <= bounds[1]


def _fmt(x: float, y: float) -> str:
    return f"({x:.6f}, {y:.6f})"


def check_geometry(geometry: dict | None) -> tuple[MultiPolygon | None, str | None, str]:
    """Turn a GeoJSON geometry into a valid MultiPolygon, or say what is wrong with it.

    Returns (shape, problem kind, detail); the kind is None when the shape is usable.
    """
    if not geometry:
        return None, "missing_geometry", ""
    gtype = geometry.get("type")
    if gtype not in ("Polygon", "MultiPolygon"):
        return None, "wrong_type", str(gtype)
    coords = geometry.get("coordinates")
    depth = 2 if gtype == "Polygon" else 3
    if not coords:
        return None, "empty_geometry", ""
    try:
        positions = list(_positions(coords, depth))
        rings = list(_rings(coords, depth))
    except TypeError:
        return None, "malformed_geometry", "coordinates are not nested as a " + gtype
    for pos in positions:
        if not isinstance(pos, list | tuple) or len(pos) < 2:
            return None, "malformed_geometry", f"position {pos!r}"
        if len(pos) > 2:
            return None, "three_d", f"{pos!r}"
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in pos):
            return None, "malformed_geometry", f"position {pos!r}"
    xs = [p[0] for p in positions]
    ys = [p[1] for p in positions]
    if _inside(xs, _VN_LAT) and _inside(ys, _VN_LON):
        # latitude first, longitude second: a place in Vietnam written the wrong way round
        return None, "swapped_axes", _fmt(xs[0], ys[0])
    for x, y in zip(xs, ys, strict=True):
        if not (-180 <= x <= 180 and -90 <= y <= 90):
            return None, "not_wgs84", _fmt(x, y)
    for ring in rings:
        if len(ring) < 4:
            return None, "short_ring", f"{len(ring)} positions"
        if list(ring[0]) != list(ring[-1]):
            return None, "unclosed_ring", f"{_fmt(*ring[0])} ≠ {_fmt(*ring[-1])}"
    geom = shape(geometry)
    if geom.is_empty:
        return None, "empty_geometry", ""
    if not geom.is_valid:
        return None, "invalid_geometry", shapely.is_valid_reason(geom)
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    return geom, None, ""


def read_geojson(
    data: bytes | str,
    *,
    require_code: bool = True,
    progress=None,
) -> ReadResult:
    """Read a GeoJSON FeatureCollection (or one Feature) and check every feature.

    progress, when given, is called with (done, total) as features are checked.
    """
    result = ReadResult()
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            result.problems.append(Problem(0, None, "not_utf8", f"byte {exc.start}"))
            return result
    if not data.strip():
        result.problems.append(Problem(0, None, "empty_file"))
        return result
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        result.problems.append(
            Problem(0, None, "not_json", f"line {exc.lineno}, column {exc.colno}")
        )
        return result
    if not isinstance(doc, dict):
        result.problems.append(Problem(0, None, "not_geojson", type(doc).__name__))
        return result
    if doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc], "crs": doc.get("crs")}
    if doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        result.problems.append(Problem(0, None, "not_geojson", str(doc.get("type"))))
        return result
    crs = doc.get("crs")
    if crs:
        name = (crs.get("properties") or {}).get("name", "") if isinstance(crs, dict) else ""
        if name not in WGS84_CRS_NAMES:
            result.problems.append(Problem(0, None, "crs_not_wgs84", str(name or crs)))
            return result
    features = doc["features"]
    if not features:
        result.problems.append(Problem(0, None, "no_features"))
        return result

    seen_codes: dict[str, int] = {}
    total = len(features)
    for i, raw in enumerate(features, start=1):
        if not isinstance(raw, dict) or raw.get("type") != "Feature":
            result.problems.append(Problem(i, None, "not_a_feature"))
            continue
        props = raw.get("properties") or {}
        code = _first(props, CODE_KEYS)
        if code is None and raw.get("id") is not None and require_code:
            code = str(raw["id"]).strip()
        name = _first(props, NAME_KEYS)
        geom, kind, detail = check_geometry(raw.get("geometry"))
        if kind:
            result.problems.append(Problem(i, code, kind, detail))
        if require_code and not code:
            result.problems.append(Problem(i, None, "missing_code"))
        if not name:
            result.problems.append(Problem(i, code, "missing_name"))
        if code:
            if code in seen_codes:
                result.problems.append(
                    Problem(i, code, "duplicate_code", f"feature {seen_codes[code]}")
                )
            else:
                seen_codes[code] = i
        result.features.append(Feature(i, code, name, _first(props, NAME_EN_KEYS), props, geom))
        if progress:
            progress(i, total)
    return result
