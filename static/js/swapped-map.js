// A map that travels through HTMX inside a section (the incident map, the review's map): its
// script comes as an attribute's text (HTMX drops the scripts it swaps in) and is run here under
// this page's nonce, after the earlier map has been taken down. A page names its sections with
// data-swapped-map on this script's tag ("incident-map", "review review-map").
(function () {
  "use strict";
  var tag = document.currentScript;
  var nonce = tag ? tag.nonce : "";
  var ids = tag ? (tag.dataset.swappedMap || "").split(" ") : [];

  function draw(root) {
    var source = root.querySelector("[data-map-script]");
    if (!source || !window.L) { return; }
    var script = document.createElement("script");
    script.nonce = nonce;
    script.textContent = source.dataset.mapScript;
    source.replaceWith(script);
  }

  function takeDown(root) {
    var frame = root.querySelector("[data-map]");
    var map = frame ? window[frame.dataset.map] : null;
    if (map && map.remove) { map.remove(); }
    if (frame) { window[frame.dataset.map] = null; }
  }

  function ours(element) {
    return !!element && ids.indexOf(element.id) >= 0;
  }

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (ours(event.detail.target)) { takeDown(event.detail.target); }
  });
  // htmx:load fires on the new section once it is in the page (afterSwap, for an outerHTML
  // swap, is about the element that left)
  document.body.addEventListener("htmx:load", function (event) {
    if (ours(event.target)) { draw(event.target); }
  });
  ids.forEach(function (id) {
    var section = document.getElementById(id);
    if (section) { draw(section); }
  });
}());
