"""A planner redraws a village boundary on the map, saves it, and finds it in the history."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_area_browser import sign_in

pytestmark = pytest.mark.browser


def land_area(page) -> float:
    number, unit = page.locator("dt:has-text('Diện tích') + dd").inner_text().split()
    return float(number.replace(",", ".")) * (1e6 if unit == "km²" else 1e4)


def test_draw_a_polygon_save_it_and_see_it_in_the_history(page, live_server):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live_server)
    page.goto(live_server + "/areas/?q=ngoc+ha")
    page.locator("#search-results a", has_text="Phường Ngọc Hà").click()
    page.locator(".tree .leaf a", has_text=re.compile(r"^Tổ dân phố số 5$")).click()
    village_url = page.url
    area_before = land_area(page)
    page.get_by_role("link", name="Sửa hoặc tách ranh giới").click()
    expect(page.locator("h1")).to_contain_text("Tổ dân phố số 5")

    village = page.locator("path[stroke='#e63946']")
    expect(village).to_be_visible()
    box = village.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    dx, dy = box["width"] * 0.2, box["height"] * 0.2
    page.get_by_role("button", name="Vẽ lại").click()
    corners = [(cx - dx, cy - dy), (cx + dx, cy - dy), (cx + dx, cy + dy), (cx - dx, cy + dy)]
    for x, y in corners:
        page.mouse.click(x, y)
    page.mouse.click(*corners[0])  # back on the first vertex closes the polygon

    page.fill("#decision_number", "88/QĐ-UBND")
    page.fill("#decision_date", "2025-08-01")
    page.get_by_role("button", name="Lưu ranh giới").click()
    expect(page.locator("h1")).to_contain_text("Sửa ranh giới #")
    expect(page.locator(".facts")).to_contain_text("88/QĐ-UBND")

    page.goto(village_url)
    history = page.locator("#history")
    expect(history).to_contain_text("Sửa địa bàn")
    expect(history).to_contain_text("Ranh giới")
    # the square drawn inside the village is a fraction of it (trimmed where it touched others)
    assert land_area(page) < area_before * 0.5
    expect(history).to_contain_text("88/QĐ-UBND")
    assert errors == []


def test_split_preview_undo_cancel_and_the_merge_map(page, live_server):
    """The editor previews a split as parts A and B, undoes it, and goes back to the saved
    outline; the merge form's map toggles a village's checkbox and highlights its neighbours.
    Nothing is saved."""
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live_server)
    page.goto(live_server + "/areas/?q=ngoc+ha")
    page.locator("#search-results a", has_text="Phường Ngọc Hà").click()
    commune_url = page.url
    page.locator(".tree .leaf a", has_text=re.compile(r"^Tổ dân phố số 7$")).click()
    page.get_by_role("link", name="Sửa hoặc tách ranh giới").click()

    village = page.locator("path[fill='#e63946']")
    expect(village).to_be_visible()
    saved = village.get_attribute("d")
    undo, cancel = page.locator("#undo"), page.locator("#cancel-edits")
    expect(undo).to_be_disabled()
    page.get_by_role("button", name="Vẽ đường tách").click()
    box = village.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.click(box["x"] - 15, y)
    page.mouse.click(box["x"] + box["width"] + 15, y + 4)
    page.mouse.click(box["x"] + box["width"] + 15, y + 4)  # the last point again ends the line
    labels = page.locator(".split-part")
    expect(labels).to_have_count(2)
    expect(labels.nth(0)).to_have_text("A · Tổ dân phố số 7 A")
    page.fill("#name_b", "Tổ <b>mới</b>")  # a name is text on the map, never markup
    expect(labels.nth(1)).to_have_text("B · Tổ <b>mới</b>")
    split = page.get_by_role("button", name="Tách thôn")
    expect(split).to_be_visible()
    expect(split).to_have_class("primary")  # the same style as the save button it replaces

    undo.click()  # the line goes, and with it the parts and the split's button
    expect(labels).to_have_count(0)
    expect(page.get_by_role("button", name="Lưu ranh giới")).to_be_visible()
    expect(undo).to_be_disabled()

    page.get_by_role("button", name="Vẽ lại").click()
    corners = [
        (box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        for fx, fy in ((0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7))
    ]
    for x, y in corners:
        page.mouse.click(x, y)
    page.mouse.click(*corners[0])
    expect(village).not_to_have_attribute("d", saved)
    cancel.click()  # back to the saved outline
    expect(village).to_have_attribute("d", saved)
    expect(cancel).to_be_disabled()

    page.goto(commune_url)
    page.get_by_role("link", name="Gộp thôn, tổ dân phố").click()
    box = page.locator("input[name=area_ids]").first
    name = page.locator(".merge-list label").first.inner_text().strip()
    # the map's first outline is the list's first village; a click reaches it through
    # Leaflet's handler on the map, wherever its neighbours lie on screen
    shape = page.locator(".map-frame path.leaflet-interactive").first
    shape.dispatch_event("click")
    expect(box).to_be_checked()
    expect(page.get_by_test_id("merge-selection")).to_contain_text(name)
    expect(page.locator(".merge-list label[data-state='candidate']").first).to_be_visible()
    expect(page.locator(".merge-list label[data-state='other']").first).to_be_attached()
    shape.dispatch_event("click")
    expect(box).not_to_be_checked()
    expect(page.get_by_test_id("merge-selection")).to_have_text("Chưa chọn địa bàn nào.")
    assert errors == []
