"""The monthly duty sheets on the demo: hand-known patrols, the page, CSV and XLSX, the rules and
the scope."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from geo.duty import LOCAL
from portal.models import Account, Area, Member, Team
from portal.models.patrol import DutyRule, Patrol, PatrolMember, PatrolRules
from tests.conftest import signed_in

OCT = "2026-10"


def at(m, d, hh, mm=0) -> datetime:
    return datetime(2026, m, d, hh, mm, tzinfo=LOCAL)


def patrol(session, team, start, end, went, *, status="done", absent=()):
    """A patrol of the team with actual times as planned; `went` went, `absent` did not."""
    p = Patrol(
        team_id=team.id,
        commune_id=team.commune_id,
        day=start.astimezone(LOCAL).date(),
        planned_start=start,
        planned_end=end,
        status=status,
        started_at=start if status == "done" else None,
        ended_at=end if status == "done" else None,
    )
    session.add(p)
    session.flush()
    for m in went:
        session.add(PatrolMember(patrol_id=p.id, member_id=m.id, went=True))
    for m in absent:
        session.add(PatrolMember(patrol_id=p.id, member_id=m.id, went=False))
    return p


@pytest.fixture
def team(demo):
    """The team of the leader account `totruong`, its members serving since long before."""
    found = demo.scalar(
        select(Team).join(Account, Account.team_id == Team.id).where(Account.username == "totruong")
    )
    for m in found.members:
        m.appointment_date, m.left_on = date(2020, 1, 1), None
    demo.flush()
    # plain values: the requests end the session the ORM rows belong to
    members = [SimpleNamespace(id=m.id, full_name=m.full_name) for m in found.members]
    return SimpleNamespace(
        id=found.id, commune_id=found.commune_id, name=found.name, members=members
    )


@pytest.fixture
def duty(demo, team):
    """Hand-known October 2026 duty of three members (a, b, c) of the team; d went nowhere.

    a: 1 Oct 20:00–2 Oct 02:00 (4 h on the 1st: counts; 2 h on the 2nd: does not), and two
       overlapping patrols on 5 Oct 08:00–11:00 and 10:00–12:00 (4 h, counts): 10 h, 2 days.
    b: 31 Oct 23:00–1 Nov 03:30: 1 h on the 31st in October (does not count).
    c: 30 Sep 22:00–1 Oct 03:00 (a September patrol: 3 h on 1 Oct) and 1 Oct 09:00–10:00:
       4 h on 1 Oct, counts.
    Planned and cancelled patrols with a, and d who did not go, count nothing.
    """
    a, b, c, d = sorted(team.members, key=lambda m: m.id)[:4]
    patrol(demo, team, at(10, 1, 20), at(10, 2, 2), [a], absent=[d])
    patrol(demo, team, at(10, 5, 8), at(10, 5, 11), [a])
    patrol(demo, team, at(10, 5, 10), at(10, 5, 12), [a, b], absent=[d])
    patrol(demo, team, at(10, 31, 23), at(11, 1, 3, 30), [b])
    patrol(demo, team, at(9, 30, 22), at(10, 1, 3), [c])
    patrol(demo, team, at(10, 1, 9), at(10, 1, 10), [c])
    patrol(demo, team, at(10, 8, 8), at(10, 8, 16), [a, d], status="planned")
    patrol(demo, team, at(10, 9, 8), at(10, 9, 16), [a, d], status="cancelled")
    demo.commit()
    return a, b, c, d


def totals(page: str) -> dict[int, tuple[str, str]]:
    """Member id → (total hours, days counted) from the page's totals table."""
    rows = re.findall(
        r'<tr data-member="(\d+)"><td>[^<]*</td>\s*<td class="total-hours">([^<]*)</td>\s*'
        r'<td class="count-days">([^<]*)</td>',
        page,
    )
    return {int(m): (h, n) for m, h, n in rows}


def day_cell(page: str, member_id: int, day: int) -> str:
    row = re.search(rf'<tr data-member="{member_id}"><th scope="row">.*?</tr>', page, re.S).group(0)
    return re.search(rf'<td data-day="{day}">(.*?)</td>', row, re.S).group(1)


