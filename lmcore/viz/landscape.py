"""The loss-landscape view of chapter 7: pick a learning rate and a momentum, watch the path.

The landscape is a 2-D quadratic ``f(x) = 1/2 x^T A x`` whose Hessian ``A`` has eigenvalues
``lambdas`` (default 1 and 10, condition number 10) along axes turned by ``angle``. Its level
sets are ellipses, so both renderers draw them exactly.

* :func:`landscape_view` is the static view for the HTML book: the trajectories for a grid of
  learning rates and momenta are computed here, embedded as JSON, and two sliders pick one.
* :class:`LandscapeWidget` is the live view for Jupyter: two ipywidgets sliders whose callback
  recomputes the trajectory in the kernel for any value.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

import numpy as np

from lmcore._validate import bad_argument, check_int, check_number
from lmcore.optim import momentum_descent, quadratic_rate
from lmcore.viz._html import StaticView, standalone_view

__all__ = ["quadratic_problem", "landscape_trajectory", "verdict", "landscape_svg", "landscape_view",
           "LandscapeWidget"]

LAMBDAS = (1.0, 10.0)
ANGLE = np.pi / 6
START = (-2.2, 1.6)
BOX = 3.0          # the view shows [-BOX, BOX]^2
LEVELS = (0.05, 0.25, 0.75, 1.5, 3.0, 5.0, 8.0)
SIZE = 320         # pixels


def quadratic_problem(lambdas: Sequence[float] = LAMBDAS, angle: float = ANGLE) -> np.ndarray:
    """The Hessian ``A = R diag(lambdas) R^T`` of the view's quadratic (R turns by ``angle``)."""
    l1 = check_number("quadratic_problem", "lambdas[0]", lambdas[0], positive=True)
    l2 = check_number("quadratic_problem", "lambdas[1]", lambdas[1], positive=True)
    c, s = np.cos(angle), np.sin(angle)
    rotation = np.array([[c, -s], [s, c]])
    return rotation @ np.diag([l1, l2]) @ rotation.T


def landscape_trajectory(lr: float, momentum: float = 0.0, steps: int = 30,
                         lambdas: Sequence[float] = LAMBDAS, angle: float = ANGLE,
                         start: Sequence[float] = START) -> np.ndarray:
    """The path ``[steps + 1, 2]`` of heavy-ball descent on the view's quadratic."""
    A = quadratic_problem(lambdas, angle)
    return momentum_descent(lambda x: A @ x, np.array(start, dtype=float), lr, momentum, steps)


def verdict(lr: float, momentum: float = 0.0, lambdas: Sequence[float] = LAMBDAS) -> str:
    """'converges', 'neither converges nor diverges' (rate exactly 1) or 'diverges'."""
    rate = quadratic_rate(lr, lambdas, momentum)
    if abs(rate - 1) < 1e-9:
        return "neither converges nor diverges (rate 1)"
    return f"converges (rate {rate:.3f})" if rate < 1 else f"diverges (rate {rate:.3f})"


def _clip(path: np.ndarray) -> list[list[float]]:
    """Coordinates for drawing: non-finite or far-away points pinned just outside the box."""
    path = np.nan_to_num(path, nan=10 * BOX, posinf=10 * BOX, neginf=-10 * BOX)
    path = np.clip(path, -10 * BOX, 10 * BOX)
    return np.round(path, 4).tolist()


def _ellipses(lambdas: Sequence[float], angle: float) -> list[list[float]]:
    """Level set f = c: semi-axes sqrt(2c / lambda_i) along the rotated axes."""
    return [[float(np.sqrt(2 * c / lambdas[0])), float(np.sqrt(2 * c / lambdas[1]))] for c in LEVELS]


def _px(value: float) -> float:
    return round((value + BOX) / (2 * BOX) * SIZE, 2)


