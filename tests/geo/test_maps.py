"""geo.maps: folium maps that load nothing from another host."""

from __future__ import annotations

import json
import re

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
