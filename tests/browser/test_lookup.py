"""A citizen on a phone: taps the map where they live, or uses the phone's location, or
chooses from lists with JavaScript off, and reads the card."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "vi-VN",
}
MAUSOLEUM = (21.03673, 105.83464)


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    yield context
    context.close()


def expected_card(live_server, lat, lon) -> dict:
    with urllib.request.urlopen(f"{live_server}/api/lookup?lat={lat}&lon={lon}") as response:
        return json.load(response)


RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective));
"""


def test_tap_the_map_and_read_the_card(phone, live_server):
    page = phone.new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(live_server + "/tra-cuu")
    frame = page.locator("[data-testid=lookup-map]")
    expect(frame.locator(".leaflet-container")).to_be_visible()
    map_var = frame.get_attribute("data-map")
    # where the mausoleum is on the screen, as the map draws it
    frame.scroll_into_view_if_needed()
    page.evaluate(f"window['{map_var}'].setView([{MAUSOLEUM[0]}, {MAUSOLEUM[1]}], 16)")
    xy = page.evaluate(
        f"(() => {{ const p = window['{map_var}'].latLngToContainerPoint([{MAUSOLEUM[0]}, "
        f"{MAUSOLEUM[1]}]); return [p.x, p.y]; }})()"
    )
    box = frame.bounding_box()
    page.touchscreen.tap(box["x"] + xy[0], box["y"] + xy[1])

    card = page.locator("#card")
    expected = expected_card(live_server, *MAUSOLEUM)
    expect(card.locator("h2")).to_have_text(expected["village"]["name"])
    expect(card).to_contain_text(expected["team"]["leader"]["name"])
    expect(card).to_contain_text("Công an phường Ba Đình")
    expect(card.locator("a[href='tel:113']")).to_be_visible()
    expect(card.locator("[data-testid=share]")).to_have_attribute(
        "href", expected["village"]["url"]
    )
    assert "/tra-cuu/diem?lat=" in page.url  # the tapped point has its own address
    # the card fits the phone's width: nothing to scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.evaluate("window.__csp") == []  # the map, HTMX and our script under the CSP


def test_the_phone_location_leads_to_the_card(browser, live_server):
    context = browser.new_context(
        **PHONE,
        geolocation={"latitude": MAUSOLEUM[0], "longitude": MAUSOLEUM[1]},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.goto(live_server + "/tra-cuu")
    page.get_by_role("button", name="Dùng vị trí của tôi").click()
    expected = expected_card(live_server, *MAUSOLEUM)
    expect(page.locator("#card h2")).to_have_text(expected["village"]["name"])
    context.close()


def test_commune_then_village_from_lists_without_javascript(browser, live_server):
    context = browser.new_context(**PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server + "/tra-cuu")
    expect(page.get_by_role("button", name="Dùng vị trí của tôi")).to_be_hidden()
    page.select_option("#xa", label="Phường Ngọc Hà")
    page.get_by_role("button", name="Xem thôn, tổ dân phố").click()
    expect(page.locator("h2.place-name")).to_have_text("Phường Ngọc Hà")
    page.locator("#villages a", has_text="Tổ dân phố số 3").first.click()
    expect(page.locator("#card h2")).to_have_text("Tổ dân phố số 3")
    expect(page.locator("#card")).to_contain_text("Công an phường Ngọc Hà")
    context.close()


def test_search_as_you_type_ignoring_diacritics(phone, live_server):
    page = phone.new_page()
    page.goto(live_server + "/tra-cuu")
    page.fill("#q", "giang vo")
    results = page.locator("#lookup-results a")
    expect(results.first).to_have_text("Phường Giảng Võ")
    results.first.click()
    expect(page.locator("#card h2")).to_have_text("Phường Giảng Võ")
