// The incident map is drawn by swapped-map.js; a date typed by hand ends the quick period choice.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    if (event.target.matches("#incident-map input[data-period]")) {
      var days = event.target.form.querySelector("select[name=days]");
      if (days) { days.value = ""; }
    }
  }, true);
}());
