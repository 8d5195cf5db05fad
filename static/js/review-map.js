// The review's map travels through HTMX, alone (another figure) or with the whole review
// (another place or period): its script comes as an attribute's text (HTMX drops the scripts it
// swaps in) and is run here under this page's nonce, after the earlier map has been taken down.
// The figure chosen is kept in the review's form, so a new period keeps it.
(function () {
  "use strict";
  var nonce = document.currentScript ? document.currentScript.nonce : "";

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
    return element && (element.id === "review" || element.id === "review-map");
  }

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (ours(event.detail.target)) { takeDown(event.detail.target); }
  });
  document.body.addEventListener("htmx:load", function (event) {
    if (ours(event.target)) { draw(event.target); }
  });
  document.addEventListener("change", function (event) {
    if (event.target.id !== "review-figure") { return; }
    var kept = document.querySelector("#review-form input[name=figure]");
    if (kept) { kept.value = event.target.value; }
  }, true);

  var section = document.getElementById("review-map");
  if (section) { draw(section); }
}());
