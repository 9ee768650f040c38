"""How a live (ipywidgets) view is displayed so that its stored output never shows an error.

A widget's output in a saved notebook is only a reference to a model in the kernel. Opened
later without that kernel, JupyterLab shows the reference's text/plain when the notebook is
untrusted (``VBox(children=(...``) and "Error displaying widget: model not found" when it is
trusted. So a live view is displayed as two outputs (:func:`display_live`):

1. a static notice and picture of the view's first state, as HTML that JupyterLab's
   sanitiser keeps (inline styles, a PNG data URI): what everyone sees before the cell runs;
2. the widget itself, with a text/plain that says what to do instead of ``VBox(...)``.

``python -m lmcore.cli execute`` stores notebooks with the widget reference emptied
(``model_id: ""``, :func:`forget_widget_views`), which JupyterLab's widget renderer hides, so a
committed notebook shows the notice and the picture, never an error. A learner's own saved
notebook keeps its widgets' state (the set-up turns on JupyterLab's "save widget state"
setting, :mod:`lmcore.viz.labsetup`), so it reopens without an error too.
"""

from __future__ import annotations

import functools
import html
from typing import Any, Callable

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
NOTICE = ("Live explorer: run this cell in Jupyter to use it (its controls appear below "
          "the picture). The picture shows the explorer's starting state.")
PLACEHOLDER = "(The live controls appear here when this cell runs in a kernel.)"


def notice_html(picture: str) -> str:
    """The notice and the picture, as HTML that JupyterLab's sanitiser keeps as it is."""
    return ('<div class="lmcore-live-notice" style="border-left:4px solid #4f81bd;'
            'padding:2px 8px;margin:4px 0;font-size:13px;max-width:100%">'
            f"<div style=\"margin-bottom:4px\">{html.escape(NOTICE)}</div>{picture}</div>")


def display_live(widget: Any, picture: str) -> None:
    """Display the notice + ``picture`` and then ``widget`` (two outputs, see above)."""
    from IPython.display import display
    display({"text/html": notice_html(picture), "text/plain": NOTICE}, raw=True)
    display({"text/plain": PLACEHOLDER,
             WIDGET_MIME: {"version_major": 2, "version_minor": 0,
                           "model_id": widget.model_id}}, raw=True)


@functools.lru_cache(maxsize=None)
def _panel_class() -> type:
    import ipywidgets as widgets

    class LivePanel(widgets.VBox):
        """A VBox that displays itself with :func:`display_live` (``picture()`` gives the
        static picture of its current state)."""

        picture: Callable[[], str] = staticmethod(lambda: "")

        def _ipython_display_(self) -> None:
            display_live(self, self.picture())

    return LivePanel


def live_panel(children: list, picture: Callable[[], str]) -> Any:
    """An ipywidgets VBox of ``children`` that displays itself with :func:`display_live`."""
    panel = _panel_class()(children)
    panel.picture = picture
    return panel


def forget_widget_views(notebook: Any) -> int:
    """Empty the model id of every stored widget output of ``notebook`` (an nbformat node).

    JupyterLab hides a widget output whose model id is empty instead of reporting a missing
    model. Returns how many outputs were changed.
    """
    changed = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_MIME)
            if view is not None and view.get("model_id"):
                view["model_id"] = ""
                changed += 1
    return changed
