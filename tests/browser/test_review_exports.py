"""A planner opens the city's review, changes the period and the commune through HTMX, and
takes the review away: "Tải XLSX" starts a job whose page shows its progress and
then offers the book (read back with openpyxl); "Bản in" opens the official report, whose
button prints it and whose print stylesheet leaves the sheet alone."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.test_area_browser import sign_in

pytestmark = pytest.mark.browser


def test_the_review_downloads_as_xlsx_through_a_job_and_prints_as_a_report(page, live_server):
    sign_in(page, live_server)
    page.goto(live_server + "/review/")
    title = page.locator("[data-testid=review-title]")
    expect(title).to_contain_text("12 tháng")
    # the period and the place change through HTMX: the page itself stays (a mark set on it
    # survives), the address follows
    page.evaluate("window.__same_page = true")
    page.select_option("#review-kind", "month")
    expect(title).to_contain_text("Tháng ")
    expect(page).to_have_url(re.compile(r"kind=month"))
    page.select_option("#review-month", "10")
    expect(title).to_contain_text("Tháng 10/")
    commune = page.locator("#review-commune option").nth(1)
    name, value = commune.inner_text(), commune.get_attribute("value")
    page.select_option("#review-commune", value)
    expect(title).to_contain_text(name)
    expect(page).to_have_url(re.compile(rf"commune={value}"))
    expect(page.locator("#review-team")).to_be_visible()  # the commune's teams are offered
    assert page.evaluate("window.__same_page") is True

    page.get_by_role("button", name="Tải XLSX").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    expect(page.locator("main")).to_contain_text("Xuất sơ kết ra XLSX")
    result = page.locator("[data-testid=job-result]")
    expect(result).to_have_text("Tải tệp về", timeout=30_000)  # the worker made it
    with page.expect_download() as info:
        result.click()
    download = info.value
    assert (
        download.suggested_filename.startswith("so-ket_") and "xlsx" in download.suggested_filename
    )
    book = load_workbook(io.BytesIO(download.path().read_bytes()))
    assert book.sheetnames == ["Tổng hợp", "Theo tháng", "Theo loại", "Theo tổ"]
    assert book["Tổng hợp"]["A4"].value == "Chỉ tiêu"
    assert name in book["Tổng hợp"]["A1"].value and "10/" in book["Tổng hợp"]["A1"].value

    page.goto(live_server + "/review/?kind=year")
    page.get_by_role("link", name="Bản in").click()
    report = page.locator("[data-testid=report]")
    expect(report).to_contain_text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    expect(report.locator("[data-testid=report-motto]")).to_have_css("border-bottom-style", "solid")
    # the button calls the browser's print (stubbed: a dialog would stop the test)
    page.evaluate(
        "() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }"
    )
    page.get_by_role("button", name="In báo cáo").click()
    assert page.evaluate("window.__printed") == 1
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator("[data-testid=report-tools]")).to_be_hidden()
    expect(report).to_be_visible()
