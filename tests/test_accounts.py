"""Account management by city admins, and the audit log it leaves."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from portal.models import Account, AuditEntry, Team
from tests.conftest import DEMO_PASSWORDS, csrf_token, login, signed_in

HX = {"HX-Request": "true"}


def post(client, url, data, htmx=True):
    token = csrf_token(client, "/areas/")
    return client.post(url, data={**data, "csrf_token": token}, headers=HX if htmx else {})


def account(session, username):
    session.expire_all()
    return session.scalar(select(Account).where(Account.username == username))


def accounts_count(session):
    return session.scalar(select(func.count()).select_from(Account))


def test_admin_creates_a_commune_officer_and_the_log_records_it(admin, demo):
    commune_id = account(demo, "canbo.xa").commune_id
    response = post(
        admin,
        "/accounts/new",
        {
            "username": "Nguyen.Van.An",
            "full_name": "Nguyễn  Văn An",
            "role": "commune_officer",
            "commune_id": str(commune_id),
            "password": "cong-an-phuong-ba-dinh",
        },
    )
    assert response.status_code == 204
    created = account(demo, "nguyen.van.an")
    assert response.headers["HX-Redirect"] == f"/accounts/{created.id}?created=1"
    assert created.full_name == "Nguyễn Văn An"
    assert created.role == "commune_officer" and created.commune_id == commune_id
    entry = demo.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_type == "account", AuditEntry.entity_id == created.id
        )
    )
    assert entry.action == "create"
    assert entry.actor == "quantri"
    assert entry.changes["username"] == [None, "nguyen.van.an"]
    assert entry.changes["password_hash"] == [None, "[ẩn]"]  # never the hash itself
    page = admin.get(f"/accounts/{created.id}").get_data(as_text=True)
    assert "Lịch sử thay đổi" in page and "nguyen.van.an" in page
    # and the new account can sign in
    assert (
        login(
            admin.application.test_client(), "nguyen.van.an", "cong-an-phuong-ba-dinh"
        ).status_code
        == 302
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": "a"}, "username", "Tên đăng nhập gồm 3–40"),
        ({"username": "canbo.xa"}, "username", "Tên đăng nhập này đã có người dùng."),
        ({"full_name": ""}, "full_name", "Nhập họ tên."),
        ({"role": "superuser"}, "role", "Chọn một vai trò."),
        ({"commune_id": ""}, "commune_id", "Chọn xã, phường của tài khoản."),
        ({"role": "team_leader"}, "team_id", "Chọn tổ của tổ trưởng"),
        ({"password": "short"}, "password", "Mật khẩu phải có ít nhất 12 ký tự."),
        ({"password": "password1234"}, "password", "danh sách mật khẩu phổ biến"),
        ({"password": "nguoi.moi.2025!"}, "password", "không được chứa tên đăng nhập"),
        ({"password": "aaaaaaaaaaaaaaa"}, "password", "quá dễ đoán"),
    ],
)
def test_bad_account_input_says_what_and_where_and_writes_nothing(
    admin, demo, data, field, message
):
    commune_id = account(demo, "canbo.xa").commune_id
    form = {
        "username": "nguoi.moi",
        "full_name": "Người Mới",
        "role": "commune_officer",
        "commune_id": str(commune_id),
        "password": "mot-cau-that-dai-de-nho",
        **data,
    }
    before = accounts_count(demo)
    response = post(admin, "/accounts/new", form)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in body
    assert message in body
    assert accounts_count(demo) == before


def test_team_leader_needs_a_team_of_the_chosen_commune(admin, demo):
    officer = account(demo, "canbo.xa")
    foreign_team = demo.scalar(
        select(Team.id).where(Team.commune_id != officer.commune_id).limit(1)
    )
    response = post(
        admin,
        "/accounts/new",
        {
            "username": "to.truong.moi",
            "full_name": "Tổ Trưởng Mới",
            "role": "team_leader",
            "commune_id": str(officer.commune_id),
            "team_id": str(foreign_team),
            "password": "mot-cau-that-dai-de-nho",
        },
    )
    assert response.status_code == 422
    assert 'id="team_id-error"' in response.get_data(as_text=True)


def test_team_options_follow_the_chosen_commune(admin, demo):
    officer = account(demo, "canbo.xa")
    body = admin.get(
        f"/accounts/team-options?commune_id={officer.commune_id}", headers=HX
    ).get_data(as_text=True)
    teams = demo.scalars(select(Team).where(Team.commune_id == officer.commune_id)).all()
    assert body.count('<option value="') == len(teams) + 1
    assert teams[0].name in body


def test_admin_changes_role_and_scope_and_history_shows_before_and_after(admin, demo):
    leader = account(demo, "totruong")
    officer = account(demo, "canbo.xa")
    response = post(
        admin,
        f"/accounts/{officer.id}",
        {
            "full_name": "Cán bộ mới",
            "role": "team_leader",
            "commune_id": str(officer.commune_id),
            "team_id": str(leader.team_id),
        },
    )
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "audit-changed"
    changed = account(demo, "canbo.xa")
    assert (changed.role, changed.team_id, changed.commune_id) == (
        "team_leader",
        leader.team_id,
        None,
    )
    entry = demo.scalar(
        select(AuditEntry)
        .where(AuditEntry.entity_id == officer.id, AuditEntry.action == "update")
        .order_by(AuditEntry.id.desc())
    )
    assert entry.changes["role"] == ["commune_officer", "team_leader"]
    assert entry.changes["full_name"][1] == "Cán bộ mới"
    history = admin.get(f"/accounts/{officer.id}", headers={**HX, "HX-Target": "history"})
    shown = history.get_data(as_text=True)
    # the roles read in Vietnamese (issue 14: no raw codes in histories)
    assert "Cán bộ xã, phường" in shown and "Tổ trưởng" in shown
    assert "commune_officer" not in shown and "team_leader" not in shown
    assert "<html" not in history.get_data(as_text=True)


def test_disabling_asks_for_confirmation_then_ends_the_accounts_sessions(app, admin, demo):
    victim_client = signed_in(app, "canbo.xa")
    officer = account(demo, "canbo.xa")
    unconfirmed = post(admin, f"/accounts/{officer.id}/active", {"active": "0"}, htmx=False)
    assert unconfirmed.status_code == 200
    assert 'name="confirm" value="yes"' in unconfirmed.get_data(as_text=True)
    assert account(demo, "canbo.xa").is_active  # nothing changed yet
    confirmed = post(admin, f"/accounts/{officer.id}/active", {"active": "0", "confirm": "yes"})
    assert confirmed.status_code == 200
    assert not account(demo, "canbo.xa").is_active
    assert victim_client.get("/areas/").status_code == 302  # signed out at the next request
    assert login(app.test_client(), "canbo.xa", DEMO_PASSWORDS["canbo.xa"]).status_code == 401
    post(admin, f"/accounts/{officer.id}/active", {"active": "1"})
    assert account(demo, "canbo.xa").is_active


def test_admin_cannot_lock_out_themselves(admin, demo):
    me = account(demo, "quantri")
    response = post(admin, f"/accounts/{me.id}/active", {"active": "0", "confirm": "yes"})
    assert response.status_code == 422
    assert "không thể tự khóa" in response.get_data(as_text=True)
    demoted = post(
        admin,
        f"/accounts/{me.id}",
        {
            "full_name": "X",
            "role": "commune_officer",
            "commune_id": str(account(demo, "canbo.xa").commune_id),
        },
    )
    assert demoted.status_code == 422
    assert account(demo, "quantri").is_active and account(demo, "quantri").role == "admin"


def test_password_reset_ends_the_old_sessions(app, admin, demo):
    old_session = signed_in(app, "totruong")
    leader = account(demo, "totruong")
    weak = post(admin, f"/accounts/{leader.id}/password", {"password": "123456789012"})
    assert weak.status_code == 422
    response = post(
        admin, f"/accounts/{leader.id}/password", {"password": "tuan-tra-dem-phuong-ba-dinh"}
    )
    assert response.status_code == 200
    assert old_session.get("/areas/").status_code == 302
    assert login(app.test_client(), "totruong", DEMO_PASSWORDS["totruong"]).status_code == 401
    assert login(app.test_client(), "totruong", "tuan-tra-dem-phuong-ba-dinh").status_code == 302
    entry = demo.scalar(
        select(AuditEntry).where(AuditEntry.entity_id == leader.id).order_by(AuditEntry.id.desc())
    )
    assert entry.changes["password_hash"] == ["[ẩn]", "[ẩn]"]


def test_admin_resetting_their_own_password_stays_signed_in(admin, demo):
    me = account(demo, "quantri")
    assert (
        post(
            admin, f"/accounts/{me.id}/password", {"password": "mat-khau-moi-cua-quan-tri"}
        ).status_code
        == 200
    )
    assert admin.get("/areas/").status_code == 200


def test_accounts_list_is_paginated_and_searchable(app, admin, demo):
    app.config["PAGE_SIZE"] = 2
    try:
        first = admin.get("/accounts/").get_data(as_text=True)
        assert "Trang 1/2" in first
        found = admin.get("/accounts/?q=totr", headers={**HX, "HX-Target": "account-list"})
        assert "totruong" in found.get_data(as_text=True)
        assert "canbo.xa" not in found.get_data(as_text=True)
    finally:
        app.config["PAGE_SIZE"] = 50


def test_area_changes_by_the_cli_are_logged_with_their_actor(app, demo):
    from tests.conftest import HANOI_COMMUNES

    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["import-boundaries", str(HANOI_COMMUNES), "--level", "commune", "--parent", "01"]
    )
    assert result.exit_code == 0, result.output
    entries = demo.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "area",
            AuditEntry.action == "create",
            AuditEntry.actor.like("cli:%"),
        )
    ).all()
    assert len(entries) == 126 - 3  # the three demo communes were there already
    assert entries[0].changes["geom"][1]["type"] == "MultiPolygon"


def test_the_database_refuses_to_edit_or_delete_the_audit_log(admin, demo):
    officer = account(demo, "canbo.xa")
    post(
        admin,
        f"/accounts/{officer.id}",
        {"full_name": "Đổi tên", "role": "commune_officer", "commune_id": str(officer.commune_id)},
    )
    for statement in (
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(DBAPIError, match=r"permission denied|append-only"), demo.begin_nested():
            demo.execute(text(statement))


def test_create_admin_command_applies_the_password_policy(app, session):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["create-admin", "admin2"], input="password1234\npassword1234\n")
    assert weak.exit_code != 0
    assert "phổ biến" in weak.output
    ok = runner.invoke(
        args=["create-admin", "admin2"], input="mot-cau-rat-dai-de-nho\nmot-cau-rat-dai-de-nho\n"
    )
    assert ok.exit_code == 0, ok.output
    created = account(session, "admin2")
    assert created.role == "admin"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity_id == created.id))
    assert entry.actor.startswith("cli:")
