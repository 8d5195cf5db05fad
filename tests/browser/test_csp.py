"""The Content-Security-Policy holds in a real browser: no violation, and the maps still draw."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser.test_area_browser import sign_in
from tests.test_map_text import VILLAGE_NAME

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
    """The policy is live, not decorative: a script in markup without the nonce does not run.

    The markup is an iframe's srcdoc, which keeps the page's policy. (A script element made by a
    running script would run: 'strict-dynamic' trusts what trusted scripts add, which is why
    htmx is told not to re-create scripts from fragments.)"""
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, live_server)
    page.evaluate(
        "() => { const f = document.createElement('iframe');"
        " f.srcdoc = '<script>parent.__ran = true</script>'; document.body.appendChild(f); }"
    )
    page.wait_for_timeout(500)
    assert page.evaluate("window.__ran === true") is False
    violations = [v for frame in page.frames for v in frame.evaluate("window.__csp || []")]
    assert any(v.startswith("script-src") for v in violations), violations


# scripts of the page without the nonce (the DOM hides the attribute, the property keeps it)
UNTAGGED_SCRIPTS = """
[...document.scripts].filter(s => s.type !== 'application/json' && !s.nonce)
    .map(s => s.src || s.textContent.slice(0, 60))
"""


def upload_in_browser(page, live_server, commune_id: int, features: list[dict]) -> None:
    """Upload villages of a commune as GeoJSON through the form, landing on the dry run."""
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    page.goto(f"{live_server}/boundaries/")
    page.set_input_files(
        "#file", {"name": "villages.geojson", "mimeType": "application/geo+json", "buffer": body}
    )
    page.select_option("#commune_id", str(commune_id))
    page.get_by_role("button", name="Kiểm tra tệp").click()
    expect(page.locator("[data-testid=batch-map]")).to_be_visible()


def test_every_map_page_raises_no_csp_violation(page, live_server, live_db):
    """Every map page under 'strict-dynamic': each script of ours carries the nonce, or the
    browser refuses it and says so here."""
    with live_db.connect() as c:
        commune, village, code, geometry = c.execute(
            text(
                "SELECT parent_id, id, code, ST_AsGeoJSON(geom) FROM areas WHERE code = '00004-001'"
            )
        ).one()
    console = []
    page.on("console", lambda m: console.append(m.text))
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, live_server)
    pages = [
        f"/areas/{commune}",
        f"/areas/{village}",
        "/coverage/",
        f"/coverage/{commune}",
        f"/boundaries/villages/{village}/edit",
        "/tra-cuu",
        f"/tra-cuu/{village}",
        "/tra-cuu/diem?lat=21.03673&lon=105.83464",
    ]
    for path in pages:
        page.goto(live_server + path)
        expect(page.locator(".leaflet-container")).to_be_visible()
        expect(page.locator("path.leaflet-interactive")).not_to_have_count(0)
        assert page.evaluate("typeof htmx") == "object", path  # the vendor script ran
        assert page.evaluate(UNTAGGED_SCRIPTS) == [], path
        assert page.evaluate("window.__csp") == [], path
    feature = {
        "type": "Feature",
        "properties": {"code": code, "name": "Tổ dân phố số 1"},
        "geometry": json.loads(geometry),
    }
    upload_in_browser(page, live_server, commune, [feature])
    expect(page.locator("path.leaflet-interactive")).not_to_have_count(0)
    assert page.evaluate(UNTAGGED_SCRIPTS) == []
    assert page.evaluate("window.__csp") == []
    page.get_by_role("button", name="Hủy lần tải lên này").click()
    assert not [m for m in console if "Content Security Policy" in m or "Refused to" in m]


def test_markup_that_slipped_into_a_page_cannot_run_our_own_htmx(page, live_server):
    """Were a name ever put into a page as HTML, the policy still stops the attack: the iframe's
    <script src="/vendor/htmx.org/…"> has no nonce, and 'strict-dynamic' ignores 'self'."""
    fired = []
    page.on("request", lambda r: "/accounts/" in r.url and fired.append(r.url))
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, live_server)
    page.evaluate(
        "markup => { const d = document.createElement('div'); d.innerHTML = markup;"
        " document.body.appendChild(d); }",
        VILLAGE_NAME,
    )
    page.wait_for_timeout(1000)
    assert fired == []
    assert page.evaluate("typeof window.htmx") == "object"  # the page's own htmx still runs
    violations = [v for frame in page.frames for v in frame.evaluate("window.__csp || []")]
    assert any(v.startswith("script-src-elem") for v in violations), violations


def test_the_tips_and_incident_pages_raise_no_csp_violation(page, live_server):
    page.add_init_script(RECORD_VIOLATIONS)
    for path in ("/bao-tin", "/bao-tin/theo-doi?ma=7K2M-9QXA"):
        page.goto(live_server + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == [], path
    expect(page.locator("h1")).to_be_visible()
    sign_in(page, live_server)
    for path in ("/incidents/", "/incidents/new", "/incidents/map?days=365"):
        page.goto(live_server + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == [], path
