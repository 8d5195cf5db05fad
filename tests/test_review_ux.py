"""The review as its users read it: changes against a period the portal did not record are not
shown as growth, arrows and colours say which way is better, the tables scroll by keyboard on a
phone, the kinds are grouped by source, and the printed report and the XLSX say the same."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

import pytest
from flask import g
from openpyxl import load_workbook
from sqlalchemy import select

from portal.incidents.filters import today
from portal.models import Account, Team
from portal.review import exports, services
from portal.scope import scope_for
from tests.conftest import signed_in
from tests.test_review import add_item, add_patrol, at, villages_of

OCTOBER = {"kind": "month", "month": "10", "year": "2026"}
NOVEMBER = {"kind": "month", "month": "11", "year": "2026"}


@pytest.fixture
def recorded(demo):
    """The leader's team with two patrols and a tip in October 2026, one patrol in November:
    the portal's records begin in October."""
    team = demo.scalar(
        select(Team).join(Account, Account.team_id == Team.id).where(Account.username == "totruong")
    )
    add_patrol(demo, team, at(10, 5))
    add_patrol(demo, team, at(10, 12))
    add_patrol(demo, team, at(11, 3))
    add_item(demo, team, villages_of(demo, team)[0], received=at(10, 7), valuable=True)
    demo.commit()
    # the ids, not the row: the client's requests end the session the row belongs to
    return SimpleNamespace(id=team.id, commune_id=team.commune_id)


def figure_card(body: str, key: str) -> str:
    found = re.search(rf'<div class="stat" data-figure="{key}">(.*?)</div>', body, re.S)
    assert found, key
    return found.group(1)


def test_a_period_before_the_records_shows_no_change_but_says_why(app, recorded):
    client = signed_in(app, "canbo.xa")
    body = client.get("/review/", query_string=OCTOBER).get_data(as_text=True)
    # September was not recorded: October's patrols are not "up" from nothing
    patrols = figure_card(body, "patrols")
    assert "▲" not in patrols and "Chưa so sánh được" in patrols
    assert "chưa đủ số liệu" in body and "từ tháng 10/2026" in body
    # the teams are read from their dates, comparable with any period
    assert "Chưa so sánh được" not in figure_card(body, "teams")
    # November against October, both recorded: the change is shown, with its direction
    body = client.get("/review/", query_string=NOVEMBER).get_data(as_text=True)
    patrols = figure_card(body, "patrols")
    assert "▼" in patrols and "−1" in patrols and "Chưa so sánh được" not in patrols
    assert "xanh là tốt lên" in body


def test_changes_know_their_direction_and_whether_they_compare(app, recorded):
    with app.test_request_context():
        r = services.review(
            services.parse_period(OCTOBER),
            services.Place("team", recorded.commune_id, recorded.id),
        )
    assert r.records_since.isoformat() == "2026-10-01" and not r.previous_complete
    by_key = {c.key: c for c in r.changes}
    assert by_key["patrols"].delta is None and not by_key["patrols"].comparable
    assert by_key["members"].comparable
    # fires and rescues the teams joined are work done: neither green nor red
    assert services.Change("fire", 5, 1).tone == "same"
    assert services.Change("rescue", 1, 5).tone == "same"
    assert services.Change("patrols", 5, 1).tone == "good"
    assert services.Change("understaffed", 5, 1).tone == "bad"


def test_tables_scroll_by_keyboard_and_kinds_are_grouped_by_source(app, recorded):
    client = signed_in(app, "canbo.xa")
    body = client.get("/review/", query_string=OCTOBER).get_data(as_text=True)
    scrollers = re.findall(r'<div class="table-scroll"[^>]*>', body)
    assert len(scrollers) == 3
    for tag in scrollers:
        assert 'tabindex="0"' in tag and 'role="region"' in tag and "aria-labelledby=" in tag
    kinds = body[body.index('data-table="kinds"') :]
    kinds = kinds[: kinds.index("</table>")]
    assert '<tbody data-source="tip">' in kinds and "Tin báo của người dân" in kinds
    assert kinds.count("Tin báo của người dân") == 1  # a heading, not a column
    assert ">Nguồn<" not in kinds


def test_the_printed_report_notes_the_unrecorded_period_and_aligns_names(app, recorded):
    client = signed_in(app, "canbo.xa")
    body = client.get("/review/print", query_string=OCTOBER).get_data(as_text=True)
    assert 'data-testid="report-previous-note"' in body and "10/2026" in body
    summary = body[body.index('data-table="tong-hop"') :]
    summary = summary[: summary.index("</table>")]
    assert "Chưa đủ số liệu" in summary
    assert re.search(r'<td class="text">Trộm cắp</td>', body)
    # each table scrolls in a box the keyboard reaches (a phone), named by its heading
    boxes = re.findall(r'<div class="report-scroll"[^>]*>', body)
    assert len(boxes) == body.count('<table class="report-table"') == 4
    assert all('tabindex="0"' in b and "aria-labelledby=" in b for b in boxes)
    body = client.get("/review/print", query_string=NOVEMBER).get_data(as_text=True)
    assert 'data-testid="report-previous-note"' not in body
    teams = re.search(r'<tr data-figure="teams">(.*?)</tr>', body, re.S).group(1)
    assert "Không đổi" in teams  # not "0 (0,0%)"


