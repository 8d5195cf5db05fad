// The street layer under every map the portal draws without a tile server: OpenStreetMap road
// lines asked from our own server (/ban-do/duong) for the view, drawn in a pane below the
// areas, with street names along them at street zoom (leaflet-textpath puts each name in as a
// text node, never as HTML). Data © OpenStreetMap contributors (ODbL): the credit shows
// whenever the layer is on the map. A map gets the layer when its options carry streetsUrl
// (portal/mapping.py sets it only when no tile server is configured).
(function () {
  "use strict";
  if (!window.L) { return; }

  var ATTRIBUTION = '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap contributors</a>';
  var MIN_ZOOM = 13;  // the server sends nothing below it
  var MAX_ZOOM = 18;  // past it the server's answer is the same
  var LABEL_ZOOM = 16;  // street names from here
  var MAX_TILES = 20;  // the widest box the server answers, in tiles a side
  var RANK = { motorway: 4, trunk: 4, primary: 4, secondary: 3, tertiary: 2 };
  // width at zoom 16 of each rank's line (the casing is 2 px wider)
  var WIDTH = { 4: 9, 3: 8, 2: 6, 1: 5, 0: 3.5 };
  var MIDDLE = { unclassified: 1, residential: 1, living_street: 1, pedestrian: 1, road: 1 };

  function rank(highway) {
    if (!highway) { return 1; }  // the unnamed city-wide network: its class is unknown
    var base = highway.replace(/_link$/, "");
    if (RANK[base]) { return RANK[base]; }
    return MIDDLE[base] ? 1 : 0;
  }

  function scale(zoom) {
    return Math.min(2.2, Math.max(0.3, Math.pow(1.5, zoom - 16)));
  }

  function lines(geometry) {
    if (geometry.type === "LineString") { return [geometry.coordinates]; }
    if (geometry.type === "MultiLineString") { return geometry.coordinates; }
    return [];
  }

  function latLngs(coords) {
    var out = coords.map(function (c) { return [c[1], c[0]]; });
    // names read left to right: a line drawn westward is turned round
    if (out.length > 1 && out[0][1] > out[out.length - 1][1]) { out.reverse(); }
    return out;
  }

  function snap(value, step, up) {
    return (up ? Math.ceil(value / step) : Math.floor(value / step)) * step;
  }

  function StreetLayer(map, url) {
    this.map = map;
    this.url = url;
    this.asked = null;
    this.controller = null;
    this.timer = null;
    this.features = [];
    this.fills = [];
    this.pane = map.createPane("streets");
    this.pane.style.zIndex = 250;  // above tiles (200), below the areas' polygons (400)
    this.pane.style.pointerEvents = "none";
    this.renderer = L.svg({ pane: "streets", padding: 0.3 });
    this.group = L.layerGroup([], { attribution: ATTRIBUTION, pane: "streets" });
    var self = this;
    map.on("moveend", function () { self.schedule(); });
    map.whenReady(function () { self.schedule(); });
    // a map taken down (an HTMX swap) loads no more streets: its view is gone
    map.on("unload", function () {
      clearTimeout(self.timer);
      if (self.controller) { self.controller.abort(); self.controller = null; }
    });
  }

  StreetLayer.prototype.schedule = function () {
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.load(); }, 150);
  };

  StreetLayer.prototype.view = function (zoom) {
    var b = this.map.getBounds();
    var step = 360 / Math.pow(2, zoom);  // one tile: the server snaps to the same grid
    var box = [snap(b.getWest(), step, false), snap(b.getSouth(), step, false),
               snap(b.getEast(), step, true), snap(b.getNorth(), step, true)];
    // a very large screen: the middle of the view, as wide as the server answers
    for (var i = 0; i < 2; i += 1) {
      var tiles = Math.round((box[i + 2] - box[i]) / step);
      if (tiles > MAX_TILES) {
        var cut = Math.floor((tiles - MAX_TILES) / 2);
        box[i] += cut * step;
        box[i + 2] = box[i] + MAX_TILES * step;
      }
    }
    return box;
  };

  StreetLayer.prototype.load = function () {
    var zoom = Math.floor(this.map.getZoom());
    if (zoom < MIN_ZOOM) {
      if (this.controller) { this.controller.abort(); this.controller = null; }
      this.asked = null;
      this.map.removeLayer(this.group);
      this.credit(false);
      return;
    }
    var z = Math.min(zoom, MAX_ZOOM);
    var url = this.url + "?bbox=" + this.view(z).join(",") + "&z=" + z;
    if (url === this.asked) { this.restyle(); return; }
    if (this.controller) { this.controller.abort(); }
    this.asked = url;
    var controller = window.AbortController ? new AbortController() : null;
    this.controller = controller;
    var self = this;
    fetch(url, { signal: controller ? controller.signal : undefined, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (self.controller !== controller) { return; }  // a later view was asked meanwhile
        self.controller = null;
        if (data) { self.draw(data.features || []); }
      })
      .catch(function () { if (self.asked === url) { self.asked = null; } });
  };

  StreetLayer.prototype.draw = function (features) {
    this.group.clearLayers();
    if (!features.length) {  // nothing here (or no streets imported): no layer, no credit
      this.map.removeLayer(this.group);
      this.credit(false);
      this.casings = [];
      this.fills = [];
      return;
    }
    // unnamed lines first, then by rank: main roads and named streets on top
    this.features = features.map(function (f) {
      return { name: f.properties.name, rank: rank(f.properties.highway), parts: lines(f.geometry) };
    }).sort(function (a, b) { return (a.name ? 1 : 0) - (b.name ? 1 : 0) || a.rank - b.rank; });
    var casings = [];
    var fills = [];
    var renderer = this.renderer;
    this.features.forEach(function (f) {
      f.parts.forEach(function (coords) {
        var ll = latLngs(coords);
        var options = { renderer: renderer, interactive: false, lineCap: "round", lineJoin: "round" };
        casings.push({ rank: f.rank, line: L.polyline(ll, L.extend({}, options)) });
        fills.push({ rank: f.rank, name: f.name, line: L.polyline(ll, L.extend({}, options)) });
      });
    });
    // every casing under every fill: crossings read as crossings
    var group = this.group;
    casings.forEach(function (c) { group.addLayer(c.line); });
    fills.forEach(function (c) { group.addLayer(c.line); });
    this.casings = casings;
    this.fills = fills;
    if (!this.map.hasLayer(group)) { group.addTo(this.map); }
    this.credit(true);
    this.restyle();
  };

  // The credit box shows with the streets only (it would be an empty sliver without them).
  StreetLayer.prototype.credit = function (shown) {
    var control = this.map.attributionControl;
    if (control) { control.getContainer().style.display = shown ? "" : "none"; }
  };

  StreetLayer.prototype.restyle = function () {
    var zoom = this.map.getZoom();
    var k = scale(zoom);
    (this.casings || []).forEach(function (c) {
      c.line.setStyle({ color: c.rank >= 3 ? "#9d968a" : "#b3b3b3", weight: WIDTH[c.rank] * k + 2, opacity: 1 });
    });
    var chosen = this.chosen;  // the street a search led to stands out
    this.fills.forEach(function (c) {
      var colour = c.name && c.name === chosen ? "#f4a261" : c.rank >= 3 ? "#fffdf5" : "#ffffff";
      c.line.setStyle({ color: colour, weight: WIDTH[c.rank] * k, opacity: 1 });
    });
    this.label(zoom);
  };

  // Names along the lines at street zoom: each on a line long enough to hold it, the same
  // name not again within 250 px, and no name centred on another's middle.
  StreetLayer.prototype.label = function (zoom) {
    var map = this.map;
    // no prototype: an OSM street named "constructor" is a name like any other
    var placed = Object.create(null);
    var middles = [];
    var chosen = this.chosen;
    var size = zoom >= 17 ? 12 : 11;
    this.fills.forEach(function (c) {
      var text = null;
      if (c.name && zoom >= LABEL_ZOOM) {
        var points = c.line.getLatLngs().map(function (ll) { return map.latLngToLayerPoint(ll); });
        var length = 0;
        for (var i = 1; i < points.length; i += 1) { length += points[i].distanceTo(points[i - 1]); }
        var middle = points[Math.floor(points.length / 2)];
        var near = (placed[c.name] || []).some(function (p) { return p.distanceTo(middle) < 250; }) ||
          (c.name !== chosen && middles.some(function (p) { return p.distanceTo(middle) < 40; }));
        if (length > c.name.length * size * 0.55 + 16 && !near) {
          text = c.name;
          (placed[c.name] = placed[c.name] || []).push(middle);
          middles.push(middle);
        }
      }
      if (text !== (c.text || null)) {
        c.text = text;
        c.line.setText(text, {
          center: true,
          offset: size / 3,
          attributes: {
            "font-size": size + "px",
            "font-family": "system-ui, sans-serif",
            fill: "#333333",
            stroke: "#ffffff",
            "stroke-width": 3,
            "paint-order": "stroke",
            "class": "street-name"
          }
        });
      }
    });
  };

  L.Map.addInitHook(function () {
    if (this.options.streetsUrl && L.Polyline.prototype.setText) {
      if (this.attributionControl) { this.attributionControl.setPrefix(false); }
      this.streets = new StreetLayer(this, this.options.streetsUrl);
      this.streets.credit(false);
    }
  });

  // A street found by name (templates/lookup/_streets.html): the look-up map moves to it.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-street-bbox]") : null;
    var frame = document.querySelector("[data-map]");
    var map = frame ? window[frame.dataset.map] : null;
    if (!link || !map) { return; }
    event.preventDefault();
    var b = link.dataset.streetBbox.split(",").map(Number);
    if (map.streets) { map.streets.chosen = link.textContent.trim(); map.streets.restyle(); }
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { maxZoom: 17, padding: [24, 24] });
    frame.scrollIntoView({ behavior: "smooth", block: "center" });
  });
}());
