// The review's map is drawn by swapped-map.js; the figure chosen on it is kept in the review's
// form, so that a new place or period keeps it.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    if (event.target.id !== "review-figure") { return; }
    var kept = document.querySelector("#review-form input[name=figure]");
    if (kept) { kept.value = event.target.value; }
  }, true);
}());
