"""Teams and members under the law's rules, through the forms; leaving and moving keep history."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.models import Area, AuditEntry, Member, Team, TeamArea
from tests.conftest import csrf_token, signed_in

TODAY = date.today()


def post(client, url, data):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, "/teams/")})


@pytest.fixture
def team(demo):
    """The first team of Phường Ba Đình, with its serving members."""
    ba_dinh = demo.scalar(select(Area.id).where(Area.code == "00004"))
    return demo.scalar(select(Team).where(Team.commune_id == ba_dinh).order_by(Team.id).limit(1))


def serving(session, team_id):
    return session.scalars(
        select(Member).where(Member.team_id == team_id, Member.left_on.is_(None))
    ).all()


def member_form(session, team_id, **changes):
    home = session.scalar(
        select(TeamArea.area_id).where(TeamArea.team_id == team_id, TeamArea.valid_to.is_(None))
    )
    appointed = TODAY - timedelta(days=30)
    form = {
        "full_name": "Nguyễn Văn Mới",
        "role": "member",
        "phone": "0912345678",
        "birth_date": (appointed - timedelta(days=365 * 40)).isoformat(),
        "residence_area_id": str(home),
        "resident_since": (appointed - timedelta(days=365 * 5)).isoformat(),
        "education": "upper_secondary",
        "appointment_number": "77/QĐ-UBND",
        "appointment_date": appointed.isoformat(),
        "appointment_signer": "Chủ tịch UBND phường Ba Đình",
    }
    form.update(changes)
    return form


def make_room(session, team_id, keep=3):
    """Let members go until `keep` serve, so that one more fits Hanoi's five."""
    for m in serving(session, team_id)[keep:]:
        m.left_on = m.appointment_date
    session.commit()


def test_appointing_a_member(admin, demo, team):
    team_id = team.id
    make_room(demo, team_id)
    response = post(admin, f"/teams/{team_id}/members/new", member_form(demo, team_id))
    assert response.status_code == 303
    assert "Nguyễn Văn Mới" in [m.full_name for m in serving(demo, team_id)]
    entry = demo.scalar(
        select(AuditEntry).where(AuditEntry.entity_type == "member").order_by(AuditEntry.id.desc())
    )
    assert entry.owner_type == "team" and entry.owner_id == team_id  # shown on the team's page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"role": "leader"}, "role", "một tổ chỉ có một tổ trưởng"),
        ({"role": "deputy"}, "role", "tổ phó theo quy định"),
        (
            {"birth_date": (TODAY - timedelta(days=365 * 17)).isoformat()},
            "birth_date",
            "Chưa đủ 18 tuổi",
        ),
        (
            {"birth_date": (TODAY - timedelta(days=365 * 75)).isoformat()},
            "age_approval",
            "Trên 70 tuổi",
        ),
        (
            {"resident_since": (TODAY - timedelta(days=100)).isoformat()},
            "resident_since",
            "ít nhất một năm",
        ),
        ({"education": "primary"}, "education", "trung học cơ sở"),
        ({"residence_area_id": ""}, "residence_area_id", "một địa bàn tổ phụ trách"),
        ({"phone": "12345"}, "phone", "bắt đầu bằng 0"),
        ({"appointment_number": ""}, "appointment_number", "Nhập số quyết định."),
    ],
)
def test_each_rule_names_its_field_and_changes_nothing(admin, demo, team, changes, field, message):
    team_id = team.id
    make_room(demo, team_id)
    before = len(serving(demo, team_id))
    response = post(admin, f"/teams/{team_id}/members/new", member_form(demo, team_id, **changes))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert f'id="{field}-error"' in body and message in body
    assert len(serving(demo, team_id)) == before


def test_an_older_member_with_an_approval_and_a_remote_area_exception(admin, demo, team):
    team_id = team.id
    make_room(demo, team_id)
    form = member_form(
        demo,
        team_id,
        birth_date=(TODAY - timedelta(days=365 * 75)).isoformat(),
        age_approval="Văn bản 12/CAP ngày 01/06/2025",
        education="primary",
        remote_area="1",
    )
    assert post(admin, f"/teams/{team_id}/members/new", form).status_code == 303


def test_a_sixth_member_is_refused_in_hanoi(admin, demo, team):
    team_id = team.id
    while len(serving(demo, team_id)) < 5:
        assert (
            post(admin, f"/teams/{team_id}/members/new", member_form(demo, team_id)).status_code
            == 303
        )
    response = post(admin, f"/teams/{team_id}/members/new", member_form(demo, team_id))
    assert response.status_code == 422
    assert "tối đa theo quy định là 5" in response.get_data(as_text=True)


def test_validation_as_one_types_answers_for_one_field(admin, demo, team):
    team_id = team.id
    response = post(
        admin,
        f"/teams/{team_id}/members/validate?field=phone",
        member_form(demo, team_id, phone="99"),
    )
    body = response.get_data(as_text=True)
    assert body.startswith('<p class="field-error" id="phone-error"')
    assert "bắt đầu bằng 0" in body
    fine = post(
        admin, f"/teams/{team_id}/members/validate?field=full_name", member_form(demo, team_id)
    )
    assert 'id="full_name-error" aria-live="polite"></p>' in fine.get_data(as_text=True)


