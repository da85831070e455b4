// The desk's live console: new rows without a reload, a countdown to each response deadline, and an alarm
// (a beep made with the Web Audio API, a flashing banner and the tab's title) when a new emergency arrives.
// The rows come rendered from the server (desks.console), so every word on them is translated there.
(function () {
  "use strict";

  // ── The escalation page: show the fields of the kind of help being sent ──────────────────────────
  var dispatchForm = document.getElementById("dispatch-form");
  if (dispatchForm) {
    var showParts = function () {
      var checked = dispatchForm.querySelector('input[name="kind"]:checked');
      var kind = checked ? checked.value : "ambulance";
      dispatchForm.querySelectorAll(".dispatch-part").forEach(function (part) {
        part.hidden = part.dataset.forKind.split(" ").indexOf(kind) < 0;
      });
    };
    dispatchForm.addEventListener("change", showParts);
    showParts();
  }

  var box = document.getElementById("console");
  if (!box || !window.fetch) return;

  var words = JSON.parse(document.getElementById("console-words").textContent);
  // Two sections (emergencies and urgent; routine needs), each its own table: a row goes where its data-group says.
  var rowsBox = document.getElementById("escalations");
  var sections = {};
  rowsBox.querySelectorAll("section[data-section]").forEach(function (section) {
    sections[section.dataset.section] = {
      tbody: section.querySelector("tbody"), count: section.querySelector("[data-section-count]"),
      none: section.querySelector("[data-section-none]"), table: section.querySelector("[data-section-table]")};
  });
  var tableBox = document.getElementById("console-table");
  var empty = document.getElementById("console-empty");
  var more = document.getElementById("console-more");
  var state = document.getElementById("console-state");
  var filters = document.getElementById("console-filters");
  var banner = document.getElementById("new-emergency");
  var soundButton = document.getElementById("sound-toggle");
  var pollMs = (parseInt(box.dataset.poll, 10) || 5) * 1000;
  var baseTitle = document.title;
  // Server time minus this browser's clock: the countdown follows the server, not a wrong PC clock.
  var skew = Date.parse(box.dataset.now) - Date.now();

  function say(key, value) { return words[key].replace("{t}", value); }

  // ── Countdowns ─────────────────────────────────────────────────────────────────────────────────
  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return (h ? h + ":" + two(m) : m) + ":" + two(sec);
  }

  function tick() {
    var now = Date.now() + skew;
    rowsBox.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Date.parse(el.dataset.deadline) - now;
      var row = el.closest("tr");
      if (left >= 0) {
        el.textContent = say("left", span(left));
        el.classList.toggle("text-danger", left < 60000);
        el.classList.toggle("fw-bold", left < 60000);
      } else {
        el.textContent = say("overdue", span(left));
        el.classList.add("text-danger", "fw-bold");
        if (row) row.classList.add("table-danger", "esc-breached");
      }
    });
  }

  // ── The alarm ──────────────────────────────────────────────────────────────────────────────────
  var audio = null;
  var soundWanted = window.localStorage && localStorage.getItem("sampark-alarm-sound") === "on";
  var alarmTimer = null, titleTimer = null;
  var beeps = 0;

  function audioReady() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!audio) audio = new Ctx();
    if (audio.state === "suspended") audio.resume();
    return audio;
  }

  function beep() {
    beeps += 1;
    banner.dataset.beeps = beeps;
    if (!soundWanted) return;
    var ctx = audioReady();
    if (!ctx) return;
    [0, 0.3, 0.6].forEach(function (at) {   // three short high tones, like a pager
      var t = ctx.currentTime + at;
      var osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.type = "square";
      osc.frequency.setValueAtTime(at === 0.3 ? 1320 : 880, t);
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.22);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(t);
      osc.stop(t + 0.25);
    });
  }

  function showSound() {
    soundButton.classList.remove("d-none");
    soundButton.textContent = words[soundWanted ? "sound_on" : "sound_off"];
    soundButton.setAttribute("aria-pressed", soundWanted ? "true" : "false");
    soundButton.classList.toggle("btn-success", soundWanted);
    soundButton.classList.toggle("btn-outline-secondary", !soundWanted);
  }

  soundButton.addEventListener("click", function () {
    soundWanted = !soundWanted;
    if (window.localStorage) localStorage.setItem("sampark-alarm-sound", soundWanted ? "on" : "off");
    if (soundWanted) audioReady();  // a click is the gesture browsers need before they play sound
    showSound();
  });
  // Browsers start audio suspended until the page is used: the first click anywhere wakes it.
  document.addEventListener("click", function wake() {
    if (soundWanted) audioReady();
    document.removeEventListener("click", wake);
  });
  showSound();

  function raiseAlarm(news) {
    banner.querySelector(".alarm-text").textContent = news.map(function (e) { return e.text; }).join("; ");
    banner.hidden = false;
    banner.classList.remove("d-none");
    banner.classList.add("flashing");
    beep();
    clearInterval(alarmTimer);
    alarmTimer = setInterval(beep, 15000);  // again until someone says they have seen it
    clearInterval(titleTimer);
    var on = false;
    titleTimer = setInterval(function () {
      on = !on;
      document.title = on ? "🚨 " + words.title + " (" + news.length + ")" : baseTitle;
    }, 1000);
    document.title = "🚨 " + words.title + " (" + news.length + ")";
  }

  function quietAlarm() {
    clearInterval(alarmTimer);
    clearInterval(titleTimer);
    document.title = baseTitle;
    banner.classList.remove("flashing");
    banner.classList.add("d-none");
    banner.hidden = true;
  }
  document.getElementById("alarm-seen").addEventListener("click", quietAlarm);

  // Emergencies already open when the page was made are known (even those the filters hide): only new ones ring.
  var known = {};
  JSON.parse(box.dataset.emergencies || "[]").forEach(function (id) { known[id] = true; });

  // ── Rows ───────────────────────────────────────────────────────────────────────────────────────
  function applyRows(html, emptyHtml) {
    var holder = document.createElement("tbody");
    holder.innerHTML = html;
    var fresh = Array.prototype.slice.call(holder.children);
    var current = {};
    rowsBox.querySelectorAll("tr[data-escalation]").forEach(function (row) { current[row.dataset.escalation] = row; });
    var wanted = fresh.map(function (row) {
      var old = current[row.dataset.escalation];
      delete current[row.dataset.escalation];
      // Unchanged rows stay as they are, so a half-typed note or an open menu is not lost; a changed one is
      // replaced (not left behind beside its new version).
      if (old && old.dataset.stamp === row.dataset.stamp && old.dataset.group === row.dataset.group) return old;
      if (old) old.remove();
      return row;
    });
    Object.keys(current).forEach(function (id) { current[id].remove(); });
    Object.keys(sections).forEach(function (key) {
      var section = sections[key];
      var mine = wanted.filter(function (row) { return (sections[row.dataset.group] ? row.dataset.group : "urgent") === key; });
      mine.forEach(function (row, i) {
        if (section.tbody.children[i] !== row) section.tbody.insertBefore(row, section.tbody.children[i] || null);
      });
      section.count.textContent = mine.length;
      section.none.hidden = mine.length !== 0;
      section.table.hidden = mine.length === 0;
    });
    tableBox.hidden = wanted.length === 0;
    // The server says which: an empty desk, or no match for the filters (with a way to clear them).
    if (emptyHtml !== undefined && empty.dataset.html !== emptyHtml) {
      empty.innerHTML = emptyHtml;
      empty.dataset.html = emptyHtml;
    }
    empty.hidden = wanted.length !== 0;
  }

  // The search words never go in an address (addresses end up in proxies' logs and the browser's history):
  // the poll sends them in a header, and the tab remembers them across the reload after a form is sent.
  var search = filters.elements.q;
  var searchKey = box.dataset.searchKey;
  function query() {
    var params = new URLSearchParams(new FormData(filters));
    params.delete("q");
    return params.toString();
  }
  try {
    if (!search.value) search.value = window.sessionStorage.getItem(searchKey) || "";
  } catch (e) { /* storage off: the search starts empty */ }
  // "Clear the filters" (a link to the bare console) clears the remembered search too.
  document.addEventListener("click", function (ev) {
    if (!ev.target.closest("#filter-clear, #console-clear-filters")) return;
    try { window.sessionStorage.removeItem(searchKey); } catch (e) { /* nothing kept */ }
  });

  var busy = false, again = false;
  function poll() {
    if (busy) { again = true; return; }  // asked while a request is out (a filter changed): ask once more after
    busy = true;
    fetch(box.dataset.url + "?" + query(), {credentials: "same-origin", headers: {
      "Accept": "application/json", "X-Console-Search": encodeURIComponent(search.value.trim())}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        skew = Date.parse(data.at) - Date.now();
        applyRows(data.html, data.empty);
        more.hidden = !data.more;
        var news = data.emergencies.filter(function (e) { return !known[e.id]; });
        data.emergencies.forEach(function (e) { known[e.id] = true; });
        if (news.length) raiseAlarm(news);
        // The server's time as it writes it (24-hour, the app's zone), not the browser's clock and zone.
        state.textContent = say("updated", data.at_text);
        state.classList.remove("text-danger");
        tick();
      })
      .catch(function () {
        state.textContent = words.offline;
        state.classList.add("text-danger");
      })
      .then(function () {
        busy = false;
        if (again) { again = false; poll(); }
      });
  }

  // Filters apply at once, without a reload; the address keeps them but the search (a reload shows the same
  // list: the tab keeps the search).
  var typing = null;
  function refilter() {
    history.replaceState(null, "", "?" + query());
    try { window.sessionStorage.setItem(searchKey, search.value.trim()); } catch (e) { /* not remembered */ }
    poll();
  }
  filters.addEventListener("change", refilter);
  filters.addEventListener("input", function (ev) {
    if (ev.target.name !== "q") return;
    clearTimeout(typing);
    typing = setTimeout(refilter, 300);
  });
  filters.addEventListener("submit", function (ev) { ev.preventDefault(); refilter(); });

  tick();
  setInterval(tick, 1000);
  poll();
  setInterval(poll, pollMs);
})();
