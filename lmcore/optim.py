"""Gradient descent and its descendants, written out (chapter 7).

Plain gradient descent follows the first-order Taylor expansion of the loss downhill::

    theta_{t+1} = theta_t - lr * grad L(theta_t)                      (eq-gd)

Heavy-ball momentum (Polyak 1964) in the form torch uses::

    v_{t+1}     = momentum * v_t + grad L(theta_t)
    theta_{t+1} = theta_t - lr * v_{t+1}                              (eq-momentum)

Adam (Kingma & Ba 2015) keeps bias-corrected running means of the gradient and its square::

    m_t = beta1 m_{t-1} + (1 - beta1) g_t      m_hat = m_t / (1 - beta1^t)
    v_t = beta2 v_{t-1} + (1 - beta2) g_t^2    v_hat = v_t / (1 - beta2^t)
    theta_t = theta_{t-1} - lr * m_hat / (sqrt(v_hat) + eps)         (eq-adam)

AdamW (Loshchilov & Hutter 2019) decouples weight decay from the adaptive step: the weights
shrink by ``lr * weight_decay`` of themselves before the Adam step, instead of adding
``weight_decay * theta`` to the gradient (which Adam would then rescale per coordinate)::

    theta_t = theta_{t-1} - lr * weight_decay * theta_{t-1}
              - lr * m_hat / (sqrt(v_hat) + eps)                     (eq-adamw)

It is the optimiser of BERT's pretraining and of chapter 9's training loop.

Two levels, for two uses:

* :func:`gradient_descent` and :func:`momentum_descent` work on numpy arrays with a gradient
  function, and return the whole trajectory: that is what the chapter's convergence
  experiments and the loss-landscape view look at.
* :class:`SGD`, :class:`Adam` and :class:`AdamW` update ``torch`` parameters in place from their ``.grad``, like
  ``torch.optim``: the chapter shows step by step that they produce the same parameters as
  ``torch.optim.SGD`` and ``torch.optim.Adam`` (``tests/test_optim.py`` checks it too).

:func:`warmup_linear_decay` is the learning-rate schedule of BERT: a linear warm-up to the peak,
then a linear decay to zero.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from lmcore._validate import bad_argument, check_int, check_number

__all__ = ["gradient_descent", "momentum_descent", "quadratic_rate", "SGD", "Adam", "AdamW",
           "warmup_linear_decay"]


def _start_point(function: str, x0: Any) -> np.ndarray:
    try:
        x = np.array(x0, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(bad_argument(function, "x0", x0, "a number or an array of numbers")) from None
    if not np.all(np.isfinite(x)):
        raise ValueError(bad_argument(function, "x0", x0, "finite numbers"))
    return x


def _gradient(function: str, grad_fn: Callable[[np.ndarray], Any], x: np.ndarray, step: int) -> np.ndarray:
    g = np.asarray(grad_fn(x.copy()), dtype=np.float64)
    if g.shape != x.shape:
        raise ValueError(f"The 'grad_fn' argument of {function} must return a gradient of the same "
                         f"shape as x0 {x.shape}. At step {step} it returned shape {g.shape}.")
    return g


def gradient_descent(grad_fn: Callable[[np.ndarray], Any], x0: Any, lr: float,
                     steps: int) -> np.ndarray:
    """Run ``steps`` steps of theta <- theta - lr * grad_fn(theta) from ``x0`` (eq-gd).

    Returns the trajectory, an array of shape ``[steps + 1, *x0.shape]`` whose row 0 is ``x0``.
    ``grad_fn`` receives a copy of the current point (it may modify it freely). The trajectory
    is kept even when it diverges: rows may become ``inf`` or ``nan`` without an error, which
    is what a divergence experiment wants to see.
    """
    if not callable(grad_fn):
        raise TypeError(bad_argument("gradient_descent", "grad_fn", grad_fn,
                                     "a function from a point to the gradient there"))
    x = _start_point("gradient_descent", x0)
    lr = check_number("gradient_descent", "lr", lr, positive=True)
    steps = check_int("gradient_descent", "steps", steps, minimum=1)
    trajectory = np.empty((steps + 1, *x.shape))  # [steps + 1, *x0.shape]
    trajectory[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            x = x - lr * _gradient("gradient_descent", grad_fn, x, t)
            trajectory[t + 1] = x
    return trajectory


def momentum_descent(grad_fn: Callable[[np.ndarray], Any], x0: Any, lr: float, momentum: float,
                     steps: int) -> np.ndarray:
    """Heavy-ball momentum (eq-momentum) from ``x0`` with velocity 0; returns the trajectory.

    ``momentum=0`` gives exactly :func:`gradient_descent`. The shape of the result is
    ``[steps + 1, *x0.shape]``, row 0 being ``x0``.
    """
    if not callable(grad_fn):
        raise TypeError(bad_argument("momentum_descent", "grad_fn", grad_fn,
                                     "a function from a point to the gradient there"))
    x = _start_point("momentum_descent", x0)
    lr = check_number("momentum_descent", "lr", lr, positive=True)
    momentum = check_number("momentum_descent", "momentum", momentum, minimum=0.0)
    if momentum >= 1:
        raise ValueError(bad_argument("momentum_descent", "momentum", momentum,
                                      "a number in [0, 1)"))
    steps = check_int("momentum_descent", "steps", steps, minimum=1)
    velocity = np.zeros_like(x)
    trajectory = np.empty((steps + 1, *x.shape))
    trajectory[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            velocity = momentum * velocity + _gradient("momentum_descent", grad_fn, x, t)
            x = x - lr * velocity
            trajectory[t + 1] = x
    return trajectory


# --------------------------------------------------------------------------------------------
# Optimisers of torch parameters, in the shape of torch.optim (only what the book uses).

def _parameters(cls_name: str, params: Any) -> list:
    import torch
    if isinstance(params, torch.Tensor):
        raise TypeError(bad_argument(cls_name, "params", params,
                                     "an iterable of tensors (e.g. model.parameters()), "
                                     "not a single tensor: wrap it in a list"))
    try:
        params = list(params)
    except TypeError:
        raise TypeError(bad_argument(cls_name, "params", params,
                                     "an iterable of tensors")) from None
    if not params:
        raise ValueError(bad_argument(cls_name, "params", params, "a non-empty iterable of tensors"))
    for i, p in enumerate(params):
        if not isinstance(p, torch.Tensor) or not p.requires_grad:
            raise TypeError(bad_argument(cls_name, f"params[{i}]", p,
                                         "a tensor with requires_grad=True"))
    return params


class _Optimizer:
    """What SGD and Adam share: the parameter list and ``zero_grad``."""

    def __init__(self, params: Iterable[Any]):
        self.params = _parameters(type(self).__name__, params)
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Forget the gradients of the last backward pass (set ``.grad`` to None)."""
        for p in self.params:
            p.grad = None

    def _with_grads(self):
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                yield p, p.grad, state


