"""Browser tests: Playwright in Debian's Chromium, against the live server (tests/conftest.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from tests.conftest import database_url_for

CHROMIUM = "/usr/bin/chromium"
# a phone's context (390×844, touch), as citizens use the portal
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "vi-VN",
}

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def live_db(live_server):
    """The live server's database, for a test that plants data in it (and puts it back)."""
    engine = create_engine(database_url_for("antt_portal_e2e"))
    yield engine
    engine.dispose()
