"""The attention-map explorer (chapters 5, 6 and 9): see where every token of a real model looks.

Three entry points, all taking the attention of *any* model plus its tokens:

``head_view(attention, tokens)``
    One layer at a time. Tokens on the left (the queries, "from") are joined to tokens on the
    right (the keys, "to") by lines whose opacity is the attention weight, one colour per head.
    Pick the layer, switch heads on and off; hover over a token to see only its lines (a token
    on the left: where it attends; on the right: what attends to it); click to pin it. A line
    of text under the controls names the strongest links, so the view can be read without
    colour too.
``model_view(attention, tokens)``
    A thumbnail heat map of every layer x head (row = query, column = key, darker = more
    weight). Click a thumbnail to enlarge that head into a line view with the same hover and
    click behaviour; click it again (or "close") to shrink it.
``AttentionExplorer(model_fn)``
    Live in Jupyter: an ipywidgets panel where the learner types a sentence (and an optional
    second one), picks the view, the layer and the head, and the model's attention is
    recomputed in the kernel and re-drawn.

``attention`` is a tensor or array ``[layers, heads, n, n]``, or a list or tuple of per-layer
``[heads, n, n]`` tensors (the ``attentions`` that Hugging Face models and
:class:`lmcore.transformer.BertEncoder` return); a batch dimension of size 1 is accepted and
dropped. ``tokens`` is the list of the ``n`` token strings. Sentence pairs are shown with
``sentence_b_start`` (the index of the first token of segment B) and a filter A->A, A->B, ...;
causal models (every weight above the diagonal zero) are detected and labelled.

Unlike bertviz (Vig, 2019), which this module's feature set follows, nothing is
loaded from a CDN: each view is one self-contained block of HTML + inline JavaScript + embedded
JSON (:func:`lmcore.viz._html.standalone_view`), so it works in JupyterLab, VS Code and the
built HTML book with no network, and any number of views can live on one page (every element
is found from the view's own root, never by a global id or variable). Tokens are inserted with
``textContent``, so a token like ``<script>`` is shown, not run. The weights travel as one byte
each (0..255, base64): a 6-layer, 12-head model on 128 tokens is about 1.6 MB of page.
"""

from __future__ import annotations

import base64
import itertools
from typing import Any, Callable, Sequence

import numpy as np

from lmcore._validate import bad_argument, check_int
from lmcore.viz._html import StaticView, standalone_view

__all__ = ["head_view", "model_view", "AttentionView", "AttentionExplorer", "attention_explorer",
           "attention_array"]

# One colour per head (cycled if a model has more heads than colours).
HEAD_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#843c39",
                "#7b4173", "#3182bd"]

_instances = itertools.count()  # makes two views of identical data distinct on one page


def _to_numpy(value: Any, function: str, name: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu().float().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(bad_argument(function, name, value,
                                     "a tensor or array of attention weights")) from None
    return array


def attention_array(attention: Any, function: str = "attention_array") -> np.ndarray:
    """``attention`` as a float array ``[layers, heads, n, n]``, or a clear error.

    Accepts a tensor/array ``[layers, heads, n, n]`` or ``[layers, 1, heads, n, n]``, or a
    list/tuple of per-layer ``[heads, n, n]`` or ``[1, heads, n, n]`` tensors.
    """
    expected = ("attention of shape [layers, heads, n, n] (or a list of per-layer "
                "[heads, n, n] tensors; a batch dimension of 1 is allowed)")
    if isinstance(attention, (list, tuple)):
        if len(attention) == 0:
            raise ValueError(bad_argument(function, "attention", attention, expected))
        layers = []
        for index, layer in enumerate(attention):
            array = _to_numpy(layer, function, f"attention[{index}]")
            if array.ndim == 4 and array.shape[0] == 1:
                array = array[0]
            if array.ndim != 3:
                batch = (f" (a batch of {array.shape[0]}: pass one example, e.g. a[0])"
                         if array.ndim == 4 else "")
                raise ValueError(
                    f"The 'attention' argument of {function} must be {expected}. Layer {index} "
                    f"has shape {list(array.shape)}{batch}.")
            if layers and array.shape != layers[0].shape:
                raise ValueError(
                    f"The 'attention' argument of {function} must have the same shape in every "
                    f"layer. Layer 0 has {list(layers[0].shape)}, layer {index} has "
                    f"{list(array.shape)}.")
            layers.append(array)
        array = np.stack(layers)
    else:
        array = _to_numpy(attention, function, "attention")
        if array.ndim == 5:
            if array.shape[1] != 1:
                raise ValueError(
                    f"The 'attention' argument of {function} must be {expected}. Got shape "
                    f"{list(array.shape)}: a batch of {array.shape[1]} examples; pass one, "
                    f"e.g. attention[:, 0].")
            array = array[:, 0]
        if array.ndim != 4:
            raise ValueError(f"The 'attention' argument of {function} must be {expected}. "
                             f"Got shape {list(array.shape)}.")
    if array.shape[-1] != array.shape[-2]:
        raise ValueError(f"The 'attention' argument of {function} must be self-attention, square "
                         f"in its last two dimensions (n queries x n keys). Got shape "
                         f"{list(array.shape)}.")
    if array.shape[-1] == 0:
        raise ValueError(f"The 'attention' argument of {function} has no tokens (n = 0).")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"The 'attention' argument of {function} must hold finite weights; "
                         f"it contains NaN or infinity.")
    low, high = float(array.min()), float(array.max())
    if low < -1e-6 or high > 1 + 1e-6:
        raise ValueError(f"The 'attention' argument of {function} must hold attention weights "
                         f"(probabilities in [0, 1]). Got values from {low:.4g} to {high:.4g}: "
                         f"did you pass the scores before the softmax?")
    return array


