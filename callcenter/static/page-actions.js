// Small page behaviours kept out of the HTML: the Content-Security-Policy runs no inline script or on…= handler.
// A form control with data-autosubmit submits its form when changed; a button with data-print prints the page.
(function () {
  "use strict";
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { if (el.form) el.form.submit(); });
  });
  document.querySelectorAll("[data-print]").forEach(function (el) {
    el.addEventListener("click", function () { window.print(); });
  });
})();
