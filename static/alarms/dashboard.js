// Live refresh of the alarm table: every 10 s while the tab is visible, paused while hidden,
// and at once when the operator comes back. The URL comes from a data-* attribute.
(function () {
  "use strict";
  var FAST_MS = 10000;
  var table = document.getElementById("alarm-table");
  if (!table || !window.htmx) { return; }
  var url = table.dataset.refreshUrl;
  function refresh() {
    if (document.visibilityState !== "visible") { return; }
    window.htmx.ajax("GET", url, { target: "#alarm-table", swap: "innerHTML" }).then(function () {
      var heading = document.querySelector(".alarmhub-glance h2");
      var match = heading && heading.textContent.match(/\d+/);
      if (match) { document.title = document.title.replace(/^\(\d+\) /, "(" + match[0] + ") "); }
    });
  }
  setInterval(refresh, FAST_MS);
  document.addEventListener("visibilitychange", refresh);
})();
