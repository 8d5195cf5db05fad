"""Dividing a polygon into parts that form a valid coverage (used to build demo villages)."""

from __future__ import annotations

import random

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.prepared import prep


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """The polygonal part of a geometry as a MultiPolygon (lines and points dropped)."""
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    polys: list[Polygon] = []
    for part in parts:
        polys.extend(part.geoms if isinstance(part, MultiPolygon) else [part])
    return MultiPolygon(polys)


def random_points_inside(geom: BaseGeometry, n: int, rng: random.Random) -> np.ndarray:
    """n points spread uniformly inside geom (rejection sampling in its bounding box)."""
    minx, miny, maxx, maxy = geom.bounds
    inside = prep(geom)
    points: list[tuple[float, float]] = []
    tries = 0
    while len(points) < n and tries < n * 1000:
        tries += 1
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if inside.contains(shapely.Point(x, y)):
            points.append((x, y))
    return np.array(points)


def partition(geom: BaseGeometry, n: int, rng: random.Random, relax: int = 2) -> list[MultiPolygon]:
    """Divide geom into about n parts of similar size, deterministic for a seeded rng.

    Voronoi cells of random points, smoothed by `relax` rounds of Lloyd's relaxation and clipped
    to geom. The parts cover geom exactly without overlapping: a valid coverage.
    """
    if n <= 1:
        return [as_multipolygon(geom)]
    seeds = random_points_inside(geom, n, rng)
    envelope = shapely.box(*geom.bounds).buffer(max(_span(geom), 1e-6))
    cells: list[BaseGeometry] = []
    for round_ in range(relax + 1):
        voronoi = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=envelope)
        cells = [c for c in shapely.intersection(list(voronoi.geoms), geom) if not c.is_empty]
        if round_ < relax:
            # Lloyd: move each seed to its cell's centre; keep the seed if the centre falls out
            centres = [
                shapely.point_on_surface(c) if not c.centroid.within(geom) else c.centroid
                for c in cells
            ]
            seeds = np.array([(p.x, p.y) for p in centres])
    parts = [as_multipolygon(c) for c in cells]
    return [p for p in parts if not p.is_empty]


def _span(geom: BaseGeometry) -> float:
    minx, miny, maxx, maxy = geom.bounds
    return max(maxx - minx, maxy - miny)


def carve_sliver(
    parts: list[MultiPolygon], index: int, width: float
) -> tuple[MultiPolygon, BaseGeometry] | None:
    """Cut a thin strip of the given width (degrees) off parts[index] along an edge it shares
    with a neighbour, leaving land that no part covers. Returns (new part, strip) or None."""
    target = parts[index]
    for j, other in enumerate(parts):
        if j == index:
            continue
        shared = shapely.intersection(target.boundary, other.boundary)
        if shared.length <= 0:
            continue
        strip = shapely.intersection(shared.buffer(width, cap_style="flat"), target)
        rest = as_multipolygon(shapely.difference(target, strip))
        if strip.area > 0 and not rest.is_empty:
            return rest, strip
    return None
