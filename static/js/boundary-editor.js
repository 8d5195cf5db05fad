// The boundary editor: the village's polygon as an editable Leaflet-Geoman layer that snaps to
// its neighbours, a "redraw" mode, and a line to split along. The form posts GeoJSON.
(function () {
  "use strict";
  var frame = document.querySelector("[data-map]");
  if (!frame || !window.L || !L.PM) { return; }
  var map = window[frame.dataset.map];
  // Geoman ships no Vietnamese: its hints come from the page, in the reader's language
  map.pm.setLang("portal", JSON.parse(document.getElementById("geoman-lang").textContent), "en");
  var form = document.getElementById("boundary-form");
  var geometryField = document.getElementById("geometry");
  var lineField = document.getElementById("line");
  var village = L.geoJSON(JSON.parse(document.getElementById("village-geometry").textContent), {
    style: { color: "#e63946", weight: 3, fillOpacity: 0.25 }
  }).addTo(map);
  var shape = village.getLayers()[0];
  var line = null;

  map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: false });
  shape.pm.enable({ snappable: true });

  function showSplit(on) {
    document.getElementById("split-names").hidden = !on;
    document.getElementById("save-split").hidden = !on;
    document.getElementById("save-boundary").hidden = on;
  }

  document.getElementById("redraw").addEventListener("click", function () {
    if (line) { map.removeLayer(line); line = null; showSplit(false); }
    map.pm.enableDraw("Polygon", { snappable: true });
  });
  document.getElementById("draw-line").addEventListener("click", function () {
    map.pm.enableDraw("Line", { snappable: true });
  });
  map.on("pm:create", function (e) {
    if (e.shape === "Line") {
      if (line) { map.removeLayer(line); }
      line = e.layer;
      showSplit(true);
    } else {
      village.removeLayer(shape);
      map.removeLayer(shape);
      shape = e.layer;
      shape.pm.enable({ snappable: true });
    }
  });
  form.addEventListener("submit", function () {
    geometryField.value = JSON.stringify(shape.toGeoJSON().geometry);
    lineField.value = line ? JSON.stringify(line.toGeoJSON().geometry) : "";
  });
}());
