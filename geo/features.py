"""Reading and checking boundary features, feature by feature.

Nothing here writes anything: the result says which features are usable and, for each that is
not, its number, code and what is wrong, so that callers can refuse the whole file. Geometry is
converted to WGS 84 once, here, from the CRS the file declares or the planner chose.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from geo import crs as crs_tools

# Where Vietnam lies, to recognise swapped axes, and land converted with the wrong CRS.
_VN_LON = (102.0, 110.5)
_VN_LAT = (8.0, 23.5)
VIETNAM_EXTENT = (102.0, 6.0, 118.0, 24.0)  # mainland and islands, lon/lat

CODE_KEYS = ("code", "ma", "level2_id", "level1_id", "ma_xa", "ma_tinh")
NAME_KEYS = ("fullName", "full_name", "ten", "name", "Name", "TEN")
NAME_EN_KEYS = ("fullNameEn", "nameEn", "name_en")
WGS84_CRS_NAMES = {
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:OGC::CRS84",
    "urn:ogc:def:crs:EPSG::4326",
    "EPSG:4326",
}
# Vertices one feature may have, by level. Measured on ../shared/data: Hanoi's largest commune
# (Xã Nội Bài) has 4,521 vertices, the median commune 851, the densest one a vertex every 10 m;
# the longest commune outline runs 72 km; the old districts have at most 755, the city's
# outline 2,095. A village (Hanoi has some 5,400 in 126 communes) is a fraction of a commune:
# even a 20 km village outline, traced at a vertex every metre (finer than a 1:2,000 cadastral
# map, whose vertices are parcel corners metres apart), has 20,000, over four times the largest
# real commune. A commune gets 50,000 (its longest real outline at a vertex every 1.5 m, eleven
# times the largest real one); a district or province 100,000 (an outline of 2,000 km, coast and
# islands included, at a vertex every 20 m). More than that is a pathological file, and every
# page that drew it would pay for it (a 200,000-vertex village took 3-4 s per page).
MAX_VERTICES = {"village": 20_000, "commune": 50_000, "district": 100_000, "province": 100_000}
VILLAGE_MAX_VERTICES = MAX_VERTICES["village"]


@dataclass(frozen=True)
class Problem:
    """What is wrong with one feature (index from 1) or with the file (index 0)."""

    index: int
    code: str | None
    kind: str  # a stable key, e.g. "invalid_geometry"; callers turn it into a sentence
    detail: str = ""
    where: tuple[float, float] | None = None  # lon/lat of the fault, when known
    repairable: bool = False  # an automatic repair is offered (Feature.repaired)


@dataclass
class RawFeature:
    """A feature as read from any format: its properties and its parsed shape (source CRS)."""

    index: int
    properties: dict
    geometry: BaseGeometry | None
    problem: tuple[str, str] | None = None  # (kind, detail) found while parsing


@dataclass
class Feature:
    index: int
    code: str | None
    name: str | None
    name_en: str | None
    properties: dict
    geometry: MultiPolygon | None  # WGS 84; None when unusable
    repaired: MultiPolygon | None = None  # offered when the geometry was invalid


@dataclass
class ReadResult:
    features: list[Feature] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    source_crs: str = "WGS 84 (EPSG:4326)"
    # what the planner should know about the file as a whole, e.g. which of its layers was read
    notes: list[dict] = field(default_factory=list)

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


class FileProblem(Exception):
    """The whole file cannot be read: nothing in it is usable."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


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


def _fmt(x: float, y: float) -> str:
    return f"({x:.6f}, {y:.6f})"


def _ring_array(ring) -> np.ndarray | None:
    """A ring as an (n, 2) array when it is at least 4 closed positions of two finite numbers."""
    if not isinstance(ring, list) or len(ring) < 4:
        return None
    try:
        xy = np.array(ring)
    except (ValueError, TypeError):  # ragged: positions of different lengths
        return None
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.dtype.kind not in "iuf":
        return None
    xy = xy.astype(float, copy=False)
    if not np.isfinite(xy).all() or not (xy[0] == xy[-1]).all():
        return None
    return xy