def _check_tokens(tokens: Any, n: int, function: str) -> list[str]:
    if isinstance(tokens, str) or not isinstance(tokens, Sequence):
        raise TypeError(bad_argument(function, "tokens", tokens, "a list of token strings"))
    for index, token in enumerate(tokens):
        if not isinstance(token, str):
            raise TypeError(f"The 'tokens' argument of {function} must be a list of strings. "
                            f"tokens[{index}] is {token!r} ({type(token).__name__}).")
    if len(tokens) != n:
        raise ValueError(f"The 'tokens' argument of {function} has {len(tokens)} tokens, but the "
                         f"attention is over n = {n} positions (shape [..., {n}, {n}]). Pass "
                         f"exactly one token string per position, special tokens included.")
    return list(tokens)


def _payload(kind: str, attention: Any, tokens: Any, function: str, *,
             sentence_b_start: int | None, causal: bool | None, title: str | None) -> dict:
    array = attention_array(attention, function)
    layers, heads, n, _ = array.shape
    tokens = _check_tokens(tokens, n, function)
    if sentence_b_start is not None:
        check_int(function, "sentence_b_start", sentence_b_start, minimum=1)
        if sentence_b_start >= n:
            raise ValueError(bad_argument(function, "sentence_b_start", sentence_b_start,
                                          f"the index of the first token of sentence B, < n = {n}"))
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    is_causal = bool(n > 1 and np.all(array[..., upper] <= 1e-6))
    if causal is None:
        causal = is_causal
    elif causal and not is_causal:
        raise ValueError(f"The 'causal' argument of {function} is True, but some weights above "
                         f"the diagonal are not zero (largest {float(array[..., upper].max()):.4g}):"
                         f" in a causal model token t attends only to tokens 0..t.")
    if title is not None and not isinstance(title, str):
        raise TypeError(bad_argument(function, "title", title, "a string or None"))
    quantised = np.rint(np.clip(array, 0.0, 1.0) * 255).astype(np.uint8)
    return {"kind": kind, "tokens": tokens, "layers": layers, "heads": heads, "n": n,
            "weights": base64.b64encode(quantised.tobytes()).decode("ascii"),
            "sentence_b_start": sentence_b_start, "causal": bool(causal),
            "title": title or "", "colours": HEAD_COLOURS, "instance": next(_instances)}


class AttentionView(StaticView):
    """A head view or model view: displays itself in Jupyter and in the HTML book.

    ``.html`` is the self-contained HTML; ``.data`` the embedded data (weights as base64 bytes).
    """

    def __init__(self, html: str, data: dict):
        super().__init__(html)
        self.data = data

    def __repr__(self) -> str:
        d = self.data
        return (f"<{d['kind']} view: {d['layers']} layers x {d['heads']} heads, {d['n']} tokens"
                f"{', causal' if d['causal'] else ''}>")


