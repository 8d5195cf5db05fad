"""Each class of hostile input, on valid requests one field at a time (portal/inputs.py): control
characters, ids and pages past PostgreSQL's integers, texts past their columns, JSON nested past
Python's parser; and 404, never 403, for the pages of a role one does not hold.

tests/test_input_fuzz.py throws the same values at every route at once.
"""

from __future__ import annotations

import io
import json
import re
from datetime import date

import pytest
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select

from portal.inputs import MAX_ID, to_id, to_page
from portal.models import Account, Area, AuditEntry, ImportBatch, Member, Team, TeamArea
from tests.conftest import CSRF_META, signed_in
from tests.test_team_management import make_room, member_form

TODAY = date.today().isoformat()
HX = {"HX-Request": "true"}
SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options")


def token_of(client, path: str = "/areas/") -> str:
    return CSRF_META.search(client.get(path).get_data(as_text=True)).group(1)


def post(client, url, data, headers=None, **kw):
    return client.post(url, data={**data, "csrf_token": token_of(client)}, headers=headers, **kw)


def audit_count(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry))


def ba_dinh(session) -> Area:
    return session.scalar(select(Area).where(Area.code == "00004"))


# --- control characters ----------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/areas/", "/teams/", "/accounts/", "/tra-cuu"])
@pytest.mark.parametrize("value", ["ba\x00dinh", "ba\x1bdinh", "\x7f\x00"])
def test_a_control_character_in_a_search_is_400_naming_the_parameter(admin, url, value):
    for headers in ({}, HX):
        response = admin.get(url, query_string={"q": value}, headers=headers)
        assert response.status_code == 400, (url, headers)
        assert "Tham số “q” chứa ký tự điều khiển" in response.get_data(as_text=True)
        assert all(h in response.headers for h in SECURITY_HEADERS)
    # tabs and line breaks are text, which a textarea sends
    assert admin.get(url, query_string={"q": "ba\tdinh\r\n"}).status_code == 200


def test_any_parameter_even_one_no_view_reads_and_the_json_api_names_it(client, demo):
    point = {"lat": "21.03673", "lon": "105.83464"}
    response = client.get("/api/lookup", query_string={**point, "utm_source": "x\x00"})
    assert response.status_code == 400
    assert response.get_json()["details"] == [{"parameter": "utm_source"}]


def test_a_control_character_in_a_form_a_name_or_a_file_name_changes_nothing(admin, demo):
    before = audit_count(demo)
    police = f"/areas/{ba_dinh(demo).id}/police"
    response = post(admin, police, {"name": "Công an\x00", "phone": "", "address": ""})
    assert response.status_code == 400
    assert "“name”" in response.get_data(as_text=True)
    response = post(admin, police, {"na\x00me": "x"})
    assert response.status_code == 400
    assert "“na\ufffdme”" in response.get_data(as_text=True)
    upload = post(
        admin,
        "/boundaries/uploads",
        {"level": "village", "crs": "auto", "file": (io.BytesIO(b"{}"), "a\x00b.geojson")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 400 and "“file”" in upload.get_data(as_text=True)
    assert audit_count(demo) == before


# --- ids and page numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        (" 42 ", 42),
        ("007", 7),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        (str(2**63), None),
        ("9" * 5000, None),  # int() refuses past 4300 digits
        ("0", None),
        ("-1", None),
        ("²", None),  # str.isdigit() says yes, int() says no
        ("١٢", None),  # Arabic-Indic digits: int() reads them, an id is typed in ASCII
        ("1e3", None),
        ("", None),
        (None, None),
    ],
)
def test_to_id(text, expected):
    assert to_id(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3", 3), ("", 1), ("0", 1), ("-2", 1), ("x", 1), ("9" * 30, MAX_ID), (str(2**63), MAX_ID)],
)
def test_to_page(text, expected):
    assert to_page(text) == expected


@pytest.mark.parametrize("number", [2**31, 2**63, 10**30])
def test_a_path_id_past_postgresql_integer_is_404_for_every_method(app, demo, number):
    admin = signed_in(app, "quantri")
    token = token_of(admin)
    for url, method in [
        (f"/areas/{number}", "GET"),
        (f"/teams/{number}/edit", "POST"),
        (f"/accounts/{number}", "POST"),  # a GET rule of the same path once made this a 405
        (f"/accounts/{number}", "GET"),
        (f"/boundaries/changes/{number}/revert", "POST"),
        (f"/tra-cuu/{number}", "GET"),
    ]:
        response = admin.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 404, (url, method)
    assert app.test_client().get(f"/teams/{number}").status_code == 404  # not a sign-in first


