"""A citizen on a phone: taps the map where they live, or uses the phone's location, or
chooses from lists with JavaScript off, and reads the card."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

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


def map_point(page, map_var: str, lat: float, lon: float) -> tuple[float, float]:
    """Where a place is on the screen, as the map draws it now."""
    xy = page.evaluate(
        f"(() => {{ const p = window['{map_var}'].latLngToContainerPoint([{lat}, {lon}]); "
        "return [p.x, p.y]; })()"
    )
    box = page.locator("[data-testid=lookup-map]").bounding_box()
    return box["x"] + xy[0], box["y"] + xy[1]


def test_tap_zooms_in_then_pins_and_the_pin_moves_to_the_next_village(phone, live_server):
    """Issue 14's journey: a tap at city zoom only zooms in; at street zoom a tap drops a pin and
    gives the card with the village and its neighbours drawn; dragging the pin to a neighbour
    gives that village's card, whose call button is a thumb's size."""
    page = phone.new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(live_server + "/tra-cuu")
    frame = page.locator("[data-testid=lookup-map]")
    expect(frame.locator(".leaflet-container")).to_be_visible()
    map_var = frame.get_attribute("data-map")
    frame.scroll_into_view_if_needed()
    hint = page.locator("#map-hint")
    expect(hint).to_have_text("Phóng to tới phố của bạn rồi chạm để chọn nơi bạn ở.")
    # the user has panned the city to their district (a pinch is not what is tested here)
    lat, lon = MAUSOLEUM
    page.evaluate(f"window['{map_var}'].setView([{lat}, {lon}], 13, {{animate: false}})")

    page.touchscreen.tap(*map_point(page, map_var, *MAUSOLEUM))
    expect(hint).to_have_text("Chạm vào nơi bạn ở để đặt ghim; kéo ghim để chỉnh cho đúng.")
    assert page.evaluate(f"window['{map_var}'].getZoom()") == 17
    expect(page.locator("#card h2")).to_have_count(0)  # only zoomed in: no card yet

    page.touchscreen.tap(*map_point(page, map_var, *MAUSOLEUM))
    card = page.locator("#card")
    expected = expected_card(live_server, *MAUSOLEUM)
    expect(card.locator("h2")).to_have_text(expected["village"]["name"])
    expect(card).to_contain_text(expected["team"]["leader"]["name"])
    pin = frame.locator(".leaflet-marker-draggable")  # the pin, among the labels
    expect(pin).to_be_visible()
    assert "/tra-cuu/diem?lat=" in page.url  # the tapped point has its own address
    neighbours = json.loads(card.get_attribute("data-neighbours"))
    labels = frame.locator(".neighbour-label span")
    expect(labels).to_have_count(len(neighbours))
    assert {n["name"] for n in neighbours} == set(labels.all_inner_texts())
    assert expected["village"]["name"] not in {n["name"] for n in neighbours}

    # drag the pin into a neighbour shown on the map (its label sits in its middle)
    frame.scroll_into_view_if_needed()
    box = frame.bounding_box()
    target = None
    for label in labels.all():
        b = label.bounding_box()
        x, y = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2  # the neighbour's middle
        if (
            box["x"] + 20 < x < box["x"] + box["width"] - 20
            and box["y"] + 60 < y < box["y"] + box["height"] - 20
        ):
            target = (x, y, label.inner_text())
            break
    assert target, "a neighbour inside the map"
    pin_box = pin.bounding_box()
    tip = (pin_box["x"] + pin_box["width"] / 2, pin_box["y"] + pin_box["height"] - 2)
    page.mouse.move(*tip)
    page.mouse.down()
    page.mouse.move(tip[0] + (target[0] - tip[0]) / 2, tip[1] + (target[1] - tip[1]) / 2, steps=5)
    page.mouse.move(
        target[0], target[1] + (pin_box["height"] - 2 - pin_box["height"] / 2) * 0, steps=5
    )
    page.mouse.up()
    expect(card.locator("h2")).to_have_text(target[2].split(",")[0])
    lat, lon = float(card.get_attribute("data-lat")), float(card.get_attribute("data-lon"))
    moved = expected_card(live_server, lat, lon)
    assert moved["village"]["name"] == target[2].split(",")[0]

    call = card.locator("[data-testid=call-team]")
    expect(call).to_have_attribute("href", f"tel:{moved['team']['phone']}")
    call.scroll_into_view_if_needed()
    assert call.bounding_box()["height"] >= 44
    leader = card.locator("[data-testid=call-leader]")
    assert leader.bounding_box()["height"] >= 44
    expect(card.locator("[data-testid=call-113]")).to_be_visible()
    # the card fits the phone's width: nothing to scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.evaluate("window.__csp") == []  # the map, HTMX and our script under the CSP
    assert serious_accessibility_problems(page) == []


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def serious_accessibility_problems(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("axe.run(document).then(r => r.violations.map(v => [v.id, v.impact]))")
    return [rule for rule, impact in found if impact in ("serious", "critical")]


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
    # straight to street zoom, with the pin to drag
    expect(page.locator("[data-testid=lookup-map] .leaflet-marker-draggable")).to_be_visible()
    map_var = page.locator("[data-testid=lookup-map]").get_attribute("data-map")
    assert page.evaluate(f"window['{map_var}'].getZoom()") >= 16
    context.close()


def test_commune_then_village_from_lists_without_javascript(browser, live_server):
    context = browser.new_context(**PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server + "/tra-cuu")
    expect(page.get_by_role("button", name="Dùng vị trí của tôi")).to_be_hidden()
    page.select_option("#xa", label="Ngọc Hà (phường)")  # listed by its own name, under N
    page.get_by_role("button", name="Xem thôn, tổ dân phố").click()
    expect(page.locator("h2.place-name")).to_have_text("Phường Ngọc Hà")
    expect(page.locator("#xa option:checked")).to_have_text("Ngọc Hà (phường)")  # kept
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
