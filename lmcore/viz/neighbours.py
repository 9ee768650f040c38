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
from lmcore.viz._html import StaticView, asset, standalone_view
from lmcore.viz._live import live_panel

WEIGHTINGS = ("counts", "ppmi")

# The view's CSS and JavaScript: lmcore/viz/static/neighbours.css and neighbours.js.
_CSS = asset("neighbours.css")
_SCRIPT = asset("neighbours.js")


def neighbours_html(word: str, window: int, weighting: str,
                    pairs: Sequence[tuple[str, float]]) -> str:
    """A neighbour list as HTML with inline styles only (bars as widths), which JupyterLab's
    sanitiser keeps: the static view's picture and the live widget's output."""
    import html
    top = max(pairs[0][1], 1e-9) if pairs else 1.0
    parts = [f"<div class='lmnn-static' style='font-family:system-ui,sans-serif;"
             f"font-size:14px;max-width:100%'><div style='margin-bottom:4px'>"
             f"Nearest neighbours of <b>{html.escape(word)}</b> "
             f"(window \u00b1{window}, {html.escape(weighting)}):</div>"]
    for other, value in pairs:
        width = max(1, round(100 * value / top))
        parts.append(
            "<div style='display:flex;align-items:center;gap:6px;margin:2px 0'>"
            "<span style='width:7em;flex:none;text-align:right;font-family:monospace;"
            f"overflow:hidden;white-space:nowrap'>{html.escape(other)}</span>"
            "<span style='flex:1 1 auto;max-width:260px;min-width:30px'>"
            f"<span style='display:block;height:12px;width:{width}%;background:#4f81bd;"
            "border-radius:2px'></span></span>"
            f"<span style='flex:none;font-family:monospace'>{value:.3f}</span></div>")
    parts.append("</div>")
    return "".join(parts)


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
        """A self-contained HTML explorer over ``words`` (works offline, in the book).

        Without scripts it shows the neighbours of the first word (:func:`neighbours_html`)."""
        data = self.data(words, **defaults)
        first = data["words"][0]
        window, weighting = data["default_window"], data["default_weighting"]
        picture = neighbours_html(first, window, weighting,
                                  data["neighbours"][first][str(window)][weighting])
        return StaticView(standalone_view("lmcore-nn", data, _SCRIPT, _CSS, picture))

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
        def picture() -> str:
            try:
                pairs = self.neighbours(word_box.value, window_box.value, weighting_box.value)
            except (KeyError, ValueError):
                return ""
            return neighbours_html(word_box.value, window_box.value, weighting_box.value,
                                   pairs)

        panel = live_panel([widgets.HBox([word_box, window_box]), weighting_box, output],
                           picture)
        panel.update = update  # exposed for tests
        panel.controls = {"word": word_box, "window": window_box, "weighting": weighting_box,
                          "output": output}
        return panel
