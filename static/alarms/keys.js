// Board keyboard shortcuts: "/" search, "j"/"k" move, "x" select, "a" acknowledge,
// Enter open, "?" help. Keys typed into inputs are left alone; the current row is
// remembered by id so a live refresh (a new table) keeps it.
(function () {
  "use strict";
  var table = document.getElementById("alarm-table");
  if (!table) { return; }
  var currentId = null;

  function rows() {
    return Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-alarm-id]"));
  }
  function current() {
    return currentId ? document.getElementById("alarm-row-" + currentId) : null;
  }
  function mark(row) {
    rows().forEach(function (r) { r.classList.remove("is-current"); });
    currentId = row ? row.dataset.alarmId : null;
    if (row) {
      row.classList.add("is-current");
      row.scrollIntoView({ block: "nearest" });
    }
  }
  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var index = all.indexOf(current());
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1)
      : Math.min(Math.max(index + step, 0), all.length - 1);
    mark(all[next]);
  }
  function openFilters() {
    var panel = document.querySelector("details.filters-panel");
    if (panel) { panel.open = true; }
  }
  function acknowledge() {
    var bulk = document.getElementById("bulk-form");
    if (bulk && table.querySelector("input.row-select:checked")) {
      var button = bulk.querySelector('button[value="acknowledge"]');
      if (button) { button.click(); }
      return;
    }
    var row = current();
    var form = row && row.querySelector("form.ack-form");
    // Only an acknowledge form: "a" never unacknowledges.
    if (form && !form.querySelector('input[name="undo"]')) { form.requestSubmit(); }
  }
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var help = document.getElementById("keys-help");
    if (help && help.open) { return; }  // the dialog handles Escape itself
    if (typing(event.target)) {
      if (event.key === "Escape") { event.target.blur(); }
      return;
    }
    var row = current();
    switch (event.key) {
      case "/":
        var search = document.getElementById("id_q");
        if (search) { event.preventDefault(); openFilters(); search.focus(); search.select(); }
        break;
      case "j": move(1); break;
      case "k": move(-1); break;
      case "x":
        var box = row && row.querySelector("input.row-select");
        if (box) { box.checked = !box.checked; box.dispatchEvent(new Event("change", { bubbles: true })); }
        break;
      case "a": acknowledge(); break;
      case "Enter":
        var link = row && row.querySelector("a[href]");
        if (link) { link.click(); }
        break;
      case "?":
        if (help && help.showModal) { event.preventDefault(); help.showModal(); }
        break;
      default: return;
    }
  });
  // A refreshed or re-rendered table or row: put the marker back on the same alarm. An
  // outerHTML swap fires afterSwap on the replaced (detached) row, which never reaches body;
  // htmx:load fires on the new content once it is in the document.
  function restore() {
    var row = current();
    if (row) { row.classList.add("is-current"); }
  }
  document.body.addEventListener("htmx:afterSwap", restore);
  document.body.addEventListener("htmx:load", restore);
})();
