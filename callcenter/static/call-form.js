// Disable the save buttons after the first click; the server records a double submission once anyway.
// (After the submit event, so the button pressed — "Save" or "Save and take next" — is still sent.)
(function () {
  var form = document.getElementById("call-form");
  if (!form) return;
  form.addEventListener("submit", function () {
    setTimeout(function () {
      form.querySelectorAll('button[type="submit"]').forEach(function (btn) { btn.disabled = true; });
    }, 0);
  });
})();
