"""The tokenizer view of chapter 2: one text, every tokenizer, token boundaries in colour.

:class:`TokenView` holds named tokenizers (anything with the :class:`lmcore.tokenize.Tokenizer`
interface) and shows how each cuts a text, one row per tokenizer, each token a coloured box
with its id on hover (or in place of the text, with the "ids" switch). It works two ways:

* :meth:`TokenView.widget` -- live in Jupyter: type any text, every row is recomputed in the
  kernel;
* :meth:`TokenView.static_view` -- a self-contained HTML view for the book: the rows of a list
  of examples are precomputed; for any other typed text the page computes the one row that
  needs no vocabulary, the UTF-8 bytes (byte-level BPE before its first merge).

How a token is shown: white space is made visible (space "␣", newline "↵", tab "⇥"); a
byte-level token whose bytes are not a whole UTF-8 character (a piece of "你" or of an emoji)
is shown as its bytes in hex, ``<e4 bd>``; an unknown-word token is outlined in red.
"""

from __future__ import annotations

import html
from typing import Mapping, Sequence

from lmcore._validate import bad_argument
from lmcore.tokenize.base import Tokenizer
from lmcore.viz._html import StaticView, asset, standalone_view
from lmcore.viz._live import live_panel

__all__ = ["TokenView", "describe_tokens", "visible"]

_VISIBLE = str.maketrans({" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"})
COLOURS = ("#cfe3f7", "#fde2c4", "#d6efd0", "#f3d3e6", "#e6e0f5", "#fff2b3")


def visible(text: str) -> str:
    """``text`` with spaces, newlines and tabs drawn as visible symbols."""
    return text.translate(_VISIBLE)


def describe_tokens(tokenizer: Tokenizer, text: str) -> list[dict]:
    """The tokens of ``text`` as the view draws them: ``{"text", "id", "kind"}`` each.

    ``kind`` is ``"unk"`` for an unknown-word token, ``"bytes"`` for a byte-level token that is
    not a whole UTF-8 character (then ``text`` is its bytes in hex), ``"special"`` for [CLS]
    and friends, and ``""`` otherwise.
    """
    ids = tokenizer.encode(text)
    unk = getattr(tokenizer, "unk_token_id", None)
    specials = getattr(tokenizer, "special_token_ids", frozenset())
    token_bytes = getattr(tokenizer, "token_bytes", None)
    described = []
    for token_id, token in zip(ids, tokenizer.convert_ids_to_tokens(ids)):
        kind, shown = "", visible(token)
        if token_id == unk:
            kind = "unk"
        elif token_id in specials:
            kind = "special"
        elif token_bytes is not None:          # byte-level: show what the bytes say
            raw = token_bytes(token_id)
            try:
                shown = visible(raw.decode("utf-8"))
            except UnicodeDecodeError:
                kind, shown = "bytes", "<" + " ".join(f"{b:02x}" for b in raw) + ">"
        described.append({"text": shown, "id": token_id, "kind": kind})
    return described


# The view's CSS and JavaScript: lmcore/viz/static/tokens.css and tokens.js.
_CSS = asset("tokens.css")
_SCRIPT = asset("tokens.js")

# Inline styles of the static rows (render_html): JupyterLab's sanitiser keeps these, and
# the book's theme cannot override them.
_ROW_STYLE = "display:flex;flex-wrap:wrap;gap:2px;font-family:monospace;margin-bottom:4px"
_TOKEN_STYLE = ("padding:1px 3px;border-radius:3px;border:1px solid transparent;"
                "white-space:pre;color:#222")
_KIND_STYLE = {"": "", "unk": "border-color:#c00;color:#c00",
               "bytes": "border:1px dashed #777;color:#444",
               "special": "border-color:#555;font-weight:600"}


