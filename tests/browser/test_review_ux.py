"""The commune officer's review and its printable report on a phone: no serious accessibility
violation (the wide tables scroll in boxes the keyboard reaches), and the page is no wider
than the phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tests.browser.test_a11y import sign_in, violations

pytestmark = pytest.mark.browser


def test_the_review_and_its_report_on_a_phone(browser, live_server):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        sign_in(page, live_server, "canbo.xa", "ba-dinh-binh-yen-2025")
        for path in ("/review/", "/review/print"):
            page.goto(live_server + path)
            expect(page.locator("main")).to_be_visible()
            assert violations(page) == [], path
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
        # the table by team is wider than the phone: it scrolls in its own box
        page.goto(live_server + "/review/")
        box = page.locator("[data-table=units]").locator("xpath=..")
        assert box.evaluate("e => e.scrollWidth > e.clientWidth")
        box.focus()
        expect(box).to_be_focused()
    finally:
        context.close()
