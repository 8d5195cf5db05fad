"""geo.maps: folium maps that load nothing from another host."""

from __future__ import annotations

import copy
import html
import json
import re

import folium
import pytest
import shapely

from geo import maps

ASSETS = maps.Assets(
    leaflet_js="/vendor/leaflet/dist/leaflet.js", leaflet_css="/vendor/leaflet/dist/leaflet.css"
)
SQUARE = shapely.geometry.mapping(shapely.box(105.80, 21.00, 105.81, 21.01))


def build(tiles=None):
    m = maps.new_map(ASSETS, tiles, (105.80, 21.00, 105.81, 21.01))
    maps.add_outline(
        m, {"type": "Feature", "geometry": SQUARE, "properties": {"name": "Xã A"}}, "Xã A"
    )
    maps.add_children(
        m,
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": SQUARE, "properties": {"name": "Thôn Đông"}}
            ],
        },
        "Thôn",
        ["name"],
    )
    return m


def test_parts_link_only_to_our_own_leaflet():
    parts = maps.render_parts(build(), own_prefixes=("/vendor/",))
    assert parts.js == [ASSETS.leaflet_js]
    assert parts.css == [ASSETS.leaflet_css]
    assert "L.map(" in parts.script
    assert json.dumps("Thôn Đông") in parts.script  # the GeoJSON is inlined, JSON-escaped
    everything = parts.html + parts.script
    assert not re.search(r"https?://", everything)


def test_no_tile_layer_by_default_and_configured_tiles_when_given():
    assert "L.tileLayer" not in maps.render_parts(build(), ("/vendor/",)).script
    tiles = maps.Tiles("/tiles/{z}/{x}/{y}.png", "Bản đồ nội bộ")
    script = maps.render_parts(build(tiles), ("/vendor/",)).script
    assert "L.tileLayer" in script
    assert "/tiles/{z}/{x}/{y}.png" in script


def test_a_foreign_asset_is_refused():
    m = build()
    m.default_js = [("leaflet", "https://cdn.example.org/leaflet.js")]
    with pytest.raises(ValueError, match=r"cdn\.example\.org"):
        maps.render_parts(m, own_prefixes=("/vendor/",))


def test_map_is_fitted_to_the_bounds():
    script = maps.render_parts(build(), ("/vendor/",)).script
    assert "fitBounds" in script
    assert "[[21.0, 105.8], [21.01, 105.81]]" in script


# Map text: what folium and Leaflet put in as HTML arrives escaped once, so it reads literally.
PAYLOAD = "<img src=x onerror=alert(1)>"
IFRAME = "<iframe srcdoc=\"<script src='/vendor/htmx.org/dist/htmx.min.js'></script>\"></iframe>"


def _collection(**properties) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": SQUARE, "properties": properties}],
    }


def _layers(script: str) -> list[dict]:
    """The GeoJSON each layer of a rendered map hands to Leaflet, decoded from the script."""
    return [json.loads(m) for m in re.findall(r"_add\((\{.*\})\);", script)]


def hostile_map():
    """A map with the payload everywhere a map shows text; and the dicts it was given."""
    m = maps.new_map(ASSETS, None, (105.80, 21.00, 105.81, 21.01))
    outline = {"type": "Feature", "geometry": SQUARE, "properties": {"name": PAYLOAD}}
    children = _collection(name=PAYLOAD, note=IFRAME)
    statuses = _collection(status="error", label=PAYLOAD, note=PAYLOAD, people=120)
    given = copy.deepcopy([outline, children, statuses])
    maps.add_outline(m, outline, PAYLOAD)
    maps.add_children(m, children, IFRAME, ["name"], ["note"])
    maps.add_status_layer(m, statuses, PAYLOAD, maps.STATUS_STYLES, popup_fields=["note"])
    folium.LayerControl().add_to(m)  # Leaflet's control sets each layer's name as innerHTML
    return m, given, [outline, children, statuses]


def test_text_escapes_once_for_html():
    assert maps.text("Tổ 1 & 2") == "Tổ 1 &amp; 2"
    assert maps.text(PAYLOAD) == "&lt;img src=x onerror=alert(1)&gt;"
    assert maps.text("Thôn 'Đông' \"A\"") == "Thôn &#x27;Đông&#x27; &quot;A&quot;"
    assert maps.text({"a": "<b>"}) == "{&quot;a&quot;: &quot;&lt;b&gt;&quot;}"
    assert html.unescape(maps.text(IFRAME)) == IFRAME  # the browser shows it back as written


