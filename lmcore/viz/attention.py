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
from lmcore.viz._live import display_live
from lmcore.viz._html import StaticView, asset, figure_img, new_figure, standalone_view

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

    ``.html`` is the self-contained HTML; ``.data`` the embedded data (weights as base64 bytes);
    ``.picture`` the static picture (a PNG ``<img>``) shown where scripts do not run.
    """

    def __init__(self, html: str, data: dict, picture: str = ""):
        super().__init__(html)
        self.data = data
        self.picture = picture

    def __repr__(self) -> str:
        d = self.data
        return (f"<{d['kind']} view: {d['layers']} layers x {d['heads']} heads, {d['n']} tokens"
                f"{', causal' if d['causal'] else ''}>")


def _strongest(array: np.ndarray, tokens: list[str], layer: int, heads: list[int],
               count: int = 3) -> str:
    """The ``count`` strongest links (mean over ``heads``) as text, for the picture's alt."""
    mean = array[layer, heads].mean(axis=0)                    # [n, n]
    n = mean.shape[0]
    order = np.argsort(-mean, axis=None, kind="stable")[:count]
    return "; ".join(f"{tokens[k // n]} -> {tokens[k % n]} {mean.flat[k]:.2f}" for k in order)


def head_picture(array: np.ndarray, tokens: list[str], layer: int, heads: list[int],
                 title: str = "") -> str:
    """A PNG of one layer's line view (the view's static picture)."""
    n = len(tokens)
    figure = new_figure(4.6, 0.6 + 0.2 * n)
    axes = figure.add_axes((0.3, 0.02, 0.4, 0.96 - (0.35 / (0.6 + 0.2 * n) if title else 0)))
    from matplotlib.collections import LineCollection
    from matplotlib.colors import to_rgb
    segments, colours = [], []
    for h in heads:
        rgb = to_rgb(HEAD_COLOURS[h % len(HEAD_COLOURS)])
        for q, k in zip(*np.nonzero(array[layer, h] >= 0.05)):   # the clearly visible lines
            segments.append([(0.0, q), (1.0, k)])
            colours.append((*rgb, min(1.0, float(array[layer, h, q, k]))))
    axes.add_collection(LineCollection(segments, colors=colours, linewidths=1.2))
    for i, token in enumerate(tokens):
        label = token if len(token) <= 14 else token[:13] + "\u2026"
        axes.text(-0.03, i, label, ha="right", va="center", fontsize=9)
        axes.text(1.03, i, label, ha="left", va="center", fontsize=9)
    axes.set_xlim(0, 1)
    axes.set_ylim(n - 0.5, -0.5)
    axes.axis("off")
    shown = "all heads" if len(heads) == array.shape[1] else (
        "head " if len(heads) == 1 else "heads ") + ", ".join(map(str, heads))
    heading = title or f"layer {layer}, {shown}"
    if title:
        figure.suptitle(heading, fontsize=10, y=0.995, va="top")
    alt = (f"Attention lines, layer {layer}, {shown}: each token on the left joined to the "
           f"tokens it attends to on the right; strongest: "
           f"{_strongest(array, tokens, layer, heads)}")
    return figure_img(figure, alt, "lmav-static")


