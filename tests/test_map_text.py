"""Names on every map of the portal reach the browser as text, and every script carries the nonce.

A village named with markup (and its team likewise) is shown on each page that draws it: the
area pages, coverage, the boundary editor, the look-up card and an upload's dry run. Each map
hands Leaflet the name escaped once (geo.maps.text), and the page runs no script of its own
without the response's nonce, since 'strict-dynamic' ignores 'self'.
"""

from __future__ import annotations

import html
import json
import re

import pytest
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import select

from portal.models import Area, Team, TeamArea
from tests.test_boundaries_web import upload

# What the attack stored: our own htmx in an iframe posting as the admin, and an image's handler.
# Both fit the 200 characters of a name.
VILLAGE_NAME = (
    "<iframe srcdoc=\"<script src='/vendor/htmx.org/dist/htmx.min.js'></script>"
    "<p hx-post='/accounts/1/active' hx-trigger='load'>\"></iframe>"
    "<img src=x onerror=\"fetch('/accounts/1/active')\">"
)
TEAM_NAME = "Tổ 1 & 2 <b>in đậm</b> <img src=x onerror=\"fetch('/accounts/1/active')\">"
RAW = ("<iframe", "<img", "<b>", "<script src='/vendor")
# what a map hands to the tooltip's innerHTML: escaped once, so it reads as the name
ESCAPED = html.escape(VILLAGE_NAME)


def script_tags(page: str) -> list[str]:
    """The attributes of every <script> that runs (JSON data blocks do not)."""
    tags = re.findall(r"<script\b([^>]*)>", page)
    return [t for t in tags if 'type="application/json"' not in t]


def map_data(page: str) -> list[dict]:
    """The GeoJSON each folium layer of the page hands to Leaflet."""
    return [json.loads(m) for m in re.findall(r"_add\((\{.*\})\);", page)]


def shown(page: str) -> set[str]:
    """Every text property the page's maps carry."""
    return {
        value
        for layer in map_data(page)
        for feature in layer["features"]
        for value in feature["properties"].values()
        if isinstance(value, str)
    }


@pytest.fixture
def hostile(demo):
    """Village 00004-002 of Phường Ba Đình and its team, renamed to the attack's markup."""
    village = demo.scalar(select(Area).where(Area.code == "00004-002"))
    village.name = VILLAGE_NAME
    team = demo.scalar(
        select(Team)
        .join(TeamArea, TeamArea.team_id == Team.id)
        .where(TeamArea.area_id == village.id)
    )
    team.name = TEAM_NAME
    demo.commit()  # into the test's transaction, rolled back after it; requests see it
    neighbour = demo.scalar(select(Area).where(Area.code == "00004-001"))
    return {"village": village, "commune_id": village.parent_id, "neighbour": neighbour}


def map_pages(hostile) -> dict[str, str]:
    village, neighbour, commune_id = hostile["village"], hostile["neighbour"], hostile["commune_id"]
    return {
        "commune's area page": f"/areas/{commune_id}",
        "village's area page": f"/areas/{village.id}",
        "commune's coverage": f"/coverage/{commune_id}",
        "neighbour's boundary editor": f"/boundaries/villages/{neighbour.id}/edit",
        "neighbour's look-up card": f"/tra-cuu/{neighbour.id}",
        "village's look-up card": f"/tra-cuu/{village.id}",
    }


def assert_safe(page: str, nonce: str) -> None:
    for raw in RAW:
        assert raw not in page
    scripts = script_tags(page)
    assert scripts
    assert all(f'nonce="{nonce}"' in attrs for attrs in scripts), scripts


def nonce_of(response) -> str:
    return re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)


def test_every_map_shows_the_names_escaped_once_and_every_script_has_the_nonce(admin, hostile):
    for what, url in map_pages(hostile).items():
        response = admin.get(url)
        assert response.status_code == 200, what
        page = response.get_data(as_text=True)
        assert_safe(page, nonce_of(response))
        texts = shown(page)
        if what != "village's look-up card":  # the card draws its own area from data, not a layer
            assert ESCAPED in texts, what
        assert not any("<" in t for t in texts), what


