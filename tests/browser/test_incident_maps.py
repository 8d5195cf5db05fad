"""An officer opens the incident map on a phone: the clustered markers draw, and choosing a kind
redraws the map through HTMX (the URL follows), with no CSP violation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser.test_csp import RECORD_VIOLATIONS

pytestmark = pytest.mark.browser

PLANT = text(
    "INSERT INTO incidents (source, kind, receipt, status, occurred_at, description, geom,"
    " located_by, area_id, commune_id, handed_to_police, has_photo, has_contact)"
    " SELECT 'tip', :kind, :receipt, 'received', now() - interval '2 days', 'thử bản đồ',"
    " ST_GeometryN(ST_GeneratePoints(geom, 1), 1), 'map', id, parent_id, false, false,"
    " false FROM areas WHERE id = :village RETURNING id"
)


@pytest.fixture
def planted(live_db):
    """Ten thefts close together in a village of Phường Ba Đình (a cluster) and two fights."""
    with live_db.begin() as c:
        village = c.execute(
            text("SELECT id FROM areas WHERE code = '00004-002' AND valid_to IS NULL")
        ).scalar_one()
        ids = [
            c.execute(
                PLANT,
                {"kind": kind, "receipt": f"BRMAP{i:05d}", "village": village},
            ).scalar_one()
            for i, kind in enumerate(["theft"] * 10 + ["disorder"] * 2)
        ]
    yield ids
    with live_db.begin() as c:
        c.execute(text("DELETE FROM incidents WHERE id = ANY(:ids)"), {"ids": ids})


def test_the_officer_sees_clusters_on_a_phone_and_a_kind_redraws_the_map(
    browser, live_server, planted
):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    page = context.new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server + "/incidents/map")
    page.fill("#username", "canbo.xa")
    page.fill("#password", "ba-dinh-binh-yen-2025")
    page.click("button[type=submit].primary")
    expect(page).to_have_url(live_server + "/incidents/map")

    frame = page.locator("[data-testid=incident-map-frame]")
    expect(frame.locator(".leaflet-container")).to_be_visible()
    expect(frame.locator(".marker-cluster").first).to_be_visible()  # the ten thefts, grouped
    first_map = frame.get_attribute("data-map")
    expect(page.locator("[data-testid=map-legend] [data-kind=theft]")).to_contain_text("10")

    page.select_option("[data-testid=kind-filter]", "disorder")
    expect(page).to_have_url(re.compile(r"/incidents/map\?.*kind=disorder"))  # pushed: shared
    expect(page.locator("[data-testid=map-legend] [data-kind=theft]")).to_have_count(0)
    expect(page.locator("[data-testid=map-legend] [data-kind=disorder]")).to_contain_text("2")
    frame = page.locator("[data-testid=incident-map-frame]")
    expect(frame).not_to_have_attribute("data-map", first_map)
    expect(frame.locator(".leaflet-container")).to_be_visible()
    # the new map is drawn: two fights, as markers or one cluster, and no theft's colour
    drawn = frame.locator('.marker-cluster, path.leaflet-interactive[fill="#f77f00"]')
    expect(drawn.first).to_be_visible()
    expect(frame.locator('path.leaflet-interactive[fill="#d62828"]')).to_have_count(0)
    new_map = frame.get_attribute("data-map")
    assert page.evaluate(f"typeof window['{new_map}'].getZoom") == "function"
    assert page.evaluate("window.__csp") == []
    assert errors == []
    context.close()