def test_no_tooltip_popup_or_layer_name_reaches_the_map_as_html():
    m, given, passed = hostile_map()
    parts = maps.render_parts(m, ("/vendor/",))
    assert passed == given  # escaped copies: the caller's features are left as they were
    everything = parts.html + parts.script
    for tag in ("<img", "<iframe", "<script src="):
        assert tag not in everything
    layers = _layers(parts.script)
    assert len(layers) == 3
    for layer in layers:
        for feature in layer["features"]:
            for key, value in feature["properties"].items():
                if key not in ("status", "people"):
                    # the JavaScript string folium puts into innerHTML: escaped, exactly once
                    assert value in (maps.text(PAYLOAD), maps.text(IFRAME)), (key, value)
                    assert "<" not in value and ">" not in value
    overlays = re.search(r"overlays\s*:\s*\{(.*?)\}", parts.script, re.S).group(1)
    names = {json.loads(k) for k in re.findall(r'^\s*("(?:[^"\\]|\\.)*")\s*:', overlays, re.M)}
    assert names == {maps.text(PAYLOAD), maps.text(IFRAME)}
    # what is not text stays as it was: the status picks the colour, numbers stay numbers
    assert maps.STATUS_STYLES["error"]["fillColor"] in parts.script
    assert layers[2]["features"][0]["properties"]["people"] == 120


def test_tooltips_and_popups_are_still_built_as_html():
    """Why the text is escaped at all: folium's tooltip and popup set innerHTML. Were that ever to
    become textContent, escaped names would show their entities and this test says so."""
    script = maps.render_parts(hostile_map()[0], ("/vendor/",)).script
    assert script.count(".bindTooltip(") == 2 and script.count(".bindPopup(") == 2
    assert script.count("div.innerHTML=table") == 4


# Points: clustered markers, a heat map and counts, with our own plugin scripts only.


def _point(**more) -> maps.ClusterPoint:
    fields = {"lat": 21.005, "lon": 105.805, "fill": "#d62828", "style": "received"}
    return maps.ClusterPoint(**{**fields, "tooltip": "Trộm cắp · Mới nhận", **more})


def _rows(script: str, start: str) -> list:
    match = re.search(re.escape(start) + r"\s*(\[.*?\]\])\s*[;,]", script, re.S)
    assert match, start
    return json.loads(match.group(1))


def _texts(script: str) -> list[str]:
    return json.loads(re.search(r"var texts = (\[.*?\]);", script).group(1))


def test_clusters_draw_every_point_from_one_array_and_load_nothing_foreign():
    m = maps.new_map(ASSETS, None, (105.80, 21.00, 105.81, 21.01))
    points = [
        _point(lat=21.0 + i / 1000, lines=("Trộm cắp", f"{i}/11"), link=(f"/incidents/{i}", "Xem"))
        for i in range(25)
    ]
    maps.add_clusters(m, points, "Sự việc", {"received": {"color": "#ffffff", "weight": 3}})
    parts = maps.render_parts(m, own_prefixes=("/vendor/",))
    assert parts.js == [ASSETS.leaflet_js]  # the plugin's CDN links are gone: the caller adds ours
    assert parts.css == [ASSETS.leaflet_css]
    assert not re.search(r"https?://", parts.html + parts.script)
    assert "L.markerClusterGroup" in parts.script
    rows = _rows(parts.script, "var data =")
    assert len(rows) == 25
    assert [r[0] for r in rows] == [round(21.0 + i / 1000, 6) for i in range(25)]
    texts = _texts(parts.script)
    assert texts.count("Trộm cắp") == 1  # each text once, pointed at by every marker
    assert [texts[i] for i in rows[3][5]] == ["Trộm cắp", "3/11"]
    assert rows[3][6] == "/incidents/3" and texts[rows[3][7]] == "Xem"
    assert '"received": {"color": "#ffffff", "weight": 3}' in parts.script


def test_cluster_text_is_escaped_and_links_stay_on_our_site():
    m = maps.new_map(ASSETS, None, None)
    hostile = _point(tooltip=PAYLOAD, lines=(PAYLOAD, IFRAME), link=('/x"><b>', PAYLOAD))
    maps.add_clusters(m, [hostile], PAYLOAD, {})
    script = maps.render_parts(m, ("/vendor/",)).script
    (row,) = _rows(script, "var data =")
    texts = _texts(script)
    assert texts[row[4]] == maps.text(PAYLOAD)
    assert [texts[i] for i in row[5]] == [maps.text(PAYLOAD), maps.text(IFRAME)]
    assert row[6] == maps.text('/x"><b>') and texts[row[7]] == maps.text(PAYLOAD)
    assert "<img" not in script and "<iframe" not in script and "<b>" not in script
    for href in ("javascript:alert(1)", "https://evil.example/x", "//evil.example/x"):
        with pytest.raises(ValueError, match="path on our site"):
            maps.add_clusters(m, [_point(link=(href, "x"))], "x", {})


