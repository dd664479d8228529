// Live refresh of the alarm table: every 10 s while the tab is visible, paused while hidden,
// and at once when the operator comes back. The URL comes from a data-* attribute. A refresh
// is skipped while the operator is typing in or has focus inside the table (a note, a button)
// or has rows selected for the bulk bar: a refresh would drop the selection.
(function () {
  "use strict";
  var FAST_MS = 10000;
  var table = document.getElementById("alarm-table");
  if (!table || !window.htmx) { return; }
  var url = table.dataset.refreshUrl;
  var bulk = document.getElementById("bulk-form");
  function selected() {
    return table.querySelectorAll("input.row-select:checked").length;
  }
  function updateBulk() {
    if (!bulk) { return; }
    var label = bulk.querySelector(".bulk-count");
    var count = selected();
    label.textContent = count ? count + " " + label.dataset.some : label.dataset.none;
  }
  function updateTitle() {
    var glance = table.querySelector("[data-firing-total]");
    if (!glance) { return; }
    var count = parseInt(glance.dataset.firingTotal, 10) || 0;
    var bare = document.title.replace(/^\(\d+\) /, "");
    document.title = count ? "(" + count + ") " + bare : bare;
  }
  function refresh() {
    if (document.visibilityState !== "visible") { return; }
    if (selected()) { return; }
    if (bulk && bulk.contains(document.activeElement)) { return; }
    if (table.contains(document.activeElement) && document.activeElement !== document.body) { return; }
    window.htmx.ajax("GET", url, { target: "#alarm-table", swap: "innerHTML" }).then(updateTitle);
  }
  table.addEventListener("change", function (event) {
    if (event.target.classList && event.target.classList.contains("row-select")) { updateBulk(); }
  });
  if (bulk) {
    // After a bulk action the table comes back unselected: clear the note and the count.
    bulk.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.successful) { bulk.reset(); }
      updateBulk();
      updateTitle();
    });
  }
  setInterval(refresh, FAST_MS);
  document.addEventListener("visibilitychange", refresh);
})();
