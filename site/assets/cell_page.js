// The cell page: the grid medians (data/medians.js), the latent explorer (a slider shows the traversal tile of its
// latent and value) and the scatter matrix of the cell's codes (its data script, the shared specs).
(function () {
  var medians = (window.VAEBENCH_DATA || {}).medians || {};
  document.querySelectorAll("td[data-median]").forEach(function (cell) {
    var value = medians[cell.dataset.median];
    cell.textContent = typeof value === "number" ? String(Number(value.toPrecision(4))) : "—";
  });
})();
(function () {
  var root = document.getElementById("latent-explorer");
  if (!root) { return; }
  var shown = document.getElementById("explorer-image"), says = document.getElementById("explorer-says");
  var picker = document.getElementById("explorer-input"), geometry = JSON.parse(root.dataset.geometry);
  var sliders = Array.prototype.slice.call(root.querySelectorAll("input[type=range]"));
  // where tile (row, col) lies in its sprite: vaebench.site.cell_view.Sprite.tile
  function show(sprite, row, col, text) {
    var x = geometry.gutter + col * (geometry.width + geometry.gutter), y = geometry.gutter + row * (geometry.height + geometry.gutter);
    shown.className = "tile " + sprite + " shown";
    shown.style.backgroundPosition = "-" + x + "px -" + y + "px";
    says.textContent = text;
  }
  function reset(except) {
    sliders.forEach(function (slider) {
      if (slider !== except) { slider.value = slider.dataset.centre; slider.nextElementSibling.textContent = "own code"; }
    });
  }
  sliders.forEach(function (slider) {
    slider.addEventListener("input", function () {
      reset(slider);
      var value = JSON.parse(slider.dataset.values)[slider.value];
      slider.nextElementSibling.textContent = value;
      show(picker.selectedOptions[0].dataset.traversal, Number(slider.dataset.row), Number(slider.value),
           slider.dataset.latent + " = " + value + ", every other latent at the input's own code");
    });
  });
  picker.addEventListener("change", function () {
    reset(null);
    show(root.dataset.reconstructions, 1, Number(picker.value), "reconstruction: every latent at the input's own code");
  });
})();
(function () {
  var picker = document.getElementById("scatter-factor");
  if (!picker) { return; }
  var data = window.VAEBENCH_DATA.scatter, rows = vaebenchRows(data.fields, data.codes, data.factors);
  function draw() {
    vaebenchScatter(document.getElementById("scatter"), window.VAEBENCH_SPECS[picker.selectedOptions[0].dataset.sharedSpec],
                    rows, data.fields);
  }
  picker.addEventListener("change", draw);
  draw();
})();
