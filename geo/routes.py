"""Patrol routes and tracks: lines checked against the villages they belong to, in metres.

A route is a line of one or more segments that must stay inside its team's villages, give or
take a tolerance the province sets. check_route() says how long it is (geodesic metres), how far
it leaves the villages at its worst, where (each stretch outside, its length, its farthest point
and the other villages it crosses), and which of the team's villages it passes through.
follow() compares a GPS track with a planned route: the share of the route the track passed
within a distance of, and the stretches of the track farther than that from the route.

Distances are measured after scaling longitude and latitude to metres at the lines' latitude
(geo.checks.in_metres): right to 1% across a province, and straight edges stay straight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import shapely
from shapely.geometry import LineString, MultiLineString, Point
from shapely.geometry.base import BaseGeometry

from geo.checks import GEOD, in_metres
from geo.features import VIETNAM_EXTENT

MAX_ROUTE_VERTICES = 5_000
MAX_ROUTE_KM = 200.0  # a day's walk or ride many times over: anything longer is a mistake
SAMPLE_M = 2.0  # the spacing at which a stretch outside is measured for its farthest point


class RouteProblem(ValueError):
    """A drawn line that is not a route: code names what is wrong, detail where."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Village:
    id: int
    name: str
    shape: BaseGeometry  # lon/lat


@dataclass(frozen=True)
class Excursion:
    """A stretch of a route outside its team's villages."""

    line: BaseGeometry  # lon/lat
    length_m: float
    farthest_m: float  # how far its farthest point lies from the villages
    farthest_at: tuple[float, float]  # that point, lon/lat
    through: tuple[str, ...]  # the other villages it runs through, by name


@dataclass
class RouteCheck:
    length_m: float
    outside_m: float  # the farthest any point of the route lies outside the villages
    tolerance_m: float
    area_ids: list[int]  # the team's villages the route passes through
    excursions: list[Excursion] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outside_m <= self.tolerance_m

    @property
    def refused(self) -> list[Excursion]:
        """The stretches that leave by more than the tolerance."""
        return [e for e in self.excursions if e.farthest_m > self.tolerance_m]


def parse_line(geometry: dict | None) -> MultiLineString:
    """A route from a drawn GeoJSON geometry (LineString or MultiLineString, lon/lat)."""
    if not isinstance(geometry, dict) or not geometry:
        raise RouteProblem("missing")
    gtype = geometry.get("type")
    coords = geometry.get("coordinates")
    if gtype == "LineString":
        parts = [coords]
    elif gtype == "MultiLineString" and isinstance(coords, list):
        parts = coords
    else:
        raise RouteProblem("wrong_type", str(gtype))
    lines = []
    vertices = 0
    for number, part in enumerate(parts, start=1):
        if not isinstance(part, list):
            raise RouteProblem("malformed", f"{number}")
        points = []
        for pos in part:
            if (
                not isinstance(pos, list | tuple)
                or len(pos) < 2
                or not all(isinstance(v, int | float) and math.isfinite(v) for v in pos[:2])
            ):
                raise RouteProblem("malformed", f"{number}")
            points.append((float(pos[0]), float(pos[1])))
        vertices += len(points)
        if vertices > MAX_ROUTE_VERTICES:
            raise RouteProblem("too_many_vertices", f"{MAX_ROUTE_VERTICES}")
        distinct = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
        if len(distinct) < 2:
            raise RouteProblem("too_short", f"{number}")
        lines.append(LineString(distinct))
    if not lines:
        raise RouteProblem("missing")
    line = MultiLineString(lines)
    west, south, east, north = VIETNAM_EXTENT
    minx, miny, maxx, maxy = line.bounds
    if minx < west or maxx > east or miny < south or maxy > north:
        x, y = lines[0].coords[0]
        raise RouteProblem("outside_vietnam", f"{x:.5f}, {y:.5f}")
    if length_m(line) > MAX_ROUTE_KM * 1000:
        raise RouteProblem("too_long", f"{MAX_ROUTE_KM:.0f}")
    return line


