"""Edit, split, merge and revert village boundaries: round trips, teams carried or flagged."""

from __future__ import annotations

from datetime import date

import pytest
import shapely
from flask import g
from geoalchemy2.shape import to_shape
from sqlalchemy import select

from portal.boundaries import editing
from portal.errors import FormInvalid, NotFound
from portal.models import Account, Area, AreaVersion, BoundaryFlag, TeamArea

TODAY = date.today().isoformat()


@pytest.fixture
def as_user(app, demo):
    """Run services as a signed-in account, in a request context."""
    contexts = []

    def sign_in(username="quantri"):
        ctx = app.test_request_context()
        ctx.push()
        contexts.append(ctx)
        g.account = demo.scalar(select(Account).where(Account.username == username))
        return demo

    yield sign_in
    for ctx in reversed(contexts):
        ctx.pop()


def villages(session, code_prefix="00004-00"):
    return session.scalars(
        select(Area)
        .where(Area.code.like(f"{code_prefix}%"), Area.valid_to.is_(None))
        .order_by(Area.code)
    ).all()


def team_of(session, area_id):
    return session.scalar(
        select(TeamArea.team_id).where(TeamArea.area_id == area_id, TeamArea.valid_to.is_(None))
    )


def geojson(geom):
    return shapely.geometry.mapping(geom)


def test_edit_keeps_the_old_boundary_and_revert_restores_it(as_user):
    s = as_user()
    village = villages(s)[0]
    old = to_shape(village.geom)
    smaller = old.buffer(-0.0002)  # pull the boundary in by about 20 m
    change = editing.edit_boundary(village.id, geojson(smaller), "12/QĐ-UBND", TODAY)
    s.expire_all()
    assert to_shape(s.get(Area, village.id).geom).symmetric_difference(smaller).area < 1e-14
    version = s.get(AreaVersion, change.version_ids[0])
    assert to_shape(version.geom).equals(old)
    assert version.change_id == change.id

    undo = editing.revert(change.id)
    s.expire_all()
    assert to_shape(s.get(Area, village.id).geom).equals(old)
    assert undo.reverts_id == change.id
    with pytest.raises(FormInvalid):
        editing.revert(change.id)  # only once


def test_edit_refuses_a_boundary_over_a_neighbour(as_user):
    s = as_user()
    first, second = villages(s)[:2]
    grown = to_shape(first.geom).union(to_shape(second.geom).buffer(-0.0001))
    with pytest.raises(FormInvalid) as refused:
        editing.edit_boundary(first.id, geojson(grown), "12/QĐ-UBND", TODAY)
    assert "Chồng lấn" in refused.value.fields["geometry"]
    assert second.name in refused.value.fields["geometry"]


def test_edit_refuses_too_many_vertices_in_words(as_user):
    s = as_user()
    village = villages(s)[0]
    dense = to_shape(village.geom).segmentize(0.0000001)  # far past 20,000 vertices
    assert shapely.get_num_coordinates(dense) > 20_000
    with pytest.raises(FormInvalid) as refused:
        editing.edit_boundary(village.id, geojson(dense), "12/QĐ-UBND", TODAY)
    message = refused.value.fields["geometry"]
    assert message.startswith("Quá nhiều đỉnh cho một đối tượng: ")
    assert message.endswith(" đỉnh, tối đa 20.000")
    assert ">" not in message


@pytest.mark.parametrize(
    ("number", "when", "field"),
    [
        ("", TODAY, "decision_number"),
        ("1/QĐ", "", "decision_date"),
        ("1/QĐ", "2999-01-01", "decision_date"),
    ],
)
def test_a_change_needs_its_decision(as_user, number, when, field):
    s = as_user()
    village = villages(s)[0]
    with pytest.raises(FormInvalid) as refused:
        editing.edit_boundary(village.id, geojson(to_shape(village.geom)), number, when)
    assert field in refused.value.fields