def test_heat_weights_are_kept_and_full_colour_is_the_largest():
    m = maps.new_map(ASSETS, None, (105.80, 21.00, 105.81, 21.01))
    cells = [(21.001, 105.801, 3), (21.003, 105.805, 12), (21.009, 105.809, 1)]
    maps.add_heat(m, cells, PAYLOAD)
    parts = maps.render_parts(m, ("/vendor/",))
    assert parts.js == [ASSETS.leaflet_js]
    assert not re.search(r"https?://", parts.script)
    data = _rows(parts.script, "var rows =")
    assert sum(w for _lat, _lon, w in data) == 16
    assert '"max": 12.0' in parts.script
    assert maps.add_heat(maps.new_map(ASSETS, None, None), [], "x") is None


def test_heat_cells_on_a_grid_travel_as_whole_numbers():
    m = maps.new_map(ASSETS, None, (105.80, 21.00, 105.81, 21.01))
    maps.add_heat(m, [(10500, 52900, 3), (10501, 52902, 9)], "x", grid=0.002)
    script = maps.render_parts(m, ("/vendor/",)).script
    assert _rows(script, "var rows =") == [[10500, 52900, 3], [10501, 52902, 9]]
    assert "var grid = 0.002;" in script and '"max": 9.0' in script


def test_counts_grow_with_the_count_and_their_labels_are_escaped():
    assert maps.count_radius(1, 100) < maps.count_radius(25, 100) < maps.count_radius(100, 100)
    assert maps.count_radius(100, 100) == 900.0
    assert maps.count_radius(400, 100) == 900.0  # never past the largest
    assert maps.count_radius(1, 2) < 300  # a quiet month: one item stays a small circle
    m = maps.new_map(ASSETS, None, None)
    maps.add_counts(m, [(21.0, 105.8, 4, PAYLOAD), (21.01, 105.81, 1, "Thôn Đông: 1")])
    script = maps.render_parts(m, ("/vendor/",)).script
    rows = _rows(script, "var rows =")
    assert [r[3] for r in rows] == [maps.text(PAYLOAD), "Thôn Đông: 1"]
    assert "Thôn Đông" in script  # kept as UTF-8: a city of village names stays small
    assert rows[0][2] > rows[1][2]
    assert "<img" not in script


def test_faint_outlines_escape_their_tooltips():
    m = maps.new_map(ASSETS, None, None)
    maps.add_faint(m, _collection(label=PAYLOAD), "Xã", ["label"])
    script = maps.render_parts(m, ("/vendor/",)).script
    (layer,) = _layers(script)
    assert layer["features"][0]["properties"]["label"] == maps.text(PAYLOAD)
    assert "<img" not in script


JINJA = "{{ range(7)|sum * 1000003 }}{% for x in range(3) %}X{% endfor %}"


def test_jinja_in_map_text_is_never_run():
    """folium wraps each layer's rendered output in branca's Element, which compiled it as a
    template: a name with "{{ 7*7 }}" came out as 49 (template injection on the server)."""
    m = maps.new_map(ASSETS, None, (105.80, 21.00, 105.81, 21.01))
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [105.805, 21.005]},
        "properties": {"name": JINJA},
    }
    maps.add_children(m, {"type": "FeatureCollection", "features": [feature]}, JINJA, ["name"])
    maps.add_counts(m, [(21.005, 105.805, 3, JINJA)])
    parts = maps.render_parts(m, ("/vendor/",))
    page = parts.html + parts.script
    assert "21000063" not in page and "XXX" not in page  # what the Jinja would have made
    assert page.count(maps.text(JINJA)) >= 2


def test_vector_tiles_carry_our_texts_escaped_and_come_from_our_site_only():
    m = build()
    maps.add_vector_tiles(
        m,
        "/tiles/coverage/{z}/{x}/{y}.pbf",
        "coverage",
        {"ok": maps.STATUS_STYLES["ok"]},
        "{name} <b>",
        {"ok": "đủ <script>"},
        [
            maps.TileLink("/areas/{id}", "Mở <i>"),
            maps.TileLink("/teams/new?village={id}&x=1", "Lập"),
        ],
    )
    parts = maps.render_parts(m, own_prefixes=("/vendor/", "/static/"))
    script = parts.script
    assert "L.vectorGrid.protobuf(config.url" in script
    config = json.loads(re.search(r"var config = (\{.*?\});\n", script).group(1))
    assert config["label"] == "{name} &lt;b&gt;" and config["states"] == {"ok": "đủ &lt;script&gt;"}
    assert [link["href"] for link in config["links"]] == [
        "/areas/{id}",
        "/teams/new?village={id}&amp;x=1",
    ]
    assert "<b>" not in script and "<script>" not in script
    ours = script[script.index("var config =") : script.index("return layer.addTo")]
    assert "innerHTML" not in ours  # what a tile carries is set as text only
    for url in ("https://tiles.example.com/{z}/{x}/{y}.pbf", "//cdn.example.com/t.pbf"):
        with pytest.raises(ValueError):
            maps.add_vector_tiles(build(), url, "coverage", {}, "{name}", {})
