"""The "why this label" view of chapter 10: class probabilities and the tokens that pushed.

For a sentence, a fine-tuned classifier gives its class probabilities, and
:func:`lmcore.finetune.gradient_x_input` scores every token, ``a_t = e_t . dz_c/de_t``
(green: the token raised the score of the chosen class ``c``; red: it lowered it; the colour's
strength is ``|a_t| / max_t |a_t|``).

* :func:`attribution_view` -- a self-contained HTML view for the built book: a menu of
  sentences whose attributions were computed in Python (the browser has no model);
* :func:`attribution_widget` -- live in Jupyter: type any sentence, the kernel recomputes;
* :func:`render_attribution` -- the plain HTML (no script) the widget shows, text escaped.

The JavaScript and CSS are ``lmcore/viz/static/attribution.{js,css}``; text reaches the page
only through ``textContent`` (view) or ``html.escape`` (widget).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Callable, Sequence

from lmcore._validate import bad_argument
from lmcore.viz._html import StaticView, standalone_view
from lmcore.viz._live import live_panel

__all__ = ["attribution_view", "attribution_widget", "render_attribution"]

_STATIC = Path(__file__).resolve().parent / "static"
NOTE = ("Green tokens raised the score of the chosen class, red ones lowered it "
        "(gradient x input); hover a token for its value.")


def _asset(name: str) -> str:
    return (_STATIC / name).read_text(encoding="utf-8")


def _example(text: str, attribution: Any) -> dict:
    needed = ("tokens", "scores", "probabilities", "labels", "target")
    if not isinstance(attribution, dict) or any(k not in attribution for k in needed):
        raise TypeError(bad_argument("attribution_view", "examples", type(attribution).__name__,
                                     f"(text, attribution) pairs; an attribution is the dict "
                                     f"gradient_x_input returns, with {needed}"))
    if len(attribution["tokens"]) != len(attribution["scores"]) or \
            len(attribution["labels"]) != len(attribution["probabilities"]):
        raise ValueError(bad_argument("attribution_view", "examples", text,
                                      "attributions with one score per token and one "
                                      "probability per label"))
    return {"text": str(text), "tokens": [str(t) for t in attribution["tokens"]],
            "scores": [round(float(s), 4) for s in attribution["scores"]],
            "probabilities": [round(float(p), 4) for p in attribution["probabilities"]],
            "labels": [str(x) for x in attribution["labels"]],
            "target": int(attribution["target"])}


def attribution_view(examples: Sequence[tuple[str, Any]]) -> StaticView:
    """A static view of precomputed ``(text, gradient_x_input(...))`` pairs: pick a sentence,
    see its class probabilities and its coloured tokens. Deterministic: the same examples give
    the same HTML (the element id is a hash of the data)."""
    if isinstance(examples, (str, dict)) or not isinstance(examples, Sequence) or not examples:
        raise TypeError(bad_argument("attribution_view", "examples", examples,
                                     "a non-empty list of (text, attribution) pairs"))
    data = {"examples": [_example(text, a) for text, a in examples], "note": NOTE}
    # where scripts do not run (an untrusted notebook), the first example as plain HTML
    picture = render_attribution(examples[0][1], styled=False)
    return StaticView(standalone_view("lmcore-why", data, _asset("attribution.js"),
                                      _asset("attribution.css"), picture))


def render_attribution(attribution: Any, styled: bool = True) -> str:
    """The probabilities and coloured tokens of one attribution as plain HTML (every text
    escaped with ``html.escape``; no script). ``styled=False`` leaves out the ``<style>``
    element (for a picture inside a view that brings its own)."""
    ex = _example("", attribution)
    scale = max([abs(s) for s in ex["scores"]] + [1e-9])
    rows = []
    for c, (name, p) in enumerate(zip(ex["labels"], ex["probabilities"])):
        chosen = " why-chosen" if c == ex["target"] else ""
        rows.append(f'<div class="why-prob{chosen}"><span class="why-class">'
                    f'{html.escape(name)}</span><span class="why-bar" style="width:'
                    f'{round(200 * p)}px"></span><span class="why-value">{p:.3f}</span></div>')
    spans = []
    for token, score in zip(ex["tokens"], ex["scores"]):
        alpha = min(1.0, abs(score) / scale)
        rgb = "46,139,87" if score >= 0 else "200,50,50"
        spans.append(f'<span class="why-token" title="{score:+.3f}" style="background:'
                     f'rgba({rgb},{alpha:.3f})">{html.escape(token)}</span>')
    style = f'<style>{_asset("attribution.css")}</style>' if styled else ""
    return (f'{style}<div class="lmcore-why">'
            f'<div class="why-probs">{"".join(rows)}</div>'
            f'<div class="why-tokens">{"".join(spans)}</div>'
            f'<div class="why-note">{html.escape(NOTE)}</div></div>')


def attribution_widget(explain: Callable[[str], Any], text: str = "") -> Any:
    """Live in Jupyter: a text box and the rendering of ``explain(text)`` (e.g.
    ``lambda t: gradient_x_input(model, tokenizer, t)``), recomputed when the text changes.
    Returns an ``ipywidgets.VBox`` that displays itself with a static picture of its first
    state (:mod:`lmcore.viz._live`); its ``.update(text)`` runs the callback directly."""
    import ipywidgets as widgets
    if not callable(explain):
        raise TypeError(bad_argument("attribution_widget", "explain", explain,
                                     "a function text -> gradient_x_input(...) result"))
    box = widgets.Text(value=text, description="sentence", continuous_update=False,
                       layout=widgets.Layout(width="100%", max_width="640px"))
    out = widgets.HTML()

    def update(value: str) -> None:
        out.value = (render_attribution(explain(value)) if value.strip()
                     else "<i>type a sentence</i>")

    box.observe(lambda change: update(change["new"]), names="value")
    update(text)
    view = live_panel([box, out], lambda: out.value)
    view.update = update
    return view
