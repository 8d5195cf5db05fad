"""The citizens' look-up on the real Hanoi communes: points inside, on a shared border,
outside Hanoi and in uncovered places; search, lists and the police contact planners keep."""

from __future__ import annotations

import html
import json
from datetime import date

import pytest
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import aliased

from portal.extensions import db
from portal.lookup import cache, queries, services
from portal.models import Area, AuditEntry, Member, PoliceContact, Team, TeamArea
from portal.text import fold
from tests.conftest import csrf_token, signed_in

MAUSOLEUM = (21.03673, 105.83464)  # Ho Chi Minh Mausoleum, Phường Ba Đình
LOTTE_CENTER = (21.0318, 105.8124)  # Phường Giảng Võ
HOAN_KIEM_LAKE = (21.0287, 105.8524)  # Phường Hoàn Kiếm: not among the demo's three communes
SAIGON = (10.7769, 106.7009)  # Ho Chi Minh City: outside every area on record


def api(client, lat, lon):
    return client.get("/api/lookup", query_string=point_args((lat, lon)))


def point_args(point: tuple[float, float]) -> dict:
    return {"lat": point[0], "lon": point[1]}


def village_at(session, lat, lon) -> Area:
    point = shapely.Point(lon, lat)
    villages = session.scalars(
        select(Area).where(Area.level == "village", Area.valid_to.is_(None))
    ).all()
    (village,) = [v for v in villages if to_shape(v.geom).covers(point)]
    return village


def test_a_point_inside_a_village_gives_its_team_leader_and_police(client, demo):
    response = api(client, *MAUSOLEUM)
    assert response.status_code == 200
    body = response.get_json()
    village = village_at(demo, *MAUSOLEUM)
    team = demo.scalar(
        select(Team).join(TeamArea).where(TeamArea.area_id == village.id, TeamArea.active())
    )
    leader = demo.scalar(select(Member).where(Member.team_id == team.id, Member.role == "leader"))
    assert body["area"]["id"] == village.id and body["area"]["level"] == "village"
    assert body["village"]["name"] == village.name
    assert body["commune"]["name"] == "Phường Ba Đình"
    assert body["province"]["name"] == "Thành phố Hà Nội"
    assert body["covered"] is True
    assert body["team"]["name"] == team.name and body["team"]["phone"] == team.phone
    assert body["team"]["leader"] == {"name": leader.full_name, "phone": leader.phone}
    assert body["police"]["name"] == "Công an phường Ba Đình"
    assert body["police"]["phone"].startswith("0243")
    assert body["area"]["url"].endswith(f"/tra-cuu/{village.id}")
    assert body["report"]["emergency_phone"] == "113"
    assert body["border_with"] == []
    assert "public" in response.headers["Cache-Control"]


def test_another_commune_at_a_known_landmark(client, demo):
    body = api(client, *LOTTE_CENTER).get_json()
    assert body["commune"]["name"] == "Phường Giảng Võ"
    assert body["village"]["id"] == village_at(demo, *LOTTE_CENTER).id


