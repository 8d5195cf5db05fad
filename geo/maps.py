"""Folium maps, rendered into the parts our templates embed (header links, html, script).

Every script and stylesheet comes from our own server: folium's CDN defaults are replaced, and
render_parts() refuses a map that would still link to another host.

Every text a map shows passes through text(): folium's tooltips and popups, and Leaflet's layer
control, put strings into the page as HTML, and names come from uploads and forms. The functions
that add layers escape the names and properties they are given, so no caller can put HTML on a map.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass

import branca.element
import folium
import folium.plugins
import shapely
from branca.element import CssLink, JavascriptLink
from folium.template import Template


class _Verbatim:
    """What branca's Element makes of a string it is given: that string, as it is.

    folium renders each layer's template, then wraps the OUTPUT in `Element(output)`, and
    branca compiles that string as a Jinja template and renders it again. Whatever a layer's
    output holds of a name from outside was therefore run as Jinja: a village called
    "{{ 7*7 }}" showed as 49, and Jinja outside a sandbox reaches Python's objects (template
    injection, from a boundary upload to the server). Every string folium and branca give
    Element is already rendered HTML or JavaScript, so it is kept verbatim; it also spares
    compiling a city map's 400 KB script as a template on every page (30 ms).
    """

    def __init__(self, source: str):
        self.source = source

    def render(self, *_args, **_kwargs) -> str:
        return self.source


# Element.__init__ (and __setstate__) look the name up when called; the class templates
# branca compiled at import are untouched
branca.element.Template = _Verbatim


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


class _ZoomControl(folium.MacroElement):
    """Leaflet's zoom buttons and popups' close button named in the reader's language (Leaflet's
    own are English: a screen reader on a Vietnamese page said "Zoom in", "Close popup"). The
    titles are map text, escaped by text() and read back as plain text, as the tiles' texts are."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            function plain(escaped) {
                var parsed = new DOMParser().parseFromString(escaped, "text/html");
                return parsed.documentElement.textContent;
            }
            var titles = {{ this.titles_json }};
            var map = {{ this._parent.get_name() }};
            // every popup's close button too (Leaflet's says "Close popup")
            map.on("popupopen", function (e) {
                var box = e.popup.getElement();
                var close = box && box.querySelector(".leaflet-popup-close-button");
                if (close) { close.setAttribute("aria-label", plain(titles[2])); }
            });
            return L.control.zoom({zoomInTitle: plain(titles[0]), zoomOutTitle: plain(titles[1])})
                .addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, zoom_in: str, zoom_out: str, close: str):
        super().__init__()
        self._name = "ZoomControl"
        titles = [text(zoom_in), text(zoom_out), text(close)]
        self.titles_json = json.dumps(titles, ensure_ascii=False)


def new_map(
    assets: Assets,
    tiles: Tiles | None,
    bounds: tuple[float, float, float, float] | None,
    titles: tuple[str, str, str] = ("Zoom in", "Zoom out", "Close"),
):
    """A map with our own Leaflet and the given (or no) tiles, fitted to (minx,miny,maxx,maxy),
    its zoom buttons and its popups' close button named by `titles`."""
    m = folium.Map(
        location=None,
        tiles=None,
        zoom_control=False,  # ours below, with titles in the reader's language
        zoomSnap=0.25,  # fit a commune snugly instead of at the next whole zoom level
        # Leaflet's own credit links to its website; with tiles, their attribution is required
        attributionControl=tiles is not None,
        control_scale=True,
        width="100%",
        height="100%",
    )
    m.default_js = [("leaflet", assets.leaflet_js)]
    m.default_css = [("leaflet_css", assets.leaflet_css)]
    m.add_child(_ZoomControl(*titles))
    if tiles:
        folium.TileLayer(tiles=tiles.url, attr=tiles.attribution or " ", name="tiles").add_to(m)
    if bounds:
        minx, miny, maxx, maxy = bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def text(value: object) -> str:
    """A value as HTML that shows it literally: the one escape every map text goes through.

    folium's GeoJsonTooltip and GeoJsonPopup build their table in JavaScript (a template string
    put into innerHTML), and Leaflet's layer control sets a layer's name as innerHTML; both take
    the string as HTML, so it is escaped here exactly once and reads on screen as it was stored.
    """
    if isinstance(value, dict | list):
        # folium would JSON.stringify an object into the HTML unescaped: make it a string first
        value = json.dumps(value, ensure_ascii=False)
    return html.escape(str(value), quote=True)


