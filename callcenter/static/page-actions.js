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

// A text box with a length limit (forms.max_chars): say "too long" as soon as the text passes it, instead of
// the browser's maxlength cutting a pasted name mid-word without a word. The form still checks on saving.
(function () {
  "use strict";
  document.querySelectorAll("input[data-max-chars]").forEach(function (input) {
    var limit = parseInt(input.dataset.maxChars, 10);
    var note = document.createElement("div");
    note.className = "invalid-feedback d-block too-long";
    note.setAttribute("aria-live", "polite");
    note.hidden = true;
    input.insertAdjacentElement("afterend", note);
    function check() {
      var n = input.value.length;
      var over = n > limit;
      note.hidden = !over;
      note.textContent = over ? input.dataset.tooLong.replace("%(n)s", n).replace("%(limit)s", limit) : "";
      input.classList.toggle("is-invalid", over);
    }
    // After a refused save the server's message is already there: ours starts at the first keystroke, which
    // also retires the server's (now stale) messages for this box.
    var fromServer = input.classList.contains("is-invalid");
    input.addEventListener("input", function () {
      if (fromServer) {
        fromServer = false;
        input.parentElement.querySelectorAll(".invalid-feedback:not(.too-long)").forEach(function (el) {
          el.hidden = true;
        });
      }
      check();
    });
    if (!fromServer) check();
  });
})();
