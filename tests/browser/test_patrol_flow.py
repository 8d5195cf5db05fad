"""A team leader signs in, draws a route, saves it, plans a patrol on it, records it as done
with a violation, and sees it on the map."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

pytestmark = pytest.mark.browser


def village_point(live_db) -> tuple[float, float]:
    """A point inside the leader's first village (lon, lat)."""
    with live_db.connect() as connection:
        return connection.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM ("
                " SELECT ST_PointOnSurface(a.geom) AS p FROM accounts c"
                " JOIN team_areas t ON t.team_id = c.team_id AND t.valid_to IS NULL"
                " JOIN areas a ON a.id = t.area_id"
                " WHERE c.username = 'totruong' ORDER BY a.id LIMIT 1) s"
            )
        ).one()


def forget(live_db, route_name: str) -> None:
    """Put the shared database back: the patrols and the route the test made."""
    with live_db.begin() as connection:
        ids = (
            "SELECT v.id FROM route_versions v"
            " JOIN patrol_routes r ON r.id = v.route_id WHERE r.name = :n"
        )
        connection.execute(
            text(f"DELETE FROM patrols WHERE route_version_id IN ({ids})"), {"n": route_name}
        )
        connection.execute(
            text("UPDATE patrol_routes SET current_version_id = NULL WHERE name = :n"),
            {"n": route_name},
        )
        connection.execute(
            text(f"DELETE FROM route_versions WHERE id IN ({ids})"), {"n": route_name}
        )
        connection.execute(text("DELETE FROM patrol_routes WHERE name = :n"), {"n": route_name})


def test_a_leader_draws_a_route_plans_records_and_sees_the_patrol(page, live_server, live_db):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    name = "Tuyến kiểm thử trình duyệt"
    lon, lat = village_point(live_db)
    try:
        page.goto(live_server + "/login")
        page.fill("#username", "totruong")
        page.fill("#password", "to-dan-pho-vung-manh")
        page.click("button[type=submit].primary")
        expect(page).to_have_url(live_server + "/patrols/")  # a leader lands on their week
        expect(page.locator(".todo")).to_contain_text("Tổ chưa có tuyến tuần tra")

        page.get_by_role("link", name="Vẽ tuyến mới").first.click()
        frame = page.locator("[data-map]")
        expect(frame).to_be_visible()
        map_name = frame.get_attribute("data-map")
        # the map's div is window[name] until folium's script makes the map of that name
        page.wait_for_function("n => window[n] && window[n].latLngToContainerPoint", arg=map_name)
        x, y = page.evaluate(
            "([name, lat, lon]) => { const p = window[name].latLngToContainerPoint([lat, lon]);"
            " return [p.x, p.y]; }",
            [map_name, lat, lon],
        )
        box = frame.bounding_box()
        x, y = box["x"] + x, box["y"] + y
        page.get_by_role("button", name="Vẽ đoạn").click()
        points = [(x - 25, y), (x + 5, y - 15), (x + 30, y)]
        for px, py in points:
            page.mouse.click(px, py)
        page.mouse.click(*points[-1])  # the last point again ends the segment
        expect(page.locator("#route-check")).to_contain_text("nằm trong địa bàn của tổ")
        page.fill("#name", name)
        page.get_by_role("button", name="Lưu tuyến").click()
        expect(page.locator("h1")).to_contain_text(name)

        page.get_by_role("link", name="Lên kế hoạch theo tuyến này").click()
        yesterday = date.today() - timedelta(days=1)
        page.fill("#day", yesterday.isoformat())
        page.fill("#start", "21:00")
        page.fill("#end", "23:30")
        page.locator("input[name=member_ids]").first.check()
        page.get_by_role("button", name="Lưu kế hoạch").click()
        expect(page.get_by_test_id("status")).to_have_text("Đã lên kế hoạch")

        page.get_by_role("link", name="Ghi kết quả").click()
        page.fill("#finding_traffic", "1")
        page.get_by_role("button", name="Lưu kết quả").click()
        expect(page.get_by_test_id("status")).to_have_text("Đã tuần tra")
        expect(page.locator(".facts")).to_contain_text("Vi phạm trật tự, an toàn giao thông: 1")
        expect(page.get_by_test_id("patrol-map").locator("path[stroke='#e63946']")).to_have_count(1)

        # the team's map on the leader's home shows the route with its patrol
        page.goto(live_server + "/patrols/")
        route = page.get_by_test_id("team-map").locator("path[stroke='#e63946']")
        expect(route).to_have_count(1)
        with live_db.connect() as connection:
            vlon, vlat = connection.execute(
                text(
                    "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointN(ST_GeometryN(v.geom, 1), 2) p"
                    " FROM route_versions v JOIN patrol_routes r ON r.id = v.route_id"
                    " WHERE r.name = :n) s"
                ),
                {"n": name},
            ).one()
        home_map = page.get_by_test_id("team-map")
        home_map.scroll_into_view_if_needed()
        home_name = home_map.locator(".folium-map").get_attribute("id")
        page.wait_for_function("n => window[n] && window[n].latLngToContainerPoint", arg=home_name)
        vx, vy = page.evaluate(
            "([name, lat, lon]) => { const p = window[name].latLngToContainerPoint([lat, lon]);"
            " return [p.x, p.y]; }",
            [home_name, vlat, vlon],
        )
        frame_box = home_map.bounding_box()
        page.mouse.move(frame_box["x"] + vx, frame_box["y"] + vy)  # on the route's middle point
        expect(page.locator(".leaflet-tooltip")).to_contain_text(f"{name}")
        expect(page.locator(".leaflet-tooltip")).to_contain_text("1 ca trong 30 ngày")
        assert errors == []
    finally:
        forget(live_db, name)
