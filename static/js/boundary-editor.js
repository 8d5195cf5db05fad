// The boundary editor: the village's polygon as an editable Leaflet-Geoman layer that snaps to
// its neighbours, a "redraw" mode, and a line to split along. The form posts GeoJSON.
//
// Vertex handles are shown only from EDIT_ZOOM up (below it they pile on each other along a
// detailed edge) and then only the ones nearest the pointer (Geoman's limitMarkersToCount).
// Every change (a handle moved, a redraw, a split line) can be undone one step at a time, or
// all at once back to the saved outline. A split line is previewed from the server: the two
// parts it makes, labelled A (the northern, as the split names them) and B with the names
// typed for them; labels are DOM text (textContent), never HTML.
(function () {
  "use strict";
  var frame = document.querySelector("[data-map]");
  if (!frame || !window.L || !L.PM) { return; }
  var map = window[frame.dataset.map];
  // Geoman ships no Vietnamese: its hints come from the page, in the reader's language
  map.pm.setLang("portal", JSON.parse(document.getElementById("geoman-lang").textContent), "en");
  var EDIT_ZOOM = 16;
  var HANDLES = 24;
  var SHAPE_STYLE = { color: "#e63946", weight: 3, fillOpacity: 0.25 };
  var PART_STYLES = {
    A: { color: "#1d4e89", weight: 2, dashArray: "4 4", fillColor: "#4d96ff", fillOpacity: 0.35 },
    B: { color: "#8a4b08", weight: 2, dashArray: "4 4", fillColor: "#f4a261", fillOpacity: 0.4 }
  };
  var form = document.getElementById("boundary-form");
  var geometryField = document.getElementById("geometry");
  var lineField = document.getElementById("line");
  var undoButton = document.getElementById("undo");
  var cancelButton = document.getElementById("cancel-edits");
  var zoomHint = document.getElementById("zoom-hint");
  var lineError = document.getElementById("line-preview-error");
  var names = { A: form.elements.name_a, B: form.elements.name_b };
  var token = document.querySelector("meta[name=csrf-token]").content;
  var saved = JSON.parse(document.getElementById("village-geometry").textContent);
  var shape = null;
  var line = null;
  var parts = L.layerGroup().addTo(map);
  var labels = {};
  var past = [];  // the states before each change, the latest last
  var current = null;
  var previewing = null;

  map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: false });

  function editable() {
    if (!shape) { return; }
    var near = map.getZoom() >= EDIT_ZOOM;
    if (near && !shape.pm.enabled()) {
      shape.pm.enable({ snappable: true, limitMarkersToCount: HANDLES });
    } else if (!near && shape.pm.enabled()) {
      shape.pm.disable();
    }
    zoomHint.hidden = near;
  }

  function setShape(geometry) {
    if (shape) { shape.pm.disable(); map.removeLayer(shape); }
    shape = L.geoJSON(geometry, { style: SHAPE_STYLE }).getLayers()[0].addTo(map);
    shape.on("pm:edit", changed);
    editable();
  }

  function showSplit(on) {
    document.getElementById("split-names").hidden = !on;
    document.getElementById("save-split").hidden = !on;
    document.getElementById("save-boundary").hidden = on;
  }

  function relabel() {
    Object.keys(labels).forEach(function (part) {
      var text = document.createElement("span");
      text.className = "split-part-label";
      text.textContent = part + " · " + names[part].value;
      labels[part].setContent(text);
    });
  }

  function preview() {
    parts.clearLayers();
    labels = {};
    lineError.hidden = true;
    if (!line) { return; }
    if (previewing) { previewing.abort(); }
    previewing = new AbortController();
    var body = new FormData();
    body.append("line", JSON.stringify(line.toGeoJSON().geometry));
    fetch(form.dataset.preview, {
      method: "POST", body: body, credentials: "same-origin", signal: previewing.signal,
      headers: { "X-CSRFToken": token, Accept: "application/geo+json" }
    }).then(function (response) {
      return response.json().then(function (answer) { return { ok: response.ok, answer: answer }; });
    }).then(function (result) {
      if (!result.ok) {
        lineError.textContent = result.answer.error || "";
        lineError.hidden = false;
        return;
      }
      result.answer.features.forEach(function (feature) {
        var part = feature.properties.part;
        L.geoJSON(feature, { style: PART_STYLES[part], interactive: false }).addTo(parts);
        var at = feature.properties.label_at;
        labels[part] = L.tooltip({ permanent: true, direction: "center", className: "split-part part-" + part })
          .setLatLng([at[1], at[0]]);
        parts.addLayer(labels[part]);
      });
      relabel();
    }).catch(function (error) {
      if (error.name !== "AbortError") { lineError.hidden = true; }
    });
  }

  function setLine(geometry) {
    if (line) { map.removeLayer(line); line = null; }
    if (geometry) {
      line = L.geoJSON(geometry, { style: { color: "#212529", weight: 3, dashArray: "8 6" } }).getLayers()[0].addTo(map);
      line.on("pm:edit", function () { changed(); preview(); });
    }
    showSplit(!!line);
    preview();
  }

  function snapshot() {
    return {
      geometry: shape.toGeoJSON().geometry,
      line: line ? line.toGeoJSON().geometry : null
    };
  }

  function buttons() {
    undoButton.disabled = past.length === 0;
    cancelButton.disabled = past.length === 0;
  }

  function changed() {
    past.push(current);
    current = snapshot();
    buttons();
  }

  function restore(state) {
    map.pm.disableDraw();
    setShape(state.geometry);
    setLine(state.line);
    current = snapshot();
    buttons();
  }

  undoButton.addEventListener("click", function () {
    if (past.length) { restore(past.pop()); }
  });
  cancelButton.addEventListener("click", function () {
    past = [];
    restore({ geometry: saved, line: null });
  });
  // on a phone the buttons sit below the map: bring the map back into view to draw on it
  function drawOnMap(kind) {
    map.pm.enableDraw(kind, { snappable: true });
    var top = frame.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight / 2) { frame.scrollIntoView({ block: "start" }); }
  }
  document.getElementById("redraw").addEventListener("click", function () { drawOnMap("Polygon"); });
  document.getElementById("draw-line").addEventListener("click", function () { drawOnMap("Line"); });
  map.on("pm:create", function (e) {
    var drawn = e.layer.toGeoJSON().geometry;
    map.removeLayer(e.layer);
    past.push(current);
    if (e.shape === "Line") {
      setLine(drawn);
    } else {
      setLine(null);  // a new outline replaces any split along the old one
      setShape(drawn);
    }
    current = snapshot();
    buttons();
  });
  map.on("zoomend", editable);
  Object.keys(names).forEach(function (part) { names[part].addEventListener("input", relabel); });
  form.addEventListener("submit", function () {
    geometryField.value = JSON.stringify(shape.toGeoJSON().geometry);
    lineField.value = line ? JSON.stringify(line.toGeoJSON().geometry) : "";
  });

  setShape(saved);
  // after a refused split the form comes back with its line: draw it again
  if (lineField.value) {
    try { setLine(JSON.parse(lineField.value)); } catch (ignored) { setLine(null); }
  }
  current = snapshot();
  buttons();
}());