def _escaped_feature(feature: dict) -> dict:
    """A copy of a GeoJSON feature whose properties are map text (the caller's dict untouched)."""
    properties = {
        key: value if value is None or isinstance(value, bool | int | float) else text(value)
        for key, value in (feature.get("properties") or {}).items()
    }
    return {**feature, "properties": properties}


def _escaped(collection: dict) -> dict:
    """A copy of a FeatureCollection (or one Feature) with every feature's properties escaped."""
    if collection.get("type") == "Feature":
        return _escaped_feature(collection)
    return {**collection, "features": [_escaped_feature(f) for f in collection["features"]]}


def _details(tooltip_fields: Sequence[str], popup_fields: Sequence[str]) -> dict:
    """folium's tooltip and popup for these properties, without field labels (they are ours)."""
    details: dict = {}
    if tooltip_fields:
        details["tooltip"] = folium.GeoJsonTooltip(
            fields=list(tooltip_fields), labels=False, sticky=True
        )
    if popup_fields:
        details["popup"] = folium.GeoJsonPopup(fields=list(popup_fields), labels=False)
    return details


def add_outline(m: folium.Map, feature: dict, name: str) -> None:
    """An area's outline, under the layer name `name`."""
    folium.GeoJson(
        _escaped(feature), name=text(name), style_function=lambda _f: STYLE_OUTLINE
    ).add_to(m)


