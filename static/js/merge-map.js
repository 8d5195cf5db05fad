// The merge form's map: a tap on a village toggles its checkbox (the checkboxes stay, for a
// page without JavaScript and for screen readers, and the two are kept in step). Once one is
// chosen, the villages bordering the choice are highlighted as candidates and the others
// dimmed. Names arrive as map text, escaped once on the server (geo.maps.text): a tooltip
// shows them literally.
(function () {
  "use strict";
  var frame = document.querySelector("[data-testid='merge-map']");
  if (!frame || !window.L) { return; }
  var map = window[frame.dataset.map];
  var villages = JSON.parse(document.getElementById("merge-villages").textContent);
  var neighbours = JSON.parse(document.getElementById("merge-neighbours").textContent);
  var summary = document.getElementById("merge-selection");
  var boxes = {};
  document.querySelectorAll("input[name='area_ids']").forEach(function (box) { boxes[box.value] = box; });

  var STYLES = {
    normal: { color: "#2a6f97", weight: 1.2, fillColor: "#89c2d9", fillOpacity: 0.35, opacity: 1 },
    chosen: { color: "#9d0208", weight: 3, fillColor: "#e85d04", fillOpacity: 0.6, opacity: 1 },
    candidate: { color: "#1b4332", weight: 2.5, fillColor: "#52b788", fillOpacity: 0.45, opacity: 1 },
    other: { color: "#6c757d", weight: 0.8, fillColor: "#ced4da", fillOpacity: 0.15, opacity: 0.5 }
  };
  var shapes = {};
  var layer = L.geoJSON(villages, {
    onEachFeature: function (feature, shape) {
      var id = String(feature.properties.id);
      shapes[id] = shape;
      shape.bindTooltip(feature.properties.name, { sticky: true, className: "foliumtooltip" });
      shape.on("click", function () {
        var box = boxes[id];
        if (!box) { return; }
        box.checked = !box.checked;
        box.dispatchEvent(new Event("change", { bubbles: true }));
      });
    }
  }).addTo(map);

  function chosenIds() {
    return Object.keys(boxes).filter(function (id) { return boxes[id].checked; });
  }

  // whether the chosen villages form one piece (each reached from the first by borders)
  function connected(ids) {
    if (ids.length < 2) { return true; }
    var wanted = {}, seen = {}, queue = [ids[0]];
    ids.forEach(function (id) { wanted[id] = true; });
    seen[ids[0]] = true;
    while (queue.length) {
      (neighbours[queue.shift()] || []).forEach(function (n) {
        n = String(n);
        if (wanted[n] && !seen[n]) { seen[n] = true; queue.push(n); }
      });
    }
    return ids.every(function (id) { return seen[id]; });
  }

  function refresh() {
    var ids = chosenIds();
    var near = {};
    ids.forEach(function (id) { (neighbours[id] || []).forEach(function (n) { near[String(n)] = true; }); });
    Object.keys(shapes).forEach(function (id) {
      var state = "normal";
      if (boxes[id] && boxes[id].checked) { state = "chosen"; }
      else if (ids.length) { state = near[id] ? "candidate" : "other"; }
      shapes[id].setStyle(STYLES[state]);
      var label = boxes[id] && boxes[id].closest("label");
      if (label) { label.dataset.state = state; }
    });
    if (!ids.length) {
      summary.textContent = summary.dataset.none;
      return;
    }
    var names = ids.map(function (id) { return boxes[id].closest("label").textContent.trim(); });
    var text = summary.dataset.some.replace("{n}", String(ids.length)).replace("{names}", names.join(", "));
    if (!connected(ids)) { text += " " + summary.dataset.apart; }
    summary.textContent = text;
  }

  Object.keys(boxes).forEach(function (id) { boxes[id].addEventListener("change", refresh); });
  refresh();
  if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds()); }
}());
