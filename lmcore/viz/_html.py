"""Self-contained interactive views: HTML + a little JavaScript + embedded JSON data.

Every view in the book is one ``<div>`` with its data in a ``<script type="application/json">``
and its behaviour in an inline ``<script>``. Nothing is loaded from the network, so the same
output works in JupyterLab, VS Code, Colab and in the built HTML book opened from a folder.

Safety: the JSON is embedded with ``<``, ``>`` and ``&`` escaped as ``\\u003c`` etc., so a
token such as ``</script><script>alert(1)</script>`` cannot end the data block, and the
scripts must insert text with ``textContent`` (never ``innerHTML``), so text is shown, not run.

Element ids are derived from a hash of the data, never from randomness, so a notebook's
stored output is identical from run to run (nbval compares it).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def embed_json(data: Any) -> str:
    """JSON text that is safe inside ``<script type="application/json">``."""
    text = json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def element_id(prefix: str, data: Any) -> str:
    """A stable id for a view: ``prefix`` plus a hash of its data."""
    digest = hashlib.sha1(embed_json(data).encode("utf-8")).hexdigest()[:12]
    return f"{prefix}-{digest}"


def standalone_view(prefix: str, data: Any, script: str, css: str = "") -> str:
    """One self-contained view.

    ``script`` is the body of a function ``(root, data)``: ``root`` is the view's ``<div>``,
    ``data`` the parsed JSON. It runs once when the output is displayed.
    """
    view_id = element_id(prefix, data)
    style = f"<style>{css}</style>" if css else ""
    # The same view may be displayed twice on one page (same data, same id): each script
    # takes the first element with its id that no script has claimed yet.
    return (
        f'{style}<div class="{prefix}" id="{view_id}"></div>'
        f'<script type="application/json" id="{view_id}-data">{embed_json(data)}</script>'
        "<script>(function(){"
        f'var all=document.querySelectorAll(\'[id="{view_id}"]\');var root=null;'
        'for(var i=0;i<all.length;i++){if(!all[i].hasAttribute("data-claimed")){root=all[i];break;}}'
        'if(!root){return;}root.setAttribute("data-claimed","1");'
        f'var data=JSON.parse(document.getElementById("{view_id}-data").textContent);'
        f"(function(root,data){{{script}\n}})(root,data);"
        "})();</script>"
    )


class StaticView:
    """An HTML view that IPython, Jupyter and Jupyter Book display as-is."""

    def __init__(self, html: str):
        self.html = html

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: interactive HTML view, {len(self.html):,} characters>"