def test_team_page_figures(app, duty, team):
    a, b, c, d = duty
    page = signed_in(app, "totruong").get(f"/duty/teams/{team.id}?month={OCT}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Hà Nội: ngày trực từ 4 giờ trở lên được tính một ngày" in html
    assert "Bảng chấm công trực tháng 10/2026" in html
    assert totals(html)[a.id] == ("10", "2")
    assert totals(html)[b.id] == ("3", "0")  # 2 h on 5 Oct + 1 h on 31 Oct
    assert totals(html)[c.id] == ("4", "1")
    assert totals(html)[d.id] == ("0", "0")
    assert day_cell(html, a.id, 1) == '<mark title="được tính">4</mark>'
    assert day_cell(html, a.id, 2) == "2"
    assert day_cell(html, a.id, 5) == '<mark title="được tính">4</mark>'
    assert day_cell(html, a.id, 8) == day_cell(html, a.id, 9) == ""  # planned, cancelled
    assert day_cell(html, c.id, 1) == '<mark title="được tính">4</mark>'
    assert day_cell(html, b.id, 31) == "1"
    assert f"/duty/teams/{team.id}?month=2026-09" in html
    assert f"/duty/teams/{team.id}?month=2026-11" in html
    # November holds b's 3.5 h of the 1st, and nothing else
    nov = signed_in(app, "totruong").get(f"/duty/teams/{team.id}?month=2026-11")
    assert totals(nov.get_data(as_text=True))[b.id] == ("3,5", "0")
    assert totals(nov.get_data(as_text=True))[a.id] == ("0", "0")


def test_the_current_month_by_default_and_the_team_page_links_it(app, team):
    client = signed_in(app, "totruong")
    html = client.get(f"/duty/teams/{team.id}").get_data(as_text=True)
    now = datetime.now(LOCAL)
    assert f"Bảng chấm công trực tháng {now.month:02d}/{now.year}" in html
    assert f'href="/duty/teams/{team.id}"' in client.get(f"/teams/{team.id}").get_data(as_text=True)


def test_csv_rows(app, duty, team):
    a, _b, c, _d = duty
    response = signed_in(app, "totruong").get(f"/duty/teams/{team.id}.csv?month={OCT}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    head = rows[0]
    assert head[:4] == ["Tên tổ", "STT", "Họ và tên", "Chức danh"]
    assert head[4:35] == [str(d) for d in range(1, 32)]
    assert head[35:] == ["Tổng giờ", "Số ngày trực"]
    by_name = {r[2]: r for r in rows[1:]}
    row = by_name[a.full_name]
    assert row[0] == team.name
    assert row[4] == "4" and row[5] == "2" and row[8] == "4" and row[6] == ""
    assert row[35:] == ["10", "2"]
    assert by_name[c.full_name][35:] == ["4", "1"]
    assert len(rows) == 1 + len(team.members)


def test_xlsx_ready_to_sign(app, duty, team):
    a, _b, _c, _d = duty
    response = signed_in(app, "totruong").get(f"/duty/teams/{team.id}.xlsx?month={OCT}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.get_data()))
    assert len(book.worksheets) == 1
    ws = book.worksheets[0]
    assert ws["A3"].value == "BẢNG CHẤM CÔNG TRỰC TUẦN TRA THÁNG 10/2026"
    assert team.name in ws["A2"].value
    heads = [c.value for c in ws[6]]
    assert heads[:3] == ["STT", "Họ và tên", "Chức danh"]
    assert heads[3:34] == [str(d) for d in range(1, 32)]
    assert heads[34:] == ["Tổng giờ", "Số ngày trực"]
    rows = {r[1].value: r for r in ws.iter_rows(min_row=7) if r[1].value}
    row = rows[a.full_name]
    assert [row[3].value, row[4].value, row[7].value] == [4, 2, 4]
    assert row[3].font.bold and not row[4].font.bold  # the day that counts stands out
    assert [row[34].value, row[35].value] == [10, 2]
    total = rows["Cộng"]
    assert [total[34].value, total[35].value] == [17, 3]  # 10 + 3 + 4 h, 2 + 1 days
    texts = [c.value for r in ws.iter_rows() for c in r if isinstance(c.value, str)]
    for line in (
        "Người lập bảng",
        "Tổ trưởng",
        "Xác nhận của Công an xã",
        "…, ngày … tháng … năm …",
    ):
        assert line in texts
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.column_dimensions["D"].width < 6


def test_ho_chi_minh_city_rule(app, demo, team):
    """Night shifts 22:00–06:00 of 4 h or more, at most 10 a month, by the evening's date."""
    rules = demo.scalar(select(PatrolRules))
    rules.duty_rule = DutyRule.NIGHT_SHIFTS
    rules.min_hours_per_day = None
    rules.night_start, rules.night_end = time(22), time(6)
    rules.min_night_hours, rules.max_per_month = 4.0, 10
    a, b = sorted(team.members, key=lambda m: m.id)[:2]
    for d in range(1, 12):  # 11 nights of 5 h from 22:00 (4 h... 03:00) for a
        patrol(demo, team, at(10, d, 22), at(10, d + 1, 3), [a])
    patrol(demo, team, at(10, 31, 23), at(11, 1, 3, 30), [b])  # 4.5 h: October's night
    patrol(demo, team, at(10, 20, 21), at(10, 21, 1), [b])  # 3 h in the window: no night
    demo.commit()
    client = signed_in(app, "totruong")
    html = client.get(f"/duty/teams/{team.id}?month={OCT}").get_data(as_text=True)
    assert "ca đêm 22:00–06:00 có từ 4 giờ trực trở lên được tính một ca" in html
    assert "tối đa 10 ca một tháng" in html
    assert totals(html)[a.id] == ("55", "10")
    assert re.search(rf'data-member="{a.id}">.*?<td class="excess">1</td>', html, re.S)
    assert totals(html)[b.id] == ("5", "1")  # 4 h of 20–21 Oct and 1 h of 31 Oct
    assert day_cell(html, b.id, 31) == '<mark title="được tính">1</mark>'
    nov = client.get(f"/duty/teams/{team.id}?month=2026-11").get_data(as_text=True)
    assert totals(nov)[b.id] == ("3,5", "0")
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(f"/duty/teams/{team.id}.csv?month={OCT}")
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )
    assert rows[0][-3:] == ["Tổng giờ", "Số ca đêm", "Ca vượt mức"]
    assert {r[2]: r[-3:] for r in rows[1:]}[a.full_name] == ["55", "10", "1"]


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "abc", "2026-10-01"])
def test_a_bad_month_is_named(app, team, month):
    client = signed_in(app, "totruong")
    response = client.get(f"/duty/teams/{team.id}?month={month}")
    assert response.status_code == 400
    assert "month" in response.get_data(as_text=True)
    assert client.get(f"/duty/teams/{team.id}.csv?month={month}").status_code == 400
    assert client.get(f"/duty/teams/{team.id}.pdf?month=2026-10").status_code == 404


