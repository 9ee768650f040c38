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
from lmcore.viz._html import StaticView, standalone_view

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


_CSS = """
.lmcore-tokens{font-family:system-ui,sans-serif;font-size:14px;border:1px solid #ddd;
  border-radius:6px;padding:10px;max-width:860px}
.lmcore-tokens .examples{display:flex;flex-wrap:wrap;gap:4px;margin-bottom:6px}
.lmcore-tokens button{font-size:12px;padding:1px 6px;cursor:pointer}
.lmcore-tokens button.on{background:#4f81bd;color:#fff}
.lmcore-tokens textarea{width:100%;box-sizing:border-box;font-family:monospace;font-size:13px}
.lmcore-tokens .name{font-weight:600;margin:8px 0 2px}
.lmcore-tokens .count{font-weight:400;color:#555}
.lmcore-tokens .row{display:flex;flex-wrap:wrap;gap:2px;font-family:monospace}
.lmcore-tokens .tok{padding:1px 3px;border-radius:3px;border:1px solid transparent;white-space:pre}
.lmcore-tokens .tok.unk{border-color:#c00;color:#c00}
.lmcore-tokens .tok.bytes{border:1px dashed #777;color:#444}
.lmcore-tokens .tok.special{border-color:#555;font-weight:600}
.lmcore-tokens .note{color:#8a4b00;margin:6px 0}
"""

_SCRIPT = r"""
function el(tag, attrs, text){var e=document.createElement(tag);
  for(var k in (attrs||{})){e.setAttribute(k, attrs[k]);} if(text!==undefined){e.textContent=text;} return e;}
var showIds=false;
var bar=el('div',{'class':'examples'});
var buttons=data.examples.map(function(example, i){
  var b=el('button',{'type':'button','data-example':String(i)}, example.label);
  b.addEventListener('click',function(){box.value=example.text; render();}); bar.appendChild(b); return b;});
var idsButton=el('button',{'type':'button','class':'ids-toggle'},'ids');
idsButton.addEventListener('click',function(){showIds=!showIds; idsButton.className='ids-toggle'+(showIds?' on':''); render();});
bar.appendChild(idsButton);
root.appendChild(bar);
var box=el('textarea',{'rows':'2','aria-label':'text to tokenize','spellcheck':'false'});
box.value=data.examples[0].text; root.appendChild(box);
var out=el('div',{'class':'rows'}); root.appendChild(out);
function drawRow(name, tokens){
  var title=el('div',{'class':'name'},name+' ');
  title.appendChild(el('span',{'class':'count'},'('+tokens.length+' tokens)')); out.appendChild(title);
  var row=el('div',{'class':'row','data-tokenizer':name});
  tokens.forEach(function(t, i){
    var span=el('span',{'class':'tok'+(t.kind?' '+t.kind:''),'title':'id '+t.id}, showIds?String(t.id):t.text);
    if(!t.kind){span.style.background=data.colours[i%data.colours.length];}
    row.appendChild(span);});
  out.appendChild(row);}
function utf8Bytes(text){var bytes=new TextEncoder().encode(text), tokens=[];
  for(var i=0;i<bytes.length;i++){var h=bytes[i].toString(16); tokens.push({'text':'<'+(h.length<2?'0':'')+h+'>','id':bytes[i],'kind':''});}
  return tokens;}
function render(){
  while(out.firstChild){out.removeChild(out.firstChild);}
  var text=box.value, found=-1;
  for(var i=0;i<data.examples.length;i++){if(data.examples[i].text===text){found=i;}}
  buttons.forEach(function(b, i){b.className=(i===found?'on':'');});
  if(found>=0){
    data.names.forEach(function(name){drawRow(name, data.examples[found].rows[name]);});
    root.setAttribute('data-shown','example-'+found);
  } else {
    out.appendChild(el('div',{'class':'note'},'This text was not precomputed for the page: run the '+
      'notebook to see every tokenizer on it. Here are its UTF-8 bytes, the tokens of a byte-level BPE before any merge:'));
    drawRow(data.bytes_name, utf8Bytes(text));
    root.setAttribute('data-shown','bytes');
  }
}
box.addEventListener('input',render);
render();
"""


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
        """A self-contained HTML view over ``examples`` (works offline, in the book)."""
        return StaticView(standalone_view("lmcore-tokens", self.data(examples), _SCRIPT, _CSS))

    def render_html(self, text: str, show_ids: bool = False) -> str:
        """The rows of ``text`` as HTML (what the live widget shows); all text is escaped."""
        parts = [f"<style>{_CSS}</style><div class='lmcore-tokens'>"]
        for name, tokens in self.rows(text).items():
            parts.append(f"<div class='name'>{html.escape(name)} "
                         f"<span class='count'>({len(tokens)} tokens)</span></div><div class='row'>")
            for i, token in enumerate(tokens):
                shown = str(token["id"]) if show_ids else token["text"]
                style = "" if token["kind"] else f" style='background:{COLOURS[i % len(COLOURS)]}'"
                parts.append(f"<span class='tok {token['kind']}' title='id {token['id']}'{style}>"
                             f"{html.escape(shown)}</span>")
            parts.append("</div>")
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
        panel = widgets.VBox([box, show_ids, output])
        panel.update = update  # exposed for tests
        panel.controls = {"text": box, "show_ids": show_ids, "output": output}
        return panel
