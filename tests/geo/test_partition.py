"""geo.partition: demo villages must form a valid coverage of their commune."""

from __future__ import annotations

import random

import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon

from geo.partition import as_multipolygon, carve_sliver, partition

# an L-shaped commune with an island, about 2 km across
L_SHAPE = MultiPolygon(
    [
        Polygon([(105.80, 21.00), (105.82, 21.00), (105.82, 21.01), (105.81, 21.01),
                 (105.81, 21.02), (105.80, 21.02)]),
        shapely.box(105.83, 21.00, 105.835, 21.005),
    ]
)  # fmt: skip


@pytest.mark.parametrize("n", [2, 7, 40])
def test_partition_is_a_valid_coverage_of_the_input(n):
    parts = partition(L_SHAPE, n, random.Random(1))
    assert n - 2 <= len(parts) <= n + 1  # the island may take a cell of its own
    assert all(isinstance(p, MultiPolygon) and p.is_valid for p in parts)
    assert shapely.coverage_is_valid(parts)
    union = shapely.coverage_union_all(parts)
    assert union.symmetric_difference(L_SHAPE).area < 1e-12
    assert sum(p.area for p in parts) == pytest.approx(L_SHAPE.area, rel=1e-9)


def test_partition_is_deterministic_for_a_seed():
    a = partition(L_SHAPE, 12, random.Random("00004"))
    b = partition(L_SHAPE, 12, random.Random("00004"))
    c = partition(L_SHAPE, 12, random.Random("00007"))
    assert [p.wkb for p in a] == [p.wkb for p in b]
    assert [p.wkb for p in a] != [p.wkb for p in c]


def test_partition_of_one_is_the_input():
    assert partition(L_SHAPE, 1, random.Random(0)) == [L_SHAPE]


def test_carve_sliver_leaves_uncovered_land_of_the_strip_area():
    parts = partition(L_SHAPE, 6, random.Random(3))
    carved = carve_sliver(parts, 0, 0.0002)
    assert carved is not None
    rest, strip = carved
    assert strip.area > 0
    assert rest.area == pytest.approx(parts[0].area - strip.area, rel=1e-9)
    new_parts = [rest, *parts[1:]]
    gap = L_SHAPE.difference(shapely.union_all(new_parts))
    assert gap.area == pytest.approx(strip.area, rel=1e-6)


def test_as_multipolygon_drops_lines_and_points():
    mixed = shapely.GeometryCollection(
        [shapely.box(0, 0, 1, 1), shapely.LineString([(0, 0), (2, 2)]), shapely.Point(5, 5)]
    )
    result = as_multipolygon(mixed)
    assert result.geom_type == "MultiPolygon"
    assert result.area == 1
