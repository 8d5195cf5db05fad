"""Spatial checks of new boundaries against their parent and their siblings (in Shapely).

Areas are measured on the WGS 84 spheroid (pyproj Geod), never in square degrees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import shapely
import shapely.affinity
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

GEOD = Geod(ellps="WGS84")


def area_m2(geom: BaseGeometry) -> float:
    """Area on the spheroid in square metres (orientation does not matter)."""
    total = 0.0
    for polygon in getattr(geom, "geoms", [geom]):
        if polygon.geom_type != "Polygon" or polygon.is_empty:
            continue
        # rings straight from GEOS as arrays: far faster than pyproj's per-geometry walk
        rings = [polygon.exterior, *polygon.interiors]
        for k, ring in enumerate(rings):
            xy = shapely.get_coordinates(ring)
            size = abs(GEOD.polygon_area_perimeter(xy[:, 0], xy[:, 1])[0])
            total += size if k == 0 else -size
    return total


@dataclass(frozen=True)
class SpatialIssue:
    index: int  # the feature (0: the file as a whole, e.g. a gap)
    kind: str  # outside_parent, overlap, overlap_existing, gap
    area_m2: float
    where: tuple[float, float]
    other: str = ""  # the feature or area it concerns
    shape: BaseGeometry | None = None  # what to draw on the map


def _polygons(geom: BaseGeometry) -> list[BaseGeometry]:
    return [
        g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon" and not g.is_empty
    ]


def _point(geom: BaseGeometry) -> tuple[float, float]:
    p = shapely.point_on_surface(geom)
    return round(p.x, 6), round(p.y, 6)


def check_placement(
    features: list[tuple[int, str, BaseGeometry]],
    parent: BaseGeometry | None,
    siblings: list[tuple[str, BaseGeometry]],
    tolerance_m2: float = 100.0,
    replaced: Sequence[BaseGeometry] = (),
) -> list[SpatialIssue]:
    """Features (index, label, shape) outside their parent, overlapping each other or the
    siblings that stay, and the gaps they leave, each beyond the tolerance.

    `siblings` are the parent's areas that stay, `replaced` the present shapes of those the
    features replace. A gap (land of the parent that nothing covers afterwards) is the
    upload's when it is not a gap that was there before: one that stays exactly as it was, to
    within the tolerance, is someone else's business and is not listed. So a commune's upload
    names the land its villages leave uncovered, and the slivers between them, never every
    gap that already was in the commune or the city. See new_gaps.
    """
    issues: list[SpatialIssue] = []
    if parent is not None:
        for index, _label, geom in features:
            outside = geom.difference(parent)
            size = area_m2(outside)
            if size > tolerance_m2:
                issues.append(
                    SpatialIssue(index, "outside_parent", size, _point(outside), shape=outside)
                )
    shapes = [geom for _, _, geom in features]
    tree = shapely.STRtree(shapes)
    left, right = tree.query(shapes, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i >= j:
            continue
        common = shapes[i].intersection(shapes[j])
        size = area_m2(common)
        if size > tolerance_m2:
            index, other = features[j][0], features[i][1]
            issues.append(SpatialIssue(index, "overlap", size, _point(common), other, common))
    if siblings:
        sibling_tree = shapely.STRtree([g for _, g in siblings])
        left, right = sibling_tree.query(shapes, predicate="intersects")
        for i, j in zip(left, right, strict=True):
            common = shapes[i].intersection(siblings[j][1])
            size = area_m2(common)
            if size > tolerance_m2:
                issue = SpatialIssue(
                    features[i][0], "overlap_existing", size, _point(common), siblings[j][0], common
                )
                issues.append(issue)
    if parent is not None:
        staying = [g for _, g in siblings]
        before, after = staying + list(replaced), staying + shapes
        for part, size in new_gaps(parent, before, after, tolerance_m2):
            issues.append(SpatialIssue(0, "gap", size, _point(part), shape=part))
    return issues


def _any_area_m2(geom: BaseGeometry) -> float:
    """The area of whatever an overlay gives (a collection may hold multipolygons)."""
    return sum(area_m2(p) for p in shapely.get_parts(shapely.get_parts(geom)))


def _gaps(parent: BaseGeometry, covering: list[BaseGeometry]) -> list[BaseGeometry]:
    return _polygons(parent.difference(shapely.union_all(covering)) if covering else parent)


def new_gaps(
    parent: BaseGeometry,
    before: list[BaseGeometry],
    after: list[BaseGeometry],
    tolerance_m2: float = 100.0,
) -> list[tuple[BaseGeometry, float]]:
    """The gaps in the parent once `after` covers it that were not there while `before` did,
    with their areas in m²: new ones, and old ones that grew, shrank or split. A gap counts as
    the same as one before when the two differ by no more than the tolerance (the area of their
    symmetric difference), so a change at a gap's edge below it leaves the gap unlisted."""
    earlier = [g for g in _gaps(parent, before) if area_m2(g) > tolerance_m2]
    tree = shapely.STRtree(earlier)
    found = []
    for part in _gaps(parent, after):
        size = area_m2(part)
        if size <= tolerance_m2:
            continue
        same = any(
            _any_area_m2(part.symmetric_difference(earlier[j])) <= tolerance_m2
            for j in tree.query(part, predicate="intersects")
        )
        if not same:
            found.append((part, size))
    return found