def test_page_numbers_past_the_last_page_are_empty_pages(admin, demo):
    commune = ba_dinh(demo)
    for page in (str(2**31), str(2**63), "9" * 30):
        response = admin.get(f"/areas/{commune.id}", query_string={"page": page})
        assert response.status_code == 200, page
        response = admin.get("/teams/", query_string={"q": "to", "page": page})
        assert response.status_code == 200, page
        assert "Tổ dân phố số 1<" not in response.get_data(as_text=True)


@pytest.mark.parametrize("value", [str(2**31), str(2**63), "9" * 30, "abc", "-1"])
def test_a_query_id_that_no_row_can_have_is_not_found(admin, demo, value):
    for url, name in [
        ("/coverage/problems.csv", "commune_id"),
        ("/boundaries/export.geojson", "commune_id"),
        ("/teams/new", "commune_id"),
        ("/accounts/team-options", "commune_id"),
        ("/tra-cuu", "tinh"),
        ("/tra-cuu/chon", "xa"),
    ]:
        response = admin.get(url, query_string={name: value})
        assert response.status_code == 404, (url, value)
        assert f"tham số “{name}”" in response.get_data(as_text=True)


def test_huge_ids_in_forms_are_field_errors(admin, demo):
    commune = ba_dinh(demo)
    team = demo.scalar(select(Team).where(Team.commune_id == commune.id).order_by(Team.id))
    member = demo.scalar(select(Member).where(Member.team_id == team.id, Member.left_on.is_(None)))
    before = audit_count(demo)
    moved = post(
        admin,
        f"/teams/{team.id}/members/{member.id}/move",
        {"to_team_id": str(2**63), "left_on": TODAY, "left_decision": "1", "signer": "A"},
    )
    assert moved.status_code == 422
    assert "Lựa chọn không hợp lệ" in moved.get_data(as_text=True)
    village = demo.scalar(select(Area.id).where(Area.parent_id == commune.id).limit(1))
    merged = post(
        admin,
        f"/boundaries/communes/{commune.id}/merge",
        {
            "area_ids": [str(village), "9" * 30],
            "name": "Gộp",
            "decision_number": "1/QĐ",
            "decision_date": TODAY,
        },
    )
    assert merged.status_code == 422
    assert re.search(r'id="area_ids-error"[^>]*>[^<]*Lựa chọn không hợp lệ', merged.text)
    uploaded = post(
        admin,
        "/boundaries/uploads",
        {
            "level": "village",
            "crs": "auto",
            "commune_id": str(2**31),
            "file": (io.BytesIO(b"{}"), "x.geojson"),
        },
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 422 and "Lựa chọn không hợp lệ" in uploaded.text
    for digits in ("9" * 30, "²"):  # an account's commune and team, and a team's villages
        account = post(
            admin,
            "/accounts/new",
            {
                "username": "nguoi.moi",
                "full_name": "Người Mới",
                "role": "team_leader",
                "commune_id": digits,
                "team_id": digits,
                "password": "mot-mat-khau-rat-dai-2025",
            },
        )
        assert account.status_code == 422 and 'id="commune_id-error"' in account.text
        created = post(
            admin,
            "/teams/new",
            {
                "name": "Tổ mới",
                "commune_id": str(commune.id),
                "area_ids": [digits],
                "decision_number": "5/QĐ",
                "decision_date": TODAY,
            },
        )
        assert created.status_code == 422 and 'id="area_ids-error"' in created.text
    assert audit_count(demo) == before


# --- texts longer than their columns ---------------------------------------------------------


def _team_new(s):
    covered = select(TeamArea.area_id).where(TeamArea.valid_to.is_(None))
    free = s.scalar(select(Area).where(Area.level == "village", Area.id.not_in(covered)).limit(1))
    return "/teams/new", {
        "name": "Tổ bảo vệ ANTT mới",
        "commune_id": str(free.parent_id),
        "area_ids": [str(free.id)],
        "phone": "0987654321",
        "decision_number": "5/QĐ",
        "decision_date": TODAY,
    }


def _leader_team(s) -> Team:
    leader = s.scalar(select(Account).where(Account.username == "totruong"))
    return s.get(Team, leader.team_id)


def _member_new(s):
    team = _leader_team(s)
    make_room(s, team.id)
    return f"/teams/{team.id}/members/new", member_form(s, team.id)


def _serving(s):
    team = _leader_team(s)
    member = s.scalar(
        select(Member).where(
            Member.team_id == team.id, Member.left_on.is_(None), Member.role == "member"
        )
    )
    return team, member


def _leave(s):
    team, member = _serving(s)
    return f"/teams/{team.id}/members/{member.id}/leave", {
        "left_on": TODAY,
        "left_decision": "3/QĐ",
    }


def _move(s):
    team, member = _serving(s)
    other = s.scalar(
        select(Team).where(Team.commune_id == team.commune_id, Team.id != team.id).order_by(Team.id)
    )
    make_room(s, other.id)
    return f"/teams/{team.id}/members/{member.id}/move", {
        "to_team_id": str(other.id),
        "left_on": TODAY,
        "left_decision": "4/QĐ",
        "signer": "Chủ tịch UBND phường",
    }


def _account_new(s):
    return "/accounts/new", {
        "username": "nguoi.moi",
        "full_name": "Người Mới",
        "role": "commune_officer",
        "commune_id": str(ba_dinh(s).id),
        "password": "mot-mat-khau-rat-dai-2025",
    }


def _account_update(s):
    leader = s.scalar(select(Account).where(Account.username == "totruong"))
    return f"/accounts/{leader.id}", {
        "full_name": "Tổ Trưởng",
        "role": "team_leader",
        "commune_id": str(ba_dinh(s).id),
        "team_id": str(leader.team_id),
    }


def _police(s):
    return f"/areas/{ba_dinh(s).id}/police", {
        "name": "Công an phường Ba Đình",
        "phone": "02438234567",
        "address": "Số 1 phố Trúc Bạch",
    }


def _village(s) -> Area:
    return s.scalar(select(Area).where(Area.code == "00004-003"))


def _edit(s):
    village = _village(s)
    smaller = to_shape(village.geom).buffer(-0.0001)
    return f"/boundaries/villages/{village.id}/edit", {
        "action": "edit",
        "geometry": json.dumps(shapely.geometry.mapping(smaller)),
        "decision_number": "31/QĐ",
        "decision_date": TODAY,
    }


def _split(s):
    village = _village(s)
    minx, miny, maxx, maxy = to_shape(village.geom).bounds
    line = shapely.LineString([(minx - 0.01, (miny + maxy) / 2), (maxx + 0.01, (miny + maxy) / 2)])
    return f"/boundaries/villages/{village.id}/edit", {
        "action": "split",
        "line": json.dumps(shapely.geometry.mapping(line)),
        "name_a": "Phần A",
        "name_b": "Phần B",
        "decision_number": "32/QĐ",
        "decision_date": TODAY,
    }


def _merge(s):
    commune = ba_dinh(s)
    first, second = s.scalars(
        select(Area.id)
        .where(Area.parent_id == commune.id, Area.valid_to.is_(None))
        .order_by(Area.code)
        .limit(2)
    )
    return f"/boundaries/communes/{commune.id}/merge", {
        "area_ids": [str(first), str(second)],
        "name": "Tổ dân phố số 1-2",
        "decision_number": "33/QĐ",
        "decision_date": TODAY,
    }


def _commit(s):
    village = _village(s)
    batch = ImportBatch(
        created_by=s.scalar(select(Account.id).where(Account.username == "quantri")),
        filename="v.geojson",
        level="village",
        parent_id=village.parent_id,
        source_crs="EPSG:4326",
        status="draft",
    )
    s.add(batch)
    s.commit()
    return f"/boundaries/uploads/{batch.id}/commit", {
        "mode": "all",
        "decision_number": "34/QĐ",
        "decision_date": TODAY,
    }


FORMS = {
    "team": (_team_new, ["name", "decision_number"]),
    "member": (
        _member_new,
        ["full_name", "age_approval", "appointment_number", "appointment_signer"],
    ),
    "leave": (_leave, ["left_decision"]),
    "move": (_move, ["left_decision", "signer"]),
    "new account": (_account_new, ["full_name"]),
    "account": (_account_update, ["full_name"]),
    "police": (_police, ["name", "address"]),
    "edit": (_edit, ["decision_number"]),
    "split": (_split, ["name_a", "name_b", "decision_number"]),
    "merge": (_merge, ["name", "decision_number"]),
    "commit": (_commit, ["decision_number"]),
}
LIMITS = {  # the columns' lengths, as the migrations made them
    "name": 200,
    "decision_number": 100,
    "full_name": 120,
    "age_approval": 200,
    "appointment_number": 100,
    "appointment_signer": 200,
    "left_decision": 100,
    "signer": 200,
    "address": 300,
    "name_a": 200,
    "name_b": 200,
}


@pytest.mark.parametrize(
    ("form", "field"), [(form, field) for form, (_, fields) in FORMS.items() for field in fields]
)
def test_a_text_past_its_column_is_a_field_error_and_changes_nothing(admin, demo, form, field):
    url, data = FORMS[form][0](demo)
    limit = LIMITS[field]
    before = audit_count(demo)
    # typed decomposed (NFD), stored composed: measured as stored, "ệ" is one character
    response = post(admin, url, {**data, field: "e\u0323\u0302" * (limit + 1)})
    assert response.status_code == 422, response.text[:300]
    assert f"Dài quá {limit} ký tự cho phép (đang có {limit + 1})." in response.text
    assert audit_count(demo) == before
    at_limit = post(admin, url, {**data, field: "e\u0323\u0302" * limit})
    assert at_limit.status_code < 500 and "Dài quá" not in at_limit.text


def test_a_name_as_long_as_its_column_is_saved_and_searchable(admin, demo):
    url, data = _team_new(demo)
    name = "한" * 200  # a Hangul syllable is three letters when decomposed for the search form
    assert post(admin, url, {**data, "name": name}).status_code == 303
    team = demo.scalar(select(Team).where(Team.name == name))
    assert team.name_search == name
    assert name[:5] in admin.get("/teams/", query_string={"q": name[:5]}).text


# --- nested JSON -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "field", "value"),
    [
        ("edit", "geometry", "[" * 100_000),
        ("edit", "geometry", '{"type": "Polygon", "coordinates": ' + "[" * 5000 + "]" * 5000 + "}"),
        ("edit", "geometry", '{"type": "Polygon", "coordinates": [[[' + "1" * 5000 + ", 2]]]}"),
        ("split", "line", '{"type": "LineString", "coordinates": ' + "[" * 100_000),
    ],
)
def test_json_nested_past_the_parser_is_a_field_error(admin, demo, action, field, value):
    url, data = (_edit if action == "edit" else _split)(demo)
    before = audit_count(demo)
    response = post(admin, url, {**data, field: value})
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error"[^>]*>\s*\S', response.text), response.text[:500]
    assert audit_count(demo) == before


