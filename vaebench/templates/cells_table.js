// index.html: the table of every scored cell, filled from data/metrics.js (one row per cell), filtered by name and
// sorted by a clicked header; the page holds no row of its own, so it stays small whatever the grid's size.
(function () {
  var table = document.getElementById("cells-table");
  if (!table) { return; }
  var rows = window.VAEBENCH_DATA.metrics, columns = JSON.parse(table.dataset.columns);
  var filter = document.getElementById("cells-filter"), count = document.getElementById("cells-count");
  var key = "title", ascending = true;
  // vaebench.site.numbers.significant: three significant digits, no exponent, a true minus sign
  function significant(value) {
    if (value === 0 || !isFinite(value)) { return String(value); }
    var rounded = Number(value.toPrecision(3)), decimals = 2 - Math.floor(Math.log10(Math.abs(rounded)));
    return rounded.toFixed(Math.max(decimals, 0)).replace("-", "\u2212");
  }
  function compare(a, b) {
    var x = a[key], y = b[key], missing = (x === null || x === undefined) - (y === null || y === undefined);
    if (missing) { return missing; }  // cells without the score last, either way
    var order = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
    return ascending ? order : -order;
  }
  function draw() {
    var text = filter.value.trim().toLowerCase();
    var shown = rows.filter(function (row) { return !text || row.name.toLowerCase().indexOf(text) >= 0 || row.title.toLowerCase().indexOf(text) >= 0; });
    shown.sort(compare);
    var body = document.createElement("tbody");
    shown.forEach(function (row) {
      var line = body.insertRow(), first = line.insertCell(), link = document.createElement("a");
      link.href = row.url;
      link.title = row.name;
      link.textContent = row.title;
      first.appendChild(link);
      columns.forEach(function (column) {
        var cell = line.insertCell(), value = row[column.key];
        var missing = value === null || value === undefined;
        cell.textContent = missing ? "n/a" : significant(value);
        if (missing) { cell.className = "na"; }
      });
    });
    table.replaceChild(body, table.tBodies[0]);
    count.textContent = shown.length + " of " + rows.length + " cells";
  }
  table.querySelectorAll("thead th").forEach(function (header) {
    header.addEventListener("click", function (event) {
      if (event.target.tagName === "A") { return; }  // the header's link opens the glossary
      ascending = key === header.dataset.key ? !ascending : true;
      key = header.dataset.key;
      draw();
    });
  });
  filter.addEventListener("input", draw);
  draw();
})();
