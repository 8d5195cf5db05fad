"""The rules the database itself enforces, on real PostGIS."""

from __future__ import annotations

from datetime import date

import pytest
import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy.exc import IntegrityError

from portal.models import Account, Area, Member, Team, TeamArea
from portal.text import fold


def area(session, level, kind, name, parent=None, geom=None, code=None):
    a = Area(
        level=level,
        kind=kind,
        name=name,
        name_search=fold(name),
        parent_id=parent.id if parent else None,
        code=code,
        geom=from_shape(geom, srid=4326) if geom is not None else None,
    )
    session.add(a)
    session.flush()
    return a


@pytest.fixture
def place(session):
    """A province with two communes, each with two villages."""
    province = area(session, "province", "thanh_pho", "Thành phố Thử", code="98")
    communes, villages = [], []
    for i in (1, 2):
        commune = area(session, "commune", "xa", f"Xã Thử {i}", province, code=f"9800{i}")
        communes.append(commune)
        for j in (1, 2):
            villages.append(area(session, "village", "thon", f"Thôn {i}.{j}", commune))
    return province, communes, villages


def team(session, commune, name="Tổ 1"):
    t = Team(
        commune_id=commune.id, name=name, name_search=fold(name), established_on=date(2024, 7, 1)
    )
    session.add(t)
    session.flush()
    return t


def cover(session, t, village, start=date(2024, 7, 1), end=None):
    session.add(
        TeamArea(
            team_id=t.id,
            commune_id=t.commune_id,
            area_id=village.id,
            valid_from=start,
            valid_to=end,
        )
    )
    session.flush()


def member(session, t, role, name="Nguyễn Văn A"):
    m = Member(
        team_id=t.id,
        full_name=name,
        role=role,
        birth_date=date(1980, 1, 1),
        education="upper_secondary",
        appointment_number="1/QĐ-UBND",
        appointment_date=date(2024, 7, 1),
        appointment_signer="Chủ tịch UBND",
    )
    session.add(m)
    session.flush()
    return m


def test_a_team_may_cover_several_villages_of_its_commune(session, place):
    _, communes, villages = place
    t = team(session, communes[0])
    cover(session, t, villages[0])
    cover(session, t, villages[1])
    assert session.query(TeamArea).filter_by(team_id=t.id).count() == 2


def test_database_refuses_a_second_active_team_on_one_area(session, place):
    _, communes, villages = place
    cover(session, team(session, communes[0], "Tổ A"), villages[0])
    second = team(session, communes[0], "Tổ B")
    with pytest.raises(IntegrityError, match="ex_team_areas_one_team_per_area"):
        cover(session, second, villages[0], start=date(2025, 1, 1))


def test_a_new_team_may_take_over_after_the_first_ended(session, place):
    _, communes, villages = place
    cover(session, team(session, communes[0], "Tổ A"), villages[0], end=date(2025, 1, 1))
    cover(session, team(session, communes[0], "Tổ B"), villages[0], start=date(2025, 1, 1))
    assert session.query(TeamArea).filter_by(area_id=villages[0].id).count() == 2


def test_database_refuses_an_area_of_another_commune(session, place):
    _, communes, villages = place
    t = team(session, communes[0])
    with pytest.raises(IntegrityError, match="fk_team_areas_area_commune"):
        cover(session, t, villages[2])  # a village of the second commune


def test_database_refuses_a_second_serving_leader(session, place):
    _, communes, _ = place
    t = team(session, communes[0])
    member(session, t, "leader")
    member(session, t, "deputy", "Trần Văn B")
    with pytest.raises(IntegrityError, match="uq_members_one_leader"):
        member(session, t, "leader", "Lê Văn C")
    session.rollback()


def test_a_leader_who_left_can_be_replaced(session, place):
    _, communes, _ = place
    t = team(session, communes[0])
    first = member(session, t, "leader")
    first.left_on = date(2025, 3, 1)
    session.flush()
    member(session, t, "leader", "Lê Văn C")
    assert len([m for m in t.members if m.role == "leader"]) == 2


def test_database_refuses_an_invalid_boundary(session, place):
    bow_tie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    with pytest.raises(IntegrityError, match="ck_areas_geom_valid"):
        area(session, "commune", "xa", "Xã Nơ", place[0], shapely.MultiPolygon([bow_tie]))


def test_only_a_province_has_no_parent(session):
    with pytest.raises(IntegrityError, match="ck_areas_parent_by_level"):
        area(session, "commune", "xa", "Xã Mồ Côi")


def test_current_codes_are_unique_per_level(session, place):
    province = place[0]
    with pytest.raises(IntegrityError, match="uq_areas_current_code"):
        area(session, "commune", "xa", "Xã Trùng", province, code="98001")


@pytest.mark.parametrize(
    ("role", "scope", "ok"),
    [
        ("admin", {}, True),
        ("admin", {"commune": True}, False),
        ("commune_officer", {"commune": True}, True),
        ("commune_officer", {}, False),
        ("team_leader", {}, False),
    ],
)
def test_account_scope_follows_its_role(session, place, role, scope, ok):
    commune = place[1][0]
    account = Account(
        username=f"u-{role}",
        full_name="Người Thử",
        password_hash="x",
        role=role,
        commune_id=commune.id if scope.get("commune") else None,
    )
    session.add(account)
    if ok:
        session.flush()
        assert account.id
    else:
        with pytest.raises(IntegrityError, match="ck_accounts_scope_by_role"):
            session.flush()
