"""The attack on map text, replayed in a browser: a village and its team named with markup that
would load our own htmx in an iframe and post to /accounts/…, shown on every map that draws them.

Each map is hovered and clicked on that village: no request to /accounts/ leaves the page, no
dialog opens, the page raises no CSP violation, and the tooltip reads the name as it was stored.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser.test_area_browser import sign_in
from tests.browser.test_csp import RECORD_VIOLATIONS
from tests.test_map_text import TEAM_NAME, VILLAGE_NAME

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/map_text.png"


@pytest.fixture
def planted(live_db):
    """Village 00004-002 of Phường Ba Đình and its team renamed in the live server's database,
    with a neighbour and points to hover; the names are put back afterwards."""
    with live_db.begin() as c:
        village = c.execute(
            text("SELECT id, name, parent_id FROM areas WHERE code = '00004-002'")
        ).one()
        team = c.execute(
            text(
                "SELECT t.id, t.name FROM teams t JOIN team_areas ta ON ta.team_id = t.id"
                " WHERE ta.area_id = :id AND ta.valid_to IS NULL"
            ),
            {"id": village.id},
        ).one()
        neighbour = c.execute(
            text(
                "SELECT n.id, n.code FROM areas n, areas v WHERE v.id = :id"
                " AND n.parent_id = v.parent_id AND n.id <> v.id AND n.valid_to IS NULL"
                " AND ST_Intersects(n.geom, ST_Buffer(v.geom, 0.00001)) ORDER BY n.code LIMIT 1"
            ),
            {"id": village.id},
        ).one()
        # inside the village; and inside it near the neighbour, where the editor's map looks
        inside, near = c.execute(
            text(
                "SELECT ST_AsGeoJSON(ST_PointOnSurface(v.geom)),"
                " ST_AsGeoJSON(ST_PointOnSurface("
                "   ST_Intersection(v.geom, ST_Buffer(n.geom, 0.0008))))"
                " FROM areas v, areas n WHERE v.id = :v AND n.id = :n"
            ),
            {"v": village.id, "n": neighbour.id},
        ).one()
        neighbour_geometry, neighbour_inside = c.execute(
            text(
                "SELECT ST_AsGeoJSON(geom), ST_AsGeoJSON(ST_PointOnSurface(geom)) FROM areas"
                " WHERE id = :id"
            ),
            {"id": neighbour.id},
        ).one()
        c.execute(
            text("UPDATE areas SET name = :name WHERE id = :id"),
            {"name": VILLAGE_NAME, "id": village.id},
        )
        c.execute(
            text("UPDATE teams SET name = :name WHERE id = :id"),
            {"name": TEAM_NAME, "id": team.id},
        )
    yield {
        "village": village.id,
        "commune": village.parent_id,
        "neighbour": neighbour.id,
        "neighbour_code": neighbour.code,
        "neighbour_geometry": json.loads(neighbour_geometry),
        "neighbour_inside": json.loads(neighbour_inside)["coordinates"],
        "inside": json.loads(inside)["coordinates"],
        "near": json.loads(near)["coordinates"],
    }
    with live_db.begin() as c:
        c.execute(
            text("UPDATE areas SET name = :name WHERE id = :id"),
            {"name": village.name, "id": village.id},
        )
        c.execute(
            text("UPDATE teams SET name = :name WHERE id = :id"), {"name": team.name, "id": team.id}
        )


class Watch:
    """What a page did that it should not: requests to /accounts/, dialogs, console refusals."""

    def __init__(self, page):
        self.page = page
        self.accounts: list[str] = []
        self.dialogs: list[str] = []
        self.console: list[str] = []
        page.on("request", lambda r: "/accounts/" in r.url and self.accounts.append(r.url))
        page.on("dialog", self._dialog)
        page.on("console", lambda m: self.console.append(m.text))
        page.add_init_script(RECORD_VIOLATIONS)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_quiet(self, where: str) -> None:
        self.page.wait_for_timeout(300)  # room for anything the markup would have started
        assert self.accounts == [], where
        assert self.dialogs == [], where
        assert self.page.evaluate("window.__csp") == [], where
        assert not [m for m in self.console if "Refused to" in m], where
        assert self.page.locator("iframe, img[src=x]").count() == 0, where


def hover_and_click(page, lon: float, lat: float) -> None:
    """Hover the map where (lon, lat) is drawn, wait for the tooltip, then click there."""
    frame = page.locator(".folium-map")
    expect(frame.locator("path.leaflet-interactive").first).to_be_visible()
    frame.scroll_into_view_if_needed()
    x, y = page.evaluate(
        """([lat, lon]) => {
            const map = window[document.querySelector('.folium-map').id];
            const p = map.latLngToContainerPoint([lat, lon]);
            const r = map.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [lat, lon],
    )
    page.mouse.move(x - 8, y - 8)
    page.mouse.move(x, y, steps=4)
    expect(page.locator(".leaflet-tooltip")).to_be_visible()