def _well_formed(coords, gtype: str) -> BaseGeometry | None:
    """The shape, built from arrays, when every ring passes the checks below at once (all but
    broken files); None sends the caller to the position-by-position checks that say why."""
    polygons = [coords] if gtype == "Polygon" else coords
    if not isinstance(polygons, list):
        return None
    built = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            return None
        rings = [_ring_array(ring) for ring in polygon]
        if any(ring is None for ring in rings):
            return None
        built.append(Polygon(rings[0], rings[1:]))
    return built[0] if gtype == "Polygon" else MultiPolygon(built)


def parse_geojson_geometry(geometry: dict | None) -> tuple[BaseGeometry | None, str | None, str]:
    """The shape of a GeoJSON geometry, or what is wrong with its structure."""
    if not geometry:
        return None, "missing_geometry", ""
    gtype = geometry.get("type")
    if gtype not in ("Polygon", "MultiPolygon"):
        return None, "wrong_type", str(gtype)
    coords = geometry.get("coordinates")
    depth = 2 if gtype == "Polygon" else 3
    if not coords:
        return None, "empty_geometry", ""
    fast = _well_formed(coords, gtype)
    if fast is not None:
        return fast, None, ""
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
    for ring in rings:
        if len(ring) < 4:
            return None, "short_ring", f"{len(ring)} positions"
        if list(ring[0]) != list(ring[-1]):
            return None, "unclosed_ring", f"{_fmt(*ring[0])} ≠ {_fmt(*ring[-1])}"
    return shape(geometry), None, ""


def parse_shape(geom: BaseGeometry | None) -> tuple[BaseGeometry | None, str | None, str]:
    """The same structural checks for a shape read by GDAL from another format."""
    if geom is None:
        return None, "missing_geometry", ""
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return None, "wrong_type", geom.geom_type
    if geom.is_empty:
        return None, "empty_geometry", ""
    if shapely.has_z(geom):
        x, y, z = shapely.get_coordinates(geom, include_z=True)[0]
        return None, "three_d", f"[{x}, {y}, {z}]"
    return geom, None, ""


def _swapped(geom: BaseGeometry) -> bool:
    minx, miny, maxx, maxy = geom.bounds
    return _VN_LAT[0] <= minx <= maxx <= _VN_LAT[1] and _VN_LON[0] <= miny <= maxy <= _VN_LON[1]


def _first_point(geom: BaseGeometry) -> tuple[float, float]:
    x, y = shapely.get_coordinates(geom)[0]
    return float(x), float(y)


def _fault_location(reason: str) -> tuple[float, float] | None:
    # GEOS reasons end with the place: "Self-intersection[105.805 21.005]"
    if "[" in reason and reason.endswith("]"):
        try:
            x, y = reason[reason.rindex("[") + 1 : -1].split()[:2]
            return float(x), float(y)
        except ValueError:
            return None
    return None


def check_wgs84_shape(
    geom: BaseGeometry,
    index: int,
    code: str | None,
    max_vertices: int = VILLAGE_MAX_VERTICES,
):
    """Checks on a shape in WGS 84: place, size and validity (with an offered repair).

    Returns (usable MultiPolygon or None, problem or None, repaired MultiPolygon or None).
    Too many vertices is a problem whose detail is "<vertices> > <limit>".
    """
    x, y = _first_point(geom)
    if crs_tools.looks_projected(geom):
        return None, Problem(index, code, "not_wgs84", _fmt(x, y), None), None
    minx, miny, maxx, maxy = geom.bounds
    west, south, east, north = VIETNAM_EXTENT
    if minx < west or maxx > east or miny < south or maxy > north:
        return None, Problem(index, code, "outside_vietnam", _fmt(x, y), (x, y)), None
    vertices = int(shapely.get_num_coordinates(geom))
    if vertices > max_vertices:
        return None, Problem(index, code, "too_many_vertices", f"{vertices} > {max_vertices}"), None
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        repaired = _repair(geom)
        problem = Problem(
            index, code, "invalid_geometry", reason, _fault_location(reason), repaired is not None
        )
        return None, problem, repaired
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    return geom, None, None


def _repair(geom: BaseGeometry) -> MultiPolygon | None:
    """The polygonal part of make_valid, when that keeps nearly all the area."""
    from geo.partition import as_multipolygon

    fixed = as_multipolygon(shapely.make_valid(geom))
    if fixed.is_empty or not fixed.is_valid:
        return None
    return fixed