# Two boundaries closer than this everywhere are the same boundary (see same_boundary).
SAME_WITHIN_M = 0.01
# more metres than a degree of latitude or longitude spans anywhere (at most 111,694 m, a
# degree of latitude near a pole): vertices this many degrees apart are less than 1 m apart
_MAX_METRES_PER_DEGREE = 111_700.0


def in_metres(geoms: list[BaseGeometry], latitude: float) -> list[BaseGeometry]:
    """Longitude and latitude scaled to metres at the given latitude, on the WGS 84 ellipsoid.

    An affine map, so a straight edge in degrees (as stored) stays straight (a projection would
    bend a 1 km edge by millimetres, as much as is measured here); distances come out right to
    1% within a degree of latitude from the given one, which is more than a province spans.
    """
    phi = math.radians(latitude)
    a, e2 = 6_378_137.0, 0.00669437999014
    w = 1 - e2 * math.sin(phi) ** 2
    per_lat = math.radians(a * (1 - e2) / w**1.5)  # metres per degree along the meridian
    per_lon = math.radians(a / math.sqrt(w) * math.cos(phi))  # and along the parallel
    return [shapely.affinity.scale(g, per_lon, per_lat, origin=(0, 0)) for g in geoms]


def same_boundary(a: BaseGeometry, b: BaseGeometry, within_m: float = SAME_WITHIN_M) -> bool:
    """Whether two boundaries (lon/lat) are the same but for less than `within_m` metres:
    every point of either outline (outer rings and holes) lies within that distance of the
    other's. That is their Hausdorff distance, over every point of the lines, not only their
    vertices, measured in metres, not degrees.

    Two outlines with the same vertices in the same order, each pair less than `within_m`
    apart, are the same (the straight lines between them then stay that close); this is
    the common case of a file re-read or reprojected, and costs one comparison. Otherwise each
    outline must lie inside the other's `within_m` buffer, in metres (see in_metres, right to
    1% across a province; the buffer's arcs lie 0.5% inside the true circle): "under 1 cm"
    holds to a tenth of a millimetre.
    """
    if a.equals_exact(b, within_m / _MAX_METRES_PER_DEGREE):
        return True
    if a.is_empty or b.is_empty:
        return a.is_empty and b.is_empty
    line_a, line_b = in_metres([a.boundary, b.boundary], shapely.centroid(a).y)
    if any(abs(p - q) >= within_m for p, q in zip(line_a.bounds, line_b.bounds, strict=True)):
        return False  # an edge of one box lies farther than that from the other's
    return line_a.buffer(within_m).covers(line_b) and line_b.buffer(within_m).covers(line_a)
