var L = data.layers, H = data.heads, n = data.n, tokens = data.tokens;
var raw = atob(data.weights), bytes = new Uint8Array(raw.length);
for (var b = 0; b < raw.length; b++) bytes[b] = raw.charCodeAt(b);
function weight(l, h, i, j) { return bytes[((l * H + h) * n + i) * n + j] / 255; }
function colour(h) { return data.colours[h % data.colours.length]; }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
var sb = data.sentence_b_start;
function segment(i) { return (sb === null || i < sb) ? "A" : "B"; }
var ROW = n > 64 ? 15 : 20;

// A line view of one layer: query tokens left, key tokens right, a canvas of lines between.
// state: {layer: int, heads: bool[], pairs: "all"|"AA"|"AB"|"BA"|"BB"}; readout: an element.
function lineView(parent, state, readout) {
  var body = el("div", "lmav-body"), left = el("div", "lmav-col lmav-left"),
      right = el("div", "lmav-col lmav-right"), canvas = el("canvas", "lmav-lines");
  var width = 200, scale = window.devicePixelRatio || 1, ctx = null;
  var cells = {left: [], right: []}, focus = null, pinned = null;
  function makeToken(side, i) {
    var t = el("div", "lmav-tok" + (segment(i) === "B" ? " lmav-b" : ""), tokens[i]);
    t.style.height = ROW + "px"; t.style.lineHeight = ROW + "px";
    t.setAttribute("title", tokens[i] + "  (position " + i + ")");
    t.setAttribute("data-side", side); t.setAttribute("data-index", String(i));
    t.addEventListener("mouseenter", function () { focus = {side: side, index: i}; draw(); });
    t.addEventListener("mouseleave", function () { focus = pinned; draw(); });
    t.addEventListener("click", function () {
      pinned = (pinned && pinned.side === side && pinned.index === i) ? null : {side: side, index: i};
      focus = pinned; draw();
    });
    cells[side].push(t);
    return t;
  }
  for (var i = 0; i < n; i++) { left.appendChild(makeToken("left", i)); right.appendChild(makeToken("right", i)); }
  body.appendChild(left); body.appendChild(canvas); body.appendChild(right);
  parent.appendChild(body);
  // the lines take what the column leaves (at most 200 px, at least 60 px)
  var room = parent.clientWidth - left.offsetWidth - right.offsetWidth - 4;
  if (room > 0) width = Math.max(60, Math.min(200, room));
  canvas.width = width * scale; canvas.height = n * ROW * scale;
  canvas.style.width = width + "px"; canvas.style.height = (n * ROW) + "px";
  ctx = canvas.getContext("2d"); ctx.scale(scale, scale);
  function allowed(i, j) {
    if (state.pairs === "all" || sb === null) return true;
    return state.pairs === segment(i) + segment(j);
  }
  function draw() {
    ctx.clearRect(0, 0, width, n * ROW);
    var shown = [];
    for (var h = 0; h < H; h++) if (state.heads[h]) shown.push(h);
    var minimum = focus ? 0.004 : 0.02;
    ctx.lineWidth = focus ? 2 : 1.5;
    for (var s = 0; s < shown.length; s++) {
      var h2 = shown[s];
      ctx.strokeStyle = colour(h2);
      for (var q = 0; q < n; q++) {
        if (focus && focus.side === "left" && focus.index !== q) continue;
        for (var k = 0; k < n; k++) {
          if (focus && focus.side === "right" && focus.index !== k) continue;
          if (!allowed(q, k)) continue;
          var a = weight(state.layer, h2, q, k);
          if (a < minimum) continue;
          ctx.globalAlpha = Math.min(1, a);
          ctx.beginPath(); ctx.moveTo(0, q * ROW + ROW / 2); ctx.lineTo(width, k * ROW + ROW / 2); ctx.stroke();
        }
      }
    }
    ctx.globalAlpha = 1;
    // token highlights and the text read-out: mean weight over the shown heads
    for (var c = 0; c < n; c++) {
      cells.left[c].style.background = ""; cells.right[c].style.background = "";
      cells.left[c].classList.remove("lmav-focus"); cells.right[c].classList.remove("lmav-focus");
    }
    if (!focus || shown.length === 0) {
      root.setAttribute("data-focus", "");
      readout.textContent = shown.length === 0 ? "No head selected." :
        "Hover over a token to see where it attends (left) or what attends to it (right); click to pin.";
      return;
    }
    var other = focus.side === "left" ? "right" : "left", means = [];
    for (var m = 0; m < n; m++) {
      var q2 = focus.side === "left" ? focus.index : m, k2 = focus.side === "left" ? m : focus.index, sum = 0;
      if (allowed(q2, k2)) for (var s2 = 0; s2 < shown.length; s2++) sum += weight(state.layer, shown[s2], q2, k2);
      means.push(sum / shown.length);
      cells[other][m].style.background = "rgba(31,119,180," + Math.min(0.85, sum / shown.length).toFixed(3) + ")";
    }
    cells[focus.side][focus.index].classList.add("lmav-focus");
    var order = means.map(function (v, idx) { return idx; }).sort(function (x, y) { return means[y] - means[x] || x - y; });
    var parts = [];
    for (var r = 0; r < Math.min(5, n); r++) parts.push(tokens[order[r]] + " (" + order[r] + ") " + means[order[r]].toFixed(2));
    var who = "\u201c" + tokens[focus.index] + "\u201d (" + focus.index + ")";
    readout.textContent = (focus.side === "left" ? who + " attends most to: " : "Attending most to " + who + ": ") + parts.join(", ") +
      (shown.length > 1 ? "  [mean of " + shown.length + " heads]" : "");
    root.setAttribute("data-focus", focus.side + ":" + focus.index);
  }
  draw();
  return {draw: draw, body: body};
}

