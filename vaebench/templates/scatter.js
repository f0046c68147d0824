// Draws a scatter-matrix spec of vaebench.site.cell_charts over rows supplied by the page, optionally over other fields.
function vaebenchScatter(element, spec, rows, fields) {
  spec = JSON.parse(JSON.stringify(spec));
  spec.datasets = {codes: rows};
  if (fields) { spec.repeat = {row: fields, column: fields}; }
  return vegaEmbed(element, spec, {renderer: "svg", actions: false}).catch(function (error) { element.textContent = "chart failed: " + error; });
}