def test_a_point_on_the_border_of_two_communes_answers_one_and_names_the_other(client, demo):
    ba_dinh, ngoc_ha = (
        to_shape(demo.scalar(select(Area.geom).where(Area.name == name)))
        for name in ("Phường Ba Đình", "Phường Ngọc Hà")
    )
    shared = sorted(
        set(map(tuple, shapely.get_coordinates(ba_dinh.boundary)))
        & set(map(tuple, shapely.get_coordinates(ngoc_ha.boundary)))
    )
    lon, lat = shared[len(shared) // 2]  # a vertex both outlines hold: exactly on the border
    body = api(client, lat, lon).get_json()
    assert body["area"]["level"] == "village"
    neighbours = [n["id"] for n in body["border_with"]]
    parent = aliased(Area)
    their_communes = demo.scalars(
        select(parent.name).join(Area, Area.parent_id == parent.id).where(Area.id.in_(neighbours))
    ).all()
    # the answer lies in one commune, and the villages it borders there include the other's
    assert {body["commune"]["name"], *their_communes} == {"Phường Ba Đình", "Phường Ngọc Hà"}
    page = client.get("/tra-cuu/diem", query_string={"lat": lat, "lon": lon})
    assert "nằm trên ranh giới" in page.get_data(as_text=True)


def test_outside_hanoi_is_404_with_a_json_message(client, demo):
    response = api(client, *SAIGON)
    assert response.status_code == 404
    assert response.is_json and "10.776900" in response.get_json()["message"]
    page = client.get("/tra-cuu/diem", query_string=point_args(SAIGON))
    assert page.status_code == 404 and "Không có địa bàn nào" in page.get_data(as_text=True)


def test_inside_hanoi_but_in_no_commune_on_record_says_so(client, demo):
    body = api(client, *HOAN_KIEM_LAKE).get_json()
    assert body["area"]["level"] == "province" and body["commune"] is None
    assert body["police"] is None and body["covered"] is False
    page = client.get("/tra-cuu/diem", query_string=point_args(HOAN_KIEM_LAKE))
    assert "chưa thuộc xã, phường nào" in page.get_data(as_text=True)


def test_a_village_without_team_says_so_and_names_the_commune_police(client, demo):
    village_id = village_at(demo, *MAUSOLEUM).id
    demo.execute(
        update(TeamArea).where(TeamArea.area_id == village_id).values(valid_to=date.today())
    )
    demo.commit()  # within the test's transaction, which is still rolled back at the end
    body = api(client, *MAUSOLEUM).get_json()
    assert body["covered"] is False and body["team"] is None
    assert body["police"]["name"] == "Công an phường Ba Đình"
    text = client.get(f"/tra-cuu/{village_id}").get_data(as_text=True)
    assert "chưa có tổ bảo vệ an ninh, trật tự phụ trách" in text
    assert "Hãy liên hệ Công an phường Ba Đình." in text


def test_land_in_no_village_falls_back_to_the_commune_and_its_police(client, demo):
    village = village_at(demo, *MAUSOLEUM)
    village_id = village.id
    village.valid_to = date.today()  # ended: its subdivided parts go with it (the trigger)
    demo.commit()
    body = api(client, *MAUSOLEUM).get_json()
    assert body["area"]["level"] == "commune" and body["village"] is None
    assert body["covered"] is False and body["police"]["name"] == "Công an phường Ba Đình"
    text = client.get("/tra-cuu/diem", query_string=point_args(MAUSOLEUM))
    assert "chưa thuộc thôn, tổ dân phố nào" in text.get_data(as_text=True)
    assert client.get(f"/tra-cuu/{village_id}").status_code == 404  # ended: no card


def test_a_commune_without_police_contact_is_named_after_the_commune(client, demo):
    commune_id = demo.scalar(select(Area.id).where(Area.name == "Phường Giảng Võ"))
    demo.execute(delete(PoliceContact).where(PoliceContact.commune_id == commune_id))
    demo.commit()
    body = api(client, *LOTTE_CENTER).get_json()
    assert body["police"] == {"name": "Công an phường Giảng Võ", "phone": None, "address": None}
    assert "khi khẩn cấp, gọi 113" in client.get(f"/tra-cuu/{commune_id}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"lon": "105.8"}, "lat"),
        ({"lat": "", "lon": "105.8"}, "lat"),
        ({"lat": "21.03"}, "lon"),
        ({"lat": "21,03", "lon": "105.8"}, "lat"),
        ({"lat": "21.03", "lon": "abc"}, "lon"),
        ({"lat": "91", "lon": "105.8"}, "lat"),
        ({"lat": "21.03", "lon": "-180.5"}, "lon"),
        ({"lat": "nan", "lon": "105.8"}, "lat"),
        ({"lat": "21.03", "lon": "inf"}, "lon"),
    ],
)
def test_a_bad_or_missing_coordinate_is_400_naming_it(client, demo, query, parameter):
    response = client.get("/api/lookup", query_string=query)
    assert response.status_code == 400
    body = response.get_json()
    assert parameter in body["message"]
    assert body["details"] == [{"parameter": parameter}]


