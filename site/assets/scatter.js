// Scatter matrices of vaebench.site.cell_charts over a cell's codes, stored by column (vaebench.site.codes.columns).
function vaebenchRows(fields, codes, factors) {
  var rows = [];
  for (var i = 0; i < codes[0].length; i++) {
    var row = {};
    codes.forEach(function (column, k) { row[fields[k]] = column[i]; });
    factors.names.forEach(function (name, j) { row[name] = factors.indices[j][i]; });
    rows.push(row);
  }
  return rows;
}
// Draws ``spec`` over ``rows``, its repeat narrowed to ``fields`` where given.
function vaebenchScatter(element, spec, rows, fields) {
  spec = JSON.parse(JSON.stringify(spec));
  spec.datasets = {codes: rows};
  if (fields) { spec.repeat = {row: fields, column: fields}; }
  return vegaEmbed(element, spec, {renderer: "svg", actions: false}).catch(function (error) { element.textContent = "chart failed: " + error; });
}
