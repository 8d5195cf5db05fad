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