def model_picture(array: np.ndarray, title: str = "") -> str:
    """A PNG of every layer x head as small heat maps (the model view's static picture).

    One image: the maps tiled with grey gaps (white = 0, dark blue = 1, as in
    the view), labelled with the layer at the left and the head on top.
    """
    layers, heads, n, _ = array.shape
    gap = max(1, n // 8)
    tile = n + gap
    mosaic = np.full((layers * tile - gap, heads * tile - gap, 3), 0.8)  # grey gaps
    blue = np.array([0.88, 0.53, 0.29])            # the view's colour scale: 1 - w * blue
    for layer in range(layers):
        for head in range(heads):
            rows, cols = layer * tile, head * tile
            mosaic[rows:rows + n, cols:cols + n] = 1 - array[layer, head][..., None] * blue
    width = 6.5
    left, right = 0.75, 0.1
    cell = min(0.5, (width - left - right) / heads)
    top = 0.3 + (0.3 if title else 0)
    height = cell * layers + top + 0.05
    figure = new_figure(width, height)
    axes = figure.add_axes((left / width, 0.05 / height, cell * heads / width,
                            cell * layers / height))
    axes.imshow(mosaic, interpolation="nearest", aspect="auto")
    axes.set_xticks([head * tile + n / 2 - 0.5 for head in range(heads)],
                    [str(head) for head in range(heads)], fontsize=9)
    axes.set_yticks([layer * tile + n / 2 - 0.5 for layer in range(layers)],
                    [f"layer {layer}" for layer in range(layers)], fontsize=9)
    axes.xaxis.tick_top()
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    if title:
        figure.suptitle(title, fontsize=10, y=0.995, va="top")
    alt = (f"Attention maps of {layers} layers x {heads} heads (rows: layers, columns: heads; "
           f"in each map row = query, column = key, darker = more attention)")
    return figure_img(figure, alt, "lmav-static")


def head_view(attention: Any, tokens: Sequence[str], *, layer: int = 0,
              heads: Sequence[int] | None = None, sentence_b_start: int | None = None,
              causal: bool | None = None, title: str | None = None,
              locked: bool = False) -> AttentionView:
    """One layer's attention as lines from query tokens (left) to key tokens (right).

    ``layer`` is shown first (the reader can switch); ``heads`` are the heads switched on at
    first (default all). ``sentence_b_start``: first token of sentence B for a pair.
    ``causal``: None detects it from the weights. ``locked``: the view has no layer or head
    controls of its own (the live explorer's controls choose them).
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
    data["locked"] = bool(locked)
    picture = head_picture(attention_array(attention, "head_view"), data["tokens"], layer,
                           data["selected_heads"], data["title"])
    return AttentionView(standalone_view("lmcore-attention", data, _SCRIPT, _CSS, picture),
                         data, picture)


def model_view(attention: Any, tokens: Sequence[str], *, sentence_b_start: int | None = None,
               causal: bool | None = None, title: str | None = None) -> AttentionView:
    """Every layer x head as a thumbnail heat map; click one to enlarge it into a line view."""
    data = _payload("model", attention, tokens, "model_view", sentence_b_start=sentence_b_start,
                    causal=causal, title=title)
    picture = model_picture(attention_array(attention, "model_view"), data["title"])
    return AttentionView(standalone_view("lmcore-attention", data, _SCRIPT, _CSS, picture),
                         data, picture)


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
            self.message.value = (f'<span style="color:#b00020">'
                                  f"{html_module.escape(type(error).__name__)}: "
                                  f"{html_module.escape(str(error))}</span>")
            self.view = None          # no picture of an earlier sentence under the error
            self.output.outputs = ()
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
                                  sentence_b_start=sentence_b_start, locked=True)
        else:
            self.view = model_view(attention, tokens, sentence_b_start=sentence_b_start)
        self.message.value = f"{len(tokens)} tokens, {layers} layers x {heads} heads"
        self.output.outputs = ({"output_type": "display_data",
                                "data": {"text/html": self.view.html, "text/plain": repr(self.view)},
                                "metadata": {}},)
        return self.view

    def _ipython_display_(self) -> None:
        display_live(self.widget, self.view.picture if self.view is not None else "")

    def __repr__(self) -> str:
        return f"<AttentionExplorer: {self.text.value!r}, {self.view!r}>"


def attention_explorer(model_fn: Callable[..., Any] | None = None, text: str = "The cat sat on "
                       "the mat because it was tired.", **options: Any) -> AttentionExplorer:
    """Build an :class:`AttentionExplorer` (display it as a cell's last expression)."""
    return AttentionExplorer(model_fn, text, **options)


# The views' CSS and JavaScript (one script serves both kinds; every lookup starts at `root`)
# live in lmcore/viz/static/attention.css and attention.js.
_CSS = asset("attention.css")
_SCRIPT = asset("attention.js")