def test_subdivided_parts_answer_as_the_whole_polygons_do(demo):
    """The fast path (area_parts) and the plain one agree, at points all over the communes."""
    communes = demo.scalars(select(Area.geom).where(Area.level == "commune")).all()
    box = shapely.union_all([to_shape(g) for g in communes]).bounds
    grid = [
        (box[1] + (box[3] - box[1]) * i / 12, box[0] + (box[2] - box[0]) * j / 12)
        for i in range(13)
        for j in range(13)
    ]
    inside = 0
    for lat, lon in grid:
        fast = demo.execute(queries.areas_at(lon, lat)).all()
        plain = demo.execute(queries.areas_at_whole_polygons(lon, lat)).all()
        assert fast == plain, (lat, lon)
        inside += any(row.level == "village" for row in fast)
    assert inside > 40  # most of the grid falls in villages, so the comparison means something


def test_card_page_for_a_point_and_for_htmx_a_fragment_that_pushes_its_url(client, demo):
    args = point_args(MAUSOLEUM)
    page = client.get("/tra-cuu/diem", query_string=args)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in text and "Công an phường Ba Đình" in text
    assert 'data-lat="21.03673"' in text  # the map marks the point
    fragment = client.get(
        "/tra-cuu/diem", query_string=args, headers={"HX-Request": "true", "HX-Target": "card"}
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.get_data(as_text=True)
    assert 'id="card"' in fragment.get_data(as_text=True)
    assert fragment.headers["HX-Push-Url"].startswith("/tra-cuu/diem?lat=21.03673")


def test_search_ignores_diacritics_and_knows_villages_by_their_commune(client, demo):
    text = client.get("/tra-cuu", query_string={"q": "ba dinh"}).get_data(as_text=True)
    first = text.index("Phường Ba Đình</a>")
    assert first < text.index("Tổ dân phố số 1</a>")  # the commune first, then its villages
    fragment = client.get(
        "/tra-cuu",
        query_string={"q": "TO DAN PHO SO 7 NGOC HA"},
        headers={"HX-Request": "true", "HX-Target": "lookup-results"},
    ).get_data(as_text=True)
    assert "<html" not in fragment
    assert "Tổ dân phố số 7</a>" in fragment and "Phường Ngọc Hà" in fragment
    assert "Ba Đình" not in fragment
    short = client.get("/tra-cuu", query_string={"q": "a"}).get_data(as_text=True)
    assert "Nhập ít nhất 2 ký tự." in short
    none = client.get("/tra-cuu", query_string={"q": "không có nơi này"}).get_data(as_text=True)
    assert "Không có thôn, tổ dân phố hay xã, phường nào khớp" in none


def test_choosing_commune_then_village_works_without_javascript(client, demo):
    start = client.get("/tra-cuu").get_data(as_text=True)
    commune_id = demo.scalar(select(Area.id).where(Area.name == "Phường Ngọc Hà"))
    assert f'<option value="{commune_id}" >Ngọc Hà (phường)</option>' in start
    chosen = client.get("/tra-cuu/chon", query_string={"xa": commune_id})
    assert chosen.status_code == 303 and chosen.headers["Location"] == f"/tra-cuu/{commune_id}"
    commune_page = client.get(chosen.headers["Location"]).get_data(as_text=True)
    villages = demo.scalars(
        select(Area).where(Area.parent_id == commune_id).order_by(Area.code)
    ).all()
    for village in villages:
        assert f'href="/tra-cuu/{village.id}"' in commune_page
    card = client.get(f"/tra-cuu/{villages[0].id}").get_data(as_text=True)
    assert villages[0].name in card and "Công an phường Ngọc Hà" in card
    assert client.get("/tra-cuu/chon").headers["Location"] == "/tra-cuu"


def test_a_long_list_of_villages_is_paginated(client, demo, monkeypatch):
    commune_id = demo.scalar(select(Area.id).where(Area.name == "Phường Ba Đình"))
    total = len(demo.scalars(select(Area.id).where(Area.parent_id == commune_id)).all())
    monkeypatch.setattr(services, "VILLAGES_PER_PAGE", 10)
    second = client.get(
        f"/tra-cuu/{commune_id}",
        query_string={"page": 2},
        headers={"HX-Request": "true", "HX-Target": "villages"},
    ).get_data(as_text=True)
    assert second.count('<li><a href="/tra-cuu/') == 10
    assert f"Trang 2/{(total + 9) // 10}" in second


def test_anonymous_visitors_land_on_the_look_up(client, demo):
    assert client.get("/").headers["Location"] == "/tra-cuu"


def test_the_commune_officer_keeps_the_police_contact_and_citizens_see_it(app, client, demo):
    officer = signed_in(app, "canbo.xa")
    commune_id = demo.scalar(select(Area.id).where(Area.name == "Phường Ba Đình"))
    url = f"/areas/{commune_id}/police"
    token = csrf_token(officer, url)
    bad = officer.post(url, data={"csrf_token": token, "name": "", "phone": "12345"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Nhập tên đơn vị công an." in text and "bắt đầu bằng 0" in text
    before = demo.scalar(select(PoliceContact.phone).where(PoliceContact.commune_id == commune_id))
    assert before != "12345"
    good = officer.post(
        url,
        data={
            "csrf_token": token,
            "name": "Công an phường Ba Đình",
            "phone": "024 3823 4567",
            "address": "Số 1 phố Trúc Bạch",
        },
    )
    assert good.status_code == 303
    contact = demo.scalar(select(PoliceContact).where(PoliceContact.commune_id == commune_id))
    assert (contact.phone, contact.address) == ("02438234567", "Số 1 phố Trúc Bạch")
    assert demo.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_type == "police_contact", AuditEntry.owner_id == commune_id
        )
    )
    card = client.get(f"/tra-cuu/{commune_id}").get_data(as_text=True)
    assert "024 3823 4567" in card and "Số 1 phố Trúc Bạch" in card


def test_team_leaders_may_not_edit_police_contacts_and_officers_only_their_own(app, demo):
    commune_id = demo.scalar(select(Area.id).where(Area.name == "Phường Ba Đình"))
    other_id = demo.scalar(select(Area.id).where(Area.name == "Phường Giảng Võ"))
    village_id = demo.scalar(select(Area.id).where(Area.parent_id == commune_id).limit(1))
    assert signed_in(app, "totruong").get(f"/areas/{commune_id}/police").status_code == 404
    officer = signed_in(app, "canbo.xa")
    assert officer.get(f"/areas/{other_id}/police").status_code == 404
    assert officer.get(f"/areas/{village_id}/police").status_code == 404
    assert officer.get(f"/areas/{commune_id}/police").status_code == 200
    db.session.rollback()


@pytest.mark.parametrize(
    ("point", "commune"),
    [
        (HOAN_KIEM_LAKE, "Phường Hoàn Kiếm"),
        ((21.0479, 105.8368), "Phường Tây Hồ"),  # Trấn Quốc pagoda
        ((21.0293, 105.8355), "Phường Văn Miếu - Quốc Tử Giám"),  # Temple of Literature
        ((21.2187, 105.8072), "Xã Nội Bài"),  # the airport
    ],
)
def test_landmarks_fall_in_their_communes_of_the_2025_layout(client, hanoi, point, commune):
    body = api(client, *point).get_json()
    assert body["area"]["level"] == "commune"
    assert body["commune"]["name"] == commune
    assert body["police"]["name"] == "Công an " + commune[0].lower() + commune[1:]


def test_cards_are_kept_a_while_in_each_worker_then_read_again(app, client, demo, monkeypatch):
    monkeypatch.setitem(app.config, "LOOKUP_CARD_SECONDS", 60)
    clock = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock[0])
    services.cards.clear()
    try:
        before = api(client, *MAUSOLEUM).get_json()["team"]["phone"]
        village_id = village_at(demo, *MAUSOLEUM).id
        team_id = demo.scalar(
            select(TeamArea.team_id).where(TeamArea.area_id == village_id, TeamArea.active())
        )
        demo.execute(update(Team).where(Team.id == team_id).values(phone="0912000111"))
        demo.commit()
        clock[0] += 59
        assert api(client, *MAUSOLEUM).get_json()["team"]["phone"] == before  # kept
        clock[0] += 2
        assert api(client, *MAUSOLEUM).get_json()["team"]["phone"] == "0912000111"  # read again
    finally:
        services.cards.clear()