function pairSelect(state, onChange) {
  var select = el("select", "lmav-pairs");
  [["all", "all pairs"], ["AA", "A \u2192 A"], ["AB", "A \u2192 B"], ["BA", "B \u2192 A"], ["BB", "B \u2192 B"]].forEach(function (o) {
    var opt = el("option", null, o[1]); opt.value = o[0]; select.appendChild(opt);
  });
  select.addEventListener("change", function () { state.pairs = select.value; onChange(); });
  return select;
}

var heading = el("div", "lmav-title"); root.appendChild(heading);
var controls = el("div", "lmav-controls"); root.appendChild(controls);
var readout = el("div", "lmav-readout");
if (data.causal) controls.appendChild(el("span", "lmav-note", "causal: token t attends only to tokens 0..t"));
if (sb !== null) controls.appendChild(el("span", "lmav-note", "sentence A: tokens 0.." + (sb - 1) + ", B (purple): " + sb + ".." + (n - 1)));
if (data.kind !== "head" && data.title) heading.textContent = data.title;

// The heading says what is shown: the given title while the first selection is shown,
// otherwise the layer and heads actually selected.
function headsText(heads) {
  var on = [];
  for (var c = 0; c < heads.length; c++) if (heads[c]) on.push(c);
  if (on.length === heads.length) return "all heads";
  if (on.length === 0) return "no head";
  return (on.length === 1 ? "head " : "heads ") + on.join(", ");
}
if (data.kind === "head") {
  var state = {layer: data.layer, heads: [], pairs: "all"}, view = null;
  for (var h = 0; h < H; h++) state.heads.push(data.selected_heads.indexOf(h) >= 0);
  var first = state.layer + "|" + state.heads.join(",");
  var retitle = function () {
    var now = state.layer + "|" + state.heads.join(",");
    heading.textContent = (data.title && now === first) ? data.title :
      "layer " + state.layer + ", " + headsText(state.heads);
    root.setAttribute("data-layer", String(state.layer));
    root.setAttribute("data-heads", headsText(state.heads));
  };
  var redraw = function () { retitle(); view.draw(); };
  if (data.locked) {
    // inside the live explorer the explorer's own controls pick the layer and the heads
    controls.insertBefore(el("span", "lmav-note", "layer " + data.layer), controls.firstChild);
  } else {
    var layerSelect = el("select", "lmav-layer");
    layerSelect.setAttribute("aria-label", "layer");
    for (var l = 0; l < L; l++) { var opt = el("option", null, "layer " + l); opt.value = String(l); layerSelect.appendChild(opt); }
    layerSelect.value = String(data.layer);
    layerSelect.addEventListener("change", function () { state.layer = parseInt(layerSelect.value, 10); redraw(); });
    controls.insertBefore(layerSelect, controls.firstChild);
  }
  if (sb !== null) controls.appendChild(pairSelect(state, function () { view.draw(); }));
  var chips = [];
  function paintChips() { for (var c = 0; c < H; c++) chips[c].classList.toggle("lmav-off", !state.heads[c]); }
  for (var h3 = 0; h3 < H; h3++) (function (hh) {
    if (data.locked) {  // a colour legend only
      if (!state.heads[hh]) return;
      var mark = el("span", "lmav-chip", String(hh)); mark.style.background = colour(hh);
      mark.setAttribute("data-head", String(hh)); chips.push(mark); controls.appendChild(mark);
      return;
    }
    var chip = el("button", "lmav-chip", String(hh));
    chip.type = "button"; chip.style.background = colour(hh);
    chip.setAttribute("title", "head " + hh + ": click to switch on/off, double-click to show only this head");
    chip.setAttribute("data-head", String(hh));
    chip.addEventListener("click", function () { state.heads[hh] = !state.heads[hh]; paintChips(); redraw(); });
    chip.addEventListener("dblclick", function () { for (var c = 0; c < H; c++) state.heads[c] = c === hh; paintChips(); redraw(); });
    chips.push(chip); controls.appendChild(chip);
  })(h3);
  if (!data.locked) {
    var all = el("button", "lmav-btn", "all"), none = el("button", "lmav-btn", "none");
    all.type = none.type = "button";
    all.addEventListener("click", function () { for (var c = 0; c < H; c++) state.heads[c] = true; paintChips(); redraw(); });
    none.addEventListener("click", function () { for (var c = 0; c < H; c++) state.heads[c] = false; paintChips(); redraw(); });
    controls.appendChild(all); controls.appendChild(none);
    paintChips();
  }
  root.appendChild(readout);
  view = lineView(root, state, readout);
  retitle();
} else {
  root.appendChild(readout);
  readout.textContent = "Rows: queries (from), columns: keys (to); darker = more attention. Click a thumbnail to enlarge it.";
  // Columns share the width of the column (at most 72 px each): the grid never overflows,
  // its labels stay with it; click any thumbnail for that head at full size below.
  var grid = el("div", "lmav-grid");
  grid.style.gridTemplateColumns = "max-content repeat(" + H + ", minmax(0, 72px))";
  grid.appendChild(el("div", "lmav-label", "head"));
  for (var hc = 0; hc < H; hc++) grid.appendChild(el("div", "lmav-label", String(hc)));
  var detail = el("div", "lmav-detail"); detail.style.display = "none";
  var open = null, thumbs = [];
  function showDetail(l2, h2, thumb) {
    if (open === thumb) { closeDetail(); return; }
    if (open) open.classList.remove("lmav-open");
    open = thumb; thumb.classList.add("lmav-open");
    while (detail.firstChild) detail.removeChild(detail.firstChild);
    var bar = el("div", "lmav-controls"), heading = el("span", "lmav-title", "layer " + l2 + ", head " + h2);
    var close = el("button", "lmav-btn", "close"); close.type = "button";
    close.addEventListener("click", closeDetail);
    bar.appendChild(heading); bar.appendChild(close);
    var state2 = {layer: l2, heads: [], pairs: "all"};
    for (var c = 0; c < H; c++) state2.heads.push(c === h2);
    var readout2 = el("div", "lmav-readout"), view2 = null;
    if (sb !== null) bar.appendChild(pairSelect(state2, function () { view2.draw(); }));
    detail.appendChild(bar); detail.appendChild(readout2);
    detail.style.display = "";
    view2 = lineView(detail, state2, readout2);
    root.setAttribute("data-open", l2 + ":" + h2);
  }
  function closeDetail() {
    if (open) open.classList.remove("lmav-open");
    open = null; detail.style.display = "none"; root.setAttribute("data-open", "");
    while (detail.firstChild) detail.removeChild(detail.firstChild);
  }
  for (var l3 = 0; l3 < L; l3++) {
    grid.appendChild(el("div", "lmav-label lmav-rowlabel", "layer " + l3));
    for (var h4 = 0; h4 < H; h4++) (function (ll, hh) {
      var thumb = el("canvas", "lmav-thumb");
      thumb.width = n; thumb.height = n;
      thumb.setAttribute("title", "layer " + ll + ", head " + hh);
      thumb.setAttribute("data-layer", String(ll)); thumb.setAttribute("data-head", String(hh));
      var c2 = thumb.getContext("2d"), image = c2.createImageData(n, n), px = image.data;
      var base = (ll * H + hh) * n * n;
      for (var p = 0; p < n * n; p++) {
        var v = bytes[base + p];
        px[4 * p] = 255 - Math.round(v * 0.88); px[4 * p + 1] = 255 - Math.round(v * 0.53);
        px[4 * p + 2] = 255 - Math.round(v * 0.29); px[4 * p + 3] = 255;
      }
      c2.putImageData(image, 0, 0);
      thumb.addEventListener("click", function () { showDetail(ll, hh, thumb); });
      thumbs.push(thumb); grid.appendChild(thumb);
    })(l3, h4);
  }
  root.appendChild(grid); root.appendChild(detail);
}
root.setAttribute("data-ready", "1");