def length_m(line: BaseGeometry) -> float:
    """Geodesic length on the WGS 84 spheroid."""
    return float(GEOD.geometry_length(line))


def _from_metres(geom: BaseGeometry, latitude: float) -> BaseGeometry:
    """The inverse of in_metres: metres back to lon/lat."""
    unit = in_metres([Point(1, 1)], latitude)[0]
    return shapely.affinity.scale(geom, 1 / unit.x, 1 / unit.y, origin=(0, 0))


def _parts(geom: BaseGeometry) -> list[BaseGeometry]:
    if geom.is_empty:
        return []
    if isinstance(geom, LineString):
        return [geom]
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, LineString) and not g.is_empty]


def _farthest(part_m: BaseGeometry, area_m: BaseGeometry) -> tuple[float, Point]:
    """The point of a stretch farthest from the area, and its distance (sampled every 2 m)."""
    dense = shapely.segmentize(part_m, SAMPLE_M)
    points = shapely.points(shapely.get_coordinates(dense))
    distances = shapely.distance(points, area_m)
    worst = int(distances.argmax())
    return float(distances[worst]), points[worst]


def check_route(
    line: BaseGeometry,
    villages: Sequence[Village],
    tolerance_m: float,
    others: Sequence[Village] = (),
) -> RouteCheck:
    """Check a route against its team's villages; `others` name the villages around them."""
    latitude = line.centroid.y
    line_m = in_metres([line], latitude)[0]
    shapes_m = in_metres([v.shape for v in villages], latitude) if villages else []
    area_m = shapely.union_all(shapes_m) if shapes_m else shapely.Polygon()
    passes = [
        v.id
        for v, shape_m in zip(villages, shapes_m, strict=True)
        if line_m.intersection(shape_m).length > 0.5  # not only touching its edge
    ]
    others_m = in_metres([o.shape for o in others], latitude) if others else []
    excursions = []
    for part_m in _parts(line_m.difference(area_m) if not area_m.is_empty else line_m):
        if part_m.length < 0.01:
            continue  # a rounding sliver where the line runs along the villages' edge
        if area_m.is_empty:
            farthest, at = float("inf"), Point(part_m.coords[0])
        else:
            farthest, at = _farthest(part_m, area_m)
        through = tuple(
            o.name
            for o, shape_m in zip(others, others_m, strict=True)
            if part_m.intersection(shape_m).length > 1.0
        )
        part = _from_metres(part_m, latitude)
        point = _from_metres(at, latitude)
        excursions.append(Excursion(part, length_m(part), farthest, (point.x, point.y), through))
    excursions.sort(key=lambda e: -e.farthest_m)
    return RouteCheck(
        length_m=length_m(line),
        outside_m=max((e.farthest_m for e in excursions), default=0.0),
        tolerance_m=tolerance_m,
        area_ids=passes,
        excursions=excursions,
    )


@dataclass(frozen=True)
class Following:
    share: float  # of the route's length, 0..1
    off_route: BaseGeometry  # the track's stretches farther than `within_m` from the route
    off_route_m: float


def follow(route: BaseGeometry, track: BaseGeometry, within_m: float = 30.0) -> Following:
    """How much of a planned route a GPS track followed: the share of the route's length that
    lies within `within_m` of the track, and the track's stretches farther than that from it."""
    latitude = route.centroid.y
    route_m, track_m = in_metres([route, track], latitude)
    near_track = track_m.buffer(within_m)
    total = route_m.length
    share = route_m.intersection(near_track).length / total if total else 0.0
    off_m = track_m.difference(route_m.buffer(within_m))
    off = [p for p in _parts(off_m) if p.length > 1.0]
    off_line = _from_metres(MultiLineString(off), latitude) if off else MultiLineString()
    return Following(min(share, 1.0), off_line, sum(p.length for p in off))
