"""axe-core (from npm, injected from node_modules: no CDN) finds no serious violation on the
pages citizens, planners and leaders use most, on a phone and on a desktop."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def violations(page) -> list[str]:
    """axe's serious and critical violations on the page as it is now, one line each."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "axe.run(document, {resultTypes: ['violations'], runOnly: {type: 'tag',"
        " values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    found = []
    for v in result["violations"]:
        if v["impact"] in SERIOUS:
            targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:3]]
            found.append(f"{v['id']} ({v['impact']}): {v['help']} at {targets}")
    return found


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
    expect(page).not_to_have_url(re.compile(r"/login"))


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def screen(request, browser):
    context = browser.new_context(viewport=request.param, locale="vi-VN")
    page = context.new_page()
    yield page
    context.close()


def test_look_up_and_its_card(screen, live_server):
    screen.goto(live_server + "/tra-cuu")
    expect(screen.locator(".leaflet-container")).to_be_visible()
    assert violations(screen) == []
    screen.goto(live_server + "/tra-cuu?q=t%E1%BB%95+d%C3%A2n+ph%E1%BB%91")
    screen.locator("#lookup-results a[href*='/tra-cuu/']").first.click()
    expect(screen.locator("#card")).to_be_visible()
    assert violations(screen) == []


def test_coverage_team_and_member_pages(screen, live_server):
    sign_in(screen, live_server, "quantri", "ha-noi-an-toan-2025")
    screen.goto(live_server + "/coverage/")
    expect(screen.locator(".leaflet-container")).to_be_visible()
    assert violations(screen) == []

    screen.goto(live_server + "/teams/")
    # a team's own link in its row (the list's headers are sort links to /teams/ too)
    screen.locator("tr[data-testid^=team-] a[href^='/teams/']").nth(3).click()
    expect(screen).to_have_url(re.compile(r"/teams/\d+$"))
    assert violations(screen) == []

    screen.goto(screen.url + "/members/new")
    expect(screen.locator("form.form")).to_be_visible()
    assert violations(screen) == []


def test_the_check_sees_a_serious_violation_when_there_is_one(page, live_server):
    page.goto(live_server + "/tra-cuu")
    page.evaluate("document.querySelector('main').append(document.createElement('button'))")
    assert any(line.startswith("button-name") for line in violations(page))
