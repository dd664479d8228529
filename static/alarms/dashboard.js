// Live refresh of the alarm table: every 10 s while the tab is visible, paused while hidden,
// and at once when the operator comes back. The URL comes from a data-* attribute. A refresh
// is skipped while the operator is typing in or has focus inside the table (a note, a button).
(function () {
  "use strict";
  var FAST_MS = 10000;
  var table = document.getElementById("alarm-table");
  if (!table || !window.htmx) { return; }
  var url = table.dataset.refreshUrl;
  function updateTitle() {
    var glance = table.querySelector("[data-firing-total]");
    if (!glance) { return; }
    var count = parseInt(glance.dataset.firingTotal, 10) || 0;
    var bare = document.title.replace(/^\(\d+\) /, "");
    document.title = count ? "(" + count + ") " + bare : bare;
  }
  function refresh() {
    if (document.visibilityState !== "visible") { return; }
    if (table.contains(document.activeElement) && document.activeElement !== document.body) { return; }
    window.htmx.ajax("GET", url, { target: "#alarm-table", swap: "innerHTML" }).then(updateTitle);
  }
  setInterval(refresh, FAST_MS);
  document.addEventListener("visibilitychange", refresh);
})();