class TokenView:
    """Several tokenizers side by side on the same text (see the module docstring)."""

    bytes_name = "UTF-8 bytes"

    def __init__(self, tokenizers: Mapping[str, Tokenizer]):
        if not isinstance(tokenizers, Mapping) or not tokenizers or not all(
                isinstance(t, Tokenizer) for t in tokenizers.values()):
            raise TypeError(bad_argument("TokenView", "tokenizers", tokenizers,
                                         "a non-empty dict of name -> lmcore Tokenizer"))
        self.tokenizers = dict(tokenizers)

    def rows(self, text: str) -> dict[str, list[dict]]:
        """For each tokenizer: the described tokens of ``text``."""
        if not isinstance(text, str):
            raise TypeError(bad_argument("TokenView.rows", "text", text, "a str"))
        return {name: describe_tokens(tokenizer, text) for name, tokenizer in self.tokenizers.items()}

    def data(self, examples: Sequence[str] | Mapping[str, str]) -> dict:
        """The precomputed rows of ``examples`` (a list of texts, or label -> text)."""
        if isinstance(examples, Mapping):
            labelled = list(examples.items())
        else:
            labelled = [(text[:18] + ("…" if len(text) > 18 else ""), text) for text in examples]
        if not labelled:
            raise ValueError(bad_argument("TokenView.data", "examples", examples, "at least one text"))
        return {"names": list(self.tokenizers), "colours": list(COLOURS),
                "bytes_name": self.bytes_name,
                "examples": [{"label": label, "text": text, "rows": self.rows(text)}
                             for label, text in labelled]}

    def static_view(self, examples: Sequence[str] | Mapping[str, str]) -> StaticView:
        """A self-contained HTML view over ``examples`` (works offline, in the book).

        Without scripts it shows the rows of the first example (:meth:`render_html`)."""
        data = self.data(examples)
        picture = self.render_html(data["examples"][0]["text"], wrap=False)
        return StaticView(standalone_view("lmcore-tokens", data, _SCRIPT, _CSS, picture))

    def render_html(self, text: str, show_ids: bool = False, wrap: bool = True) -> str:
        """The rows of ``text`` as HTML with inline styles (what the live widget shows, and
        the static view's picture); all text is escaped."""
        parts = []
        if wrap:
            parts.append("<div class='lmcore-tokens' style='font-family:system-ui,sans-serif;"
                         "font-size:14px;max-width:100%'>")
        for name, tokens in self.rows(text).items():
            parts.append(f"<div class='lmtok-name' style='font-weight:600;margin:8px 0 2px'>"
                         f"{html.escape(name)} <span class='lmtok-count' style='font-weight:400'>"
                         f"({len(tokens)} tokens)</span></div>"
                         f"<div class='lmtok-row' style='{_ROW_STYLE}'>")
            for i, token in enumerate(tokens):
                shown = str(token["id"]) if show_ids else token["text"]
                background = ("" if token["kind"] else
                              f"background:{COLOURS[i % len(COLOURS)]};")
                kind = f" lmtok-{token['kind']}" if token["kind"] else ""
                parts.append(f"<span class='lmtok-tok{kind}' title='id {token['id']}' "
                             f"style='{_TOKEN_STYLE};{background}{_KIND_STYLE[token['kind']]}'>"
                             f"{html.escape(shown)}</span>")
            parts.append("</div>")
        if wrap:
            parts.append("</div>")
        return "".join(parts)

    def widget(self, text: str = "Tokenizers cut text into pieces."):
        """Live controls for Jupyter: type any text; every tokenizer's row is recomputed."""
        import ipywidgets as widgets

        box = widgets.Textarea(value=text, description="text",
                               layout=widgets.Layout(width="95%", height="4em"))
        show_ids = widgets.Checkbox(value=False, description="show ids")
        output = widgets.HTML()

        def update(_change=None):
            output.value = self.render_html(box.value, show_ids.value)

        box.observe(update, names="value")
        show_ids.observe(update, names="value")
        update()
        panel = live_panel([box, show_ids, output],
                           lambda: self.render_html(box.value, show_ids.value))
        panel.update = update  # exposed for tests
        panel.controls = {"text": box, "show_ids": show_ids, "output": output}
        return panel
