"""geo.checks: when two boundaries are the same (under 1 cm apart everywhere), and which gaps
an upload is answerable for, on hand-built shapes with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import shapely.affinity
from pyproj import Geod

from geo.checks import SAME_WITHIN_M, check_placement, new_gaps, same_boundary

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


# --- gaps: the upload's own, not every gap already there ----------------------------------

# a 2 km x 1.1 km commune, four villages in a row, each 500 m wide
COMMUNE = shapely.box(105.80, 21.00, 105.82, 21.01)
STRIP = 0.0005  # 52 m of longitude: a strip 52 m x 1.1 km, some 57,500 m²


def village(i: int, west_trim: float = 0.0, east_trim: float = 0.0) -> shapely.Polygon:
    return shapely.box(
        105.80 + i * 0.005 + west_trim, 21.00, 105.805 + i * 0.005 - east_trim, 21.01
    )


def gaps(issues):
    return sorted(i.area_m2 for i in issues if i.kind == "gap")


STRIP_M2 = pytest.approx(57_500, rel=0.01)  # 52.0 m x 1,106 m


def test_a_gap_that_was_there_and_stays_is_not_the_uploads():
    """The commune has a gap east of village 2; an upload of village 4 alone leaves it as it
    was, so it does not list it (the gap is the commune's, not the upload's)."""
    staying = [("1", village(0)), ("2", village(1, east_trim=STRIP)), ("3", village(2))]
    issues = check_placement([(1, "4", village(3))], COMMUNE, staying, replaced=[village(3)])
    assert gaps(issues) == []
    # what was listed before: every gap of the commune
    everything = COMMUNE.difference(shapely.union_all([g for _, g in staying] + [village(3)]))
    assert everything.area > 0


def test_land_a_village_no_longer_covers_is_the_uploads():
    """Village 4 made 50 m narrower leaves a strip; the old gap by village 2 is not listed."""
    staying = [("1", village(0)), ("2", village(1, east_trim=STRIP)), ("3", village(2))]
    smaller = village(3, east_trim=STRIP)
    issues = check_placement([(1, "4", smaller)], COMMUNE, staying, replaced=[village(3)])
    assert gaps(issues) == [STRIP_M2]
    (gap,) = [i for i in issues if i.kind == "gap"]
    assert gap.shape.within(village(3))  # where village 4 was


def test_slivers_between_new_villages_are_the_uploads():
    """A commune's first upload: the land between its new villages is listed."""
    features = [(1, "1", village(0)), (2, "2", village(1, east_trim=STRIP))]
    features += [(3, "3", village(2)), (4, "4", village(3))]
    assert gaps(check_placement(features, COMMUNE, [])) == [STRIP_M2]


def test_a_gap_the_upload_changes_is_the_uploads():
    """Village 3 reaches half-way into the old gap by village 2: what is left is listed."""
    staying = [("1", village(0)), ("2", village(1, east_trim=STRIP)), ("4", village(3))]
    wider = village(2, west_trim=-STRIP / 2)
    issues = check_placement([(1, "3", wider)], COMMUNE, staying, replaced=[village(2)])
    assert gaps(issues) == [pytest.approx(28_750, rel=0.01)]


def test_a_change_at_a_gaps_edge_below_the_tolerance_leaves_it_unlisted():
    staying = [("1", village(0)), ("2", village(1, east_trim=STRIP)), ("4", village(3))]
    nudged = village(2, west_trim=-0.0000005)  # 5 cm into the gap: 55 m²
    issues = check_placement([(1, "3", nudged)], COMMUNE, staying, replaced=[village(2)])
    assert gaps(issues) == []
    strict = check_placement([(1, "3", nudged)], COMMUNE, staying, 10.0, [village(2)])
    assert gaps(strict) == [pytest.approx(57_500 - 55, rel=0.01)]


def test_new_gaps_compares_before_and_after():
    before = [village(0), village(1), village(2), village(3)]
    after = [village(0), village(1), village(2), village(3, west_trim=STRIP)]
    ((part, size),) = new_gaps(COMMUNE, before, after)
    assert size == STRIP_M2
    assert part.within(village(3))
    assert new_gaps(COMMUNE, after, after) == []
