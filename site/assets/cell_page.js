// The cell page: the latent explorer (a slider shows the traversal tile of its latent and value, copied from the page's tiles) and the scatter matrix.
(function () {
  var root = document.getElementById("latent-explorer");
  if (!root) { return; }
  var shown = document.getElementById("explorer-image"), says = document.getElementById("explorer-says");
  var picker = document.getElementById("explorer-input");
  var sliders = Array.prototype.slice.call(root.querySelectorAll("input[type=range]"));
  function tile(selector) { return document.querySelector(".tile[data-input='" + picker.value + "']" + selector); }
  function show(found, text) {
    shown.className = found.className + " shown";
    shown.style.backgroundPosition = found.style.backgroundPosition;
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
      var found = tile("[data-latent='" + slider.dataset.latent + "'][data-step='" + slider.value + "']");
      slider.nextElementSibling.textContent = found.title.split(" = ")[1];
      show(found, found.title + ", every other latent at the input's own code");
    });
  });
  picker.addEventListener("change", function () {
    reset(null);
    show(tile("[data-role='reconstruction']"), "reconstruction: every latent at the input's own code");
  });
})();
(function () {
  var picker = document.getElementById("scatter-factor");
  if (!picker) { return; }
  var data = JSON.parse(document.getElementById("scatter-data").textContent), specs = {};
  var fields = JSON.parse(picker.dataset.fields), rows = vaebenchRows(fields, data.codes, data.factors);
  document.querySelectorAll("script[data-factor]").forEach(function (script) { specs[script.dataset.factor] = JSON.parse(script.textContent); });
  function draw() { vaebenchScatter(document.getElementById("scatter"), specs[picker.value], rows); }
  picker.addEventListener("change", draw);
  draw();
})();
