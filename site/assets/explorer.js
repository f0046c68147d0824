// explorer.html: pickers narrow the cells of data/codes.js (each picker offers what the ones before it leave) and redraw the scatter matrix.
(function () {
  var data = window.VAEBENCH_DATA.codes, specs = {}, fields = [];
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
  function draw() {
    var cell = chosen();
    fill(pickers.factor, data.factor_sets[cell.factor_set].names);
    var says = document.getElementById("explorer-cell");
    says.innerHTML = "";
    var link = document.createElement("a");
    link.href = cell.url;
    link.textContent = cell.name;
    says.appendChild(link);
    says.appendChild(document.createTextNode(": " + cell.latents.map(function (label, k) { return fields[k].split(" ")[0] + " = " + label; }).join("; ")));
    vaebenchScatter(document.getElementById("explorer-chart"), specs[pickers.factor.value],
                    vaebenchRows(fields, cell.codes, data.factor_sets[cell.factor_set]), fields.slice(0, cell.codes.length));
  }
  Object.keys(pickers).forEach(function (key) { pickers[key].addEventListener("change", draw); });
  draw();
})();
