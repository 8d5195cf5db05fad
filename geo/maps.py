"""Folium maps, rendered into the parts our templates embed (header links, html, script).

Every script and stylesheet comes from our own server: folium's CDN defaults are replaced, and
render_parts() refuses a map that would still link to another host.
"""

from __future__ import annotations

from dataclasses import dataclass

import folium
import shapely
from branca.element import CssLink, JavascriptLink


@dataclass(frozen=True)
class Assets:
    """Where our own server serves Leaflet."""

    leaflet_js: str
    leaflet_css: str


@dataclass(frozen=True)
class Tiles:
    """An optional background tile layer; None draws the map on a plain background."""

    url: str
    attribution: str


@dataclass(frozen=True)
class MapParts:
    css: list[str]
    js: list[str]
    html: str
    script: str
    name: str = ""  # the map's JavaScript variable, for our own scripts that add to it


# Status colours shared by every map of the portal.
STYLE_OUTLINE = {"color": "#1d3557", "weight": 3, "fillOpacity": 0.03, "fill": True}
STYLE_CHILD = {"color": "#2a6f97", "weight": 1.2, "fillColor": "#89c2d9", "fillOpacity": 0.35}
STYLE_CHILD_HIGHLIGHT = {"weight": 3, "color": "#e63946", "fillOpacity": 0.55}
STYLE_POINT = {
    "radius": 8,
    "color": "#ffffff",
    "weight": 3,
    "fillColor": "#e63946",
    "fillOpacity": 1,
}


def new_map(assets: Assets, tiles: Tiles | None, bounds: tuple[float, float, float, float] | None):
    """A map with our own Leaflet and the given (or no) tiles, fitted to (minx,miny,maxx,maxy)."""
    m = folium.Map(
        location=None,
        tiles=None,
        zoom_control=True,
        zoomSnap=0.25,  # fit a commune snugly instead of at the next whole zoom level
        # Leaflet's own credit links to its website; with tiles, their attribution is required
        attributionControl=tiles is not None,
        control_scale=True,
        width="100%",
        height="100%",
    )
    m.default_js = [("leaflet", assets.leaflet_js)]
    m.default_css = [("leaflet_css", assets.leaflet_css)]
    if tiles:
        folium.TileLayer(tiles=tiles.url, attr=tiles.attribution or " ", name="tiles").add_to(m)
    if bounds:
        minx, miny, maxx, maxy = bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def add_outline(m: folium.Map, feature: dict, name: str) -> None:
    folium.GeoJson(feature, name=name, style_function=lambda _f: STYLE_OUTLINE).add_to(m)


def add_children(m: folium.Map, collection: dict, name: str, tooltip_fields: list[str]) -> None:
    """Child areas, each with a tooltip naming it."""
    if not collection.get("features"):
        return
    folium.GeoJson(
        collection,
        name=name,
        style_function=lambda _f: STYLE_CHILD,
        highlight_function=lambda _f: STYLE_CHILD_HIGHLIGHT,
        tooltip=folium.GeoJsonTooltip(fields=tooltip_fields, labels=False, sticky=True),
        zoom_on_click=False,
    ).add_to(m)


def render_parts(m: folium.Map, own_prefixes: tuple[str, ...]) -> MapParts:
    """Render the map into what a template embeds; every link must start with own_prefixes."""
    figure = m.get_root()
    figure.render()
    css, js = [], []
    for element in figure.header._children.values():
        if isinstance(element, JavascriptLink):
            js.append(element.url)
        elif isinstance(element, CssLink):
            css.append(element.url)
    foreign = [u for u in css + js if not u.startswith(own_prefixes)]
    if foreign:
        raise ValueError(f"map links to assets we do not serve: {foreign}")
    return MapParts(
        css=css, js=js, html=figure.html.render(), script=figure.script.render(), name=m.get_name()
    )


def display_shape(geom, tolerance: float) -> dict:
    """A shape for drawing: simplified below a pixel, with 6 decimals (about 10 cm)."""
    simple = geom.simplify(tolerance, preserve_topology=True) if tolerance else geom
    return shapely.geometry.mapping(shapely.set_precision(simple, 1e-6))


def add_status_layer(m: folium.Map, collection: dict, name: str, styles: dict[str, dict]) -> None:
    """Features coloured by their properties.status, with a tooltip naming them."""
    if not collection.get("features"):
        return
    folium.GeoJson(
        collection,
        name=name,
        style_function=lambda f: styles.get(f["properties"].get("status"), STYLE_CHILD),
        highlight_function=lambda _f: STYLE_CHILD_HIGHLIGHT,
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        zoom_on_click=False,
    ).add_to(m)


STATUS_STYLES = {
    "ok": {"color": "#2d6a4f", "weight": 1.2, "fillColor": "#95d5b2", "fillOpacity": 0.45},
    "unchanged": {"color": "#6c757d", "weight": 1, "fillColor": "#ced4da", "fillOpacity": 0.35},
    "warning": {"color": "#b5651d", "weight": 1.5, "fillColor": "#ffd166", "fillOpacity": 0.5},
    "error": {"color": "#9d0208", "weight": 2, "fillColor": "#e85d04", "fillOpacity": 0.55},
    "issue": {"color": "#5a189a", "weight": 2, "fillColor": "#c77dff", "fillOpacity": 0.6},
    "unmapped": {"color": "#212529", "weight": 1.5, "fillColor": "#212529", "fillOpacity": 0.55},
}
