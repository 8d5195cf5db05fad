"""The review's map on a phone: the city's communes draw, a commune's villages draw after choosing
it, another figure redraws the map alone (the URL follows) and a new period keeps the figure."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_csp import RECORD_VIOLATIONS

pytestmark = pytest.mark.browser


def test_the_admin_chooses_a_commune_a_figure_and_a_period(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    page = context.new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server + "/review/")
    page.fill("#username", "quantri")
    page.fill("#password", "ha-noi-an-toan-2025")
    page.click("button[type=submit].primary")
    expect(page).to_have_url(live_server + "/review/")

    areas = page.locator("[data-testid=review-map-frame] path.leaflet-interactive")
    expect(areas).to_have_count(3)  # the demo's three communes
    expect(page.locator("[data-table=map] tbody tr")).to_have_count(3)

    page.select_option("#review-commune", label="Phường Ba Đình")
    expect(page.locator("#review-map-h")).to_contain_text("thôn")
    villages = page.locator("[data-table=map] tbody tr").count()
    assert villages > 3
    expect(areas).to_have_count(villages)

    first_map = page.locator("[data-testid=review-map-frame]").get_attribute("data-map")
    page.select_option("#review-figure", "tips")
    expect(page).to_have_url(re.compile(r"/review/\?.*figure=tips"))  # pushed: shared
    expect(page.locator("[data-testid=review-map-legend] .legend-heading")).to_have_text("Tin báo")
    frame = page.locator("[data-testid=review-map-frame]")
    expect(frame).not_to_have_attribute("data-map", first_map)
    expect(areas).to_have_count(villages)

    page.select_option("#review-kind", "year")  # the whole review again, with the same figure
    expect(page.locator("#review-year")).to_be_visible()
    expect(page.locator("#review-figure")).to_have_value("tips")
    expect(areas).to_have_count(villages)
    new_map = frame.get_attribute("data-map")
    assert page.evaluate(f"typeof window['{new_map}'].getZoom") == "function"
    assert page.evaluate("window.__csp") == []
    assert errors == []
    context.close()
