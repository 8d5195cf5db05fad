// The incident map's section travels whole, through HTMX when a filter changes: its map script
// comes as an attribute's text (HTMX drops the scripts it swaps in), and is run here under this
// page's nonce, after the earlier map has been taken down. A date typed by hand ends the quick period choice.
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

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "incident-map") { takeDown(event.detail.target); }
  });
  // htmx:load fires on the new section once it is in the page (afterSwap, for an outerHTML
  // swap, is about the element that left)
  document.body.addEventListener("htmx:load", function (event) {
    if (event.target.id === "incident-map") { draw(event.target); }
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches("#incident-map input[data-period]")) {
      var days = event.target.form.querySelector("select[name=days]");
      if (days) { days.value = ""; }
    }
  }, true);

  var section = document.getElementById("incident-map");
  if (section) { draw(section); }
}());