def head_view(attention: Any, tokens: Sequence[str], *, layer: int = 0,
              heads: Sequence[int] | None = None, sentence_b_start: int | None = None,
              causal: bool | None = None, title: str | None = None) -> AttentionView:
    """One layer's attention as lines from query tokens (left) to key tokens (right).

    ``layer`` is shown first (the reader can switch); ``heads`` are the heads switched on at
    first (default all). ``sentence_b_start``: first token of sentence B for a pair.
    ``causal``: None detects it from the weights.
    """
    data = _payload("head", attention, tokens, "head_view", sentence_b_start=sentence_b_start,
                    causal=causal, title=title)
    check_int("head_view", "layer", layer, minimum=0)
    if layer >= data["layers"]:
        raise ValueError(bad_argument("head_view", "layer", layer,
                                      f"a layer index in 0..{data['layers'] - 1}"))
    if heads is None:
        heads = list(range(data["heads"]))
    if isinstance(heads, (str, bytes)) or not isinstance(heads, Sequence) or not all(
            isinstance(h, int) and not isinstance(h, bool) and 0 <= h < data["heads"]
            for h in heads):
        raise ValueError(bad_argument("head_view", "heads", heads,
                                      f"a list of head indices in 0..{data['heads'] - 1}"))
    data["layer"], data["selected_heads"] = layer, sorted(set(heads))
    return AttentionView(standalone_view("lmcore-attention", data, _SCRIPT, _CSS), data)


def model_view(attention: Any, tokens: Sequence[str], *, sentence_b_start: int | None = None,
               causal: bool | None = None, title: str | None = None) -> AttentionView:
    """Every layer x head as a thumbnail heat map; click one to enlarge it into a line view."""
    data = _payload("model", attention, tokens, "model_view", sentence_b_start=sentence_b_start,
                    causal=causal, title=title)
    return AttentionView(standalone_view("lmcore-attention", data, _SCRIPT, _CSS), data)


# --------------------------------------------------------------------------------------------
# The live explorer (Jupyter only: its callbacks run in the kernel)
# --------------------------------------------------------------------------------------------

def _default_model_fn(text: str, text_b: str | None = None):
    from lmcore.transformer import minilm_attention
    return minilm_attention(text, text_b)