# --- 404, never 403, for the pages of another role -------------------------------------------


def test_a_team_leader_gets_the_same_404_on_other_roles_pages(app, demo):
    leader = signed_in(app, "totruong")
    commune = ba_dinh(demo)
    village = _village(demo)
    # the very page of an address that does not exist: nothing tells the route is there
    expected = re.search(r"<main.*</main>", leader.get("/khong-co-trang-nay").text, re.S).group(0)
    for url in [
        "/accounts/",
        "/accounts/new",
        "/boundaries/",
        f"/boundaries/villages/{village.id}/edit",
        f"/boundaries/communes/{commune.id}/merge",
        "/coverage/",
        f"/coverage/{commune.id}",
        "/coverage/problems.csv",
        "/teams/new",
        f"/areas/{commune.id}/police",
    ]:
        response = leader.get(url)
        assert response.status_code == 404, url
        assert re.search(r"<main.*</main>", response.text, re.S).group(0) == expected, url
    token = token_of(leader)
    for url in ["/teams/validate", "/boundaries/uploads", f"/areas/{commune.id}/police"]:
        assert leader.post(url, data={"csrf_token": token}).status_code == 404, url


def test_an_officer_opens_the_team_form_only_for_their_commune(app, demo):
    officer = signed_in(app, "canbo.xa")
    own = ba_dinh(demo)
    other = demo.scalar(select(Area).where(Area.code == "00008"))
    theirs = demo.scalar(select(Area.name).where(Area.parent_id == other.id).limit(1))
    assert officer.get("/teams/new", query_string={"commune_id": own.id}).status_code == 200
    response = officer.get("/teams/new", query_string={"commune_id": other.id})
    assert response.status_code == 404
    assert theirs not in response.text
    refused = post(
        officer,
        "/teams/new",
        {"name": "Tổ", "commune_id": str(other.id), "decision_number": "1", "decision_date": TODAY},
    )
    assert refused.status_code == 422 and theirs not in refused.text


# --- error pages keep the security headers ---------------------------------------------------


def test_400_and_422_pages_fragments_and_json_keep_the_security_headers(admin, demo):
    url = f"/areas/{ba_dinh(demo).id}/police"
    for headers in ({}, HX, {"Accept": "application/json"}):
        bad = admin.get("/areas/", query_string={"q": "\x00"}, headers=headers)
        invalid = post(admin, url, {"name": "", "phone": "1"}, headers=headers)
        api = admin.get("/api/lookup", query_string={"lat": "x"}, headers=headers)
        for response, status in ((bad, 400), (invalid, 422), (api, 400)):
            assert response.status_code == status, (headers, status)
            csp = response.headers["Content-Security-Policy"]
            assert "script-src" in csp and "frame-ancestors 'none'" in csp
            assert response.headers["X-Frame-Options"] == "DENY"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
