// Forms checked as one types (teams and members): when the server's message for a field is
// swapped in (its own, or out of band for a field whose rule reads the changed one), the field
// that points at it (aria-describedby) is marked invalid or valid again. After a refused save
// the first marked field has focus (autofocus, which works without this script too).
(function () {
  "use strict";

  function mark(message) {
    if (!message || !message.id) return;
    var wrong = message.textContent.trim() !== "";
    document.querySelectorAll('[aria-describedby~="' + message.id + '"]').forEach(function (field) {
      if (wrong) field.setAttribute("aria-invalid", "true");
      else field.removeAttribute("aria-invalid");
    });
  }

  function marked(event) {
    var target = event.detail && (event.detail.target || event.detail.elt);
    if (target && target.classList && target.classList.contains("field-error")) mark(target);
    document.querySelectorAll("p.field-error").forEach(mark);
  }

  document.addEventListener("htmx:afterSettle", marked);
  document.addEventListener("htmx:oobAfterSwap", marked);

  document.addEventListener("DOMContentLoaded", function () {
    var first = document.querySelector('form [aria-invalid="true"]');
    if (first && document.activeElement !== first) first.focus();
  });
})();