def build(
    raw: list[RawFeature],
    source: CRS | None,
    *,
    require_code: bool = True,
    progress: Callable[[int, int], None] | None = None,
    max_vertices: int = VILLAGE_MAX_VERTICES,
) -> ReadResult:
    """Check every raw feature, convert the usable ones to WGS 84, check codes and names."""
    result = ReadResult(source_crs=crs_tools.describe(source or crs_tools.WGS84))
    seen_codes: dict[str, int] = {}
    assume_wgs84 = source is None or crs_tools.is_wgs84(source)
    total = len(raw)
    for done, item in enumerate(raw, start=1):
        props = item.properties or {}
        code = _first(props, CODE_KEYS)
        name = _first(props, NAME_KEYS)
        geom, repaired = None, None
        if item.problem:
            result.problems.append(Problem(item.index, code, *item.problem))
        elif assume_wgs84 and _swapped(item.geometry):
            x, y = _first_point(item.geometry)
            result.problems.append(Problem(item.index, code, "swapped_axes", _fmt(x, y)))
        else:
            shape_ = (
                item.geometry if assume_wgs84 else crs_tools.to_wgs84([item.geometry], source)[0]
            )
            geom, problem, repaired = check_wgs84_shape(shape_, item.index, code, max_vertices)
            if problem:
                result.problems.append(problem)
        if require_code and not code:
            result.problems.append(Problem(item.index, None, "missing_code"))
        if not name:
            result.problems.append(Problem(item.index, code, "missing_name"))
        if code:
            if code in seen_codes:
                result.problems.append(
                    Problem(item.index, code, "duplicate_code", f"feature {seen_codes[code]}")
                )
            else:
                seen_codes[code] = item.index
        result.features.append(
            Feature(item.index, code, name, _first(props, NAME_EN_KEYS), props, geom, repaired)
        )
        if progress:
            progress(done, total)
    return result


def geojson_features(data: bytes | str) -> tuple[list[RawFeature], CRS | None]:
    """Parse a GeoJSON FeatureCollection (or one Feature); FileProblem if it is not one."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FileProblem("not_utf8", f"byte {exc.start}") from None
    if not data.strip():
        raise FileProblem("empty_file")
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise FileProblem("not_json", f"line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise FileProblem("not_json", "nested too deeply") from None
    if not isinstance(doc, dict):
        raise FileProblem("not_geojson", type(doc).__name__)
    if doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc], "crs": doc.get("crs")}
    if doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise FileProblem("not_geojson", str(doc.get("type")))
    declared = None
    crs_member = doc.get("crs")
    if crs_member:
        name = (
            (crs_member.get("properties") or {}).get("name", "")
            if isinstance(crs_member, dict)
            else ""
        )
        if name not in WGS84_CRS_NAMES:
            try:
                declared = crs_tools.crs_for(name)
            except ValueError:
                raise FileProblem("crs_unknown", str(name or crs_member)) from None
    if not doc["features"]:
        raise FileProblem("no_features")
    raw = []
    for i, item in enumerate(doc["features"], start=1):
        if not isinstance(item, dict) or item.get("type") != "Feature":
            raw.append(RawFeature(i, {}, None, ("not_a_feature", "")))
            continue
        props = item.get("properties") or {}
        if not any(props.get(k) for k in CODE_KEYS) and item.get("id") is not None:
            props = {**props, "code": str(item["id"])}
        geom, kind, detail = parse_geojson_geometry(item.get("geometry"))
        raw.append(RawFeature(i, props, geom, (kind, detail) if kind else None))
    return raw, declared


def read_geojson(
    data: bytes | str,
    *,
    require_code: bool = True,
    crs: CRS | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_vertices: int = VILLAGE_MAX_VERTICES,
) -> ReadResult:
    """Read and check a GeoJSON file; `crs` overrides what the file declares."""
    try:
        raw, declared = geojson_features(data)
    except FileProblem as exc:
        return ReadResult(problems=[Problem(0, None, exc.kind, exc.detail)])
    return build(
        raw,
        crs or declared,
        require_code=require_code,
        progress=progress,
        max_vertices=max_vertices,
    )
