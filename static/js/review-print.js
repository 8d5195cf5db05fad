// The printed review: its "In báo cáo" button opens the browser's print dialog (the CSP
// forbids an inline onclick). Without JavaScript the browser's own Print does the same.
(function () {
  "use strict";
  var button = document.getElementById("report-print");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
})();