def landscape_svg(path: np.ndarray, lambdas: Sequence[float] = LAMBDAS, angle: float = ANGLE) -> str:
    """The live view's picture: the level ellipses, the path and its start, as SVG text."""
    degrees = -np.degrees(angle)  # SVG's y axis points down
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
             f'viewBox="0 0 {SIZE} {SIZE}" style="background:#fafafa;border:1px solid #ccc">']
    centre = _px(0.0)
    for rx, ry in _ellipses(lambdas, angle):
        parts.append(f'<ellipse cx="{centre}" cy="{centre}" rx="{rx / (2 * BOX) * SIZE:.2f}" '
                     f'ry="{ry / (2 * BOX) * SIZE:.2f}" transform="rotate({degrees:.2f} {centre} {centre})" '
                     f'fill="none" stroke="#b0bec5"/>')
    points = " ".join(f"{_px(x)},{_px(-y)}" for x, y in _clip(path))
    parts.append(f'<polyline points="{points}" fill="none" stroke="#c62828" stroke-width="1.5"/>')
    x0, y0 = _clip(path[:1])[0]
    parts.append(f'<circle cx="{_px(x0)}" cy="{_px(-y0)}" r="4" fill="#1565c0"/>')
    parts.append(f'<circle cx="{centre}" cy="{centre}" r="3" fill="#2e7d32"/></svg>')
    return "".join(parts)


_SCRIPT = r"""
var NS = "http://www.w3.org/2000/svg", S = data.size, B = data.box;
function px(v) { return (v + B) / (2 * B) * S; }
function el(tag, attrs, parent) {
  var e = document.createElementNS(NS, tag);
  for (var k in attrs) e.setAttribute(k, attrs[k]);
  parent.appendChild(e); return e;
}
function control(label, n) {
  var row = document.createElement("div"); row.style.margin = "4px 0";
  var name = document.createElement("span"); name.textContent = label; name.style.display = "inline-block";
  name.style.width = "9em"; row.appendChild(name);
  var input = document.createElement("input"); input.type = "range"; input.min = 0; input.max = n - 1;
  input.step = 1; input.style.width = "200px"; row.appendChild(input);
  var value = document.createElement("span"); value.style.marginLeft = "8px"; row.appendChild(value);
  root.appendChild(row); return [input, value];
}
var lr = control("learning rate", data.lrs.length), mom = control("momentum", data.momenta.length);
lr[0].className = "lr-slider"; mom[0].className = "momentum-slider";
lr[0].value = data.default_lr; mom[0].value = 0;
var svg = el("svg", {width: S, height: S, viewBox: "0 0 " + S + " " + S,
                     style: "background:#fafafa;border:1px solid #ccc"}, root);
var c = px(0);
data.ellipses.forEach(function (r) {
  el("ellipse", {cx: c, cy: c, rx: r[0] / (2 * B) * S, ry: r[1] / (2 * B) * S,
                 transform: "rotate(" + data.degrees + " " + c + " " + c + ")",
                 fill: "none", stroke: "#b0bec5"}, svg);
});
var line = el("polyline", {fill: "none", stroke: "#c62828", "stroke-width": 1.5}, svg);
el("circle", {cx: px(data.start[0]), cy: px(-data.start[1]), r: 4, fill: "#1565c0"}, svg);
el("circle", {cx: c, cy: c, r: 3, fill: "#2e7d32"}, svg);
var caption = document.createElement("div"); caption.className = "landscape-caption";
caption.style.fontFamily = "monospace"; root.appendChild(caption);
function draw() {
  var i = +lr[0].value, j = +mom[0].value, run = data.runs[j][i];
  lr[1].textContent = data.lrs[i]; mom[1].textContent = data.momenta[j];
  line.setAttribute("points", run.path.map(function (p) { return px(p[0]) + "," + px(-p[1]); }).join(" "));
  caption.textContent = "after " + (run.path.length - 1) + " steps: loss " + run.final_loss +
                        "; " + run.verdict + "  (edge 2(1 + mu)/lambda_max = " +
                        (data.edge * (1 + data.momenta[j])).toFixed(3) + ")";
}
lr[0].addEventListener("input", draw); mom[0].addEventListener("input", draw);
draw();
"""


def _final_loss(path: np.ndarray, A: np.ndarray) -> str:
    x = path[-1]
    with np.errstate(over="ignore", invalid="ignore"):
        value = 0.5 * float(x @ A @ x)
    return f"{value:.3g}" if np.isfinite(value) and value < 1e12 else "> 1e12"


