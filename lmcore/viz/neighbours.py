"""The nearest-neighbour explorer of chapter 3.

:class:`NeighbourExplorer` holds a corpus and computes, on demand and cached, the co-occurrence
and PPMI matrices for any window. It shows them two ways:

* :meth:`NeighbourExplorer.widget` -- live ipywidgets controls in Jupyter (type any word, pick
  the window and the weighting; neighbours are recomputed in the kernel);
* :meth:`NeighbourExplorer.static_view` -- a self-contained HTML view for the built book, with
  the neighbours of a chosen list of words precomputed for every window and weighting.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from lmcore._validate import bad_argument, check_int
from lmcore.cooccurrence import _top_k, cooccurrence_matrix, nearest_neighbors, ppmi
from lmcore.viz._html import StaticView, standalone_view

WEIGHTINGS = ("counts", "ppmi")

_CSS = """
.lmcore-nn{font-family:system-ui,sans-serif;font-size:14px;border:1px solid #ddd;border-radius:6px;
  padding:10px;max-width:560px}
.lmcore-nn .controls{display:flex;gap:12px;flex-wrap:wrap;align-items:center;margin-bottom:8px}
.lmcore-nn input[type=text]{width:10em;padding:2px 4px}
.lmcore-nn .nn-row{display:flex;flex-wrap:nowrap;align-items:center;gap:8px;margin:2px 0}
.lmcore-nn .word{width:9em;flex:none;text-align:right;font-family:monospace}
.lmcore-nn .bar{height:12px;flex:none;background:#4f81bd;border-radius:2px}
.lmcore-nn .value{font-family:monospace;color:#555}
.lmcore-nn .note{color:#8a4b00;margin:4px 0}
"""

_SCRIPT = r"""
function el(tag, attrs, text){var e=document.createElement(tag);
  for(var k in (attrs||{})){e.setAttribute(k, attrs[k]);} if(text!==undefined){e.textContent=text;} return e;}
var controls=el('div',{'class':'controls'});
var label=el('label',{},'word ');
var input=el('input',{'type':'text','list':root.id+'-words','value':data.words[0],'aria-label':'word'});
label.appendChild(input); controls.appendChild(label);
var list=el('datalist',{'id':root.id+'-words'});
data.words.forEach(function(w){list.appendChild(el('option',{'value':w}));});
controls.appendChild(list);
var wlabel=el('label',{},'window ');
var select=el('select',{'aria-label':'window'});
data.windows.forEach(function(w){var o=el('option',{'value':String(w)},'\u00b1'+w);
  if(w===data.default_window){o.selected=true;} select.appendChild(o);});
wlabel.appendChild(select); controls.appendChild(wlabel);
var radios=[];
data.weightings.forEach(function(name){
  var l=el('label',{}); var r=el('input',{'type':'radio','name':root.id+'-weighting','value':name});
  if(name===data.default_weighting){r.checked=true;} radios.push(r);
  l.appendChild(r); l.appendChild(document.createTextNode(' '+name)); controls.appendChild(l);});
root.appendChild(controls);
var out=el('div',{'class':'neighbours'}); root.appendChild(out);
function weighting(){for(var i=0;i<radios.length;i++){if(radios[i].checked){return radios[i].value;}} return data.default_weighting;}
function render(){
  while(out.firstChild){out.removeChild(out.firstChild);}
  var word=input.value.trim().toLowerCase();
  var table=data.neighbours[word];
  if(!table){
    var close=data.words.filter(function(w){return w.indexOf(word.slice(0,2))===0;}).slice(0,8);
    out.appendChild(el('div',{'class':'note'}, 'Not precomputed in this page: '+JSON.stringify(word)+
      '. Run the notebook for any word.'+(close.length?' Try: '+close.join(', '):'')));
    return;}
  var rows=table[select.value][weighting()];
  var top=rows.length?Math.max(rows[0][1],1e-9):1;
  rows.forEach(function(pair){
    var row=el('div',{'class':'nn-row'});
    row.appendChild(el('span',{'class':'word'},pair[0]));
    var bar=el('div',{'class':'bar'}); bar.style.width=Math.max(2,Math.round(260*pair[1]/top))+'px';
    row.appendChild(bar); row.appendChild(el('span',{'class':'value'},pair[1].toFixed(3)));
    out.appendChild(row);});
  root.setAttribute('data-shown', word+'|'+select.value+'|'+weighting());
}
input.addEventListener('input',render); select.addEventListener('change',render);
radios.forEach(function(r){r.addEventListener('change',render);});
render();
"""


class NeighbourExplorer:
    """Nearest neighbours of words in a corpus, for any window and weighting."""

    def __init__(self, tokens: Sequence[str], vocab_size: int = 3000,
                 windows: Sequence[int] = (1, 2, 5, 10), k: int = 10):
        check_int("NeighbourExplorer", "vocab_size", vocab_size, minimum=2)
        check_int("NeighbourExplorer", "k", k, minimum=1)
        if not windows or any(isinstance(w, bool) or not isinstance(w, int) or w < 1
                              for w in windows):
            raise ValueError(bad_argument("NeighbourExplorer", "windows", windows,
                                          "a non-empty list of ints >= 1"))
        if isinstance(tokens, str) or not isinstance(tokens, (list, tuple)) or not tokens:
            raise TypeError(bad_argument("NeighbourExplorer", "tokens", tokens,
                                         "a non-empty list of words"))
        self.tokens = list(tokens)
        frequency = Counter(self.tokens)
        self.vocab_words = [w for w, _ in sorted(frequency.items(),
                                                  key=lambda item: (-item[1], item[0]))][:vocab_size]
        self.windows = tuple(windows)
        self.k = k
        self._matrices: dict[tuple[int, str], tuple[np.ndarray, dict[str, int]]] = {}
        self._unit_rows: dict[tuple[int, str], np.ndarray] = {}

    def matrix(self, window: int, weighting: str) -> tuple[np.ndarray, dict[str, int]]:
        """The (cached) count or PPMI matrix for ``window``, with its vocabulary."""
        if weighting not in WEIGHTINGS:
            raise ValueError(bad_argument("NeighbourExplorer.matrix", "weighting", weighting,
                                          f"one of {list(WEIGHTINGS)}"))
        key = (window, weighting)
        if key not in self._matrices:
            counts, vocab = cooccurrence_matrix(self.tokens, window=window, vocab=self.vocab_words)
            self._matrices[(window, "counts")] = (counts, vocab)
            self._matrices[(window, "ppmi")] = (ppmi(counts), vocab)
        return self._matrices[key]

    def neighbours(self, word: str, window: int = 2, weighting: str = "ppmi",
                   k: int | None = None) -> list[tuple[str, float]]:
        """Same result as ``nearest_neighbors`` on :meth:`matrix`, from cached unit rows."""
        word = word.strip().lower() if isinstance(word, str) else word
        matrix, vocab = self.matrix(window, weighting)
        key = (window, weighting)
        if word not in vocab or key not in self._unit_rows:
            result = nearest_neighbors(word, matrix, vocab, k=k or self.k)  # validates, raises
            if key not in self._unit_rows:
                norms = np.linalg.norm(matrix, axis=1, keepdims=True)
                self._unit_rows[key] = np.divide(matrix, norms, out=np.zeros(matrix.shape),
                                                 where=norms > 0)
            return result
        unit = self._unit_rows[key]
        row = vocab[word]
        if not unit[row].any():
            return nearest_neighbors(word, matrix, vocab, k=k or self.k)  # raises: zero row
        return _top_k(unit @ unit[row], row, vocab, k or self.k)

    def data(self, words: Sequence[str], default_window: int = 2,
             default_weighting: str = "ppmi") -> dict:
        """Precomputed neighbours of ``words`` for every window and weighting (for the page)."""
        if default_window not in self.windows:
            raise ValueError(bad_argument("NeighbourExplorer.data", "default_window",
                                          default_window, f"one of {list(self.windows)}"))
        table = {}
        for word in words:
            table[word] = {str(window): {weighting: [[w, round(s, 4)] for w, s in
                                                     self.neighbours(word, window, weighting)]
                                         for weighting in WEIGHTINGS}
                           for window in self.windows}
        return {"words": list(words), "windows": list(self.windows),
                "weightings": list(WEIGHTINGS), "default_window": default_window,
                "default_weighting": default_weighting, "neighbours": table}

    def static_view(self, words: Sequence[str], **defaults) -> StaticView:
        """A self-contained HTML explorer over ``words`` (works offline, in the book)."""
        return StaticView(standalone_view("lmcore-nn", self.data(words, **defaults), _SCRIPT, _CSS))

    def render_text(self, word: str, window: int, weighting: str) -> str:
        """The neighbour list as text (what the live widget shows)."""
        try:
            pairs = self.neighbours(word, window, weighting)
        except (KeyError, ValueError) as error:
            return str(error.args[0] if error.args else error)
        width = max(len(w) for w, _ in pairs)
        return "\n".join(f"{w:>{width}}  {s:.3f}  " + "#" * int(round(30 * max(s, 0)))
                         for w, s in pairs)

    def widget(self, word: str = "king"):
        """Live controls for Jupyter: type a word, pick the window and the weighting."""
        import ipywidgets as widgets

        word_box = widgets.Combobox(value=word, options=self.vocab_words[:500],
                                    description="word", ensure_option=False)
        window_box = widgets.Dropdown(options=list(self.windows), value=2 if 2 in self.windows
                                      else self.windows[0], description="window")
        weighting_box = widgets.ToggleButtons(options=list(WEIGHTINGS), value="ppmi",
                                              description="weighting")
        output = widgets.HTML()

        def update(_change=None):
            import html
            text = self.render_text(word_box.value, window_box.value, weighting_box.value)
            output.value = f"<pre>{html.escape(text)}</pre>"

        for box in (word_box, window_box, weighting_box):
            box.observe(update, names="value")
        update()
        panel = widgets.VBox([widgets.HBox([word_box, window_box]), weighting_box, output])
        panel.update = update  # exposed for tests
        panel.controls = {"word": word_box, "window": window_box, "weighting": weighting_box,
                          "output": output}
        return panel
