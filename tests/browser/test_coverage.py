"""A planner finds the worst village without a team on the coverage page: one click on its row
zooms the map there (its neighbours drawn) and shows its next steps; "Lập tổ" opens the team
form for that village. The page has no serious accessibility violation (axe-core)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_area_browser import sign_in

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js"


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations of the page as it is now."""
    page.evaluate(AXE.read_text())  # evaluated by the browser's devtools: no script tag for CSP
    found = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => r.violations.filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))"
    )
    return found


def test_worst_uncovered_village_one_click_zooms_and_leads_to_its_team_form(page, live_server):
    sign_in(page, live_server)
    page.get_by_role("link", name="Phủ kín").click()
    frame = page.locator("[data-testid=coverage-map]")
    expect(frame.locator(".leaflet-container")).to_be_visible()
    legend = page.locator("[data-testid=coverage-legend]")
    expect(legend).to_contain_text("từ 99% thôn có tổ")
    expect(legend.locator("li[data-status=no_team]")).to_have_text("chưa có tổ")
    assert serious_violations(page) == []
    map_var = frame.get_attribute("data-map")
    zoom_before = page.evaluate(f"window['{map_var}'].getZoom()")

    page.select_option("#kind", "no_team")
    row = page.locator("#problem-list li").first  # the most people first
    link = row.locator("a.zoom")
    expect(link).to_contain_text("Chưa có tổ")
    expect(page.locator("#problem-list .kind-understaffed")).to_have_count(0)
    village_id = re.search(r"/areas/(\d+)$", link.get_attribute("href")).group(1)
    west, south, east, north = map(float, link.get_attribute("data-bounds").split(","))
    steps = row.locator("[data-testid=problem-steps]")
    expect(steps).to_be_hidden()

    link.click()  # once: the map zooms there and the row shows where to go next
    expect(steps).to_be_visible()
    expect(page).to_have_url(re.compile(r"/coverage/"))
    # zoomed in, the villages around the one without a team are drawn from their tiles
    expect(frame.locator(".leaflet-container")).to_have_attribute(
        "data-tiles-loaded", re.compile(r"^[1-9]")
    )
    zoom, (lng, lat) = page.evaluate(
        f"(() => {{ const m = window['{map_var}'], c = m.getCenter();"
        " return [m.getZoom(), [c.lng, c.lat]]; })()"
    )
    assert zoom > zoom_before and zoom >= 13
    assert west <= lng <= east and south <= lat <= north
    # the village itself, clicked on the map, offers its page
    name = link.inner_text().replace(link.locator(".badge").inner_text(), "").strip()
    # its outline as drawn last, on top (a village across two tiles is in both)
    frame.locator(f'path[role=button][aria-label="{name}: chưa có tổ"]').last.click()
    popup = frame.locator(".leaflet-popup")
    expect(popup.get_by_role("link", name="Mở địa bàn")).to_have_attribute(
        "href", f"/areas/{village_id}"
    )
    expect(popup.get_by_role("link", name="Lập tổ")).to_have_attribute(
        "href", f"/teams/new?village={village_id}"
    )
    expect(steps.get_by_role("link", name="Mở địa bàn")).to_have_attribute(
        "href", f"/areas/{village_id}"
    )

    steps.get_by_role("link", name="Lập tổ").click()
    expect(page).to_have_url(re.compile(rf"/teams/new\?village={village_id}$"))
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("form")).not_to_have_count(0)
    # the form is pre-filled with the village, ticked and free to take
    expect(page.locator(f"[data-testid=village-{village_id}] input")).to_be_checked()
    expect(page.locator(f"[data-testid=village-{village_id}] input")).to_be_enabled()


def test_on_a_phone_the_next_steps_show_under_the_zoomed_map(browser, live_server):
    """The list is far below the map on a phone: the clicked problem's steps are repeated
    just under the map the click scrolled to, tappable."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="vi-VN"
    )
    page = context.new_page()
    try:
        sign_in(page, live_server)
        page.goto(live_server + "/coverage/")
        row = page.locator("#problem-list li").filter(has=page.locator(".problem-steps")).first
        row.locator("a.zoom").click()
        bar = page.locator("#map-steps")
        expect(bar.get_by_role("link").first).to_be_in_viewport()
        names = row.locator(".problem-steps a").all_inner_texts()
        assert bar.get_by_role("link").all_inner_texts() == names
        for link in bar.get_by_role("link").all():
            assert link.bounding_box()["height"] >= 44
    finally:
        context.close()
