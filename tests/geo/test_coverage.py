"""geo.coverage on hand-built communes with known answers, and against the plain union."""

from __future__ import annotations

import random

import pytest
import shapely

from geo.checks import area_m2
from geo.coverage import Village, analyse, analyse_with_union
from geo.partition import partition

# a 2 km x 1 km commune near Hanoi, four villages in a row
COMMUNE = shapely.box(105.80, 21.00, 105.82, 21.01)


def row(n=4, gap_at=None, overlap=False):
    width = 0.02 / n
    villages = []
    for i in range(n):
        x0, x1 = 105.80 + i * width, 105.80 + (i + 1) * width
        if gap_at == i:
            x1 -= 0.0005  # leave a strip of about 50 m x 1.1 km unmapped
        if overlap and i == 1:
            x0 -= 0.0005  # reach 50 m into the first village
        villages.append(
            Village(
                i + 1,
                shapely.box(x0, 21.00, x1, 21.01),
                population=1000 * (i + 1),
                team_id=i if i != 2 else None,
            )
        )
    return villages


def test_a_complete_coverage_has_nothing_to_report_but_teams():
    result = analyse(COMMUNE, row())
    assert result.valid_coverage and result.invalid_edges is None
    assert result.unmapped == [] and result.overlaps == []
    assert result.without_team == [3]
    assert result.share_villages == 0.75
    assert result.share_population == pytest.approx(7000 / 10000)
    assert result.share_land == pytest.approx(1.0)


def test_a_gap_of_known_area():
    result = analyse(COMMUNE, row(gap_at=1))
    assert result.valid_coverage  # a gap does not make the villages overlap
    assert len(result.unmapped) == 1
    strip = shapely.box(105.8095, 21.00, 105.81, 21.01)
    assert result.unmapped[0].area_m2 == pytest.approx(area_m2(strip), rel=1e-6)
    assert 50_000 < result.unmapped[0].area_m2 < 60_000  # ~52 m x 1,106 m
    assert result.share_land == pytest.approx(1 - area_m2(strip) / area_m2(COMMUNE), rel=1e-9)


def test_a_known_overlap_makes_an_invalid_coverage():
    result = analyse(COMMUNE, row(overlap=True))
    assert not result.valid_coverage
    assert result.invalid_edges is not None and not result.invalid_edges.is_empty
    assert len(result.overlaps) == 1
    overlap = result.overlaps[0]
    assert overlap.ids == (1, 2)
    assert overlap.area_m2 == pytest.approx(
        area_m2(shapely.box(105.8045, 21.00, 105.805, 21.01)), rel=1e-6
    )


def test_an_empty_commune_is_all_unmapped():
    result = analyse(COMMUNE, [])
    assert result.share_land == 0 and len(result.unmapped) == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_same_answer_as_the_plain_union(seed):
    rng = random.Random(seed)
    parts = partition(COMMUNE, 30, rng)
    villages = [Village(i, g, 100, None if i % 7 == 0 else i) for i, g in enumerate(parts)]
    villages[5] = Village(5, villages[5].geom.buffer(-0.0003), 100, 5)  # carve a gap
    fast, plain = analyse(COMMUNE, villages), analyse_with_union(COMMUNE, villages)
    assert fast.without_team == plain.without_team
    assert [round(p.area_m2, 3) for p in fast.unmapped] == [
        round(p.area_m2, 3) for p in plain.unmapped
    ]
    assert fast.share_land == pytest.approx(plain.share_land, rel=1e-12)
