"""The review's files on the demo with hand-made patrols and tips: the XLSX made by a job and
read back with openpyxl, the CSV of each table (spreadsheet-safe), the printed official report,
and the scope of all three."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from geo.duty import LOCAL
from portal.incidents.filters import today
from portal.models import Account, Area, Job, Team
from portal.review import periods, services
from portal.review.queries import Place
from tests.conftest import csrf_token, signed_in, through_job
from tests.test_duty import patrol
from tests.test_incidents import add_tip, place  # noqa: F401  (place: the fixture add_tip takes)

PATROLS, VIOLATIONS, TIPS = 2, 3, 1


@pytest.fixture
def known(demo, place):  # noqa: F811
    """Two done patrols (3 violations in all) of the leader's team and one tip in its village,
    this month; the demo itself has no patrols or tips."""
    team = demo.get(Team, place.team_id)
    day = today()
    for hour, found in ((8, 1), (14, 2)):
        start = datetime.combine(day, time(hour), tzinfo=LOCAL)
        p = patrol(demo, team, start, start + timedelta(hours=2), [])
        p.violations = found
    demo.commit()
    for _n in range(TIPS):
        add_tip(demo, place)
    other = demo.scalar(
        select(Area.id)
        .where(Area.level == "commune", Area.id != team.commune_id)
        .order_by(Area.id)
        .limit(1)
    )
    return SimpleNamespace(
        team_id=team.id, commune_id=team.commune_id, team_name=team.name, other_commune=other
    )


def computed(app, where: Place, args=None):
    """The review as the services compute it (the figures every file must show)."""
    with app.test_request_context():
        return services.review(periods.parse(args or {}, today()), where)


def start_xlsx(client, **form):
    token = csrf_token(client, "/review/")
    return client.post("/review/xlsx", data={**form, "csrf_token": token})


def read_book(client, started):
    assert started.status_code == 303 and started.headers["Location"].startswith("/jobs/")
    job_page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "Xuất sơ kết ra XLSX" in job_page and "Tải tệp về" in job_page
    response = client.get(through_job(client, started).headers["Location"])
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    return load_workbook(io.BytesIO(response.data)), response


def by_label(sheet) -> dict[str, tuple]:
    """The rows under the headings (row 4), by their first cell."""
    return {row[0]: row[1:] for row in sheet.iter_rows(min_row=5, values_only=True)}


def test_the_xlsx_job_writes_one_sheet_per_table_with_the_services_figures(app, admin, known):
    expected = computed(app, Place("commune", known.commune_id))
    assert expected.figures.patrols == PATROLS and expected.figures.violations == VIOLATIONS
    assert expected.figures.tips == TIPS
    book, response = read_book(admin, start_xlsx(admin, commune=known.commune_id))
    assert book.sheetnames == ["Tổng hợp", "Theo tháng", "Theo loại", "Theo tổ"]
    assert (
        response.headers["Content-Disposition"].endswith(f'_{expected.period.slug}.xlsx"')
        and "so-ket_phuong-" in response.headers["Content-Disposition"]
    )

    summary = book["Tổng hợp"]
    assert expected.title in summary["A1"].value and expected.period.label in summary["A1"].value
    headings = [c.value for c in summary[4]]
    assert headings == ["Chỉ tiêu", "Kỳ này", "Kỳ trước", "Tăng, giảm", "Tăng, giảm (%)"]
    rows = by_label(summary)
    for key in ("patrols", "violations", "tips", "teams", "members"):
        now, before, *_ = rows[services.figure_label(key)]
        assert now == expected.figures.value(key) and isinstance(now, int)
        assert before == expected.before.value(key)
    coverage = rows[services.figure_label("coverage")][0]
    assert coverage == pytest.approx(expected.figures.coverage, abs=0.05)

    months = book["Theo tháng"]
    assert [c.value for c in months[4]][:2] == ["Tháng", "Lượt tuần tra"]
    month_rows = by_label(months)
    this_month = f"{today().month:02d}/{today().year}"
    assert month_rows[this_month][:2] == (PATROLS, VIOLATIONS)
    assert month_rows["Cộng"][0] == PATROLS
    assert len(month_rows) == len(expected.months) + 1

    kinds = book["Theo loại"]
    assert [c.value for c in kinds[4]] == [
        "Nguồn",
        "Loại",
        "Số tin, vụ",
        "Có giá trị",
        "Đã chuyển công an",
    ]
    assert sum(row[2] for row in kinds.iter_rows(min_row=5, values_only=True)) == TIPS

    units = by_label(book["Theo tổ"])
    team_row = units[known.team_name]
    assert team_row[UNIT_INDEX["patrols"]] == PATROLS
    assert book["Theo tổ"].freeze_panes == "B5"


UNIT_INDEX = {key: i for i, key in enumerate(services.UNIT_FIGURES)}


def test_csv_of_each_table_is_spreadsheet_safe(app, admin, known, demo):
    demo.get(Team, known.team_id).name = "=1+1"
    demo.commit()
    args = {"commune": known.commune_id}
    response = admin.get("/review/theo-don-vi.csv", query_string=args)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment")
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][0] == "Tổ" and rows[0][1] == "Số tổ"
    names = [r[0] for r in rows[1:]]
    assert "'=1+1" in names and "=1+1" not in names

    summary = list(
        csv.reader(
            io.StringIO(
                admin.get("/review/tong-hop.csv", query_string=args)
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )
    assert summary[0] == ["Chỉ tiêu", "Kỳ này", "Kỳ trước", "Tăng, giảm", "Tăng, giảm (%)"]
    patrols = next(r for r in summary if r[0] == "Lượt tuần tra")
    assert patrols[1] == str(PATROLS)
    months = admin.get("/review/theo-thang.csv", query_string={**args, "kind": "month"})
    month_rows = list(csv.reader(io.StringIO(months.get_data(as_text=True).lstrip("\ufeff"))))
    assert month_rows[-1] == ["Cộng", str(PATROLS), str(VIOLATIONS), str(TIPS), "0", "0", "0"]
    assert admin.get("/review/theo-loai.csv", query_string=args).status_code == 200
    assert admin.get("/review/khac.csv", query_string=args).status_code == 404
    wrong = admin.get("/review/tong-hop.csv", query_string={**args, "kind": "week"})
    assert wrong.status_code == 422  # a wrong period, named as for the page


def test_the_printed_report_is_laid_out_as_an_official_report(app, admin, known):
    response = admin.get("/review/print", query_string={"commune": known.commune_id})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for text in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "BÁO CÁO",
        "I. TÌNH HÌNH CHUNG",
        "II. KẾT QUẢ THỰC HIỆN",
        "III. KẾT QUẢ THEO THÁNG",
        "IV. NHỮNG VẤN ĐỀ CẦN CHÚ Ý",
        "Nơi nhận:",
        "TRƯỞNG CÔNG AN",
        "CÔNG AN THÀNH PHỐ HÀ NỘI",
    ):
        assert text in page, text
    commune = computed(app, Place("commune", known.commune_id)).title
    assert f"CÔNG AN {commune.upper()}" in page
    day = today()
    assert f"ngày {day.day:02d} tháng" in page and f"năm {day.year}" in page
    assert "/BC-CA" in page
    assert f"Các tổ đã tuần tra {PATROLS} lượt" in page
    assert "js/review-print.js" in page and "onclick" not in page
    assert 'data-testid="report-print"' in page
    english = admin.post("/lang", data={"lang": "en", "csrf_token": csrf_token(admin, "/review/")})
    assert english.status_code in (302, 303)
    page = admin.get("/review/print", query_string={"commune": known.commune_id}).get_data(
        as_text=True
    )
    assert "SOCIALIST REPUBLIC OF VIETNAM" in page and "I. OVERVIEW" in page
    # the date line as English writes a date, not the decree's day/month/year
    assert f", {day.day} {day:%b} {day.year}</div>" in page


def test_the_review_page_offers_the_files(app, admin, known):
    page = admin.get("/review/", query_string={"commune": known.commune_id}).get_data(as_text=True)
    assert 'action="/review/xlsx"' in page and "Tải XLSX" in page
    assert "/review/print?" in page and "Bản in" in page
    for key in ("tong-hop", "theo-thang", "theo-loai", "theo-don-vi"):
        assert f'data-csv="{key}"' in page


def test_an_officer_and_a_leader_get_only_their_own(app, known, demo):
    officer = signed_in(app, "canbo.xa")
    own = demo.scalar(select(Account.commune_id).where(Account.username == "canbo.xa"))
    other = demo.scalar(
        select(Area.id).where(Area.level == "commune", Area.id.not_in([own, known.commune_id]))
    )
    elsewhere = {"commune": other}
    assert officer.get("/review/tong-hop.csv", query_string=elsewhere).status_code == 404
    assert officer.get("/review/print", query_string=elsewhere).status_code == 404
    assert start_xlsx(officer, commune=other).status_code == 404
    assert not demo.scalar(select(Job.id).where(Job.kind == "review.xlsx"))

    leader = signed_in(app, "totruong")
    assert leader.get("/review/tong-hop.csv", query_string=elsewhere).status_code == 404
    assert leader.get("/review/print", query_string=elsewhere).status_code == 404
    assert start_xlsx(leader, commune=other).status_code == 404
    # their own team: its figures, and no table by unit (a team has none)
    summary = leader.get("/review/tong-hop.csv").get_data(as_text=True)
    patrols = next(r for r in csv.reader(io.StringIO(summary)) if r[0] == "Lượt tuần tra")
    assert patrols[1] == str(PATROLS)
    assert leader.get("/review/theo-don-vi.csv").status_code == 404
    printed = leader.get("/review/print").get_data(as_text=True)
    assert "TỔ TRƯỞNG" in printed and known.team_name.upper() in printed
    book, _response = read_book(leader, start_xlsx(leader))
    assert book.sheetnames == ["Tổng hợp", "Theo tháng", "Theo loại"]
    assert known.team_name in book["Tổng hợp"]["A1"].value


def test_the_job_checks_the_scope_again_as_the_account_that_asked(app, known, demo):
    """A job queued for a commune the account may no longer read fails, saying why."""
    from flask import g

    from portal.jobs import runner
    from portal.scope import scope_for

    officer = demo.scalar(select(Account).where(Account.username == "canbo.xa"))
    job = Job(
        kind="review.xlsx",
        status="queued",
        created_by=officer.id,
        actor=officer.username,
        title="x",
        params={"commune": known.other_commune, "team": None, "period": {"kind": "twelve"}},
        attempts=0,
        done=0,
        total=0,
        counts={},
    )
    demo.add(job)
    demo.commit()
    job_id, officer_id = job.id, officer.id
    with app.test_request_context():
        account = demo.get(Account, officer_id)
        g.account, g.scope = account, scope_for(account)
        runner.execute(job_id)
    failed = demo.get(Job, job_id)
    assert failed.status == "failed" and "Không tìm thấy xã, phường này." in failed.message
