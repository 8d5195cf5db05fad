"""Spatial checks of new boundaries against their parent and their siblings (in Shapely).

Areas are measured on the WGS 84 spheroid (pyproj Geod), never in square degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
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
) -> list[SpatialIssue]:
    """Features (index, label, shape) outside their parent, overlapping each other or the
    siblings that stay, and land of the parent that nothing covers, each beyond the tolerance."""
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
        covered = shapely.union_all(shapes + [g for _, g in siblings])
        for part in _polygons(parent.difference(covered)):
            size = area_m2(part)
            if size > tolerance_m2:
                issues.append(SpatialIssue(0, "gap", size, _point(part), shape=part))
    return issues
