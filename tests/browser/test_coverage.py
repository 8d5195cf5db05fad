"""A planner filters the problems to "no team", clicks the first, and the map zooms to it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_area_browser import sign_in

pytestmark = pytest.mark.browser


def test_filter_no_team_click_the_first_row_and_the_map_zooms_there(page, live_server):
    sign_in(page, live_server)
    page.get_by_role("link", name="Phủ kín").click()
    expect(page.locator("[data-testid=coverage-map] .leaflet-container")).to_be_visible()
    map_var = page.get_attribute("[data-map]", "data-map")
    zoom_before = page.evaluate(f"window['{map_var}'].getZoom()")

    page.select_option("#kind", "no_team")
    first = page.locator("#problem-list a.zoom").first
    expect(first).to_contain_text("Chưa có tổ")
    expect(page.locator("#problem-list .kind-understaffed")).to_have_count(0)
    bounds = [float(v) for v in first.get_attribute("data-bounds").split(",")]
    first.click()

    page.wait_for_function(f"window['{map_var}'].getZoom() > {zoom_before}")
    center = page.evaluate(
        f"(() => {{ const c = window['{map_var}'].getCenter(); return [c.lng, c.lat]; }})()"
    )
    assert bounds[0] <= center[0] <= bounds[2]
    assert bounds[1] <= center[1] <= bounds[3]
