"""On a phone-sized window, a citizen sends a tip with a photo by pinning it on the map, keeps the
receipt and checks its status; the commune's officer finds it in the queue, marks it valuable and
passes it to the police; the citizen's status page then says so."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

pytestmark = pytest.mark.browser

DESCRIPTION = "Hai người lạ mặt bẻ khóa xe máy trước cổng số 12 (kiểm thử trình duyệt)"


def jpeg_with_gps(path) -> None:
    """A phone photo: a JPEG whose EXIF holds a GPS position and the camera model."""
    from PIL import Image

    image = Image.new("RGB", (1200, 900), (40, 90, 160))
    exif = Image.Exif()
    exif[0x0110] = "Kiem thu Camera 9"  # model
    exif[0x8825] = {1: "N", 2: (21.0, 2.0, 3.0), 3: "E", 4: (105.0, 50.0, 1.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    path.write_bytes(buffer.getvalue())


def forget(live_db) -> None:
    with live_db.begin() as connection:
        connection.execute(text("DELETE FROM incidents WHERE description = :d"), {"d": DESCRIPTION})
        connection.execute(text("DELETE FROM tip_limits"))


def test_a_citizen_sends_a_tip_and_an_officer_passes_it_on(browser, live_server, live_db, tmp_path):
    photo = tmp_path / "anh.jpg"
    jpeg_with_gps(photo)
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="vi-VN"
    )
    errors: list[str] = []
    forget(live_db)
    try:
        page = phone.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(live_server + "/bao-tin")
        expect(page.get_by_test_id("emergency")).to_contain_text("113")
        page.check("input[name=kind][value=theft]")
        # a tap at city zoom zooms in; a tap at street level drops the pin
        frame = page.get_by_test_id("tip-map")
        frame.scroll_into_view_if_needed()
        box = frame.bounding_box()
        # Ba Đình's middle, where the demo's first commune lies on the city map
        with live_db.connect() as connection:
            lon, lat = connection.execute(
                text(
                    "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(v.geom) p"
                    " FROM areas v JOIN areas c ON c.id = v.parent_id"
                    " WHERE c.name = 'Phường Ba Đình' AND v.level = 'village'"
                    " AND v.valid_to IS NULL ORDER BY v.id LIMIT 1) s"
                )
            ).one()
        map_name = frame.get_attribute("data-map")
        page.evaluate(f"() => window['{map_name}'].setView([{lat}, {lon}], 13, {{animate: false}})")
        page.wait_for_timeout(300)
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function(f"() => window['{map_name}'].getZoom() === 17")
        assert page.input_value("#tip-lat") == ""  # the zooming tap placed nothing
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        expect(page.get_by_test_id("where-placed")).to_contain_text("Phường Ba Đình")
        assert page.input_value("#tip-lat") != ""
        page.fill("#description", DESCRIPTION)
        page.set_input_files("#photo", str(photo))
        page.click("button.tip-send")
        receipt = page.get_by_test_id("receipt").locator(".receipt-code")
        expect(receipt).to_be_visible()
        code = receipt.inner_text().strip()
        expect(page.get_by_test_id("status")).to_contain_text("Mới nhận")

        officer = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
        desk = officer.new_page()
        desk.on("pageerror", lambda e: errors.append(str(e)))
        desk.goto(live_server + "/login")
        desk.fill("#username", "canbo.xa")
        desk.fill("#password", "ba-dinh-binh-yen-2025")
        desk.click("button[type=submit].primary")
        desk.goto(live_server + "/incidents/")
        desk.get_by_text(DESCRIPTION[:40]).first.wait_for()
        row = desk.locator("tr", has_text=DESCRIPTION[:40]).first
        row.locator("a").first.click()
        expect(desk.get_by_test_id("description")).to_have_text(DESCRIPTION)
        # the photo is served re-encoded: a JPEG without the camera's model or GPS
        src = desk.locator(".incident-photo img").get_attribute("src")
        served = desk.request.get(live_server + src).body()
        assert served[:3] == b"\xff\xd8\xff" and b"Kiem thu" not in served and b"Exif" not in served
        for action in ("check", "valuable"):
            desk.click(f"button[data-action={action}]")
            expect(desk.locator(f"button[data-action={action}]")).to_have_count(0)
        desk.fill("#case_ref", "CAX-2026-0042")
        desk.click("button[data-action=pass]")
        expect(desk.get_by_test_id("case-ref")).to_have_text("CAX-2026-0042")
        expect(desk.locator("#history")).to_contain_text("canbo.xa")
        officer.close()

        page.goto(live_server + "/bao-tin/theo-doi")
        page.fill("#ma", code.lower())
        page.get_by_role("button", name="Xem tình trạng").click()
        expect(page.get_by_test_id("status")).to_contain_text("Đã chuyển công an")
        assert errors == []
    finally:
        phone.close()
        forget(live_db)