def test_a_member_leaves_and_another_moves_with_dated_decisions(admin, demo, team):
    team_id = team.id
    members = serving(demo, team_id)
    leaving, moving = members[-1], members[-2]
    leaving_id, moving_id, moving_name = leaving.id, moving.id, moving.full_name
    other = demo.scalar(
        select(Team)
        .where(Team.commune_id == team.commune_id, Team.id != team_id)
        .order_by(Team.id)
        .limit(1)
    )
    other_id = other.id
    make_room(demo, other_id)
    response = post(
        admin,
        f"/teams/{team_id}/members/{leaving_id}/leave",
        {"left_on": TODAY.isoformat(), "left_decision": "90/QĐ-UBND"},
    )
    assert response.status_code == 303
    demo.expire_all()
    gone = demo.get(Member, leaving_id)
    assert gone.left_on == TODAY and gone.left_decision == "90/QĐ-UBND"  # the record stays

    response = post(
        admin,
        f"/teams/{team_id}/members/{moving_id}/move",
        {
            "to_team_id": str(other_id),
            "left_on": TODAY.isoformat(),
            "left_decision": "91/QĐ-UBND",
            "signer": "Chủ tịch UBND phường Ba Đình",
        },
    )
    assert response.status_code == 303
    demo.expire_all()
    assert demo.get(Member, moving_id).left_on == TODAY
    arrived = demo.scalar(
        select(Member).where(
            Member.team_id == other_id, Member.full_name == moving_name, Member.left_on.is_(None)
        )
    )
    assert arrived is not None and arrived.appointment_number == "91/QĐ-UBND"


def test_creating_a_team_refuses_an_area_that_has_one(admin, demo, team):
    taken = demo.scalar(select(TeamArea.area_id).where(TeamArea.team_id == team.id))
    form = {
        "name": "Tổ mới",
        "commune_id": str(team.commune_id),
        "area_ids": [str(taken)],
        "phone": "0987654321",
        "decision_number": "5/QĐ",
        "decision_date": TODAY.isoformat(),
    }
    before = demo.scalar(select(func.count()).select_from(Team))
    response = post(admin, "/teams/new", form)
    assert response.status_code == 422
    assert "đã do" in response.get_data(as_text=True)
    assert demo.scalar(select(func.count()).select_from(Team)) == before


def test_creating_a_team_for_villages_without_one(admin, demo):
    covered = select(TeamArea.area_id).where(TeamArea.valid_to.is_(None))
    free = demo.scalar(
        select(Area).where(Area.level == "village", Area.id.not_in(covered)).limit(1)
    )
    form = {
        "name": "Tổ bảo vệ ANTT mới",
        "commune_id": str(free.parent_id),
        "area_ids": [str(free.id)],
        "phone": "0987654321",
        "decision_number": "5/QĐ",
        "decision_date": TODAY.isoformat(),
    }
    response = post(admin, "/teams/new", form)
    assert response.status_code == 303
    new_team = demo.scalar(select(Team).where(Team.name == "Tổ bảo vệ ANTT mới"))
    assert (
        demo.scalar(
            select(TeamArea.team_id).where(TeamArea.area_id == free.id, TeamArea.valid_to.is_(None))
        )
        == new_team.id
    )


def test_a_team_leader_keeps_members_but_does_not_create_teams(app, demo):
    leader = signed_in(app, "totruong")
    assert leader.get("/teams/new").status_code == 404
    own = demo.scalar(select(Team.id).where(Team.id == select(func.min(Team.id)).scalar_subquery()))
    assert leader.get(f"/teams/{own}/members/new").status_code == 200


def test_correcting_a_member_keeps_the_rules_and_the_old_values(admin, demo, team):
    team_id = team.id
    member = serving(demo, team_id)[-1]
    member_id = member.id
    form = member_form(demo, team_id, full_name="Tên Đã Sửa", role="member")
    page = admin.get(f"/teams/{team_id}/members/{member_id}/edit")
    assert page.status_code == 200 and "Sửa thông tin thành viên" in page.get_data(as_text=True)
    refused = post(admin, f"/teams/{team_id}/members/{member_id}/edit", {**form, "role": "leader"})
    assert refused.status_code == 422 and "một tổ chỉ có một tổ trưởng" in refused.get_data(
        as_text=True
    )
    assert post(admin, f"/teams/{team_id}/members/{member_id}/edit", form).status_code == 303
    demo.expire_all()
    assert demo.get(Member, member_id).full_name == "Tên Đã Sửa"
    entry = demo.scalar(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "member", AuditEntry.entity_id == member_id)
        .order_by(AuditEntry.id.desc())
    )
    assert entry.changes["full_name"][1] == "Tên Đã Sửa"
