// Refresh the dashboard's figures every 45 seconds from its JSON endpoint, without reloading the page.
(function () {
  var box = document.getElementById("glance");
  if (!box || !window.fetch) return;
  var stamp = document.getElementById("figures-at");
  function refresh() {
    if (document.hidden) return;  // no polling from a background tab
    fetch(box.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        document.querySelectorAll("[data-fig]").forEach(function (el) {
          var v = data.figures[el.dataset.fig];
          if (v === undefined) return;
          el.textContent = v === null ? "–" : v;
        });
        // The time as the server writes it (24-hour, the app's zone), not the browser's clock and zone.
        if (stamp) stamp.textContent = data.at_text;
        // An age bucket's list is of the time its figure was counted at (views._as_of).
        document.querySelectorAll("a[data-at]").forEach(function (a) {
          var url = new URL(a.href);
          url.searchParams.set("at", data.at);
          a.href = url.toString();
        });
      })
      .catch(function () { /* offline for a moment: keep the last figures */ });
  }
  // The "act now" lists are asked again with the figures (never the forms beside them: a half-typed reason stays).
  var act = document.getElementById("act-now-live");
  function refreshAct() {
    if (!act || document.hidden) return;
    fetch(act.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && data.html) act.innerHTML = data.html; })
      .catch(function () { /* offline for a moment: keep the last lists */ });
  }
  setInterval(function () { refresh(); refreshAct(); }, 45000);
})();
