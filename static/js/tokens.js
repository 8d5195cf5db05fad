// The API token page: copy the new token's secret (shown once) to the clipboard.
(function () {
  "use strict";
  document.querySelectorAll("button.copy-token[hidden]").forEach(function (button) {
    var field = document.getElementById(button.dataset.target);
    if (!field) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      field.select();
      var done = function () { button.textContent = button.dataset.done; };
      if (navigator.clipboard) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          document.execCommand("copy"); done();
        });
      } else {
        document.execCommand("copy"); done();
      }
    });
  });
}());