def test_names_with_markup_read_literally_on_every_map_and_run_nothing(page, live_server, planted):
    watch = Watch(page)
    sign_in(page, live_server)
    village, commune = planted["village"], planted["commune"]
    tooltip = page.locator(".leaflet-tooltip")

    # the commune's area page: the village among its children
    page.goto(f"{live_server}/areas/{commune}")
    hover_and_click(page, *planted["inside"])
    expect(tooltip).to_have_text(VILLAGE_NAME)
    page.locator("[data-testid=area-map]").screenshot(path=SCREENSHOT)
    page.mouse.down()
    page.mouse.up()
    watch.assert_quiet("area page of the commune")

    # the village's own page: its name as the heading and the map's layer; its team by name
    page.goto(f"{live_server}/areas/{village}")
    expect(page.locator("h1")).to_have_text(VILLAGE_NAME)
    expect(page.get_by_text(TEAM_NAME, exact=True)).to_be_visible()
    expect(page.locator("path.leaflet-interactive").first).to_be_visible()
    watch.assert_quiet("area page of the village")

    # the commune's coverage: the village coloured by status, its name as the tooltip
    page.goto(f"{live_server}/coverage/{commune}")
    hover_and_click(page, *planted["inside"])
    expect(tooltip).to_have_text(VILLAGE_NAME)
    page.mouse.down()
    page.mouse.up()
    watch.assert_quiet("coverage of the commune")

    # the boundary editor of a neighbour: the village is one of the outlines to snap to
    page.goto(f"{live_server}/boundaries/villages/{planted['neighbour']}/edit")
    hover_and_click(page, *planted["near"])
    expect(tooltip).to_have_text(VILLAGE_NAME)
    page.mouse.down()
    page.mouse.up()
    watch.assert_quiet("boundary editor of the neighbour")

    # the public look-up card of the village: its name and its team's, and the map around it;
    # a click there looks the point up and swaps the card in again
    page.goto(f"{live_server}/tra-cuu/{village}")
    expect(page.locator(".place-name")).to_have_text(VILLAGE_NAME)
    expect(page.locator(".team-name")).to_have_text(TEAM_NAME)
    hover_and_click(page, *planted["inside"])
    expect(tooltip).to_have_text(VILLAGE_NAME)
    with page.expect_response(lambda r: "/tra-cuu/diem" in r.url):
        page.mouse.down()
        page.mouse.up()
    expect(page.locator(".place-name")).to_have_text(VILLAGE_NAME)
    expect(page.locator(".team-name")).to_have_text(TEAM_NAME)
    watch.assert_quiet("look-up card of the village")

    # an upload's dry run renaming the neighbour to the markup: its feature's tooltip
    feature = {
        "type": "Feature",
        "properties": {"code": planted["neighbour_code"], "name": VILLAGE_NAME},
        "geometry": planted["neighbour_geometry"],
    }
    body = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    page.goto(f"{live_server}/boundaries/")
    page.set_input_files(
        "#file", {"name": "hostile.geojson", "mimeType": "application/geo+json", "buffer": body}
    )
    page.select_option("#commune_id", str(commune))
    page.get_by_role("button", name="Kiểm tra tệp").click()
    expect(page.locator("[data-testid=batch-map]")).to_be_visible()
    hover_and_click(page, *planted["neighbour_inside"])
    expect(tooltip).to_contain_text(VILLAGE_NAME)
    watch.assert_quiet("dry run of an upload")
    page.get_by_role("button", name="Hủy lần tải lên này").click()