class AttentionExplorer:
    """A live panel: type a sentence, the model's attention is recomputed and re-drawn.

    ``model_fn(text)`` (or ``model_fn(text, text_b)`` when ``pairs=True``) must return
    ``(attention, tokens)`` or ``(attention, tokens, sentence_b_start)``; the default runs
    MiniLM (:func:`lmcore.transformer.minilm_attention`). Display the explorer in a notebook
    cell; :meth:`update` is the callback every control calls, and can be called from Python.
    The current view is ``.view`` (an :class:`AttentionView`), its HTML ``.html``.
    """

    def __init__(self, model_fn: Callable[..., Any] | None = None,
                 text: str = "The cat sat on the mat because it was tired.", *,
                 pairs: bool = False, text_b: str = "", view: str = "head", layer: int = 0):
        import ipywidgets as widgets
        if model_fn is not None and not callable(model_fn):
            raise TypeError(bad_argument("AttentionExplorer", "model_fn", model_fn,
                                         "a function text -> (attention, tokens)"))
        if view not in ("head", "model"):
            raise ValueError(bad_argument("AttentionExplorer", "view", view, "'head' or 'model'"))
        if not isinstance(text, str):
            raise TypeError(bad_argument("AttentionExplorer", "text", text, "a string"))
        self.model_fn = model_fn or _default_model_fn
        self.pairs = bool(pairs)
        self.text = widgets.Text(value=text, description="Sentence", continuous_update=False,
                                 layout=widgets.Layout(width="95%"))
        self.text_b = widgets.Text(value=text_b, description="Sentence B",
                                   continuous_update=False, layout=widgets.Layout(width="95%"))
        self.view_picker = widgets.ToggleButtons(options=[("head view", "head"),
                                                          ("model view", "model")], value=view,
                                                 style={"button_width": "auto"})
        self.layer = widgets.Dropdown(options=[(f"layer {layer}", layer)], value=layer,
                                      description="Layer")
        self.head = widgets.Dropdown(options=[("all heads", -1)], value=-1, description="Head")
        self.message = widgets.HTML()
        self.output = widgets.Output()
        rows = [self.text] + ([self.text_b] if self.pairs else []) + [
            widgets.HBox([self.view_picker, self.layer, self.head]), self.message, self.output]
        self.widget = widgets.VBox(rows)
        self._computed_for: tuple | None = None
        self._result: tuple | None = None
        self.view: AttentionView | None = None
        self.update()
        for control in (self.text, self.text_b, self.view_picker, self.layer, self.head):
            control.observe(self.update, names="value")

    @property
    def html(self) -> str:
        return self.view.html if self.view is not None else ""

    def _compute(self) -> tuple:
        key = (self.text.value, self.text_b.value if self.pairs else None)
        if key != self._computed_for:
            result = (self.model_fn(self.text.value, self.text_b.value or None) if self.pairs
                      else self.model_fn(self.text.value))
            if not isinstance(result, tuple) or len(result) not in (2, 3):
                raise TypeError("The model_fn of AttentionExplorer must return (attention, "
                                f"tokens) or (attention, tokens, sentence_b_start). Got "
                                f"{type(result).__name__}.")
            attention, tokens = result[0], result[1]
            sentence_b_start = result[2] if len(result) == 3 else None
            self._result = (attention_array(attention, "AttentionExplorer"), list(tokens),
                            sentence_b_start)
            self._computed_for = key
        return self._result

    def update(self, change: Any = None) -> AttentionView | None:
        """Recompute (if the text changed) and re-draw; returns the new view."""
        try:
            attention, tokens, sentence_b_start = self._compute()
        except Exception as error:  # shown in the panel: a typo must not kill the explorer
            import html as html_module
            self.message.value = (f'<span style="color:#b00020">{html_module.escape(type(error).__name__)}: '
                                  f"{html_module.escape(str(error))}</span>")
            return None
        layers, heads = attention.shape[0], attention.shape[1]
        layer_options = [(f"layer {i}", i) for i in range(layers)]
        if list(self.layer.options) != layer_options:
            keep = self.layer.value if self.layer.value < layers else 0
            with self.layer.hold_trait_notifications():
                self.layer.options = layer_options
                self.layer.value = keep
        head_options = [("all heads", -1)] + [(f"head {i}", i) for i in range(heads)]
        if list(self.head.options) != head_options:
            self.head.options = head_options
        self.layer.disabled = self.head.disabled = self.view_picker.value == "model"
        selected = None if self.head.value == -1 else [self.head.value]
        if self.view_picker.value == "head":
            self.view = head_view(attention, tokens, layer=self.layer.value, heads=selected,
                                  sentence_b_start=sentence_b_start)
        else:
            self.view = model_view(attention, tokens, sentence_b_start=sentence_b_start)
        self.message.value = f"{len(tokens)} tokens, {layers} layers x {heads} heads"
        self.output.outputs = ({"output_type": "display_data",
                                "data": {"text/html": self.view.html, "text/plain": repr(self.view)},
                                "metadata": {}},)
        return self.view

    def _ipython_display_(self) -> None:
        from IPython.display import display
        display(self.widget)

    def __repr__(self) -> str:
        return f"<AttentionExplorer: {self.text.value!r}, {self.view!r}>"


def attention_explorer(model_fn: Callable[..., Any] | None = None, text: str = "The cat sat on "
                       "the mat because it was tired.", **options: Any) -> AttentionExplorer:
    """Build an :class:`AttentionExplorer` (display it as a cell's last expression)."""
    return AttentionExplorer(model_fn, text, **options)


# --------------------------------------------------------------------------------------------
# The views' CSS and JavaScript (one script serves both kinds; every lookup starts at `root`)
# --------------------------------------------------------------------------------------------

_CSS = """
.lmcore-attention{font:13px/1.3 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:6px 0}
.lmcore-attention .lmav-title{font-weight:600;margin-bottom:4px}
.lmcore-attention .lmav-controls{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin-bottom:4px}
.lmcore-attention select{font:inherit}
.lmcore-attention .lmav-chip{border:1px solid #999;border-radius:3px;padding:1px 6px;cursor:pointer;color:#fff;font:inherit;font-size:12px}
.lmcore-attention .lmav-chip.lmav-off{opacity:.25}
.lmcore-attention .lmav-btn{border:1px solid #999;border-radius:3px;background:#f4f4f4;cursor:pointer;font:inherit;font-size:12px;padding:1px 6px}
.lmcore-attention .lmav-note{color:#555;font-size:12px}
.lmcore-attention .lmav-readout{min-height:1.3em;color:#333;font-size:12px;margin:2px 0 6px}
.lmcore-attention .lmav-body{display:flex;align-items:flex-start}
.lmcore-attention .lmav-col{display:flex;flex-direction:column}
.lmcore-attention .lmav-left{align-items:flex-end}
.lmcore-attention .lmav-tok{padding:0 4px;white-space:pre;cursor:pointer;border-radius:2px;overflow:hidden;max-width:12em}
.lmcore-attention .lmav-tok.lmav-b{color:#6a3d9a}
.lmcore-attention .lmav-tok.lmav-focus{outline:2px solid #333}
.lmcore-attention .lmav-grid{display:inline-grid;justify-content:start;gap:3px;align-items:center}
.lmcore-attention .lmav-thumb{image-rendering:pixelated;cursor:pointer;border:1px solid #ccc}
.lmcore-attention .lmav-thumb.lmav-open{outline:3px solid #d62728}
.lmcore-attention .lmav-label{font-size:11px;color:#555;text-align:center;white-space:nowrap}
.lmcore-attention .lmav-detail{margin-top:8px;border-top:1px solid #ddd;padding-top:6px}
"""

