// The method x task matrix's search and filters, without dependencies. The page works without this script
// (every row and column shown, averages over every task); with it, the form appears and each change:
// - keeps the rows whose submission contains a search word that names some submission, and the columns whose
//   task contains a word that names some task (a word that names neither leaves nothing to show);
// - hides the task columns of unticked dataset families (the boxes exist with two families or more), and masks
//   cells with a marker ticked under "Only";
// - drops columns and rows left with no value (and matrices, and their sections, left with no row), and recomputes
//   each row's "tasks" and "average" over the task columns shown: an average only for a row with a value in every
//   one of them (as the build does);
// - shows a row's marker badges (unverified, incomplete, ...) only for markers that some shown cell carries, so a
//   row whose unverified cells are all filtered out no longer says "unverified".
(function () {
  "use strict";
  var DASH = "\u2013";

  function contains(text, word) { return text.toLowerCase().indexOf(word) !== -1; }
  function each(list, fn) { Array.prototype.forEach.call(list, fn); }

  function usable(cell, hiddenMarkers) {
    if (!cell.hasAttribute("data-mean")) { return false; }
    var markers = (cell.getAttribute("data-markers") || "").split(" ");
    return !markers.some(function (m) { return m && hiddenMarkers.indexOf(m) !== -1; });
  }

  function applyTable(table, rowWords, colWords, nothing, families, hiddenMarkers) {
    var heads = table.tHead.rows[0].cells;
    var rows = Array.prototype.filter.call(table.tBodies[0].rows, function (r) { return r.hasAttribute("data-name"); });
    var taskCols = [];
    each(heads, function (h, i) {
      if (h.hasAttribute("data-task")) { taskCols.push(i); }
    });
    var candidateRows = rows.filter(function (r) {
      var name = r.getAttribute("data-name");
      return !nothing && (rowWords.length === 0 || rowWords.some(function (w) { return contains(name, w); }));
    });
    var shownCols = taskCols.filter(function (i) {
      var h = heads[i], task = h.getAttribute("data-task");
      var wanted = !nothing && (families === null || families.indexOf(h.getAttribute("data-family")) !== -1) &&
        (colWords.length === 0 || colWords.some(function (w) { return contains(task, w); }));
      return wanted && candidateRows.some(function (r) { return usable(r.cells[i], hiddenMarkers); });
    });
    var shownRows = [];
    taskCols.forEach(function (i) { heads[i].hidden = shownCols.indexOf(i) === -1; });
    rows.forEach(function (r) {
      var values = [], styles = {};
      taskCols.forEach(function (i) {
        var cell = r.cells[i], shown = shownCols.indexOf(i) !== -1, ok = usable(cell, hiddenMarkers);
        cell.hidden = !shown;
        if (cell.hasAttribute("data-mean")) {
          cell.classList.toggle("masked", !ok);
          if (ok) { cell.setAttribute("data-value", cell.getAttribute("data-mean")); } else { cell.removeAttribute("data-value"); }
        }
        if (shown && ok) {
          values.push(Number(cell.getAttribute("data-mean")));
          (cell.getAttribute("data-markers") || "").split(" ").forEach(function (m) { if (m) { styles[m] = true; } });
        }
      });
      var visible = candidateRows.indexOf(r) !== -1 && values.length > 0;
      r.hidden = !visible;
      each(r.querySelectorAll("td[data-label] .marker"), function (badge) {
        var marker = (badge.className.match(/\bmarker-(\S+)/) || [])[1];
        badge.hidden = visible && !styles[marker];
      });
      if (visible) { shownRows.push(r.getAttribute("data-name")); }
      var count = r.querySelector("td[data-tasks]"), avg = r.querySelector("td[data-average]");
      count.textContent = values.length + "/" + shownCols.length;
      count.setAttribute("data-value", String(values.length));
      ["unverified", "incomplete", "stale", "local"].forEach(function (m) { avg.classList.remove("cell-" + m); });
      if (values.length === shownCols.length && values.length > 0) {
        var mean = values.reduce(function (a, b) { return a + b; }, 0) / values.length;
        avg.textContent = mean.toFixed(3);
        avg.setAttribute("data-value", String(mean));
        avg.title = "mean of " + values.length + " tasks' means";
        Object.keys(styles).forEach(function (m) { avg.classList.add("cell-" + m); });
      } else {
        avg.textContent = DASH;
        avg.removeAttribute("data-value");
        avg.title = "has " + values.length + " of the " + shownCols.length + " tasks shown: no average over a different set of tasks";
      }
    });
    var over = table.querySelector("th[data-average] .avg-over");
    over.textContent = "over the " + shownCols.length + " task" + (shownCols.length === 1 ? "" : "s") + " shown";
    return {rows: shownRows, cols: shownCols.map(function (i) { return heads[i].getAttribute("data-task"); })};
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("matrix-filter");
    if (!form) { return; }
    var tables = document.querySelectorAll("table.matrix");
    var search = document.getElementById("matrix-search"), status = document.getElementById("matrix-status");
    var names = [], tasks = [];
    each(tables, function (t) {
      each(t.querySelectorAll("tbody tr[data-name]"), function (r) { names.push(r.getAttribute("data-name").toLowerCase()); });
      each(t.querySelectorAll("th[data-task]"), function (h) { tasks.push(h.getAttribute("data-task").toLowerCase()); });
    });

    function apply() {
      var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      var rowWords = words.filter(function (w) { return names.some(function (n) { return contains(n, w); }); });
      var colWords = words.filter(function (w) { return tasks.some(function (t) { return contains(t, w); }); });
      var unknown = words.filter(function (w) { return rowWords.indexOf(w) === -1 && colWords.indexOf(w) === -1; });
      var boxes = form.querySelectorAll("input[data-family]"), hiddenMarkers = [];
      var families = boxes.length ? [] : null;  // no boxes (one family only): every family
      each(boxes, function (box) { if (box.checked) { families.push(box.getAttribute("data-family")); } });
      each(form.querySelectorAll("input[data-hide-marker]"), function (box) {
        if (box.checked) { hiddenMarkers = hiddenMarkers.concat(box.getAttribute("data-hide-marker").split(" ")); }
      });
      var subs = {}, cols = {};
      each(tables, function (t) {
        var shown = applyTable(t, rowWords, colWords, unknown.length > 0, families, hiddenMarkers);
        shown.rows.forEach(function (n) { subs[n] = true; });
        t.closest(".table-wrap").hidden = shown.rows.length === 0;
        shown.cols.forEach(function (c) { cols[c] = true; });
      });
      each(document.querySelectorAll("section.matrices"), function (section) {
        section.hidden = !Array.prototype.some.call(section.querySelectorAll(".table-wrap"), function (w) { return !w.hidden; });
      });
      var nSubs = Object.keys(subs).length, nCols = Object.keys(cols).length;
      status.textContent = unknown.length ? "No submission or task contains \u201c" + unknown.join("\u201d, \u201c") + "\u201d."
        : "Showing " + nSubs + " submission" + (nSubs === 1 ? "" : "s") + " on " + nCols + " task" + (nCols === 1 ? "" : "s") + ".";
    }

    form.hidden = false;
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    search.addEventListener("input", apply);
    each(form.querySelectorAll("input[type=checkbox]"), function (box) { box.addEventListener("change", apply); });
    var query = new URLSearchParams(window.location.search).get("q");
    if (query) { search.value = query; }
    apply();
  });
})();