# --- issue 14: search ranking, lists in Vietnamese order, call buttons, neighbours ---------


def hand_built(session, level, kind, name, parent=None) -> Area:
    place = Area(
        level=level,
        kind=kind,
        name=name,
        name_search=fold(name),
        parent_id=parent.id if parent else None,
    )
    session.add(place)
    session.flush()
    return place


@pytest.fixture
def named(app, session):
    """Hand-built names whose right order is known: a city, four communes, numbered villages."""
    city = hand_built(session, "province", "thanh_pho", "Thành phố Hà Nội")
    communes = {
        name: hand_built(session, "commune", kind, name, city)
        for kind, name in (
            ("xa", "Xã Ngọc Hồi"),
            ("phuong", "Phường Ngọc Hà"),
            ("xa", "Xã Ngọc Hạ"),  # the same letters as Ngọc Hà without marks
            ("phuong", "Phường Ba Đình"),
        )
    }
    for number in (70, 27, 17, 7):
        hand_built(
            session, "village", "to_dan_pho", f"Tổ dân phố số {number}", communes["Phường Ngọc Hà"]
        )
    hand_built(session, "village", "to_dan_pho", "Tổ dân phố số 7", communes["Phường Ba Đình"])
    with app.test_request_context():  # a page of results reads the app's page size
        yield communes


