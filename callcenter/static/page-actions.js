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

// "show number" (templates/_phone.html): ask for the number and put it in place of the masked one. Listened for
// on the document, so rows a page redraws (the desk console) keep the button working; any failure falls back
// to the plain form post, whose answer is a page of its own.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form.reveal-phone") || !window.fetch) return;
    event.preventDefault();
    fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                        headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        var link = document.createElement("a");
        link.href = "tel:" + data.tel;
        link.textContent = data.phone;
        link.className = "text-nowrap";
        var masked = form.previousElementSibling;
        if (masked && masked.classList.contains("phone-masked")) masked.replaceWith(link);
        else form.before(link);
        form.remove();
      })
      .catch(function () { form.submit(); });
  });
})();