def landscape_view(lrs: Sequence[float] | None = None, momenta: Sequence[float] = (0.0, 0.5, 0.8, 0.9),
                   steps: int = 30, lambdas: Sequence[float] = LAMBDAS, angle: float = ANGLE,
                   default_lr: float = 0.1) -> StaticView:
    """The static view: every (learning rate, momentum) of the grids computed here and embedded.

    The default learning-rate grid runs 0.01, 0.02, ..., 0.40 and so contains the edge of
    stability of plain gradient descent, ``2 / lambda_max = 0.2``.
    """
    steps = check_int("landscape_view", "steps", steps, minimum=1)
    if lrs is None:
        lrs = [round(0.01 * k, 2) for k in range(1, 41)]
    lrs = [check_number("landscape_view", "lrs[...]", v, positive=True) for v in lrs]
    momenta = [check_number("landscape_view", "momenta[...]", m, minimum=0.0) for m in momenta]
    if not lrs or not momenta:
        raise ValueError(bad_argument("landscape_view", "lrs/momenta", (lrs, momenta), "non-empty grids"))
    A = quadratic_problem(lambdas, angle)
    runs = []
    for m in momenta:
        row = []
        for lr in lrs:
            path = landscape_trajectory(lr, m, steps, lambdas, angle)
            row.append({"path": _clip(path), "final_loss": _final_loss(path, A),
                        "verdict": verdict(lr, m, lambdas)})
        runs.append(row)
    data = {"lrs": lrs, "momenta": momenta, "runs": runs, "size": SIZE, "box": BOX,
            "ellipses": [[round(a, 4), round(b, 4)] for a, b in _ellipses(lambdas, angle)],
            "degrees": round(float(-np.degrees(angle)), 4), "start": list(START),
            "edge": round(2 / max(lambdas), 4),
            "default_lr": int(np.argmin([abs(v - default_lr) for v in lrs]))}
    return StaticView(standalone_view("lmcore-landscape", data, _SCRIPT))


class LandscapeWidget:
    """The live view: learning-rate and momentum sliders that recompute in the kernel.

    ``update()`` is the sliders' callback; it stores the new path in ``self.path`` and redraws
    ``self.picture`` (an ipywidgets.HTML holding SVG) and ``self.caption``.
    """

    def __init__(self, lr: float = 0.1, momentum: float = 0.0, steps: int = 30,
                 lambdas: Sequence[float] = LAMBDAS, angle: float = ANGLE):
        import ipywidgets as widgets
        self.steps = check_int("LandscapeWidget", "steps", steps, minimum=1)
        self.lambdas, self.angle = tuple(lambdas), angle
        self.A = quadratic_problem(lambdas, angle)
        self.lr_slider = widgets.FloatSlider(value=lr, min=0.005, max=0.4, step=0.005,
                                             description="learning rate", readout_format=".3f")
        self.momentum_slider = widgets.FloatSlider(value=momentum, min=0.0, max=0.95, step=0.05,
                                                   description="momentum")
        self.picture = widgets.HTML()
        self.caption = widgets.HTML()
        self.lr_slider.observe(lambda change: self.update(), names="value")
        self.momentum_slider.observe(lambda change: self.update(), names="value")
        self.widget = widgets.VBox([self.lr_slider, self.momentum_slider, self.picture, self.caption])
        self.path: np.ndarray = np.empty((0, 2))
        self.update()

    def update(self) -> None:
        lr, m = self.lr_slider.value, self.momentum_slider.value
        self.path = landscape_trajectory(lr, m, self.steps, self.lambdas, self.angle)
        self.picture.value = landscape_svg(self.path, self.lambdas, self.angle)
        self.caption.value = (f"<code>after {self.steps} steps: loss {_final_loss(self.path, self.A)}; "
                              f"{html.escape(verdict(lr, m, self.lambdas))}</code>")

    def _ipython_display_(self) -> None:
        from IPython.display import display
        display(self.widget)