def found(text: str) -> list[tuple[str, str | None]]:
    return [(row.name, row.parent_name) for row in services.search(text).items]


def test_search_ranks_the_exact_name_first_not_a_match_in_the_city_name(named):
    for typed in ("Ngọc Hà", "ngọc hà", "ngoc ha"):
        rows = found(typed)
        names = [name for name, _ in rows]
        # the marked words exactly first (the same letters without marks next, when marked)
        if typed == "ngoc ha":
            assert set(names[:2]) == {"Phường Ngọc Hà", "Xã Ngọc Hạ"}
        else:
            assert names[:2] == ["Phường Ngọc Hà", "Xã Ngọc Hạ"], typed
        # Ngọc Hồi matches only by Hà Nội, its city: after everything in Ngọc Hà
        last_in_ngoc_ha = max(i for i, row in enumerate(rows) if row[1] == "Phường Ngọc Hà")
        assert names.index("Xã Ngọc Hồi") > last_in_ngoc_ha, typed


def test_search_knows_abbreviations_and_whole_numbers(named):
    assert found("tdp 7 ngoc ha") == [("Tổ dân phố số 7", "Phường Ngọc Hà")]
    assert found("TDP7 Ngọc Hà") == [("Tổ dân phố số 7", "Phường Ngọc Hà")]
    assert found("tổ dân phố số 7 ngọc hà") == [("Tổ dân phố số 7", "Phường Ngọc Hà")]
    sevens = found("tdp 7")
    assert {name for name, _ in sevens} == {"Tổ dân phố số 7"} and len(sevens) == 2
    assert found("p. ba dinh")[0] == ("Phường Ba Đình", "Thành phố Hà Nội")
    assert found("p.ba đình")[0] == ("Phường Ba Đình", "Thành phố Hà Nội")
    assert found("x ngoc hoi")[0] == ("Xã Ngọc Hồi", "Thành phố Hà Nội")
    assert "Phường Ngọc Hà" not in [name for name, _ in found("x. ngoc ha")]


def test_staff_area_search_uses_the_same_core_within_its_scope(app, demo):
    headers = {"HX-Request": "true", "HX-Target": "search-results"}
    admin = signed_in(app, "quantri")
    text = admin.get("/areas/", query_string={"q": "tdp 7 ngoc ha"}, headers=headers)
    body = text.get_data(as_text=True)
    assert ">Tổ dân phố số 7</a>" in body and "Phường Ngọc Hà" in body
    assert "Tổ dân phố số 17" not in body and "Phường Ba Đình" not in body
    officer = signed_in(app, "canbo.xa")  # Ba Đình's officer: Ngọc Hà is not theirs
    body = officer.get("/areas/", query_string={"q": "tdp 7 ngoc ha"}, headers=headers)
    assert "Tổ dân phố số 7" not in body.get_data(as_text=True)
    body = officer.get("/areas/", query_string={"q": "tdp 7"}, headers=headers).get_data(
        as_text=True
    )
    assert body.count(">Tổ dân phố số 7</a>") == 1 and "Phường Ba Đình" in body
    db.session.rollback()


