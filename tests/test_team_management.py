"""Teams and members under the law's rules, through the forms; leaving and moving keep history."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.models import Area, AuditEntry, Member, Team, TeamArea
from tests.conftest import csrf_token, login, signed_in

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
    # the team page says so before a form is filled, and offers no appointment
    page = admin.get(f"/teams/{team_id}").get_data(as_text=True)
    assert 'data-testid="team-full"' in page and "Tổ đã đủ 5 thành viên" in page
    assert f'href="/teams/{team_id}/members/new"' not in page


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


def test_a_move_that_fails_to_appoint_leaves_the_member_where_they_were(
    admin, demo, team, monkeypatch
):
    """Leaving one team and joining the other are one transaction: never half a move."""
    from portal.teams import management

    team_id = team.id
    moving_id = serving(demo, team_id)[-1].id
    other_id = demo.scalar(
        select(Team.id)
        .where(Team.commune_id == team.commune_id, Team.id != team_id)
        .order_by(Team.id)
        .limit(1)
    )
    make_room(demo, other_id)

    def broken(target, form):
        raise RuntimeError("the database went away while appointing")

    monkeypatch.setattr(management, "_added", broken)
    form = {
        "to_team_id": str(other_id),
        "left_on": TODAY.isoformat(),
        "left_decision": "92/QĐ-UBND",
        "signer": "Chủ tịch UBND phường Ba Đình",
    }
    try:
        response = post(admin, f"/teams/{team_id}/members/{moving_id}/move", form)
        assert response.status_code == 500
    except RuntimeError:
        pass  # the test app may let the error through: what matters is what was kept
    demo.rollback()  # as the request's end does with what it did not commit
    assert demo.get(Member, moving_id).left_on is None


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


# --- issue 14: teams and members ---------------------------------------------------------------


def free_village(session, commune_id=None):
    """A current village without a team (of the commune, when given)."""
    covered = select(TeamArea.area_id).where(TeamArea.valid_to.is_(None))
    query = select(Area).where(
        Area.level == "village", Area.valid_to.is_(None), Area.id.not_in(covered)
    )
    if commune_id is not None:
        query = query.where(Area.parent_id == commune_id)
    village = session.scalar(query.order_by(Area.id).limit(1))
    if village is None:  # the demo covers every village of the commune: free one
        row = session.scalar(
            select(TeamArea)
            .join(Area, Area.id == TeamArea.area_id)
            .where(Area.parent_id == commune_id, TeamArea.valid_to.is_(None))
            .order_by(TeamArea.id.desc())
            .limit(1)
        )
        session.delete(row)
        session.commit()
        village = session.get(Area, row.area_id)
    return village


def test_creating_a_team_for_a_village_prefills_it_and_marks_the_taken_ones(app, demo, team):
    officer = signed_in(app, "canbo.xa")
    village = free_village(demo, team.commune_id)
    taken = demo.scalar(
        select(TeamArea.area_id).where(TeamArea.team_id == team.id, TeamArea.valid_to.is_(None))
    )
    body = officer.get(f"/teams/new?village={village.id}").get_data(as_text=True)
    assert f'<option value="{team.commune_id}" selected>' in body
    assert f'name="area_ids" value="{village.id}" checked' in body
    assert f'value="Tổ bảo vệ ANTT {village.name}"' in body  # named as teams are, to check
    # a village with a team cannot be chosen, and says which team has it
    assert f'name="area_ids" value="{taken}" disabled' in body
    assert f"đã có tổ: {team.name}" in body


def test_a_village_out_of_scope_or_unknown_is_ignored_with_a_message(app, demo):
    officer = signed_in(app, "canbo.xa")
    ba_dinh = demo.scalar(select(Area.id).where(Area.code == "00004"))
    elsewhere = demo.scalar(
        select(Area)
        .where(Area.level == "village", Area.parent_id != ba_dinh, Area.valid_to.is_(None))
        .limit(1)
    )
    for asked in (str(elsewhere.id), "999999", "abc"):
        response = officer.get(f"/teams/new?village={asked}")
        body = response.get_data(as_text=True)
        assert response.status_code == 200
        assert 'data-testid="notice"' in body and "Không thể lập tổ" in body
        assert elsewhere.name not in body and "checked" not in body


def test_the_teams_list_shows_commune_size_leader_and_status(admin, demo, team):
    leader = demo.scalar(
        select(Member).where(
            Member.team_id == team.id, Member.role == "leader", Member.left_on.is_(None)
        )
    )
    body = admin.get("/teams/?q=" + team.name).get_data(as_text=True)
    row = body[body.index(f'data-testid="team-{team.id}"') :].split("</tr>")[0]
    commune = demo.get(Area, team.commune_id).name
    assert commune in row and leader.full_name in row
    assert f"{len(serving(demo, team.id))}<span" in row
    assert "Đủ người, có tổ trưởng" in row or "Thiếu người" in row


def test_an_understaffed_team_is_listed_as_such_and_offers_an_appointment(admin, demo, team):
    team_id = team.id
    for m in serving(demo, team_id)[1:]:
        m.left_on = m.appointment_date
    demo.commit()
    listed = admin.get("/teams/?status=understaffed").get_data(as_text=True)
    assert f'data-testid="team-{team_id}"' in listed
    row = listed[listed.index(f'data-testid="team-{team_id}"') :].split("</tr>")[0]
    assert "Thiếu người" in row
    fine = admin.get("/teams/?status=ok").get_data(as_text=True)
    assert f'data-testid="team-{team_id}"' not in fine
    page = admin.get(f"/teams/{team_id}").get_data(as_text=True)
    offer = page[page.index('data-testid="understaffed"') :].split("</div>")[0]
    assert f'href="/teams/{team_id}/members/new"' in offer and "Bổ nhiệm thành viên" in offer


def test_the_teams_list_sorts_and_its_pages_keep_the_filters(app, admin, demo):
    app.config["PAGE_SIZE"] = 5
    try:
        by_size = admin.get("/teams/?sort=size&desc=1").get_data(as_text=True)
        sizes = [int(s) for s in re.findall(r'class="team-size">.*?</span>(\d+)<', by_size)]
        assert len(sizes) == 5 and sizes == sorted(sizes, reverse=True)
        ba_dinh = demo.scalar(select(Area.id).where(Area.code == "00004"))
        body = admin.get(f"/teams/?commune_id={ba_dinh}&sort=commune").get_data(as_text=True)
        communes = set(re.findall(r'class="team-commune">([^<]*)<', body))
        assert communes == {demo.get(Area, ba_dinh).name}
        pager = body[body.index('class="pager"') :]
        assert f"commune_id={ba_dinh}" in pager and "sort=commune" in pager and "page=2" in pager
        # by name, numbers by value: "số 2" before "số 10"
        names = re.findall(r'class="team-name"><a [^>]*>([^<]*)<', body)
        numbers = [int(m[1]) for m in (re.search(r"(\d+)$", n) for n in names) if m]
        assert len(numbers) == len(names) and numbers == sorted(numbers)
        fragment = admin.get(
            f"/teams/?commune_id={ba_dinh}",
            headers={"HX-Request": "true", "HX-Target": "team-list"},
        ).get_data(as_text=True)
        assert fragment.lstrip().startswith('<div id="team-list">')
        assert "<html" not in fragment and 'id="team-sort" hx-swap-oob="true"' in fragment
    finally:
        app.config["PAGE_SIZE"] = 50


def test_an_officer_lists_only_their_communes_teams(app, demo):
    officer = signed_in(app, "canbo.xa")
    ba_dinh = demo.scalar(select(Area.id).where(Area.code == "00004"))
    other = demo.scalar(select(Team).where(Team.commune_id != ba_dinh).limit(1))
    body = officer.get(f"/teams/?commune_id={other.commune_id}").get_data(as_text=True)
    assert f'data-testid="team-{other.id}"' not in body


def test_changing_the_appointment_date_rechecks_the_birth_date(admin, demo, team):
    team_id = team.id
    born = TODAY - timedelta(days=365 * 19)
    form = member_form(
        demo, team_id, birth_date=born.isoformat(), appointment_date=TODAY.isoformat()
    )
    fine = post(admin, f"/teams/{team_id}/members/validate?field=appointment_date", form)
    assert 'id="birth_date-error" aria-live="polite" hx-swap-oob="true"></p>' in fine.get_data(
        as_text=True
    )
    early = {**form, "appointment_date": (TODAY - timedelta(days=365 * 2)).isoformat()}
    body = post(admin, f"/teams/{team_id}/members/validate?field=appointment_date", early).get_data(
        as_text=True
    )
    birth = body[body.index('id="birth_date-error"') :].split("</p>")[0]
    assert 'hx-swap-oob="true"' in birth and "Chưa đủ 18 tuổi" in birth
    assert 'id="resident_since-error"' in body and 'id="age_approval-error"' in body


def test_a_refused_member_marks_its_boxes_for_screen_readers(admin, demo, team):
    team_id = team.id
    make_room(demo, team_id)
    form = member_form(
        demo,
        team_id,
        birth_date=(TODAY - timedelta(days=365 * 17)).isoformat(),
        appointment_number="",
    )
    body = post(admin, f"/teams/{team_id}/members/new", form).get_data(as_text=True)
    birth = re.search(r'<input id="birth_date"[^>]*>', body)[0]
    assert 'aria-invalid="true"' in birth and 'aria-describedby="birth_date-error"' in birth
    assert "autofocus" in birth  # the first wrong box in the form's order
    number = re.search(r'<input id="appointment_number"[^>]*>', body)[0]
    assert 'aria-invalid="true"' in number and "autofocus" not in number
    name = re.search(r'<input id="full_name"[^>]*>', body)[0]
    assert "aria-invalid" not in name
    banner = body[body.index('role="alert"') :].split("</div>")[0]
    assert '<a href="#birth_date">' in banner and '<a href="#appointment_number">' in banner
    assert "Chưa đủ 18 tuổi" in banner


def test_saving_a_member_is_confirmed_on_the_team_page(admin, demo, team):
    team_id = team.id
    make_room(demo, team_id)
    response = post(admin, f"/teams/{team_id}/members/new", member_form(demo, team_id))
    assert response.status_code == 303
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    saved = page[page.rindex("<div", 0, page.index('data-testid="saved"')) :].split("</div>")[0]
    assert 'role="status"' in saved and "Đã lưu thành viên Nguyễn Văn Mới." in saved
    assert 'data-testid="saved"' not in admin.get(f"/teams/{team_id}").get_data(as_text=True)


def test_the_leave_dialog_offers_the_move_and_phones_are_formatted(admin, demo, team):
    team_id = team.id
    others = demo.scalars(
        select(Team.id).where(Team.commune_id == team.commune_id, Team.id != team_id)
    ).all()
    body = admin.get(f"/teams/{team_id}").get_data(as_text=True)
    member = serving(demo, team_id)[0]
    dialog = body[body.index(f'data-testid="member-{member.id}"') :].split("</li>")[0]
    assert f'formaction="/teams/{team_id}/members/{member.id}/move"' in dialog
    assert all(f'<option value="{o}">' in dialog for o in others)
    if team.phone:
        grouped = f"{team.phone[:4]} {team.phone[4:7]} {team.phone[7:]}"
        assert grouped in body


def test_a_leader_lands_on_their_week_not_the_area_tree(app, demo):
    client = app.test_client()
    response = login(client, "totruong", "to-dan-pho-vung-manh")
    assert client.get(response.headers["Location"]).headers["Location"].endswith("/patrols/")


def test_a_village_that_has_a_team_is_named_not_ticked(app, demo, team):
    officer = signed_in(app, "canbo.xa")
    taken = demo.scalar(
        select(TeamArea.area_id).where(TeamArea.team_id == team.id, TeamArea.valid_to.is_(None))
    )
    body = officer.get(f"/teams/new?village={taken}").get_data(as_text=True)
    notice = body[body.index('data-testid="notice"') :].split("</div>")[0]
    assert f"đã có tổ: {team.name}" in notice
    assert f'value="{taken}" checked' not in body and f'value="{taken}" disabled' in body


def test_a_members_edit_button_says_edit_in_english(app, admin, demo, team):
    # "Sửa" is the button's word; the history says "Sửa thành viên …" with a phrase of its own
    from flask import g

    from portal import audit

    vietnamese = admin.get(f"/teams/{team.id}").get_data(as_text=True)
    assert '>Sửa<span class="visually-hidden">' in vietnamese
    with admin.session_transaction() as session:
        session["lang"] = "en"
    english = admin.get(f"/teams/{team.id}").get_data(as_text=True)
    assert '>Edit<span class="visually-hidden">' in english
    assert '>Changed<span class="visually-hidden">' not in english
    with app.test_request_context():
        g.lang = "en"
        assert audit._action_label("update", "member") == "Changed member"
        g.lang = "vi"
        assert audit._action_label("update", "thành viên") == "Sửa thành viên"
