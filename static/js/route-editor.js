// The patrol route editor: a route is one or more lines drawn with Leaflet-Geoman over the
// team's villages. Every change asks the server to check the route (how long, how far it
// leaves the villages) and draws the stretches outside in red with how far they go.
(function () {
  "use strict";
  var frame = document.querySelector("[data-map]");
  if (!frame || !window.L || !L.PM) { return; }
  var map = window[frame.dataset.map];
  // Geoman ships no Vietnamese: its hints come from the page, in the reader's language
  map.pm.setLang("portal", JSON.parse(document.getElementById("geoman-lang").textContent), "en");
  var form = document.getElementById("route-form");
  var field = document.getElementById("geometry");
  var answer = document.getElementById("route-check");
  var token = document.querySelector("meta[name=csrf-token]").content;
  var segments = [];
  var outside = null;
  var pending = null;

  function geometry() {
    var lines = segments.map(function (layer) {
      return layer.toGeoJSON().geometry.coordinates;
    });
    return lines.length ? { type: "MultiLineString", coordinates: lines } : null;
  }

  function show(data) {
    answer.textContent = data.message || "";
    answer.className = "route-check " + (data.ok ? "ok" : "refused");
    if (outside) { map.removeLayer(outside); outside = null; }
    if (data.excursions && data.excursions.features.length) {
      outside = L.geoJSON(data.excursions, {
        pmIgnore: true,
        interactive: true,
        style: function (f) {
          return { color: f.properties.refused ? "#d00000" : "#f4a261", weight: 8, opacity: 0.85 };
        },
        // labels come escaped from the server (geo.maps.text): shown as text, never as markup
        onEachFeature: function (f, layer) { layer.bindTooltip(f.properties.label, { sticky: true }); }
      }).addTo(map);
    }
  }

  function check() {
    var value = geometry();
    field.value = value ? JSON.stringify(value) : "";
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(function () {
      var body = new FormData();
      body.append("geometry", field.value);
      fetch(form.dataset.check, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": token }
      }).then(function (r) { return r.json(); }).then(show).catch(function () {
        answer.textContent = "";
      });
    }, 250);
  }

  function keep(layer) {
    segments.push(layer);
    layer.setStyle({ color: "#1d4e89", weight: 5 });  // red is kept for stretches outside
    layer.on("pm:edit", check);
    layer.on("pm:remove", function () {
      segments = segments.filter(function (s) { return s !== layer; });
      check();
    });
  }

  var start = field.value ? JSON.parse(field.value) : JSON.parse(document.getElementById("route-geometry").textContent);
  if (start) {
    var lines = start.type === "LineString" ? [start.coordinates] : start.coordinates;
    lines.forEach(function (coords) {
      var layer = L.polyline(coords.map(function (c) { return [c[1], c[0]]; })).addTo(map);
      keep(layer);
      layer.pm.enable({ snappable: false });
    });
    check();
  }
  map.pm.setGlobalOptions({ snappable: false });
  document.getElementById("draw-segment").addEventListener("click", function () {
    map.pm.disableGlobalRemovalMode();
    map.pm.enableDraw("Line");
    // on a phone the buttons sit under the map: bring the map back into view to draw on it
    frame.scrollIntoView({ block: "nearest" });
  });
  document.getElementById("remove-segment").addEventListener("click", function () {
    map.pm.toggleGlobalRemovalMode();
  });
  map.on("pm:create", function (e) {
    keep(e.layer);
    e.layer.pm.enable({ snappable: false });
    check();
  });
  form.addEventListener("submit", function () {
    var value = geometry();
    field.value = value ? JSON.stringify(value) : "";
  });
}());
