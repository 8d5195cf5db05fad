"""geo.checks: when two boundaries are the same (under 1 cm apart everywhere), and which gaps
an upload is answerable for, on hand-built shapes with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import shapely.affinity
from pyproj import Geod

from geo.checks import SAME_WITHIN_M, same_boundary

GEOD = Geod(ellps="WGS84")

# a village of about 1 km x 1.1 km in Hanoi, with a pond (a hole) in it
OUTER = [(105.80, 21.00), (105.81, 21.00), (105.81, 21.01), (105.80, 21.01), (105.80, 21.00)]
POND = [(105.803, 21.003), (105.803, 21.005), (105.806, 21.005), (105.803, 21.003)]
VILLAGE = shapely.Polygon(OUTER, [POND])


def moved(geom, metres: float, azimuth: float = 90.0):
    """Every vertex moved the same distance (metres on the spheroid) the same way."""

    def move(xy):
        n = len(xy)
        x, y, _back = GEOD.fwd(xy[:, 0], xy[:, 1], np.full(n, azimuth), np.full(n, metres))
        return np.column_stack([x, y])

    return shapely.transform(geom, move)


def with_extra_vertex(geom):
    """The same outline with one more vertex, halfway along its first edge."""
    ring = list(geom.exterior.coords)
    (x0, y0), (x1, y1) = ring[0], ring[1]
    return shapely.Polygon([ring[0], ((x0 + x1) / 2, (y0 + y1) / 2), *ring[1:]], geom.interiors)


def test_the_line_is_one_centimetre():
    assert SAME_WITHIN_M == 0.01


@pytest.mark.parametrize("azimuth", [0.0, 90.0, 225.0])
def test_a_5_mm_shift_is_the_same_boundary_and_2_cm_is_not(azimuth):
    assert same_boundary(VILLAGE, moved(VILLAGE, 0.005, azimuth))
    assert not same_boundary(VILLAGE, moved(VILLAGE, 0.02, azimuth))


def test_both_sides_of_the_line():
    assert same_boundary(VILLAGE, moved(VILLAGE, 0.009))
    assert not same_boundary(VILLAGE, moved(VILLAGE, 0.011))


def test_other_vertices_are_compared_along_the_lines_not_vertex_by_vertex():
    """A re-drawn outline with another vertex count: the distance between the lines counts."""
    denser = with_extra_vertex(VILLAGE)
    assert same_boundary(VILLAGE, denser)
    assert same_boundary(VILLAGE, moved(denser, 0.005))
    assert not same_boundary(VILLAGE, moved(denser, 0.02))
    # a vertex added 2 cm off the edge, between two that did not move
    ring = list(VILLAGE.exterior.coords)
    x, y, _ = GEOD.fwd(105.805, 21.00, 180.0, 0.02)  # 2 cm south of the southern edge
    bulge = shapely.Polygon([ring[0], (x, y), *ring[1:]], VILLAGE.interiors)
    assert not same_boundary(VILLAGE, bulge)
    x, y, _ = GEOD.fwd(105.805, 21.00, 180.0, 0.005)
    assert same_boundary(VILLAGE, shapely.Polygon([ring[0], (x, y), *ring[1:]], VILLAGE.interiors))


def test_a_hole_counts_like_the_outer_ring():
    pond = shapely.Polygon(moved(shapely.Polygon(POND), 0.02).exterior)
    assert not same_boundary(VILLAGE, shapely.Polygon(OUTER, [pond.exterior.coords]))
    assert not same_boundary(VILLAGE, shapely.Polygon(OUTER))  # the pond filled in


def test_same_in_metres_not_degrees():
    """1e-7 degrees is 1.1 cm of latitude but 1.04 cm of longitude here: the test is in metres."""
    north = shapely.affinity.translate(VILLAGE, yoff=0.85e-7)  # 0.94 cm
    east = shapely.affinity.translate(VILLAGE, xoff=0.85e-7)  # 0.88 cm
    assert same_boundary(VILLAGE, north) and same_boundary(VILLAGE, east)
    east = shapely.affinity.translate(VILLAGE, xoff=0.92e-7)  # 0.96 cm, though 0.92e-7 degrees
    assert same_boundary(VILLAGE, east)  # is more than 1 cm of latitude would be
    north = shapely.affinity.translate(VILLAGE, yoff=0.95e-7)  # 1.05 cm
    east = shapely.affinity.translate(VILLAGE, xoff=1.1e-7)  # 1.14 cm
    assert not same_boundary(VILLAGE, north)
    assert not same_boundary(VILLAGE, east)
