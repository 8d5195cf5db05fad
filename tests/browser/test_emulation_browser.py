"""An admin goes from the review to the emulation ranking and narrows it to a commune's teams."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_from_the_review_to_the_ranking_of_a_communes_teams(page, live_server):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server + "/review/")
    page.fill("#username", "quantri")
    page.fill("#password", "ha-noi-an-toan-2025")
    page.click("button[type=submit].primary")
    expect(page).to_have_url(re.compile(r"/review/"))

    page.get_by_test_id("emulation-link").click()
    expect(page.locator("h1")).to_have_text("Xếp hạng thi đua")
    expect(page.get_by_test_id("emulation-title")).to_contain_text("Các xã, phường của")
    rows = page.locator("[data-testid=emulation-table] tbody tr[data-rank]")
    expect(rows).to_have_count(3)  # the demo's three communes
    expect(rows.first.locator("td").first).to_have_text("1")

    page.select_option("#review-commune", label="Các tổ của Phường Ba Đình")  # HTMX swaps
    expect(page.get_by_test_id("emulation-title")).to_contain_text("Các tổ của Phường Ba Đình")
    expect(page).to_have_url(re.compile(r"commune=\d+"))
    assert rows.count() > 3
    expect(page.get_by_test_id("emulation-weights")).to_be_visible()
    assert errors == []