_SCRIPT = r"""
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
  var width = 200, scale = window.devicePixelRatio || 1;
  canvas.width = width * scale; canvas.height = n * ROW * scale;
  canvas.style.width = width + "px"; canvas.style.height = (n * ROW) + "px";
  var ctx = canvas.getContext("2d"); ctx.scale(scale, scale);
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

if (data.title) root.appendChild(el("div", "lmav-title", data.title));
var controls = el("div", "lmav-controls"); root.appendChild(controls);
var readout = el("div", "lmav-readout"); 
if (data.causal) controls.appendChild(el("span", "lmav-note", "causal: token t attends only to tokens 0..t"));
if (sb !== null) controls.appendChild(el("span", "lmav-note", "sentence A: tokens 0.." + (sb - 1) + ", B (purple): " + sb + ".." + (n - 1)));

if (data.kind === "head") {
  var state = {layer: data.layer, heads: [], pairs: "all"}, view = null;
  for (var h = 0; h < H; h++) state.heads.push(data.selected_heads.indexOf(h) >= 0);
  var layerSelect = el("select", "lmav-layer");
  for (var l = 0; l < L; l++) { var opt = el("option", null, "layer " + l); opt.value = String(l); layerSelect.appendChild(opt); }
  layerSelect.value = String(data.layer);
  layerSelect.addEventListener("change", function () { state.layer = parseInt(layerSelect.value, 10); view.draw(); });
  controls.insertBefore(layerSelect, controls.firstChild);
  if (sb !== null) controls.appendChild(pairSelect(state, function () { view.draw(); }));
  var chips = [];
  function paintChips() { for (var c = 0; c < H; c++) chips[c].classList.toggle("lmav-off", !state.heads[c]); }
  for (var h3 = 0; h3 < H; h3++) (function (hh) {
    var chip = el("button", "lmav-chip", String(hh));
    chip.type = "button"; chip.style.background = colour(hh);
    chip.setAttribute("title", "head " + hh + ": click to switch on/off, double-click to show only this head");
    chip.setAttribute("data-head", String(hh));
    chip.addEventListener("click", function () { state.heads[hh] = !state.heads[hh]; paintChips(); view.draw(); });
    chip.addEventListener("dblclick", function () { for (var c = 0; c < H; c++) state.heads[c] = c === hh; paintChips(); view.draw(); });
    chips.push(chip); controls.appendChild(chip);
  })(h3);
  var all = el("button", "lmav-btn", "all"), none = el("button", "lmav-btn", "none");
  all.type = none.type = "button";
  all.addEventListener("click", function () { for (var c = 0; c < H; c++) state.heads[c] = true; paintChips(); view.draw(); });
  none.addEventListener("click", function () { for (var c = 0; c < H; c++) state.heads[c] = false; paintChips(); view.draw(); });
  controls.appendChild(all); controls.appendChild(none);
  paintChips();
  root.appendChild(readout);
  view = lineView(root, state, readout);
} else {
  root.appendChild(readout);
  readout.textContent = "Rows: queries (from), columns: keys (to); darker = more attention. Click a thumbnail to enlarge it.";
  var size = Math.max(40, Math.min(72, Math.round(900 / H) - 8));
  var grid = el("div", "lmav-grid"); grid.style.gridTemplateColumns = "max-content repeat(" + H + ", " + size + "px)";
  grid.appendChild(el("div", "lmav-label", ""));
  for (var hc = 0; hc < H; hc++) grid.appendChild(el("div", "lmav-label", "head " + hc));
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
    grid.appendChild(el("div", "lmav-label", "layer " + l3));
    for (var h4 = 0; h4 < H; h4++) (function (ll, hh) {
      var thumb = el("canvas", "lmav-thumb");
      thumb.width = n; thumb.height = n; thumb.style.width = size + "px"; thumb.style.height = size + "px";
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
"""
