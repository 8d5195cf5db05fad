"""The portal's maps: geo.maps configured with our own Leaflet and the configured tiles."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from flask import current_app, url_for

from geo import maps
from portal.assets import static_url, vendor_url
from portal.i18n import _, current_language

EXTRA_ASSETS = {
    # Leaflet-Geoman, for drawing and editing boundaries, from the npm registry
    "geoman": (
        "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.js",
        "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css",
    ),
    # Leaflet.markercluster and leaflet.heat, for the maps of incidents: (script, stylesheets…)
    "markercluster": (
        "leaflet.markercluster/dist/leaflet.markercluster.js",
        "leaflet.markercluster/dist/MarkerCluster.css",
        "leaflet.markercluster/dist/MarkerCluster.Default.css",
    ),
    "heat": ("leaflet.heat/dist/leaflet-heat.js",),
    # Leaflet.VectorGrid (with its protobuf readers bundled), for the villages' vector tiles
    "vectorgrid": ("leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",),
}


def new_map(bounds):
    config = current_app.config
    tiles = None
    if config["MAP_TILE_URL"]:
        tiles = maps.Tiles(config["MAP_TILE_URL"], config["MAP_TILE_ATTRIBUTION"])
    assets = maps.Assets(
        leaflet_js=vendor_url("leaflet/dist/leaflet.js"),
        leaflet_css=vendor_url("leaflet/dist/leaflet.css"),
    )
    m = maps.new_map(assets, tiles, tuple(bounds), (_("Phóng to"), _("Thu nhỏ"), _("Đóng")))
    if tiles is None:
        # our own OpenStreetMap street layer (a tile server draws its streets itself), with its
        # attribution: static/js/streets.js reads the URL from the map's options
        m.options["attributionControl"] = True
        m.options["streetsUrl"] = url_for("streets.features")
    return m


def render(m, extras: tuple[str, ...] = ()) -> maps.MapParts:
    """The map's parts for a template; `extras` adds our other map packages (e.g. "geoman")."""
    for name in extras:
        js, *stylesheets = EXTRA_ASSETS[name]
        m.add_js_link(name, vendor_url(js))
        for i, css in enumerate(stylesheets):
            m.add_css_link(f"{name}_css{i or ''}", vendor_url(css))
    if m.options.get("streetsUrl"):
        m.add_js_link("textpath", vendor_url("leaflet-textpath/leaflet.textpath.js"))
        m.add_js_link("streets", static_url("js/streets.js"))
    own = (url_for("vendor", filename=""), url_for("static", filename=""))
    return maps.render_parts(m, own_prefixes=own)


_ANY = 987654321  # stands for a value in a URL pattern while url_for builds it


def url_pattern(endpoint: str, placeholders: dict[str, str], **values) -> str:
    """A URL of ours with placeholders ("{id}", "{z}") where url_for would encode braces:
    `placeholders` maps each argument to its placeholder (e.g. {"area_id": "{id}"})."""
    url = url_for(endpoint, **{name: _ANY + i for i, name in enumerate(placeholders)}, **values)
    for i, placeholder in enumerate(placeholders.values()):
        url = url.replace(str(_ANY + i), placeholder, 1)
    return url


def tiles_url(layer: str, **args) -> str:
    """The URL pattern of a layer's vector tiles (portal.tiles), with its query arguments."""
    zxy = {"z": "{z}", "x": "{x}", "y": "{y}"}
    return url_pattern("tiles.tile", zxy, layer=layer, **args)


def tolerance(bounds) -> float:
    """About a pixel of a 1,500-pixel-wide map of these bounds: invisible, and keeps pages light."""
    return max(bounds[2] - bounds[0], bounds[3] - bounds[1]) / 1500


def geoman_lang() -> dict:
    """Leaflet-Geoman's drawing hints in the user's language (it ships no Vietnamese)."""
    return {
        "tooltips": {
            "firstVertex": _("Chạm để đặt điểm đầu"),
            "continueLine": _("Chạm để vẽ tiếp"),
            "finishLine": _("Chạm lại điểm cuối để kết thúc đoạn"),
            "finishPoly": _("Chạm điểm đầu để khép vùng"),
        }
    }


MAPS_KEPT = 32  # the city's maps, a few officers' and communes', in both languages
_MAPS: dict[tuple, maps.MapParts] = {}  # oldest first
_MAPS_LOCK = threading.Lock()


def kept(key: Hashable, draw: Callable[[], maps.MapParts]) -> maps.MapParts:
    """The same data draw the same map, and drawing it (folium) is most of a page's time: each
    worker keeps the last few maps, by everything they show (`key`), in the user's language."""
    key = (current_language(), current_app.config["MAP_TILE_URL"], key)
    with _MAPS_LOCK:
        drawn = _MAPS.pop(key, None)
    if drawn is None:
        drawn = draw()
    with _MAPS_LOCK:
        _MAPS[key] = drawn
        while len(_MAPS) > MAPS_KEPT:
            _MAPS.pop(next(iter(_MAPS)))
    return drawn


def forget_maps() -> None:
    """Drop every kept map (the tests' data reuse ids and times from one test to the next)."""
    with _MAPS_LOCK:
        _MAPS.clear()
