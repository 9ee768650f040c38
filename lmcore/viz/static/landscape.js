var NS = "http://www.w3.org/2000/svg", S = data.size, B = data.box;
function px(v) { return (v + B) / (2 * B) * S; }
function el(tag, attrs, parent) {
  var e = document.createElementNS(NS, tag);
  for (var k in attrs) e.setAttribute(k, attrs[k]);
  parent.appendChild(e); return e;
}
function control(label, n) {
  var row = document.createElement("div"); row.className = "lmls-control";
  var name = document.createElement("span"); name.textContent = label; name.className = "lmls-name";
  row.appendChild(name);
  var input = document.createElement("input"); input.type = "range"; input.min = 0; input.max = n - 1;
  input.step = 1; input.setAttribute("aria-label", label); row.appendChild(input);
  var value = document.createElement("span"); value.className = "lmls-value"; row.appendChild(value);
  root.appendChild(row); return [input, value];
}
var lr = control("learning rate", data.lrs.length), mom = control("momentum", data.momenta.length);
lr[0].className = "lr-slider"; mom[0].className = "momentum-slider";
lr[0].value = data.default_lr; mom[0].value = 0;
var svg = el("svg", {width: S, height: S, viewBox: "0 0 " + S + " " + S}, root);
var c = px(0);
data.ellipses.forEach(function (r) {
  el("ellipse", {cx: c, cy: c, rx: r[0] / (2 * B) * S, ry: r[1] / (2 * B) * S,
                 transform: "rotate(" + data.degrees + " " + c + " " + c + ")",
                 fill: "none", stroke: "#b0bec5"}, svg);
});
var line = el("polyline", {fill: "none", stroke: "#c62828", "stroke-width": 1.5}, svg);
el("circle", {cx: px(data.start[0]), cy: px(-data.start[1]), r: 4, fill: "#1565c0"}, svg);
el("circle", {cx: c, cy: c, r: 3, fill: "#2e7d32"}, svg);
var caption = document.createElement("div"); caption.className = "landscape-caption lmls-caption";
root.appendChild(caption);
function draw() {
  var i = +lr[0].value, j = +mom[0].value, run = data.runs[j][i];
  lr[1].textContent = data.lrs[i]; mom[1].textContent = data.momenta[j];
  line.setAttribute("points", run.path.map(function (p) { return px(p[0]) + "," + px(-p[1]); }).join(" "));
  caption.textContent = "after " + (run.path.length - 1) + " steps: loss " + run.final_loss +
                        "; " + run.verdict + "  (edge 2(1 + mu)/lambda_max = " +
                        (data.edge * (1 + data.momenta[j])).toFixed(3) + ")";
}
lr[0].addEventListener("input", draw); mom[0].addEventListener("input", draw);
draw();
