"""The book's one training loop (chapter 9; reused by chapters 10, 11 and 13).

One step of :func:`fit`, for a batch ``B_t`` and parameters ``theta``:

1. the loss and its gradient: ``L_t = loss_fn(model, B_t)``, ``g_t = grad L_t(theta)``;
2. gradient clipping by the global norm (Pascanu et al. 2013)::

       g_t <- g_t * min(1, max_grad_norm / ||g_t||),   ||g|| = sqrt(sum over all tensors of g^2)

   which keeps the direction and caps the length of one step's gradient;
3. the learning rate of this step from BERT's schedule, a linear warm-up then a linear decay
   to zero (:func:`lmcore.optim.warmup_linear_decay`, chapter 7)::

       lr_t = peak_lr * t / warmup_steps                                 if t < warmup_steps
       lr_t = peak_lr * (steps - t) / (steps - warmup_steps)             otherwise

4. the AdamW update (:class:`lmcore.optim.AdamW`, Loshchilov & Hutter 2019) with that rate;
   as in BERT, biases and LayerNorm weights (the tensors with one dimension) get no weight
   decay.

Every ``eval_every`` steps (and after the last one) ``evaluate(model)`` runs in evaluation
mode without gradients and its metrics are stored. :func:`fit` returns a :class:`History`
(the training loss of every step, the evaluations) that :func:`plot_history` draws.

The loop knows nothing about the model or the data: the caller gives ``loss_fn(model,
batch)``, which returns the scalar loss or ``(loss, metrics)``, and the batches. That is what
lets chapter 9 pretrain a BERT, chapter 10 fine-tune it and chapter 11 train a GPT with the
same code, and lets the same loop run data-parallel (wrap the model in
``torch.nn.parallel.DistributedDataParallel`` and give each process its share of the batch).
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Callable, Iterable, Iterator, Optional

from lmcore._validate import bad_argument, check_int, check_number
from lmcore.optim import AdamW, warmup_linear_decay

__all__ = ["fit", "History", "clip_grad_norm", "plot_history"]


@dataclasses.dataclass
class History:
    """What :func:`fit` measured.

    ``train_loss[i]``, ``lr[i]`` and ``grad_norm[i]`` belong to step ``i + 1`` (the norm before
    clipping); ``train_metrics[i]`` holds the extra metrics ``loss_fn`` returned at that step.
    ``eval_steps[j]`` is the step after which ``eval_metrics[j]`` (the dict ``evaluate``
    returned) was measured. ``seconds`` is the wall-clock time of the training steps
    (evaluation excluded).
    """
    train_loss: list = dataclasses.field(default_factory=list)
    lr: list = dataclasses.field(default_factory=list)
    grad_norm: list = dataclasses.field(default_factory=list)
    train_metrics: list = dataclasses.field(default_factory=list)
    eval_steps: list = dataclasses.field(default_factory=list)
    eval_metrics: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        return len(self.train_loss)

    @property
    def final_eval(self) -> dict:
        """The metrics of the last evaluation ({} if there was none)."""
        return dict(self.eval_metrics[-1]) if self.eval_metrics else {}

    def eval_curve(self, name: str) -> tuple[list, list]:
        """``(steps, values)`` of one evaluation metric, e.g. ``eval_curve("loss")``."""
        if not any(name in m for m in self.eval_metrics):
            known = sorted({k for m in self.eval_metrics for k in m})
            raise KeyError(f"History.eval_curve: no evaluation metric {name!r}; the evaluations "
                           f"measured {known}.")
        pairs = [(s, m[name]) for s, m in zip(self.eval_steps, self.eval_metrics) if name in m]
        return [s for s, _ in pairs], [v for _, v in pairs]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def clip_grad_norm(parameters: Iterable[Any], max_norm: float) -> float:
    """Scale the gradients in place so that their global norm is at most ``max_norm``.

    Returns the norm *before* clipping, ``sqrt(sum_p ||grad p||^2)``; the scale factor is
    ``min(1, max_norm / (norm + 1e-6))``, as ``torch.nn.utils.clip_grad_norm_`` computes it.
    """
    import torch
    max_norm = check_number("clip_grad_norm", "max_norm", max_norm, positive=True)
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    norm = torch.sqrt(sum((g.detach().double() ** 2).sum() for g in grads))
    scale = min(1.0, max_norm / (float(norm) + 1e-6))
    if scale < 1.0:
        for g in grads:
            g.mul_(scale)
    return float(norm)


def _batch_stream(batches: Any) -> Iterator[Any]:
    """Batches forever: a factory is called again (with the epoch number) when its iterable
    runs out, a re-iterable (a list, a DataLoader) is iterated again; a one-shot iterator
    that runs out is an error."""
    epoch = 0
    while True:
        source = batches(epoch) if callable(batches) else batches
        iterator = iter(source)
        produced = False
        for batch in iterator:
            produced = True
            yield batch
        if not produced:
            raise ValueError(bad_argument("fit", "batches", batches,
                                          f"an iterable that yields batches; epoch {epoch} "
                                          "yielded none"))
        if not callable(batches) and iterator is batches:
            raise ValueError(bad_argument("fit", "batches", batches,
                                          "a re-iterable (list, DataLoader) or a factory "
                                          "epoch -> iterable; this iterator ran out before "
                                          "the last step"))
        epoch += 1


def _loss_and_metrics(loss_fn: Callable, model: Any, batch: Any, step: int):
    import torch
    out = loss_fn(model, batch)
    metrics: dict = {}
    if isinstance(out, tuple):
        if len(out) != 2 or not isinstance(out[1], dict):
            raise TypeError(f"The 'loss_fn' argument of fit must return a scalar tensor or "
                            f"(loss, metrics dict). At step {step} it returned a tuple of "
                            f"{len(out)} items.")
        out, metrics = out
    if not isinstance(out, torch.Tensor) or out.numel() != 1 or not out.requires_grad:
        raise TypeError(f"The 'loss_fn' argument of fit must return a scalar tensor that "
                        f"requires grad (the loss). At step {step} it returned {out!r:.80}.")
    return out, {k: float(v) for k, v in metrics.items()}


def fit(model: Any, loss_fn: Callable[[Any, Any], Any], batches: Any, *, steps: int,
        lr: float, warmup_steps: Optional[int] = None, weight_decay: float = 0.01,
        betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-6,
        max_grad_norm: Optional[float] = 1.0,
        evaluate: Optional[Callable[[Any], dict]] = None, eval_every: Optional[int] = None,
        progress: bool = True, description: str = "training") -> History:
    """Train ``model`` for ``steps`` AdamW steps with warm-up, decay and clipping.

    ``loss_fn(model, batch)`` returns the loss (a scalar tensor) or ``(loss, metrics)`` with a
    dict of floats; ``batches`` is an iterable of batches (iterated again when it runs out) or
    a factory ``epoch -> iterable`` (called for each pass, e.g. to draw fresh masks).
    ``lr`` is the peak learning rate; ``warmup_steps`` defaults to 10% of ``steps``;
    ``max_grad_norm=None`` switches clipping off. ``evaluate(model) -> dict`` runs every
    ``eval_every`` steps (default: 10 times in all) and after the last step, in eval mode under
    ``torch.no_grad()``. ``progress=False`` hides the progress bar (``tqdm.auto``: a notebook
    bar in Jupyter, text in a terminal). The model is left in training mode.
    """
    import torch
    name = "fit"
    if not isinstance(model, torch.nn.Module):
        raise TypeError(bad_argument(name, "model", model, "a torch.nn.Module"))
    if not callable(loss_fn):
        raise TypeError(bad_argument(name, "loss_fn", loss_fn,
                                     "a function (model, batch) -> loss"))
    if isinstance(batches, (str, bytes, torch.Tensor)) or not (
            callable(batches) or hasattr(batches, "__iter__")):
        raise TypeError(bad_argument(name, "batches", batches,
                                     "an iterable of batches or a factory epoch -> iterable"))
    steps = check_int(name, "steps", steps, minimum=1)
    lr = check_number(name, "lr", lr, positive=True)
    if warmup_steps is None:
        warmup_steps = steps // 10
    warmup_steps = check_int(name, "warmup_steps", warmup_steps, minimum=0)
    if warmup_steps >= steps:
        raise ValueError(bad_argument(name, "warmup_steps", warmup_steps,
                                      f"an int < steps ({steps})"))
    weight_decay = check_number(name, "weight_decay", weight_decay, minimum=0.0)
    if max_grad_norm is not None:
        max_grad_norm = check_number(name, "max_grad_norm", max_grad_norm, positive=True)
    if evaluate is not None and not callable(evaluate):
        raise TypeError(bad_argument(name, "evaluate", evaluate,
                                     "None or a function model -> dict of metrics"))
    if eval_every is None:
        eval_every = max(1, steps // 10)
    eval_every = check_int(name, "eval_every", eval_every, minimum=1)

    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError(bad_argument(name, "model", type(model).__name__,
                                      "a model with trainable parameters"))
    decay = [p for p in trainable if p.dim() >= 2]       # matrices: decayed
    no_decay = [p for p in trainable if p.dim() < 2]     # biases, LayerNorm: not decayed
    optimizers = [AdamW(group, lr=lr, betas=betas, eps=eps, weight_decay=wd)
                  for group, wd in ((decay, weight_decay), (no_decay, 0.0)) if group]

    from tqdm.auto import tqdm
    history = History()
    bar = tqdm(total=steps, desc=description, disable=not progress, leave=True)
    stream = _batch_stream(batches)

    def run_evaluation(step: int) -> None:
        model.eval()
        with torch.no_grad():
            metrics = evaluate(model)
        model.train()
        if not isinstance(metrics, dict):
            raise TypeError(bad_argument(name, "evaluate", evaluate,
                                         f"a function returning a dict; it returned "
                                         f"{type(metrics).__name__}"))
        history.eval_steps.append(step)
        history.eval_metrics.append({k: float(v) for k, v in metrics.items()})

    model.train()
    try:
        for step in range(1, steps + 1):
            start = time.perf_counter()
            batch = next(stream)
            for opt in optimizers:
                opt.zero_grad()
            loss, metrics = _loss_and_metrics(loss_fn, model, batch, step)
            loss.backward()
            if max_grad_norm is not None:
                norm = clip_grad_norm(trainable, max_grad_norm)
            else:
                norm = float(torch.sqrt(sum((p.grad.double() ** 2).sum()
                                            for p in trainable if p.grad is not None)))
            rate = warmup_linear_decay(step - 1, peak_lr=lr, warmup_steps=warmup_steps,
                                       total_steps=steps)
            for opt in optimizers:
                opt.lr = rate
                opt.step()
            history.seconds += time.perf_counter() - start
            value = float(loss.detach())
            if not math.isfinite(value):
                raise FloatingPointError(f"fit: the loss became {value} at step {step} "
                                         f"(lr {rate:.3g}); try a smaller 'lr'.")
            history.train_loss.append(value)
            history.lr.append(rate)
            history.grad_norm.append(norm)
            history.train_metrics.append(metrics)
            bar.update(1)
            if step % 10 == 0 or step == steps:
                bar.set_postfix(loss=f"{value:.3f}")
            if evaluate is not None and (step % eval_every == 0 or step == steps):
                run_evaluation(step)
    finally:
        bar.close()
    return history


def plot_history(history: History, metric: str = "loss", smooth: int = 20, ax: Any = None,
                 title: str = "Training curve"):
    """The training loss per step (thin), its running mean over ``smooth`` steps (thick) and
    the held-out ``metric`` at each evaluation (dots). Returns the matplotlib figure."""
    import matplotlib.pyplot as plt
    import numpy as np
    if not isinstance(history, History):
        raise TypeError(bad_argument("plot_history", "history", history,
                                     "the History that fit returned"))
    check_int("plot_history", "smooth", smooth, minimum=1)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 3.5))
    else:
        fig = ax.figure
    x = np.arange(1, history.steps + 1)
    loss = np.asarray(history.train_loss)
    ax.plot(x, loss, lw=0.6, alpha=0.4, color="tab:blue")
    if history.steps >= smooth:
        mean = np.convolve(loss, np.ones(smooth) / smooth, mode="valid")
        ax.plot(x[smooth - 1:], mean, lw=2, color="tab:blue",
                label=f"training loss (mean of {smooth} steps)")
    if any(metric in m for m in history.eval_metrics):
        s, v = history.eval_curve(metric)
        ax.plot(s, v, "o-", color="tab:orange", label=f"held-out {metric}")
    ax.set_xlabel("step", fontsize=10)
    ax.set_ylabel("loss", fontsize=10)
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig
