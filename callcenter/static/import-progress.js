// A background line-list import's page (intake/import_batch.html): ask how far it got every few seconds,
// show it, and reload the page once the import has a result.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var summary = document.getElementById("summary");
  var bar = box.querySelector(".progress-bar");  // (none on a stopped import's page)
  var meter = box.querySelector(".progress");
  var stalled = document.getElementById("import-stalled");
  var delay = 3000;

  function show(state) {
    summary.textContent = state.summary;
    if (bar && state.percent !== null) {
      bar.style.width = state.percent + "%";
      meter.setAttribute("aria-valuenow", state.percent);
    }
    if (stalled) { stalled.classList.toggle("d-none", !state.stalled); }
  }

  function poll() {
    fetch(box.dataset.url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        // (It has a result, or its worker stopped, or it was restarted: the page says what to do now.)
        if (state && (!state.waiting || String(Number(state.stopped)) !== box.dataset.stopped)) {
          window.location.reload();
          return;
        }
        if (state) { show(state); delay = 3000; } else { delay = Math.min(delay * 2, 30000); }
        window.setTimeout(poll, delay);
      })
      .catch(function () { delay = Math.min(delay * 2, 30000); window.setTimeout(poll, delay); });
  }
  window.setTimeout(poll, delay);
}());