def test_the_xlsx_says_the_period_before_is_not_fully_recorded(app, recorded, demo):
    officer = demo.scalar(select(Account).where(Account.username == "canbo.xa"))
    with app.test_request_context():
        g.account, g.scope = officer, scope_for(officer)
        october = load_workbook(
            io.BytesIO(exports.workbook(exports.review_for(OCTOBER, None, None)))
        )
        november = load_workbook(
            io.BytesIO(exports.workbook(exports.review_for(NOVEMBER, None, None)))
        )
    assert "chưa đủ số liệu" in october["Tổng hợp"]["A2"].value
    assert "chưa đủ số liệu" not in november["Tổng hợp"]["A2"].value
    rows = {row[0]: row for row in october["Tổng hợp"].iter_rows(min_row=5, values_only=True)}
    assert rows["Lượt tuần tra"][3] is None and rows["Số tổ"][3] == 0


def test_choosing_a_custom_period_fills_its_days_instead_of_an_error(app, recorded):
    client = signed_in(app, "canbo.xa")
    body = client.get("/review/", query_string={"kind": "custom", "year": "2026"}).get_data(
        as_text=True
    )
    assert "alert-error" not in body and 'aria-invalid="true"' not in body
    assert 'id="review-from" type="date" name="from" value="2026-01-01"' in body
    # the partial November is read from the raw rows (Decimal sums): the page draws, no 500
    assert 'data-testid="review-title"' in body and 'data-table="months"' in body
    # a day given by the user is still checked
    body = client.get("/review/", query_string={"kind": "custom", "from": "2026-03-01"}).get_data(
        as_text=True
    )
    assert "alert-error" in body and 'id="review-to-error"' in body


def test_a_period_not_over_lists_no_month_to_come_and_says_it_is_not_over(app, recorded):
    day = today()
    client = signed_in(app, "canbo.xa")
    args = {"kind": "year", "year": str(day.year)}
    body = client.get("/review/", query_string=args).get_data(as_text=True)
    months = body[body.index('data-table="months"') :]
    months = months[months.index("<tbody>") : months.index("</tbody>")]
    rows = re.findall(r'<th scope="row">(\d\d)/\d{4}</th>', months)
    assert [int(m) for m in rows] == list(range(1, day.month + 1))
    assert "Kỳ chưa kết thúc" in body and day.strftime("%d/%m/%Y") in body
    # the printed report's table by month stops at this month too
    body = client.get("/review/print", query_string=args).get_data(as_text=True)
    printed = body[body.index('data-table="theo-thang"') :]
    printed = printed[: printed.index("</tbody>")]
    assert printed.count("<tr>") - 1 == day.month  # the heading's row and one a month
    cutoff = f'data-testid="report-cutoff"> (số liệu đến hết ngày {day:%d/%m/%Y})'
    assert cutoff in body
    # a past year is over: every month, and no such note
    body = client.get("/review/", query_string={**args, "year": str(day.year - 1)}).get_data(
        as_text=True
    )
    assert "Kỳ chưa kết thúc" not in body and f"12/{day.year - 1}" in body
    past = {**args, "year": str(day.year - 1)}
    body = client.get("/review/print", query_string=past).get_data(as_text=True)
    assert 'data-testid="report-cutoff"' not in body


def test_needs_list_only_what_needs_doing_and_one_month_draws_no_month_chart(app, recorded):
    client = signed_in(app, "totruong")
    body = client.get("/review/", query_string=OCTOBER).get_data(as_text=True)
    with app.test_request_context():
        f = services.review(
            services.parse_period(OCTOBER),
            services.Place("team", recorded.commune_id, recorded.id),
        ).figures
    needs = body[body.index('data-testid="review-needs"') :]
    needs = needs[: needs.index("</ul>")]
    well = not (
        f.understaffed or f.no_leader or f.never_patrolled or f.villages > f.villages_covered
    )
    assert ('data-testid="review-all-well"' in needs) == well
    assert "<li>0 tổ thiếu người theo quy định, 0 tổ" not in needs
    assert "<li>0 thôn, tổ dân phố chưa có tổ.</li>" not in needs
    assert ("chưa có tổ." in needs) == (f.villages > f.villages_covered)
    # a month is one bar: its table says it all; a quarter draws the months
    assert 'data-chart="months-patrols"' not in body
    quarter = {"kind": "quarter", "quarter": "4", "year": "2026"}
    body = client.get("/review/", query_string=quarter).get_data(as_text=True)
    assert 'data-chart="months-patrols"' in body


def test_the_page_says_how_each_figure_is_counted(app, recorded):
    body = signed_in(app, "canbo.xa").get("/review/", query_string=OCTOBER).get_data(as_text=True)
    help_ = body[body.index('data-testid="review-help"') :]
    help_ = help_[: help_.index("</details>")]
    for key in ("teams", "tips", "patrols", "fire", "understaffed", "never_patrolled"):
        assert services.figure_label(key) in help_
    assert "không tính lượt bị hủy" in help_


def test_an_htmx_swap_carries_the_new_title(app, recorded):
    client = signed_in(app, "canbo.xa")
    headers = {"HX-Request": "true", "HX-Target": "review"}
    text = client.get("/review/", query_string=OCTOBER, headers=headers).get_data(as_text=True)
    assert text.lstrip().startswith("<title>")
    title = re.search(r"<title>(.*?)</title>", text, re.S).group(1).strip()
    assert title.startswith("Sơ kết: ") and title.endswith("Tháng 10/2026")
    page = client.get("/review/", query_string=OCTOBER).get_data(as_text=True)
    head = page[: page.index("</head>")]
    assert head.count("<title>") == 1
    assert f"<title>{title}" in re.sub(r"<title>\s+", "<title>", head)
