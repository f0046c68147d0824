// explorer.html: pickers narrow the cells data/codes.js lists (each picker offers what the ones before it leave); the
// picked cell's codes come from its data script, inserted when it is first picked, and redraw the scatter matrix.
(function () {
  var data = window.VAEBENCH_DATA.codes, specs = {}, fields = [], loaded = {};
  document.querySelectorAll("script[data-factor]").forEach(function (script) {
    var spec = JSON.parse(script.textContent);
    specs[script.dataset.factor] = spec;
    fields = spec.repeat.row;
  });
  var keys = ["model", "hparams", "latent_dim", "seed"];
  var pickers = {};
  keys.concat(["factor"]).forEach(function (key) { pickers[key] = document.getElementById("pick-" + key); });

  function fill(picker, values) {
    var kept = picker.value;
    picker.innerHTML = "";
    values.forEach(function (value) { var option = document.createElement("option"); option.textContent = value; picker.appendChild(option); });
    if (values.map(String).indexOf(kept) >= 0) { picker.value = kept; }
  }
  function distinct(cells, key) {
    var seen = [];
    cells.forEach(function (cell) { if (seen.indexOf(cell[key]) < 0) { seen.push(cell[key]); } });
    return seen.sort(function (a, b) { return typeof a === "number" ? a - b : String(a).localeCompare(String(b)); });
  }
  function chosen() {
    var cells = data.cells;
    keys.forEach(function (key) {
      fill(pickers[key], distinct(cells, key));
      cells = cells.filter(function (cell) { return String(cell[key]) === pickers[key].value; });
    });
    return cells[0];
  }
  // a cell's data script sets window.VAEBENCH_DATA.scatter; its load event follows its run at once, before any other script's
  function load(cell, then) {
    if (loaded[cell.name]) { then(loaded[cell.name]); return; }
    var script = document.createElement("script");
    script.src = cell.data;
    script.onload = function () { loaded[cell.name] = window.VAEBENCH_DATA.scatter; then(loaded[cell.name]); };
    script.onerror = function () { document.getElementById("explorer-cell").textContent = "could not load " + cell.data; };
    document.body.appendChild(script);
  }
  function show(cell, codes) {
    // a table cell's data also colours its own page's scatter by every column: the explorer offers what it has specs for
    fill(pickers.factor, codes.factors.names.filter(function (name) { return name in specs; }));
    var says = document.getElementById("explorer-cell");
    says.innerHTML = "";
    var link = document.createElement("a");
    link.href = cell.url;
    link.textContent = cell.name;
    says.appendChild(link);
    says.appendChild(document.createTextNode(": " + codes.labels.map(function (label, k) { return fields[k].split(" ")[0] + " = " + label; }).join("; ")));
    vaebenchScatter(document.getElementById("explorer-chart"), specs[pickers.factor.value],
                    vaebenchRows(fields, codes.codes, codes.factors), fields.slice(0, codes.codes.length));
  }
  function draw() {
    var cell = chosen();
    load(cell, function (codes) { if (chosen() === cell) { show(cell, codes); } });
  }
  Object.keys(pickers).forEach(function (key) { pickers[key].addEventListener("change", draw); });
  draw();
})();
