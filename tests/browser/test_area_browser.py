"""A planner signs in, opens a commune, then a village, and sees its boundary on the map."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def sign_in(page, base):
    page.goto(base + "/areas/")
    expect(page).to_have_url(f"{base}/login?next=/areas/?")
    page.fill("#username", "quantri")
    page.fill("#password", "ha-noi-an-toan-2025")
    page.click("button[type=submit].primary")
    expect(page).to_have_url(base + "/areas/")


def test_expand_a_commune_open_a_village_and_see_its_polygon(page, live_server):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    sign_in(page, live_server)
    commune = page.locator("summary", has_text="Phường Ba Đình")
    expect(commune).to_be_visible()
    commune.locator("xpath=..").evaluate("d => d.open = false")  # closed until the planner opens it
    commune.click(position={"x": 4, "y": 8})  # the disclosure triangle, not the link
    village = page.locator("details[open] .tree .leaf a", has_text="Tổ dân phố số 2").first
    expect(village).to_be_visible()  # loaded by HTMX on opening
    village.click()

    expect(page.locator("h1")).to_have_text("Tổ dân phố số 2")
    expect(page.locator(".leaflet-container")).to_be_visible()
    polygon = page.locator("path.leaflet-interactive").first
    expect(polygon).to_be_visible()
    box = polygon.bounding_box()
    assert box["width"] > 50 and box["height"] > 50  # drawn at a readable size, not a speck
    assert errors == []

    hosts = {urlsplit(u).netloc for u in requests if not u.startswith("data:")}
    assert hosts == {urlsplit(live_server).netloc}
    links = page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)")
    # the only link out: the street layer's credit, which the ODbL asks for (a link, no request)
    credit = "https://www.openstreetmap.org/copyright"
    assert {urlsplit(h).netloc for h in links if h != credit} == {urlsplit(live_server).netloc}


def test_live_search_ignores_diacritics(page, live_server):
    sign_in(page, live_server)
    page.fill("#q", "ngoc ha")
    result = page.locator("#search-results a", has_text="Phường Ngọc Hà")
    expect(result).to_be_visible()
    # the address follows the search, so it can be shared or reloaded
    expect(page).to_have_url(re.compile(r"/areas/\?q=ngoc(\+|%20)ha$"))


def test_pages_fit_a_phone(browser, live_server):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    sign_in(page, live_server)
    page.goto(live_server + "/areas/")
    page.locator("summary a", has_text="Phường Ba Đình").click()
    expect(page.locator(".leaflet-container")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    context.close()
