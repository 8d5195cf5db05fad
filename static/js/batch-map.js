// An upload's dry run: the map shows the features in view, fetched from the server for each
// view (simplified to about a pixel, at most a cap of them, errors first) and fetched again
// when the map moves or zooms, so that a file of thousands of features keeps the page light.
// Labels arrive as map text, escaped once on the server (geo.maps.text): a tooltip shows them
// literally.
(function () {
  "use strict";
  var frame = document.querySelector("[data-features-url]");
  if (!frame || !window.L) { return; }
  var map = window[frame.dataset.map];
  if (!map) { return; }
  var styles = JSON.parse(frame.dataset.styles);
  var loading = document.getElementById("map-loading");
  var truncated = document.getElementById("map-truncated");
  var failed = document.getElementById("map-failed");
  var layer = L.geoJSON(null, {
    style: function (feature) { return styles.status[feature.properties.status] || styles.status.ok; },
    onEachFeature: function (feature, shape) {
      shape.bindTooltip(feature.properties.label, { sticky: true, className: "foliumtooltip" });
      shape.on("mouseover", function () { shape.setStyle(styles.highlight); });
      shape.on("mouseout", function () { layer.resetStyle(shape); });
    }
  }).addTo(map);
  var request = null;
  var timer = null;

  function load() {
    if (request) { request.abort(); }
    request = new AbortController();
    var url = frame.dataset.featuresUrl + "?bbox=" + map.getBounds().toBBoxString();
    loading.classList.add("htmx-request");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" }, signal: request.signal })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (collection) {
        layer.clearLayers();
        layer.addData(collection);
        truncated.hidden = !collection.truncated;
        failed.hidden = true;
        loading.classList.remove("htmx-request");
      })
      .catch(function (error) {
        if (error.name === "AbortError") { return; }  // a newer view is on its way
        failed.hidden = false;
        loading.classList.remove("htmx-request");
      });
  }

  // one request per pause in panning or zooming, not one per animation frame
  map.on("moveend", function () {
    clearTimeout(timer);
    timer = setTimeout(load, 150);
  });
  load();
}());
