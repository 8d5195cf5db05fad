"""The review's charts on a phone: inside the screen, text large enough to read, named for a
screen reader (axe), and kept whole on paper."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tests.browser.test_a11y import AXE, SERIOUS, sign_in
from tests.conftest import DEMO_PASSWORDS

pytestmark = pytest.mark.browser


def test_review_charts_fit_a_phone_and_print_whole(browser, live_server):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        sign_in(page, live_server, "quantri", DEMO_PASSWORDS["quantri"])
        page.goto(live_server + "/review/")
        charts = page.locator("figure.chart svg[role=img]")
        expect(charts.first).to_be_visible()
        assert charts.count() >= 4  # three by month, one by commune
        width = page.viewport_size["width"]
        # every drawing inside the screen, every text inside its chart's card, none under 12 px
        boxes = page.evaluate(
            """() => [...document.querySelectorAll('figure.chart svg, figure.chart svg text')]
                .map(e => { const r = e.getBoundingClientRect();
                  const card = e.closest('figure').getBoundingClientRect();
                  const size = parseFloat(getComputedStyle(e).fontSize);
                  return [e.tagName, r.left, r.right, card.left, card.right, size]; })"""
        )
        drawings = [b for b in boxes if b[0] == "svg"]
        texts = [b for b in boxes if b[0] == "text"]
        assert drawings and texts
        assert [b for b in drawings if b[1] < 0 or b[2] > width] == []
        assert [b for b in texts if b[1] < b[3] or b[2] > b[4]] == []
        assert [b for b in texts if b[5] < 12] == []
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "axe.run({include: [['figure.chart']]}, {resultTypes: ['violations'],"
            " runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})"
        )
        assert [v["id"] for v in result["violations"] if v["impact"] in SERIOUS] == []
        page.emulate_media(media="print")
        kept = page.evaluate(
            "[...document.querySelectorAll('figure.chart')]"
            ".map(e => getComputedStyle(e).breakInside)"
        )
        assert set(kept) == {"avoid"}
    finally:
        context.close()