def test_split_carries_the_team_over_and_revert_brings_the_village_back(as_user):
    s = as_user()
    village = villages(s)[0]
    team = team_of(s, village.id)
    shape_ = to_shape(village.geom)
    minx, miny, maxx, maxy = shape_.bounds
    middle = (miny + maxy) / 2
    line = shapely.LineString([(minx - 0.01, middle), (maxx + 0.01, middle)])
    change = editing.split(
        village.id, geojson(line), ("Tổ dân phố số 1A", "Tổ dân phố số 1B"), "7/QĐ", TODAY
    )
    s.expire_all()
    old = s.get(Area, village.id)
    assert old.valid_to is not None
    parts = [s.get(Area, i) for i in change.after_ids]
    assert [p.name for p in parts] == ["Tổ dân phố số 1A", "Tổ dân phố số 1B"]
    union = shapely.union_all([to_shape(p.geom) for p in parts])
    assert union.symmetric_difference(shape_).area < 1e-12
    assert all(team_of(s, p.id) == team for p in parts)  # carried over to both
    assert sum(p.population for p in parts) == pytest.approx(old.population, abs=1)

    editing.revert(change.id)
    s.expire_all()
    assert s.get(Area, village.id).valid_to is None
    assert all(s.get(Area, i).valid_to is not None for i in change.after_ids)
    assert team_of(s, village.id) == team


def test_split_needs_a_line_across_the_village(as_user):
    s = as_user()
    village = villages(s)[0]
    minx, miny, _, _ = to_shape(village.geom).bounds
    stub = shapely.LineString([(minx - 0.01, miny - 0.01), (minx - 0.009, miny - 0.009)])
    with pytest.raises(FormInvalid) as refused:
        editing.split(village.id, geojson(stub), ("A", "B"), "7/QĐ", TODAY)
    assert "đúng hai phần" in refused.value.fields["line"]


def test_merge_keeps_one_team_and_flags_the_other(as_user):
    s = as_user()
    first, second = villages(s)[:2]
    teams = [team_of(s, first.id), team_of(s, second.id)]
    assert None not in teams and teams[0] != teams[1]
    change = editing.merge([first.id, second.id], "Tổ dân phố số 1-2", "9/QĐ", TODAY)
    s.expire_all()
    merged = s.get(Area, change.after_ids[0])
    expected = shapely.union_all([to_shape(first.geom), to_shape(second.geom)])
    assert to_shape(merged.geom).symmetric_difference(expected).area < 1e-12
    assert team_of(s, merged.id) == teams[0]
    flag = s.scalar(select(BoundaryFlag).where(BoundaryFlag.change_id == change.id))
    assert flag.team_id == teams[1]  # never silently lost
    assert "một địa bàn chỉ có một tổ" in flag.message

    editing.revert(change.id)
    s.expire_all()
    assert [team_of(s, first.id), team_of(s, second.id)] == teams
    assert s.get(BoundaryFlag, flag.id).resolved_at is not None
    assert s.get(Area, merged.id).valid_to is not None


def test_merge_refuses_villages_of_two_communes(as_user):
    s = as_user()
    here, there = villages(s)[0], villages(s, "00008-00")[0]
    with pytest.raises(FormInvalid) as refused:
        editing.merge([here.id, there.id], "X", "9/QĐ", TODAY)
    assert "cùng một xã" in refused.value.fields["area_ids"]


def test_subdivided_parts_follow_every_change(as_user):
    s = as_user()
    village = villages(s)[0]

    from sqlalchemy import text

    def part_count_and_area(area_id):
        return s.execute(
            text(
                "SELECT count(*), coalesce(sum(ST_Area(geom)), 0) FROM area_parts"
                " WHERE area_id = :id"
            ),
            {"id": area_id},
        ).one()

    count, size = part_count_and_area(village.id)
    assert count >= 1 and size == pytest.approx(to_shape(village.geom).area, rel=1e-9)
    line_y = sum(to_shape(village.geom).bounds[1::2]) / 2
    minx, _, maxx, _ = to_shape(village.geom).bounds
    change = editing.split(
        village.id,
        geojson(shapely.LineString([(minx - 1e-3, line_y), (maxx + 1e-3, line_y)])),
        ("A", "B"),
        "1",
        TODAY,
    )
    assert part_count_and_area(village.id)[0] == 0  # ended areas leave the look-up table
    for area_id in change.after_ids:
        assert part_count_and_area(area_id)[0] >= 1


def test_team_leaders_may_not_edit_boundaries(as_user):
    s = as_user("totruong")
    with pytest.raises(NotFound):
        editing.edit_boundary(villages(s)[0].id, {}, "1", TODAY)