def test_an_uploaded_name_is_escaped_on_the_dry_run_map(admin, hostile):
    neighbour = hostile["neighbour"]
    feature = {
        "type": "Feature",
        "properties": {"code": neighbour.code, "name": VILLAGE_NAME},
        "geometry": shapely.geometry.mapping(to_shape(neighbour.geom)),
    }
    data = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    response = upload(admin, data, "hostile.geojson", commune_id=hostile["commune_id"])
    assert response.status_code == 303
    page_response = admin.get(response.headers["Location"])
    page = page_response.get_data(as_text=True)
    assert_safe(page, nonce_of(page_response))
    assert VILLAGE_NAME not in page and ESCAPED not in shown(page)  # the map fetches its features
    # the features come by view, each label escaped once as map text
    minx, miny, maxx, maxy = to_shape(neighbour.geom).bounds
    features = admin.get(
        response.headers["Location"] + f"/features.geojson?bbox={minx},{miny},{maxx},{maxy}"
    ).get_json()["features"]
    labels = [f["properties"]["label"] for f in features]
    assert any(ESCAPED in label for label in labels)
    assert not any("<" in label for label in labels)


def test_the_policy_allows_only_scripts_with_the_nonce_and_no_frames(admin, hostile):
    for url in ("/tra-cuu", f"/areas/{hostile['commune_id']}", "/areas/999999999"):
        response = admin.get(url)
        csp = dict(
            part.strip().split(" ", 1)
            for part in response.headers["Content-Security-Policy"].split(";")
        )
        script_src = csp["script-src"].split()
        assert "'strict-dynamic'" in script_src
        assert any(s.startswith("'nonce-") for s in script_src)
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        for directive in ("frame-src", "child-src", "worker-src", "object-src", "base-uri"):
            assert csp[directive] == "'none'", (url, directive)
        assert csp["frame-ancestors"] == "'none'"
        page = response.get_data(as_text=True)
        assert_safe(page, nonce_of(response))
        config = json.loads(re.search(r"name=\"htmx-config\" content='([^']+)'", page).group(1))
        # htmx holds the nonce, so a <script> it re-created from a fragment would run
        assert config["allowScriptTags"] is False and config["allowEval"] is False


# Jinja in a name: folium used to compile each layer's output as a template, so this ran on
# the server (template injection); it must reach the page as the text it is
JINJA_NAME = "Tổ {{ 7*7 }} {% for x in range(3) %}X{% endfor %} {{ cycler.__init__.__globals__ }}"


def test_a_name_holding_jinja_is_shown_as_text_on_every_map(admin, demo):
    village = demo.scalar(select(Area).where(Area.code == "00004-002"))
    village.name = JINJA_NAME
    demo.commit()
    neighbour = demo.scalar(select(Area).where(Area.code == "00004-001"))
    pages = {
        "commune's area page": f"/areas/{village.parent_id}",
        "commune's coverage": f"/coverage/{village.parent_id}",
        "neighbour's look-up card": f"/tra-cuu/{neighbour.id}",
    }
    for what, url in pages.items():
        page = admin.get(url).get_data(as_text=True)
        assert html.escape(JINJA_NAME) in shown(page), what
        assert "Tổ 49" not in page and "XXX" not in page and "__builtins__" not in page, what


def test_the_zoom_buttons_are_titled_in_the_readers_language(client, demo):
    vietnamese = client.get("/tra-cuu").get_data(as_text=True)
    assert "L.control.zoom({zoomInTitle" in vietnamese
    assert '["Phóng to","Thu nhỏ","Đóng"]' in vietnamese.replace(", ", ",")
    with client.session_transaction() as session:
        session["lang"] = "en"
    english = client.get("/tra-cuu").get_data(as_text=True)
    assert '["Zoom in","Zoom out","Close"]' in english.replace(", ", ",")
    assert 'zoomControl": true' not in english  # Leaflet's own, English-only buttons are off
