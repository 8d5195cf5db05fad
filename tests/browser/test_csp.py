"""The Content-Security-Policy holds in a real browser: no violation, and the maps still draw."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_area_browser import sign_in

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_map_and_form_pages_raise_no_csp_violation(page, live_server):
    console = []
    page.on("console", lambda m: console.append(m.text))
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, live_server)

    page.locator("summary a", has_text="Phường Ba Đình").click()
    expect(page.locator("path.leaflet-interactive").first).to_be_visible()
    drawn = page.locator("path.leaflet-interactive").count()
    assert drawn > 40  # the ward's outline and its residential groups
    assert page.evaluate("window.__csp") == []

    # HTMX at work under the policy: the history fragment and a form with a dependent select
    page.goto(live_server + "/accounts/")
    page.locator("a", has_text="totruong").click()
    page.select_option("#e-commune_id", label="Phường Ngọc Hà")
    expect(page.locator("#e-team_id option", has_text="Tổ dân phố số 1").first).to_be_attached()
    assert page.evaluate("window.__csp") == []
    assert not [m for m in console if "Content Security Policy" in m or "Refused to" in m]


def test_an_inline_script_without_the_nonce_is_blocked(page, live_server):
    """The policy is live, not decorative: a script injected without the nonce does not run."""
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, live_server)
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = true'; document.body.appendChild(s); }"
    )
    assert page.evaluate("window.__ran === true") is False
    assert any(v.startswith("script-src") for v in page.evaluate("window.__csp"))
