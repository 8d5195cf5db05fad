"""The in-memory point index answers as the database's look-up does: deepest first, both
neighbours on a shared border, nothing in a hole or outside, parts of ended areas left out."""

from __future__ import annotations

import random

import shapely
from shapely.geometry import Polygon, box

from geo.pointindex import PointIndex

PROVINCE = box(0, 0, 10, 10)
WEST, EAST = box(0, 0, 5, 10), box(5, 0, 10, 10)  # two communes sharing the line x = 5
# a village with a hole (a lake that belongs to no village)
VILLAGE = Polygon([(1, 1), (4, 1), (4, 4), (1, 4)], [[(2, 2), (3, 2), (3, 3), (2, 3)]])
AREAS = {
    1: ("province", "Tỉnh"),
    10: ("commune", "Xã Tây"),
    11: ("commune", "Xã Đông"),
    100: ("village", "Thôn Một"),
}


def subdivided(geometry, n: int = 2):
    """A polygon cut in a grid of pieces, as ST_Subdivide cuts it: the pieces share lines."""
    x0, y0, x1, y1 = geometry.bounds
    pieces = []
    for i in range(n):
        for j in range(n):
            cell = box(
                x0 + (x1 - x0) * i / n,
                y0 + (y1 - y0) * j / n,
                x0 + (x1 - x0) * (i + 1) / n,
                y0 + (y1 - y0) * (j + 1) / n,
            )
            piece = geometry.intersection(cell)
            if not piece.is_empty:
                pieces += list(getattr(piece, "geoms", [piece]))
    return pieces


def index(areas=AREAS) -> PointIndex:
    parts, owners = [], []
    for area_id, geometry in ((1, PROVINCE), (10, WEST), (11, EAST), (100, VILLAGE)):
        for piece in subdivided(geometry):
            parts.append(piece)
            owners.append(area_id)
    return PointIndex(parts, owners, areas)


def ids(hits) -> list[int]:
    return [h.id for h in hits]


def test_a_point_inside_a_village_gives_the_village_then_its_commune_then_the_province():
    hits = index().areas_at(1.5, 1.5)
    assert ids(hits) == [100, 10, 1]
    assert hits[0].level == "village" and hits[0].name == "Thôn Một"


def test_a_point_on_a_shared_border_belongs_to_both_neighbours_by_id():
    assert ids(index().areas_at(5, 7)) == [10, 11, 1]


def test_a_point_on_the_cut_between_two_parts_of_one_area_counts_it_once():
    assert ids(index().areas_at(2.5, 7.5)) == [10, 1]  # x = 2.5 is a cut of the west commune


def test_a_point_in_a_hole_is_not_in_the_village_but_on_the_hole_edge_it_is():
    assert ids(index().areas_at(2.5, 2.7)) == [10, 1]
    assert ids(index().areas_at(2, 2.5)) == [100, 10, 1]


def test_outside_every_area_is_empty():
    assert index().areas_at(20, 20) == []
    assert index().areas_at(10.000001, 5) == []


def test_parts_of_areas_that_are_not_current_are_left_out():
    current = {k: v for k, v in AREAS.items() if k != 100}
    assert ids(index(current).areas_at(1.5, 1.5)) == [10, 1]


def test_parts_given_as_wkb_answer_the_same_and_count_their_vertices():
    parts = subdivided(VILLAGE) + subdivided(WEST)
    owners = [100] * len(subdivided(VILLAGE)) + [10] * len(subdivided(WEST))
    from_shapes = PointIndex(parts, owners, AREAS)
    from_wkb = PointIndex([shapely.to_wkb(p) for p in parts], owners, AREAS)
    assert (
        from_wkb.vertices
        == from_shapes.vertices
        == sum(shapely.get_num_coordinates(p) for p in parts)
    )
    rng = random.Random(3)
    for _ in range(300):
        x, y = rng.uniform(-1, 6), rng.uniform(-1, 11)
        expected = [a for a, g in ((100, VILLAGE), (10, WEST)) if g.intersects(shapely.Point(x, y))]
        assert ids(from_wkb.areas_at(x, y)) == ids(from_shapes.areas_at(x, y)) == expected


def test_an_empty_index_finds_nothing():
    empty = PointIndex([], [], {})
    assert len(empty) == 0 and empty.vertices == 0 and empty.areas_at(1, 1) == []
