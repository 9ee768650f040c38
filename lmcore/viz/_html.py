"""Self-contained interactive views: HTML + a little JavaScript + embedded JSON data.

Every view in the book is one ``<div>`` with its data in a ``<script type="application/json">``
and its behaviour in an inline ``<script>``. Nothing is loaded from the network, so the same
output works in JupyterLab, VS Code, Colab and in the built HTML book opened from a folder.

The JavaScript and CSS of each view live in files of their own, ``lmcore/viz/static/*.js``
and ``*.css`` (package data), read once at import (:func:`asset`) and inlined into the
output, which therefore stays self-contained.

**Content without JavaScript.** The view's ``<div>`` first holds a static picture of the same
data: a PNG ``<img>`` (a data URI, drawn here with matplotlib) or plain HTML whose styles are
inline attributes. That is what an untrusted notebook in JupyterLab (whose sanitiser drops
``<script>``, ``<style>`` and ``<svg>`` but keeps ``<img src="data:...">`` and inline styles),
GitHub's preview and any page without scripts show. Where scripts run, the view's script
empties the ``<div>`` and draws the interactive view in its place.

Safety: the JSON is embedded with ``<``, ``>`` and ``&`` escaped as ``\\u003c`` etc., so a
token such as ``</script><script>alert(1)</script>`` cannot end the data block, and the
scripts must insert text with ``textContent`` (never ``innerHTML``), so text is shown, not run.

Element ids are derived from a hash of the data, never from randomness, so a notebook's
stored output is identical from run to run (nbval compares it).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import io
import json
from pathlib import Path
from typing import Any

STATIC = Path(__file__).with_name("static")


@functools.lru_cache(maxsize=None)
def asset(name: str) -> str:
    """The text of ``lmcore/viz/static/NAME`` (a view's JavaScript or CSS)."""
    return (STATIC / name).read_text(encoding="utf-8")


def embed_json(data: Any) -> str:
    """JSON text that is safe inside ``<script type="application/json">``."""
    text = json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def element_id(prefix: str, data: Any) -> str:
    """A stable id for a view: ``prefix`` plus a hash of its data."""
    digest = hashlib.sha1(embed_json(data).encode("utf-8")).hexdigest()[:12]
    return f"{prefix}-{digest}"


def standalone_view(prefix: str, data: Any, script: str, css: str = "",
                    picture: str = "") -> str:
    """One self-contained view.

    ``script`` is the body of a function ``(root, data)``: ``root`` is the view's ``<div>``
    (emptied of ``picture`` first), ``data`` the parsed JSON. It runs once when the output is
    displayed. ``picture`` is the static HTML shown where scripts do not run.
    """
    view_id = element_id(prefix, data)
    style = f"<style>{css}</style>" if css else ""
    boot = (asset("boot.js").strip().replace("__VIEW_ID__", view_id)
            .replace("/*__SCRIPT__*/", script))
    return (f'{style}<div class="{prefix}" id="{view_id}">{picture}</div>'
            f'<script type="application/json" id="{view_id}-data">{embed_json(data)}</script>'
            f"<script>{boot}</script>")


def figure_img(figure: Any, alt: str, css_class: str) -> str:
    """A matplotlib figure as an ``<img>`` with a PNG data URI (the same bytes every run)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(figure)
    from PIL import Image
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    # a 128-colour palette: the same picture at a third to a fifth of the bytes
    buffer.seek(0)
    small = io.BytesIO()
    Image.open(buffer).convert("RGB").quantize(colors=128, dither=Image.Dither.NONE).save(
        small, format="png", optimize=True)
    png = base64.b64encode(small.getvalue()).decode("ascii")
    width = int(round(figure.get_figwidth() * 100))
    return (f'<img class="{css_class}" src="data:image/png;base64,{png}" '
            f'alt="{html.escape(alt)}" width="{width}" '
            f'style="max-width:100%;height:auto;background:#fff">')


def new_figure(width: float, height: float) -> Any:
    """A matplotlib Figure that touches no global pyplot state."""
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height))


class StaticView:
    """An HTML view that IPython, Jupyter and Jupyter Book display as-is."""

    def __init__(self, html: str):
        self.html = html

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: interactive HTML view, {len(self.html):,} characters>"