def test_communes_are_listed_by_their_own_names_in_vietnamese_order(client, named):
    city_id = named["Phường Ba Đình"].parent_id
    page = client.get("/tra-cuu", query_string={"tinh": city_id}).get_data(as_text=True)
    labels = [
        "Ba Đình (phường)",
        "Ngọc Hà (phường)",
        "Ngọc Hạ (xã)",
        "Ngọc Hồi (xã)",
    ]
    positions = [page.index(f">{label}</option>") for label in labels]
    assert positions == sorted(positions)


def test_the_chosen_commune_and_village_stay_selected(client, demo):
    commune_id = demo.scalar(select(Area.id).where(Area.name == "Phường Ngọc Hà"))
    village = demo.scalar(
        select(Area).where(Area.parent_id == commune_id, Area.name == "Tổ dân phố số 7")
    )
    for url in (f"/tra-cuu/{commune_id}", f"/tra-cuu/{village.id}"):
        page = client.get(url).get_data(as_text=True)
        assert f'<option value="{commune_id}" selected>Ngọc Hà (phường)</option>' in page, url
        assert 'id="thon"' in page and f'<option value="{village.id}"' in page
    page = client.get(f"/tra-cuu/{village.id}").get_data(as_text=True)
    assert f'<option value="{village.id}" selected>Tổ dân phố số 7</option>' in page
    # the village list of the commune in number order: số 2 before số 10
    assert page.index(">Tổ dân phố số 2</option>") < page.index(">Tổ dân phố số 10</option>")
    # a village kept from an earlier commune is dropped when the commune is changed
    other = demo.scalar(select(Area.id).where(Area.name == "Phường Ba Đình"))
    moved = client.get("/tra-cuu/chon", query_string={"xa": other, "thon": village.id})
    assert moved.headers["Location"] == f"/tra-cuu/{other}"
    kept = client.get("/tra-cuu/chon", query_string={"xa": commune_id, "thon": village.id})
    assert kept.headers["Location"] == f"/tra-cuu/{village.id}"


def test_the_card_has_big_call_buttons_for_the_team_and_113_after_them(client, demo):
    body = api(client, *MAUSOLEUM).get_json()
    team = body["team"]
    page = client.get("/tra-cuu/diem", query_string=point_args(MAUSOLEUM)).get_data(as_text=True)
    call_team = page.index('data-testid="call-team"')
    assert f'href="tel:{team["phone"]}"' in page
    assert services.phone_text(team["phone"]) in page[call_team : call_team + 400]
    leader = page.index('data-testid="call-leader"')
    assert team["leader"]["name"] in page[leader : leader + 400]
    for deputy in team["deputies"]:
        assert f'href="tel:{deputy["phone"]}"' in page
    emergency = page.index('data-testid="call-113"')
    assert call_team < leader < emergency  # the team first, 113 second
    assert "Chỉ khi khẩn cấp" in page[page.index('data-testid="emergency"') : emergency]


def test_the_card_carries_its_neighbours_outlines_with_names_escaped(client, demo):
    village = village_at(demo, *MAUSOLEUM)
    near = demo.scalars(
        select(Area).where(
            Area.level == "village",
            Area.id != village.id,
            func.ST_Touches(Area.geom, village.geom) | func.ST_Intersects(Area.geom, village.geom),
        )
    ).all()
    assert near
    near[0].name = "Tổ <b>mới</b>"
    demo.flush()
    page = client.get(f"/tra-cuu/{village.id}").get_data(as_text=True)
    attribute = page.split('data-neighbours="', 1)[1].split('"', 1)[0]
    assert "<" not in attribute and '"' not in attribute  # nothing that could end it or tag
    neighbours = json.loads(html.unescape(attribute))
    ids = {n["id"] for n in neighbours}
    assert {n.id for n in near} <= ids and village.id not in ids
    assert all(n["outline"]["type"] in ("Polygon", "MultiPolygon") for n in neighbours)
    assert "Tổ <b>mới</b>" in {n["name"] for n in neighbours}
