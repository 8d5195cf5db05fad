"""The city coverage map draws every village from our vector tiles (Leaflet.VectorGrid): tiles
answered 200, paths drawn in their pane, a tooltip that shows a village's name as text however
it is written, and a page that stays under 1 MB at the city's view and zoomed in to 16."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser.test_area_browser import sign_in

pytestmark = pytest.mark.browser

NAME = "<img src=x onerror=alert(1)>"
LIMIT = 1_000_000  # bytes: the page and the tiles of one view


@pytest.fixture
def markup_village(live_db):
    """Village 00004-002 of Phường Ba Đình renamed with markup in the live server's database
    (committed: the generation moves), with a point inside it; the name is put back after."""
    with live_db.begin() as c:
        village = c.execute(
            text(
                "SELECT id, name, ST_AsGeoJSON(ST_PointOnSurface(geom)) AS inside FROM areas"
                " WHERE code = '00004-002'"
            )
        ).one()
        c.execute(text("UPDATE areas SET name = :n WHERE id = :id"), {"n": NAME, "id": village.id})
    yield {"id": village.id, "inside": json.loads(village.inside)["coordinates"]}
    with live_db.begin() as c:
        c.execute(
            text("UPDATE areas SET name = :n WHERE id = :id"), {"n": village.name, "id": village.id}
        )


def coverage_map(page, base: str) -> str:
    """Open the city coverage page; the map's variable."""
    page.goto(base + "/coverage/")
    frame = page.locator("[data-testid=coverage-map]")
    expect(frame.locator(".leaflet-container")).to_be_visible()
    return frame.get_attribute("data-map")


def test_the_city_map_draws_villages_from_tiles_and_their_names_as_text(
    page, live_server, markup_village
):
    dialogs, tiles = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("response", lambda r: tiles.append(r) if "/tiles/coverage/" in r.url else None)
    sign_in(page, live_server)
    name = coverage_map(page, live_server)
    container = page.locator(".leaflet-container")
    expect(container).to_have_attribute("data-tiles-loaded", re.compile(r"^[1-9]"))
    paths = page.locator(".leaflet-villageTiles-pane path")
    expect(paths.first).to_be_attached()
    assert paths.count() > 100  # the demo's three communes, every village
    assert tiles and {r.status for r in tiles} <= {200, 204} and 200 in {r.status for r in tiles}
    assert all(r.url.startswith(live_server) for r in tiles)  # our own server, no CDN
    assert tiles[0].headers["content-type"] == "application/vnd.mapbox-vector-tile"

    lon, lat = markup_village["inside"]
    page.evaluate(f"window['{name}'].setView([{lat}, {lon}], 16, {{animate: false}})")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    point = page.evaluate(
        f"(() => {{ const p = window['{name}'].latLngToContainerPoint([{lat}, {lon}]);"
        " return [p.x, p.y]; })()"
    )
    box = container.bounding_box()
    page.mouse.move(box["x"] + point[0], box["y"] + point[1])
    tooltip = page.locator(".tile-tooltip")
    expect(tooltip).to_contain_text(NAME)  # the markup, shown as the text it is
    assert tooltip.locator("img").count() == 0
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    popup = page.locator(".leaflet-popup-content .map-popup")
    expect(popup.locator("strong")).to_have_text(NAME)
    expect(popup.locator("a.button").first).to_have_attribute(
        "href", f"/areas/{markup_village['id']}"
    )
    assert popup.locator("img").count() == 0
    assert dialogs == []


def test_the_coverage_page_and_its_tiles_stay_under_a_megabyte_at_every_zoom(browser, live_server):
    sizes = {}
    for zoom in (None, 10, 11, 12, 13, 14, 15, 16):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
        page = context.new_page()
        sign_in(page, live_server)
        counted = []
        page.on(
            "requestfinished",
            lambda r, counted=counted: (
                counted.append(r) if r.resource_type == "document" or "/tiles/" in r.url else None
            ),
        )
        name = coverage_map(page, live_server)
        if zoom is not None:  # Phường Ba Đình's centre
            page.evaluate(f"window['{name}'].setView([21.035, 105.83], {zoom}, {{animate: false}})")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)
        sizes[zoom] = sum(r.sizes()["responseBodySize"] for r in counted)
        assert any("/tiles/" in r.url for r in counted), zoom
        context.close()
    assert all(size < LIMIT for size in sizes.values()), sizes


@pytest.mark.parametrize(
    ("path", "layer"),
    [("/patrols/activity", "patrols"), ("/incidents/map?view=villages", "incidents")],
)
def test_the_patrol_and_incident_city_maps_draw_villages_from_tiles(page, live_server, path, layer):
    tiles = []
    page.on("response", lambda r: tiles.append(r) if f"/tiles/{layer}/" in r.url else None)
    sign_in(page, live_server)
    page.goto(live_server + path)
    expect(page.locator(".leaflet-villageTiles-pane path").first).to_be_attached()
    page.wait_for_load_state("networkidle")
    assert 200 in {r.status for r in tiles} and {r.status for r in tiles} <= {200, 204}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_tiles_counts_are_written_as_the_server_writes_numbers(app, page, live_server, lang):
    """The tooltips format a tile's counts with the browser's Intl for the page's language:
    it must write them as Babel does on the rest of the page (1.234 / 1,234)."""
    from portal import i18n

    values = [7, 999, 1000, 12345, 1234567]
    page.goto(live_server + "/tra-cuu")
    page.evaluate(f"document.documentElement.lang = '{lang}'")
    script = (
        "values => { var f = new Intl.NumberFormat("
        "document.documentElement.lang === 'en' ? 'en-GB' : 'vi'); return values.map(f.format); }"
    )
    ours = page.evaluate(script, values)
    with app.test_request_context():
        from flask import g

        g.lang = lang
        assert ours == [i18n.number(v) for v in values]
