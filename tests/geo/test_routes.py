"""geo.routes on hand-built squares: lengths, stretches outside, and a track's share followed."""

from __future__ import annotations

import math

import pytest
from shapely.geometry import LineString, MultiLineString, box

from geo.routes import RouteProblem, Village, check_route, follow, length_m, parse_line

LAT = 21.0
M_LAT = 110_704.0  # metres per degree of latitude at 21° N (WGS 84)
M_LON = 111_320.0 * math.cos(math.radians(LAT))  # about, on the sphere; good to 0.4 %
A = Village(1, "A", box(105.80, LAT, 105.81, LAT + 0.01))
B = Village(2, "B", box(105.81, LAT, 105.82, LAT + 0.01))


def line(*points):
    return parse_line({"type": "LineString", "coordinates": [list(p) for p in points]})


def test_a_line_inside_has_its_geodesic_length_and_nothing_outside():
    route = line((105.801, LAT + 0.005), (105.809, LAT + 0.005))
    check = check_route(route, [A], 50, [B])
    assert check.ok and check.outside_m == 0 and check.excursions == []
    assert check.length_m == pytest.approx(0.008 * M_LON, rel=0.005)
    assert check.area_ids == [1]


def test_a_spur_10_m_outside_is_measured_at_its_tip():
    tip = LAT - 10 / M_LAT
    route = line((105.805, LAT + 0.005), (105.805, tip))
    check = check_route(route, [A], 50)
    assert check.ok
    assert check.outside_m == pytest.approx(10, abs=0.1)
    (stretch,) = check.excursions
    assert stretch.length_m == pytest.approx(10, abs=0.1)
    assert stretch.farthest_at[1] == pytest.approx(tip, abs=1e-7)


def test_a_line_500_m_into_the_neighbour_is_refused_and_names_it():
    route = line((105.805, LAT + 0.005), (105.81 + 500 / M_LON, LAT + 0.005))
    check = check_route(route, [A], 50, [B])
    assert not check.ok
    (stretch,) = check.refused
    assert stretch.farthest_m == pytest.approx(500, rel=0.01)
    assert stretch.through == ("B",)


def test_a_line_along_the_shared_edge_stays_inside():
    route = line((105.81, LAT + 0.001), (105.81, LAT + 0.009))
    assert check_route(route, [A], 0, [B]).outside_m == pytest.approx(0, abs=0.01)


def test_two_segments_count_both_and_pass_both_villages():
    route = parse_line(
        {
            "type": "MultiLineString",
            "coordinates": [
                [[105.801, LAT + 0.002], [105.809, LAT + 0.002]],
                [[105.811, LAT + 0.008], [105.819, LAT + 0.008]],
            ],
        }
    )
    check = check_route(route, [A, B], 50)
    assert check.ok and sorted(check.area_ids) == [1, 2]
    assert check.length_m == pytest.approx(2 * 0.008 * M_LON, rel=0.005)


@pytest.mark.parametrize(
    "geometry, code",
    [
        (None, "missing"),
        ({"type": "Point", "coordinates": [105.8, 21.0]}, "wrong_type"),
        ({"type": "LineString", "coordinates": [[105.8, 21.0]]}, "too_short"),
        ({"type": "LineString", "coordinates": [[105.8, 21.0], [105.8, "21"]]}, "malformed"),
        (
            {"type": "LineString", "coordinates": [[105.8, 21.0], [105.8, float("nan")]]},
            "malformed",
        ),
        ({"type": "LineString", "coordinates": [[2.35, 48.85], [2.36, 48.86]]}, "outside_vietnam"),
        ({"type": "LineString", "coordinates": [[105.0, 21.0], [107.0, 21.0]]}, "too_long"),
    ],
)
def test_what_is_not_a_route_is_named(geometry, code):
    with pytest.raises(RouteProblem) as raised:
        parse_line(geometry)
    assert raised.value.code == code


def test_a_track_on_the_route_follows_all_of_it():
    route = MultiLineString([[(105.801, LAT + 0.005), (105.809, LAT + 0.005)]])
    # 10 m beside it, running on 20 m past each end: never farther than 30 m from it
    beside = LAT + 0.005 + 10 / M_LAT
    track = LineString([(105.801 - 20 / M_LON, beside), (105.809 + 20 / M_LON, beside)])
    result = follow(route, track, 30)
    assert result.share == pytest.approx(1.0, abs=0.001)
    assert result.off_route_m == 0


def test_a_track_that_turns_off_halfway_follows_half_and_says_where():
    route = MultiLineString([[(105.801, LAT + 0.005), (105.809, LAT + 0.005)]])
    up = 200 / M_LAT
    track = LineString(
        [(105.801, LAT + 0.005), (105.805, LAT + 0.005), (105.805, LAT + 0.005 + up)]
    )
    result = follow(route, track, 30)
    # the route's first half, and 30 m further along it within reach of the turn
    expected = (0.004 * M_LON + 30) / (0.008 * M_LON)
    assert result.share == pytest.approx(expected, abs=0.01)
    assert result.off_route_m == pytest.approx(170, abs=1)  # the 200 m leg beyond 30 m
    assert length_m(result.off_route) == pytest.approx(170, rel=0.01)
