// Disable the save button after the first click; the server records a double submission once anyway.
(function () {
  var form = document.getElementById("call-form");
  if (!form) return;
  form.addEventListener("submit", function () {
    var btn = document.getElementById("save-call");
    setTimeout(function () { btn.disabled = true; }, 0);
  });
})();
