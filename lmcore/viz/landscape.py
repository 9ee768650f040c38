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
from lmcore.viz._html import StaticView, asset, figure_img, new_figure, standalone_view
from lmcore.viz._live import display_live

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


# The view's CSS and JavaScript: lmcore/viz/static/landscape.css and landscape.js.
_CSS = asset("landscape.css")
_SCRIPT = asset("landscape.js")


def landscape_picture(path: np.ndarray, lr: float, momentum: float, caption: str,
                      lambdas: Sequence[float] = LAMBDAS, angle: float = ANGLE) -> str:
    """A PNG of the level ellipses and one path (the static picture of both views)."""
    from matplotlib.patches import Ellipse
    figure = new_figure(3.4, 3.6)
    axes = figure.add_axes((0.02, 0.02, 0.96, 0.86))
    for rx, ry in _ellipses(lambdas, angle):
        axes.add_patch(Ellipse((0, 0), 2 * rx, 2 * ry, angle=float(np.degrees(angle)),
                               fill=False, edgecolor="#b0bec5"))
    clipped = np.array(_clip(path))
    axes.plot(clipped[:, 0], clipped[:, 1], color="#c62828", lw=1.5)
    axes.plot(*clipped[0], "o", color="#1565c0", ms=6)
    axes.plot(0, 0, "o", color="#2e7d32", ms=5)
    axes.set_xlim(-BOX, BOX)
    axes.set_ylim(-BOX, BOX)
    axes.set_aspect("equal")
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(f"learning rate {lr:g}, momentum {momentum:g}", fontsize=10)
    return (figure_img(figure, f"Gradient descent on the quadratic's level ellipses: {caption}",
                       "lmls-static")
            + f"<div style='font-family:monospace'>{html.escape(caption)}</div>")


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
    first = runs[0][data["default_lr"]]
    picture = landscape_picture(
        landscape_trajectory(lrs[data["default_lr"]], momenta[0], steps, lambdas, angle),
        lrs[data["default_lr"]], momenta[0],
        f"after {steps} steps: loss {first['final_loss']}; {first['verdict']}", lambdas, angle)
    return StaticView(standalone_view("lmcore-landscape", data, _SCRIPT, _CSS, picture))


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
                                             description="learning rate", readout_format=".3f",
                                             style={"description_width": "initial"})
        self.momentum_slider = widgets.FloatSlider(value=momentum, min=0.0, max=0.95, step=0.05,
                                                   description="momentum",
                                                   style={"description_width": "initial"})
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
        lr, m = self.lr_slider.value, self.momentum_slider.value
        caption = (f"after {self.steps} steps: loss {_final_loss(self.path, self.A)}; "
                   f"{verdict(lr, m, self.lambdas)}")
        display_live(self.widget, landscape_picture(self.path, lr, m, caption, self.lambdas,
                                                    self.angle))