def add_children(
    m: folium.Map,
    collection: dict,
    name: str,
    tooltip_fields: Sequence[str],
    popup_fields: Sequence[str] = (),
) -> None:
    """Child areas, each with a tooltip naming it (and a popup, given its fields)."""
    if not collection.get("features"):
        return
    folium.GeoJson(
        _escaped(collection),
        name=text(name),
        style_function=lambda _f: STYLE_CHILD,
        highlight_function=lambda _f: STYLE_CHILD_HIGHLIGHT,
        zoom_on_click=False,
        **_details(tooltip_fields, popup_fields),
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


def add_status_layer(
    m: folium.Map,
    collection: dict,
    name: str,
    styles: dict[str, dict],
    popup_fields: Sequence[str] = (),
) -> None:
    """Features coloured by their properties.status, with a tooltip showing properties.label."""
    if not collection.get("features"):
        return
    folium.GeoJson(
        _escaped(collection),
        name=text(name),
        # statuses are codes ("ok", "no_team"), which escaping leaves as they are
        style_function=lambda f: styles.get(f["properties"].get("status"), STYLE_CHILD),
        highlight_function=lambda _f: STYLE_CHILD_HIGHLIGHT,
        zoom_on_click=False,
        **_details(["label"], popup_fields),
    ).add_to(m)


STATUS_STYLES = {
    "ok": {"color": "#2d6a4f", "weight": 1.2, "fillColor": "#95d5b2", "fillOpacity": 0.45},
    "unchanged": {"color": "#6c757d", "weight": 1, "fillColor": "#ced4da", "fillOpacity": 0.35},
    "warning": {"color": "#b5651d", "weight": 1.5, "fillColor": "#ffd166", "fillOpacity": 0.5},
    "error": {"color": "#9d0208", "weight": 2, "fillColor": "#e85d04", "fillOpacity": 0.55},
    "issue": {"color": "#5a189a", "weight": 2, "fillColor": "#c77dff", "fillOpacity": 0.6},
    "unmapped": {"color": "#212529", "weight": 1.5, "fillColor": "#212529", "fillOpacity": 0.55},
}


# Lines: a planned route, a GPS track, the track's stretches off the route, a route's stretches
# outside its villages.
LINE_STYLES = {
    "route": {"color": "#e63946", "weight": 5, "opacity": 0.85},
    "track": {"color": "#1d3557", "weight": 3, "opacity": 0.85, "dashArray": "6 4"},
    "off": {"color": "#9d0208", "weight": 7, "opacity": 0.9},
}


def add_line(m: folium.Map, data: dict, name: str, style: dict) -> None:
    """A line (a Feature or a FeatureCollection) in one style, with properties.label shown."""
    folium.GeoJson(
        _escaped(data),
        name=text(name),
        style_function=lambda _f: style,
        **_details(["label"], ()),
    ).add_to(m)


def add_lines(m: folium.Map, collection: dict, name: str) -> None:
    """Lines each in its properties.colour (a colour of ours, e.g. "#e63946"), labelled."""
    if not collection.get("features"):
        return
    folium.GeoJson(
        _escaped(collection),
        name=text(name),
        style_function=lambda f: {
            "color": f["properties"].get("colour") or "#e63946",
            "weight": 5,
            "opacity": 0.85,
        },
        highlight_function=lambda _f: {"weight": 8},
        **_details(["label"], ()),
    ).add_to(m)


# Patrol activity: villages (or communes) by how much they were patrolled in a period.
ACTIVITY_STYLES = {
    "none": {"color": "#6a040f", "weight": 2, "fillColor": "#e5383b", "fillOpacity": 0.6},
    "low": {"color": "#b5651d", "weight": 1, "fillColor": "#ffd166", "fillOpacity": 0.55},
    "mid": {"color": "#2d6a4f", "weight": 1, "fillColor": "#95d5b2", "fillOpacity": 0.55},
    "high": {"color": "#1b4332", "weight": 1, "fillColor": "#2d6a4f", "fillOpacity": 0.6},
}


def add_points(m: folium.Map, collection: dict, name: str, colour: str = "#6a040f") -> None:
    """Points as small circles, each with a tooltip showing properties.label."""
    if not collection.get("features"):
        return
    folium.GeoJson(
        _escaped(collection),
        name=text(name),
        marker=folium.CircleMarker(
            radius=5, color="#ffffff", weight=1.5, fill=True, fill_color=colour, fill_opacity=1
        ),
        **_details(["label"], ()),
    ).add_to(m)


# Points: incidents clustered, a heat map of counts on a grid, counts per place as circles.
# The plugins' own links point at a CDN: they are dropped here, and the caller adds our copies
# (portal.mapping's EXTRA_ASSETS "markercluster" and "heat"); render_parts() refuses a map that
# would load anything from another host.


@dataclass(frozen=True)
class ClusterPoint:
    """One marker: where, its fill colour and style (keys of ours), and what it says."""

    lat: float
    lon: float
    fill: str  # a colour of ours, e.g. "#d62828"
    style: str  # a key of the styles given to add_clusters()
    tooltip: str
    lines: tuple[str, ...] = ()  # the popup's lines
    link: tuple[str, str] | None = None  # (a path on our site, its text) at the popup's foot


def _link(href: str, label: str) -> tuple[str, str]:
    """A popup's link, only to a path on our own site, its parts escaped."""
    if not href.startswith("/") or href.startswith("//"):
        raise ValueError(f"a popup links only to a path on our site: {href!r}")
    return text(href), text(label)


_CLUSTER_CALLBACK = """function (row) {
    var styles = %s;
    var texts = %s;
    var options = Object.assign({radius: 8, fill: true, fillColor: row[2]}, styles[row[3]] || {});
    var marker = L.circleMarker(new L.LatLng(row[0], row[1]), options);
    marker.bindTooltip(texts[row[4]]);
    var lines = row[5].map(function (i) { return texts[i]; });
    if (row[6]) { lines.push('<a href="' + row[6] + '">' + texts[row[7]] + '</a>'); }
    if (lines.length) { marker.bindPopup(lines.join("<br>")); }
    return marker;
}"""


def _own_assets_only(element) -> None:
    """Drop a folium plugin's CDN links (the caller links our own copies)."""
    element.default_js = []
    element.default_css = []


def add_clusters(
    m: folium.Map, points: Sequence[ClusterPoint], name: str, styles: dict[str, dict]
) -> folium.plugins.FastMarkerCluster:
    """Points as circle markers grouped into clusters (Leaflet.markercluster), drawn in the
    browser from one compact array: each text once in a table (escaped here, as map text),
    each point a few numbers pointing into it. Fill colours and styles are ours."""
    texts: dict[str, int] = {}

    def index(value: str) -> int:
        return texts.setdefault(text(value), len(texts))

    rows = []
    for p in points:
        href, label = _link(*p.link) if p.link else ("", "")
        rows.append(
            [
                round(p.lat, 6),
                round(p.lon, 6),
                p.fill,
                p.style,
                index(p.tooltip),
                [index(line) for line in p.lines],
                href,
                texts.setdefault(label, len(texts)) if p.link else -1,
            ]
        )
    # the table reaches the script as JSON; every string in it is escaped (no "<" at all)
    table = json.dumps(list(texts), ensure_ascii=False)
    cluster = folium.plugins.FastMarkerCluster(
        rows,
        callback=_CLUSTER_CALLBACK % (json.dumps(styles), table),
        name=text(name),
        showCoverageOnHover=False,
        maxClusterRadius=40,
        spiderfyOnMaxZoom=True,
    )
    _own_assets_only(cluster)
    # markercluster needs the map's largest zoom, which a map without tiles does not set
    m.options.setdefault("max_zoom", 19)
    cluster.add_to(m)
    return cluster


class _Heat(folium.MacroElement):
    """leaflet.heat's layer from one compact array. folium's HeatMap checks every point in
    Python (a city's year of cells, 13,000 of them, cost 120 ms a page); ours are numbers we
    made, rounded once."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var rows = {{ this.rows_json }};
            var grid = {{ this.grid|tojson }};
            if (grid) {  // cells as row and column on the grid: their centres
                rows = rows.map(function (r) {
                    return [(r[0] + 0.5) * grid, (r[1] + 0.5) * grid, r[2]];
                });
            }
            var layer = L.heatLayer(rows, {{ this.options|tojson }});
            return layer.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, rows: list, options: dict, name: str, grid: float | None = None):
        super().__init__()
        self._name = "HeatMap"
        self.layer_name = name
        self.rows_json = json.dumps(rows, separators=(",", ":"))
        self.options = options
        self.grid = grid


def add_heat(
    m: folium.Map,
    cells: Sequence[tuple[float, float, float]],
    name: str,
    *,
    radius: int = 14,
    max_zoom: int = 13,
    grid: float | None = None,
) -> _Heat | None:
    """A heat map of weighted points (lat, lon, weight), or with `grid` of counted grid cells
    (row, column, weight: whole numbers, the cell's centre at ((row + 0.5) * grid, (column +
    0.5) * grid), which keeps a city's 13,000 cells small and fast). Full colour at the largest
    weight (leaflet.heat's `max`), fading below it."""
    if not cells:
        return None
    top = max(w for _lat, _lon, w in cells)
    if grid:
        rows = [[int(r), int(c), int(w)] for r, c, w in cells]
    else:
        rows = [[round(float(lat), 5), round(float(lon), 5), float(w)] for lat, lon, w in cells]
    options = {
        "minOpacity": 0.05,
        "maxZoom": max_zoom,
        "max": float(top),
        "radius": radius,
        "blur": radius,
    }
    heat = _Heat(rows, options, text(name), grid)
    m.add_child(heat)
    return heat


class _Counts(folium.MacroElement):
    """Circles sized by a count (radius in metres: they grow as the map zooms in, and a city of
    villages stays apart at the city's scale), drawn in one canvas from one compact array."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var rows = {{ this.rows_json }};
            var style = {{ this.style|tojson }};
            var renderer = L.canvas({padding: 0.5});
            var group = L.featureGroup();
            rows.forEach(function (row) {
                var options = Object.assign({renderer: renderer, radius: row[2]}, style);
                L.circle([row[0], row[1]], options).bindTooltip(row[3]).addTo(group);
            });
            return group.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, rows: list, style: dict):
        super().__init__()
        self._name = "Counts"
        # labels are map text (escaped: no "<" can end the script); kept as UTF-8, compact
        self.rows_json = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
        self.style = style


COUNT_STYLE = {"color": "#9d0208", "weight": 0.5, "fillColor": "#e85d04", "fillOpacity": 0.55}


def count_radius(
    count: int, largest: int, smallest: float = 80.0, biggest: float = 900.0, floor: int = 16
) -> float:
    """A circle's radius in metres whose area grows with the count: the largest gets `biggest`
    (villages are about a kilometre apart), unless it is below `floor` (a quiet month: one
    item should not look like many)."""
    scale = max(largest, floor)
    if count <= 0:
        return smallest
    return round(smallest + (biggest - smallest) * (min(count, scale) / scale) ** 0.5, 1)


def add_counts(
    m: folium.Map,
    places: Sequence[tuple[float, float, int, str]],
    style: dict | None = None,
) -> _Counts | None:
    """Places (lat, lon, count, label) as circles whose area grows with the count, each with
    its label (map text, escaped here) as a tooltip."""
    if not places:
        return None
    largest = max(count for _lat, _lon, count, _label in places)
    rows = [
        [round(lat, 5), round(lon, 5), count_radius(count, largest), text(label)]
        for lat, lon, count, label in places
    ]
    layer = _Counts(rows, style or COUNT_STYLE)
    m.add_child(layer)
    return layer


STYLE_FAINT = {"color": "#495057", "weight": 1, "opacity": 0.6, "fillOpacity": 0, "fill": False}


def add_faint(m: folium.Map, collection: dict, name: str, tooltip_fields: Sequence[str] = ()):
    """Outlines drawn faintly under other layers, for orientation (a tooltip given its fields)."""
    if not collection.get("features"):
        return
    folium.GeoJson(
        _escaped(collection),
        name=text(name),
        style_function=lambda _f: STYLE_FAINT,
        zoom_on_click=False,
        **_details(tooltip_fields, ()),
    ).add_to(m)


# Vector tiles of villages (Leaflet.VectorGrid, served by us: portal.mapping's EXTRA_ASSETS
# "vectorgrid"), drawn over the communes in a pane of their own.


@dataclass(frozen=True)
class TileLink:
    """A link a tile feature's popup offers: a path on our site with "{id}" for the feature's
    id, its text, and the statuses it is offered for (all when empty)."""

    href: str
    label: str
    statuses: tuple[str, ...] = ()


class _VectorTiles(folium.MacroElement):
    """A layer of Mapbox vector tiles (L.vectorGrid.protobuf) whose features carry id, name,
    status and counts: coloured by status, highlighted on hover, a tooltip naming each, and a
    popup with its links on click.

    Texts of ours (the label's pattern, the statuses' words, the links' words) are map text,
    escaped by text() and turned back into plain text by the browser's parser; what a tile
    carries (names, counts) is data and reaches the page only as textContent, never as HTML.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var map = {{ this._parent.get_name() }};
            var config = {{ this.config_json }};
            var pane = map.getPane("villageTiles") || map.createPane("villageTiles");
            pane.style.zIndex = config.zIndex;  // 450: over the communes (overlayPane, 400)
            function plain(escaped) {  // our own escaped text back to the text it shows
                var parsed = new DOMParser().parseFromString(escaped, "text/html");
                return parsed.documentElement.textContent;
            }
            var label = plain(config.label);
            var states = {};
            Object.keys(config.states).forEach(function (k) {
                states[k] = plain(config.states[k]);
            });
            var links = config.links.map(function (l) {
                return {href: l.href, label: plain(l.label), statuses: l.statuses};
            });
            // a tile's counts written as the page's language writes numbers: 1.234 / 1,234
            var numbers = new Intl.NumberFormat(
                document.documentElement.lang === "en" ? "en-GB" : "vi");
            function say(p) {
                return label.replace(/\\{(name|n|v)\\}/g, function (_m, key) {
                    var value = p[key];
                    if (value === undefined || value === null) { return ""; }
                    return typeof value === "number" ? numbers.format(value) : String(value);
                });
            }
            function styleOf(p, zoom) {
                var style = Object.assign({fill: true}, config.styles[p.status] || config.fallback);
                if (zoom !== undefined && zoom < 12) {  // a city of villages: hairlines
                    style.weight = Math.min(style.weight || 1, 0.5);
                }
                return style;
            }
            var layerStyles = {};
            layerStyles[config.layer] = function (p, zoom) { return styleOf(p, zoom); };
            var layer = L.vectorGrid.protobuf(config.url, {
                vectorTileLayerStyles: layerStyles,
                interactive: true,
                pane: "villageTiles",
                minZoom: config.minZoom,
                maxNativeZoom: config.maxNativeZoom,
                getFeatureId: function (f) { return f.properties.id; }
            });
            var tooltip = L.tooltip({sticky: true, direction: "top", className: "tile-tooltip"});
            var hovered = null;
            layer.on("mouseover", function (e) {
                var p = e.layer.properties;
                if (hovered !== null) { layer.resetFeatureStyle(hovered); }
                hovered = p.id;
                layer.setFeatureStyle(p.id, Object.assign(styleOf(p), config.highlight));
                var box = document.createElement("div");
                box.className = "tile-label";
                box.textContent = say(p);
                if (states[p.status]) {
                    var state = document.createElement("div");
                    state.className = "map-popup-state";
                    state.textContent = states[p.status];
                    box.appendChild(state);
                }
                tooltip.setContent(box).setLatLng(e.latlng);
                map.openTooltip(tooltip);
            });
            layer.on("mousemove", function (e) { tooltip.setLatLng(e.latlng); });
            layer.on("mouseout", function () {
                if (hovered !== null) { layer.resetFeatureStyle(hovered); hovered = null; }
                map.closeTooltip(tooltip);
            });
            function openPopup(p, latlng, keyboard) {
                if (!/^[0-9]+$/.test(String(p.id))) { return; }
                var box = document.createElement("div");
                box.className = "map-popup";
                var name = document.createElement("strong");
                name.textContent = say(p);
                box.appendChild(name);
                if (states[p.status]) {
                    var state = document.createElement("span");
                    state.className = "map-popup-state";
                    state.textContent = states[p.status];
                    box.appendChild(document.createElement("br"));
                    box.appendChild(state);
                }
                var steps = document.createElement("span");
                steps.className = "map-popup-steps";
                links.forEach(function (l) {
                    if (l.statuses.length && l.statuses.indexOf(p.status) < 0) { return; }
                    var a = document.createElement("a");
                    a.className = "button";
                    var href = l.href.replace(/&amp;/g, "&");
                    a.setAttribute("href", href.replace("{id}", String(p.id)));
                    a.textContent = l.label;
                    steps.appendChild(a);
                });
                // the last link is the next step
                if (steps.lastChild) { steps.lastChild.className = "button primary"; }
                if (steps.childNodes.length) {
                    box.appendChild(document.createElement("br"));
                    box.appendChild(steps);
                }
                map.closeTooltip(tooltip);
                L.popup({minWidth: 230}).setLatLng(latlng).setContent(box).openOn(map);
                if (keyboard && steps.firstChild) { steps.firstChild.focus(); }
            }
            layer.on("click", function (e) { openPopup(e.layer.properties, e.latlng, false); });
            // zoomed in, each village is reachable from the keyboard: a focusable outline
            // named by its label and status; Enter opens its popup and moves to its link
            layer.on("tileload", function (e) {
                if (e.coords.z < config.keyboardZoom || !layer._vectorTiles) { return; }
                var renderer = layer._vectorTiles[layer._tileCoordsToKey(e.coords)];
                var size = layer.getTileSize();
                Object.keys((renderer && renderer._features) || {}).forEach(function (id) {
                    var f = renderer._features[id].feature;
                    var path = f && f._path;
                    if (!path || !f.properties) { return; }
                    var p = f.properties;
                    path.setAttribute("tabindex", "0");
                    path.setAttribute("role", "button");
                    var state = states[p.status] ? ": " + states[p.status] : "";
                    path.setAttribute("aria-label", say(p) + state);
                    path.addEventListener("keydown", function (ev) {
                        if (ev.key !== "Enter" && ev.key !== " ") { return; }
                        ev.preventDefault();
                        var b = path.getBBox();
                        var at = L.point(e.coords.x * size.x + b.x + b.width / 2,
                                         e.coords.y * size.y + b.y + b.height / 2);
                        openPopup(p, map.unproject(at, e.coords.z), true);
                    });
                });
            });
            var loading = 0;
            layer.on("tileloadstart", function () { loading += 1; });
            layer.on("load", function () {
                // for tests and our own scripts: how many tiles this view drew
                map.getContainer().dataset.tilesLoaded = String(loading);
            });
            return layer.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, config: dict):
        super().__init__()
        self._name = "VectorTiles"
        # every string in it is map text (escaped: no "<" can end the script) or ours
        self.config_json = json.dumps(config, ensure_ascii=False, separators=(",", ":"))


def add_vector_tiles(
    m: folium.Map,
    url: str,
    layer: str,
    styles: dict[str, dict],
    label: str,
    states: dict[str, str],
    links: Sequence[TileLink] = (),
    *,
    min_zoom: int = 8,
    max_native_zoom: int = 16,
    z_index: int = 450,
) -> _VectorTiles:
    """Villages from vector tiles at `url` (a path on our site with {z}/{x}/{y}), their layer
    named `layer`, each coloured by its properties.status in `styles`. `label` is the tooltip's
    pattern ("{name}", "{n}", "{v}" filled from the feature), `states` each status's words, and
    `links` the popup's links. Beyond max_native_zoom the browser scales the last tiles. The
    layer's pane sits at `z_index`: 450 over the other layers (communes), 350 under them."""
    if not url.startswith("/") or url.startswith("//"):
        raise ValueError(f"tiles come only from our own site: {url!r}")
    config = {
        "url": url,
        "layer": layer,
        "styles": styles,
        "fallback": STYLE_CHILD,
        "highlight": STYLE_CHILD_HIGHLIGHT,
        "label": text(label),
        "states": {k: text(v) for k, v in states.items()},
        "links": [
            {"href": _link(link.href, "")[0], "label": text(link.label), "statuses": link.statuses}
            for link in links
        ],
        "minZoom": min_zoom,
        "maxNativeZoom": max_native_zoom,
        "zIndex": z_index,
        "keyboardZoom": 13,  # from a commune's scale: a few hundred tab stops, not 5,000
    }
    element = _VectorTiles(config)
    m.add_child(element)
    return element
