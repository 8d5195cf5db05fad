"""The whole Hanoi demo: realistic counts, valid village coverages, defects to find, light pages.

Seeding the city takes a while, so this module seeds it once inside one transaction that is
rolled back when the module ends.
"""

from __future__ import annotations

import random

import pytest
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select, text

from geo.partition import partition
from portal.demo.seed import SEED, _village_count, seed
from portal.models import Area, Member, Team, TeamArea
from tests.conftest import HANOI_COMMUNES, SHARED_DATA, login, rolled_back_session

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def city(app):
    if not HANOI_COMMUNES.exists():
        pytest.skip(f"shared Hanoi data not found at {SHARED_DATA}")
    with rolled_back_session(app) as session:
        yield session, seed(SHARED_DATA, echo=lambda _line: None)


def test_hanoi_scale_counts(city):
    session, summary = city
    assert summary.communes == 126
    assert 5000 <= summary.villages <= 5800
    assert 4900 <= summary.teams <= 5800
    assert 18000 <= summary.members <= 21000
    assert session.scalar(select(func.count()).select_from(Member)) == summary.members
    # denser in urban wards: a phường has more, smaller villages than a xã
    per_kind = dict(
        session.execute(
            text(
                "SELECT c.kind, avg(n)::float FROM (SELECT parent_id, count(*) n FROM areas "
                "WHERE level = 'village' GROUP BY parent_id) v JOIN areas c ON c.id = v.parent_id "
                "GROUP BY c.kind"
            )
        ).all()
    )
    assert per_kind["phuong"] > per_kind["xa"] * 1.3


def test_villages_cover_their_commune_except_the_planted_slivers(city):
    # coverage analysis runs in Shapely: PostGIS 3.3's GEOS leaves noise slivers in ST_Union
    session, summary = city
    villages: dict[int, list] = {}
    for parent_id, geom in session.execute(
        select(Area.parent_id, Area.geom).where(Area.level == "village")
    ):
        villages.setdefault(parent_id, []).append(to_shape(geom))
    communes = session.execute(select(Area.id, Area.geom).where(Area.level == "commune")).all()
    with_gap = 0
    for commune_id, geom in communes:
        parts = villages[commune_id]
        assert shapely.coverage_is_valid(parts), commune_id  # no overlaps, edges that match
        gap = to_shape(geom).difference(shapely.coverage_union_all(parts))
        with_gap += gap.area > 1e-12  # about 0.01 m²
        assert gap.area < 1e-5  # a sliver, not a missing village
    assert with_gap == summary.slivers > 5


def test_planted_defects_are_there_to_find(city):
    session, summary = city
    uncovered = session.scalar(
        select(func.count())
        .select_from(Area)
        .where(Area.level == "village", ~Area.id.in_(select(TeamArea.area_id)))
    )
    assert uncovered == summary.villages_without_team > 0
    sizes = select(Member.team_id, func.count().label("n")).group_by(Member.team_id).subquery()
    understaffed = session.scalar(select(func.count()).select_from(sizes).where(sizes.c.n < 3))
    assert understaffed == summary.understaffed_teams > 0
    assert session.scalar(select(func.count()).select_from(sizes).where(sizes.c.n > 5)) == 0
    leaders = select(Member.team_id).where(Member.role == "leader")
    leaderless = session.scalar(select(func.count()).select_from(Team).where(~Team.id.in_(leaders)))
    assert leaderless == summary.teams_without_leader > 0


def test_the_seed_is_deterministic(city):
    # Ba Đình's villages are exactly the partition the seed's rng gives for its code
    session, _ = city
    ba_dinh = session.scalar(select(Area).where(Area.code == "00004"))
    rng = random.Random(f"{SEED}:00004")
    expected = partition(to_shape(ba_dinh.geom), _village_count(ba_dinh, rng), rng)
    stored = [
        to_shape(g) for g in session.scalars(select(Area.geom).where(Area.parent_id == ba_dinh.id))
    ]
    assert len(stored) == len(expected) > 40
    key = lambda g: (round(g.centroid.x, 9), round(g.centroid.y, 9))  # noqa: E731
    for have, want in zip(sorted(stored, key=key), sorted(expected, key=key), strict=True):
        assert have.equals(want)


def test_every_commune_page_stays_under_500_kb(app, city):
    session, _ = city
    client = app.test_client()
    assert login(client, "quantri", "ha-noi-an-toan-2025").status_code == 302
    sizes = {}
    for area_id, name in session.execute(
        select(Area.id, Area.name).where(Area.level.in_(["commune", "province"]))
    ):
        response = client.get(f"/areas/{area_id}")
        assert response.status_code == 200
        sizes[name] = len(response.data)
    largest = max(sizes, key=sizes.get)
    assert sizes[largest] < 500_000, (largest, sizes[largest])