def test_scope(app, demo, team):
    other_team = demo.scalar(
        select(Team.id).where(Team.commune_id == team.commune_id, Team.id != team.id).limit(1)
    )
    other_commune = demo.scalar(
        select(Area.id).where(Area.level == "commune", Area.id != team.commune_id).limit(1)
    )
    far_team = demo.scalar(select(Team.id).where(Team.commune_id == other_commune).limit(1))
    leader, officer = signed_in(app, "totruong"), signed_in(app, "canbo.xa")
    admin = signed_in(app, "quantri")
    assert leader.get(f"/duty/teams/{other_team}?month={OCT}").status_code == 404
    assert leader.get(f"/duty/teams/{other_team}.xlsx?month={OCT}").status_code == 404
    assert leader.get(f"/duty/communes/{team.commune_id}?month={OCT}").status_code == 404
    assert leader.get(f"/duty/communes/{team.commune_id}.csv?month={OCT}").status_code == 404
    assert officer.get(f"/duty/teams/{other_team}?month={OCT}").status_code == 200
    assert officer.get(f"/duty/teams/{far_team}?month={OCT}").status_code == 404
    assert officer.get(f"/duty/communes/{other_commune}?month={OCT}").status_code == 404
    assert officer.get(f"/duty/communes/{other_commune}.xlsx?month={OCT}").status_code == 404
    assert admin.get(f"/duty/communes/{other_commune}?month={OCT}").status_code == 200
    village = demo.scalar(select(Area.id).where(Area.parent_id == team.commune_id).limit(1))
    assert officer.get(f"/duty/communes/{village}?month={OCT}").status_code == 404


def test_commune_sheet_has_a_block_per_team(app, demo, duty, team):
    a, *_ = duty
    teams = demo.scalars(
        select(Team.name).where(Team.commune_id == team.commune_id, Team.dissolved_on.is_(None))
    ).all()
    officer = signed_in(app, "canbo.xa")
    html = officer.get(f"/duty/communes/{team.commune_id}?month={OCT}").get_data(as_text=True)
    assert len(re.findall(r'<section class="card" data-team="\d+">', html)) == len(teams)
    assert totals(html)[a.id] == ("10", "2")
    book = load_workbook(
        io.BytesIO(officer.get(f"/duty/communes/{team.commune_id}.xlsx?month={OCT}").get_data())
    )
    assert len(book.worksheets) == len(teams)
    names = {ws["A2"].value for ws in book.worksheets}
    assert names == {f"Tổ bảo vệ ANTT: {t}" for t in teams}
    rows = list(
        csv.reader(
            io.StringIO(
                officer.get(f"/duty/communes/{team.commune_id}.csv?month={OCT}")
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )
    assert {r[0] for r in rows[1:]} <= set(teams)
    assert [r[-2:] for r in rows[1:] if r[2] == a.full_name and r[0] == team.name] == [["10", "2"]]


def test_a_moved_member_keeps_their_duty_on_the_team(app, demo, duty, team):
    a, *_ = duty
    other = demo.scalar(
        select(Team).where(Team.commune_id == team.commune_id, Team.id != team.id).limit(1)
    )
    member = demo.get(Member, a.id)
    member.team_id, member.role = other.id, "member"  # the other team has its leader
    demo.commit()
    html = signed_in(app, "quantri").get(f"/duty/teams/{team.id}?month={OCT}")
    assert totals(html.get_data(as_text=True))[a.id] == ("10", "2")


def test_a_name_that_looks_like_a_formula_stays_text(app, demo, duty, team):
    *_, d = duty
    demo.get(Member, d.id).full_name = '=HYPERLINK("http://x","y")'
    demo.commit()
    client = signed_in(app, "totruong")
    book = load_workbook(
        io.BytesIO(client.get(f"/duty/teams/{team.id}.xlsx?month={OCT}").get_data())
    )
    names = [r[1] for r in book.worksheets[0].iter_rows(min_row=7) if r[1].value]
    cell = next(c for c in names if "HYPERLINK" in c.value)
    assert cell.data_type == "s" and cell.value.startswith("'=")
    body = client.get(f"/duty/teams/{team.id}.csv?month={OCT}").get_data(as_text=True)
    assert "'=HYPERLINK" in body