class SGD(_Optimizer):
    """(Stochastic) gradient descent with optional heavy-ball momentum (eq-gd, eq-momentum).

    Same arithmetic as ``torch.optim.SGD(params, lr, momentum)`` with no dampening, no weight
    decay and no Nesterov: the velocity starts at the first gradient, which is
    ``momentum * 0 + g``.
    """

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.0):
        super().__init__(params)
        self.lr = check_number("SGD", "lr", lr, positive=True)
        self.momentum = check_number("SGD", "momentum", momentum, minimum=0.0)
        if self.momentum >= 1:
            raise ValueError(bad_argument("SGD", "momentum", momentum, "a number in [0, 1)"))

    def step(self) -> None:
        import torch
        with torch.no_grad():
            for p, g, state in self._with_grads():
                if self.momentum:
                    v = state.get("velocity")
                    v = g.clone() if v is None else self.momentum * v + g
                    state["velocity"] = v
                    g = v
                p -= self.lr * g


class Adam(_Optimizer):
    """Adam (Kingma & Ba 2015), eq-adam, written the way the paper writes it.

    ``torch.optim.Adam`` folds the two bias corrections into the step size and the
    denominator; the result is the same up to rounding (the chapter measures the difference).
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(params)
        self.lr = check_number("Adam", "lr", lr, positive=True)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(bad_argument("Adam", "betas", betas, "a pair (beta1, beta2)"))
        for name, beta in zip(("betas[0]", "betas[1]"), betas):
            check_number("Adam", name, beta, minimum=0.0)
            if beta >= 1:
                raise ValueError(bad_argument("Adam", name, beta, "a number in [0, 1)"))
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps = check_number("Adam", "eps", eps, minimum=0.0)

    def step(self) -> None:
        import torch
        with torch.no_grad():
            for p, g, state in self._with_grads():
                if not state:
                    state["t"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                state["t"] += 1
                t = state["t"]
                state["m"] = self.beta1 * state["m"] + (1 - self.beta1) * g
                state["v"] = self.beta2 * state["v"] + (1 - self.beta2) * g * g
                m_hat = state["m"] / (1 - self.beta1 ** t)
                v_hat = state["v"] / (1 - self.beta2 ** t)
                p -= self.lr * m_hat / (v_hat.sqrt() + self.eps)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019), eq-adamw: Adam plus *decoupled* weight decay.

    Same arguments and defaults as ``torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999),
    eps=1e-8, weight_decay=1e-2)``; ``tests/test_optim.py`` checks it against that class step
    by step. The learning rate may be changed between steps by assigning ``opt.lr`` (the
    schedule of :mod:`lmcore.train` does). Chapter 9 trains its BERT with it.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2):
        try:
            super().__init__(params, lr=lr, betas=betas, eps=eps)
        except (TypeError, ValueError) as error:  # name this class, not Adam, in the message
            raise type(error)(str(error).replace("argument of Adam", "argument of AdamW")) \
                from None
        self.weight_decay = check_number("AdamW", "weight_decay", weight_decay, minimum=0.0)

    def step(self) -> None:
        import torch
        with torch.no_grad():
            for p, g, state in self._with_grads():
                if not state:
                    state["t"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                state["t"] += 1
                t = state["t"]
                p.mul_(1 - self.lr * self.weight_decay)          # decoupled decay first
                state["m"].mul_(self.beta1).add_(g, alpha=1 - self.beta1)
                state["v"].mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
                m_hat = state["m"] / (1 - self.beta1 ** t)
                v_hat = state["v"] / (1 - self.beta2 ** t)
                p.sub_(self.lr * m_hat / (v_hat.sqrt() + self.eps))


def warmup_linear_decay(step: int, *, peak_lr: float, warmup_steps: int, total_steps: int) -> float:
    """BERT's schedule: lr rises linearly from 0 to ``peak_lr`` over ``warmup_steps``, then
    falls linearly to 0 at ``total_steps``::

        lr(t) = peak_lr * t / warmup_steps                                  if t < warmup_steps
        lr(t) = peak_lr * (total_steps - t) / (total_steps - warmup_steps)  otherwise (>= 0)
    """
    step = check_int("warmup_linear_decay", "step", step, minimum=0)
    peak_lr = check_number("warmup_linear_decay", "peak_lr", peak_lr, positive=True)
    warmup_steps = check_int("warmup_linear_decay", "warmup_steps", warmup_steps, minimum=0)
    total_steps = check_int("warmup_linear_decay", "total_steps", total_steps, minimum=1)
    if total_steps <= warmup_steps:
        raise ValueError(bad_argument("warmup_linear_decay", "total_steps", total_steps,
                                      f"an int > warmup_steps ({warmup_steps})"))
    if step < warmup_steps:
        return peak_lr * step / warmup_steps
    return peak_lr * max(0.0, (total_steps - step) / (total_steps - warmup_steps))


def quadratic_rate(lr: float, eigenvalues: Any, momentum: float = 0.0) -> float:
    """How fast (heavy-ball) gradient descent converges on a quadratic with these Hessian
    eigenvalues: the spectral radius of one step's linear map.

    For plain gradient descent (``momentum=0``) each eigen-direction is multiplied by
    ``1 - lr * lambda`` per step, so the rate is ``max |1 - lr * lambda|``. With momentum each
    eigen-direction follows the two-term recurrence of the matrix
    ``[[1 + momentum - lr * lambda, -momentum], [1, 0]]``, and the rate is the largest modulus
    of its eigenvalues. The error shrinks like ``rate ** t``: below 1 it converges, above 1 it
    diverges.
    """
    lr = check_number("quadratic_rate", "lr", lr, positive=True)
    momentum = check_number("quadratic_rate", "momentum", momentum, minimum=0.0)
    lambdas = np.atleast_1d(np.asarray(eigenvalues, dtype=np.float64))
    if lambdas.ndim != 1 or lambdas.size == 0 or not np.all(np.isfinite(lambdas)):
        raise ValueError(bad_argument("quadratic_rate", "eigenvalues", eigenvalues,
                                      "a non-empty list of finite numbers"))
    rates = []
    for lam in lambdas:
        step_map = np.array([[1 + momentum - lr * lam, -momentum], [1.0, 0.0]])
        rates.append(np.abs(np.linalg.eigvals(step_map)).max())
    return float(max(rates))
