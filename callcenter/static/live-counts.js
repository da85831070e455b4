// Refresh the queue counts every 15 seconds without reloading the page.
(function () {
  var box = document.getElementById("queues");
  if (!box) return;
  function refresh() {
    fetch(box.dataset.countsUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (counts) {
        if (!counts) return;
        box.querySelectorAll("[data-setting]").forEach(function (el) {
          var n = counts[el.dataset.setting];
          if (n !== undefined) el.textContent = n;
        });
      })
      .catch(function () { /* offline for a moment: keep the last figures */ });
  }
  setInterval(refresh, 15000);
})();
