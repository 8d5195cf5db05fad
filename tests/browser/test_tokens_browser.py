"""API tokens in a real browser: made on the account's page, copied with the button (our own
script, under the CSP), used by a GIS client as a Bearer header, revoked after confirming."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser.test_csp import RECORD_VIOLATIONS

pytestmark = pytest.mark.browser


def test_make_copy_use_and_revoke_a_token(browser, live_server, live_db):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    try:
        page.goto(live_server + "/account/tokens/")
        page.fill("#username", "canbo.xa")
        page.fill("#password", "ba-dinh-binh-yen-2025")
        page.click("button[type=submit].primary")
        expect(page).to_have_url(live_server + "/account/tokens/")
        page.fill("#token-name", "QGIS trình duyệt")
        page.get_by_role("button", name="Tạo mã", exact=True).click()
        secret = page.locator("#token-secret").input_value()
        assert secret.startswith("antt_")
        copy = page.get_by_role("button", name="Chép mã")
        copy.click()
        expect(page.get_by_role("button", name="Đã chép mã")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == secret
        assert page.evaluate("window.__csp") == []
        # a GIS client with the token: the staff layer, in the officer's commune only
        bearer = {"Authorization": f"Bearer {secret}"}
        client = context.request
        answer = client.get(live_server + "/ogc/collections/teams/items?limit=1000", headers=bearer)
        assert answer.status == 200
        communes = {f["properties"]["commune_id"] for f in answer.json()["features"]}
        assert len(communes) == 1
        # revoked, after the confirmation page: refused
        row = page.locator("tr", has_text="QGIS trình duyệt")
        row.get_by_role("button", name="Thu hồi").click()
        expect(page.get_by_role("heading", name="Thu hồi mã truy cập")).to_be_visible()
        page.get_by_role("button", name="Thu hồi").click()
        expect(page.locator(".alert-success")).to_be_visible()
        assert client.get(live_server + "/ogc/", headers=bearer).status == 401
    finally:
        context.close()
        with live_db.begin() as c:
            c.execute(text("DELETE FROM api_tokens WHERE name = 'QGIS trình duyệt'"))
