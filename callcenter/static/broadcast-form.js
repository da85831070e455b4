// The new broadcast's form: show the blanks of the message chosen (all of them without JavaScript).
(function () {
  "use strict";
  var form = document.getElementById("broadcast-form");
  if (!form) return;
  var blanks = JSON.parse(form.dataset.blanks);
  function show() {
    var checked = form.querySelector('input[name="template"]:checked');
    var wanted = checked ? blanks[checked.value] || [] : [];
    form.querySelectorAll(".blank").forEach(function (box) {
      box.hidden = checked !== null && wanted.indexOf(box.dataset.blank) < 0;
    });
  }
  form.addEventListener("change", show);
  show();
})();
