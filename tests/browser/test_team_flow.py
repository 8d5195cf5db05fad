"""A team leader on a phone appoints a member: an appointment date that makes the person under
age marks the birth date at once (aria-invalid, its message announced); a refused save focuses
it; corrected, the member is saved and the team page confirms it. axe-core finds nothing serious
on the team and member pages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.conftest import ROOT

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
NAME = "Nguyễn Thị Kiểm Thử"


def serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    return found


def test_a_leader_on_a_phone_fixes_a_dependent_field_error_and_saves(browser, live_server, live_db):
    with live_db.begin() as connection:
        team_id = connection.execute(
            text("SELECT team_id FROM accounts WHERE username = 'totruong'")
        ).scalar_one()
        # two serving members: the team is under-staffed, and one more fits
        resting = (
            connection.execute(
                text(
                    "UPDATE members SET left_on = appointment_date WHERE id IN ("
                    " SELECT id FROM members WHERE team_id = :t AND left_on IS NULL"
                    " AND role <> 'leader' ORDER BY id OFFSET 1) RETURNING id"
                ),
                {"t": team_id},
            )
            .scalars()
            .all()
        )
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    today = date.today()
    try:
        page.goto(live_server + "/login")
        page.fill("#username", "totruong")
        page.fill("#password", "to-dan-pho-vung-manh")
        page.click("button[type=submit].primary")
        expect(page).to_have_url(live_server + "/patrols/")  # their week, not the area tree

        page.goto(f"{live_server}/teams/{team_id}")
        offer = page.get_by_test_id("understaffed").get_by_role("link", name="Bổ nhiệm thành viên")
        box = offer.bounding_box()
        assert box["height"] >= 44 and box["x"] + box["width"] <= 390
        assert serious_violations(page) == []
        offer.click()

        page.fill("#full_name", NAME)
        page.fill("#phone", "0912345678")
        page.fill("#birth_date", (today - timedelta(days=365 * 19)).isoformat())
        page.select_option("#residence_area_id", index=1)
        page.fill("#resident_since", (today - timedelta(days=365 * 10)).isoformat())
        page.fill("#appointment_number", "15/QĐ-UBND")
        page.fill("#appointment_signer", "Chủ tịch UBND phường")
        # two years ago the person was 17: the birth date is marked as soon as the date changes
        page.fill("#appointment_date", (today - timedelta(days=365 * 2)).isoformat())
        page.locator("#appointment_date").dispatch_event("change")
        expect(page.locator("#birth_date-error")).to_contain_text("Chưa đủ 18 tuổi")
        expect(page.locator("#birth_date")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#birth_date-error")).to_have_attribute("aria-live", "polite")

        page.click("button[type=submit].primary")  # saved anyway: refused, the box has focus
        banner = page.get_by_role("alert")
        expect(banner).to_contain_text("Chưa đủ 18 tuổi")
        expect(banner.get_by_role("link", name="Ngày sinh")).to_be_visible()
        expect(page.locator("#birth_date")).to_be_focused()
        expect(page.locator("#birth_date")).to_have_attribute(
            "aria-describedby", "birth_date-error"
        )
        assert serious_violations(page) == []

        page.fill("#appointment_date", (today - timedelta(days=10)).isoformat())
        page.locator("#appointment_date").dispatch_event("change")
        expect(page.locator("#birth_date-error")).to_have_text("")
        expect(page.locator("#birth_date")).not_to_have_attribute("aria-invalid", "true")
        page.click("button[type=submit].primary")

        expect(page).to_have_url(f"{live_server}/teams/{team_id}?saved=" + page.url.split("=")[-1])
        confirmation = page.get_by_role("status").filter(has_text="Đã lưu thành viên")
        expect(confirmation).to_contain_text(NAME)
        card = page.locator(".member-card", has_text=NAME)
        expect(card).to_be_visible()
        for action in (card.get_by_role("link", name="Sửa"), card.locator("summary")):
            box = action.bounding_box()
            assert box["height"] >= 44 and box["x"] + box["width"] <= 390  # on screen, tappable
        assert errors == []
    finally:
        context.close()
        with live_db.begin() as connection:
            connection.execute(
                text("DELETE FROM members WHERE team_id = :t AND full_name = :n"),
                {"t": team_id, "n": NAME},
            )
            connection.execute(
                text("UPDATE members SET left_on = NULL WHERE id = ANY(:ids)"), {"ids": resting}
            )
