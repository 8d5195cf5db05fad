"""A citizen on a phone finds their street: the look-up map draws streets with their names at
street zoom and credits OpenStreetMap, and a search for the street moves the map there."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser

HANG_GAI = (21.0325, 105.8500)
PLANT = text(
    "INSERT INTO streets (name, name_search, highway, min_zoom, source, geom)"
    " VALUES (:name, :search, :highway, :zoom, 'browser-test',"
    " ST_Multi(ST_GeomFromText(:wkt, 4326)))"
)


@pytest.fixture
def planted(live_db):
    """Phố Hàng Gai in two pieces, and a street whose name looks like markup."""
    rows = [
        (
            "Phố Hàng Gai",
            "pho hang gai",
            "tertiary",
            15,
            "LINESTRING(105.8470 21.0322, 105.8500 21.0325)",
        ),
        (
            "Phố Hàng Gai",
            "pho hang gai",
            "tertiary",
            15,
            "LINESTRING(105.8500 21.0325, 105.8530 21.0328)",
        ),
        (
            "Phố <b>Thử</b>",
            "pho <b>thu</b>",
            "residential",
            15,
            "LINESTRING(105.8500 21.0300, 105.8500 21.0350)",
        ),
    ]
    with live_db.begin() as c:
        for name, search, highway, zoom, wkt in rows:
            c.execute(
                PLANT,
                {"name": name, "search": search, "highway": highway, "zoom": zoom, "wkt": wkt},
            )
    yield
    with live_db.begin() as c:
        c.execute(text("DELETE FROM streets WHERE source = 'browser-test'"))


def test_streets_with_names_and_credit_and_a_search_that_moves_the_map(
    browser, live_server, planted
):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server + "/tra-cuu")
    frame = page.locator("[data-testid=lookup-map]")
    expect(frame.locator(".leaflet-container")).to_be_visible()
    map_var = frame.get_attribute("data-map")
    frame.scroll_into_view_if_needed()

    # street zoom over Phố Hàng Gai: the lines, the names along them, the credit
    page.evaluate(f"window['{map_var}'].setView([{HANG_GAI[0]}, {HANG_GAI[1]}], 17)")
    pane = frame.locator(".leaflet-streets-pane")
    expect(pane.locator("textPath", has_text="Phố Hàng Gai")).to_have_count(1)
    # casing and fill of each street: the two pieces of Phố Hàng Gai come as one line
    expect(pane.locator("path")).to_have_count(4)
    # a name is text, never markup
    expect(pane.locator("textPath", has_text="Phố <b>Thử</b>")).to_have_count(1)
    assert pane.locator("b").count() == 0
    credit = frame.locator(".leaflet-control-attribution")
    expect(credit).to_be_visible()
    expect(credit).to_contain_text("© OpenStreetMap contributors")
    # the city's zoom: no street names
    page.evaluate(f"window['{map_var}'].setView([{HANG_GAI[0]}, {HANG_GAI[1]}], 15)")
    expect(pane.locator("textPath")).to_have_count(0)

    # far away, then a search for the street without accents or "phố" moves the map back
    page.evaluate(f"window['{map_var}'].setView([21.0, 105.7], 14)")
    page.locator("#q").fill("hang gai")
    result = page.locator("[data-testid=street-result]", has_text="Phố Hàng Gai")
    expect(result).to_be_visible()
    result.click()
    page.wait_for_function(
        f"""() => {{ const m = window['{map_var}'];
        return m.getZoom() >= 16 && m.getBounds().contains([{HANG_GAI[0]}, {HANG_GAI[1]}]); }}"""
    )
    expect(pane.locator("textPath", has_text="Phố Hàng Gai")).to_have_count(1)
    assert errors == []
    context.close()
