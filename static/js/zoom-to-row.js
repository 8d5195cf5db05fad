// A click on a listed problem zooms the page's map to it (the link still leads to the village
// or team page for a second click, or without JavaScript). Rows swapped in by HTMX work too.
(function () {
  "use strict";
  var frame = document.querySelector("[data-map]");
  if (!frame) { return; }
  var map = window[frame.dataset.map];
  var current = null;
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.zoom[data-bounds]");
    if (!link || !map) { return; }
    if (current === link && link.getAttribute("href") !== "#") { return; }  // second click: go
    event.preventDefault();
    var b = link.dataset.bounds.split(",").map(Number);
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { maxZoom: 18, padding: [20, 20] });
    if (current) { current.classList.remove("zoomed"); }
    current = link;
    link.classList.add("zoomed");
    frame.scrollIntoView({ block: "nearest" });
  });
}());
