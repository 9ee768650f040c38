"""Scaling laws: held-out loss against model size (chapter 13).

Kaplan et al. (2020) found that, with enough data and training, the test loss of a
Transformer language model falls as a power of its number of non-embedding parameters N::

    L(N) = (N_c / N) ** alpha                               alpha_N about 0.076 in their runs

Taking logarithms turns the power law into a straight line in log-log coordinates::

    log L = alpha * log N_c - alpha * log N  =  a + b * log N,    b = -alpha,  a = alpha log N_c

so :func:`fit_power_law` fits ``a`` and ``b`` by ordinary least squares on
``(log N_i, log L_i)`` (the closed form ``b = cov(x, y) / var(x)``, ``a = mean(y) - b
mean(x)``) and returns ``alpha = -b`` and ``N_c = exp(a / alpha)``.

:func:`non_embedding_parameters` counts N as Kaplan et al. do: every parameter except the
token and position embedding tables (with tied embeddings the output layer is the token
table, so it is not counted either). :func:`scaling_sweep` trains chapter 11's small GPT
(:mod:`lmcore.zoo`) at several widths and depths on the same data, the same number of steps
and the same batches, so every model sees the same tokens, and returns each model's N and
held-out loss. Each result is kept in the cache (``<cache>/scaling/``), named after the
settings and a hash of the settings and of the training code, as :mod:`lmcore.zoo` keeps
its models: a rerun with the same code reads the numbers instead of training again.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, NamedTuple, Sequence

from lmcore._validate import bad_argument, check_int

__all__ = ["PowerLaw", "fit_power_law", "power_law", "non_embedding_parameters",
           "scaling_settings", "scaling_sweep", "SWEEP", "SWEEP_FULL",
           "LR_TIMES_WIDTH"]


class PowerLaw(NamedTuple):
    """``L(N) = (n_c / N) ** alpha``, fitted in log space; ``r2`` is the coefficient of
    determination of the straight-line fit of ``log L`` on ``log N``."""
    n_c: float
    alpha: float
    r2: float

    def __call__(self, n: Any) -> Any:
        return power_law(n, self.n_c, self.alpha)


def _positive_sample(function: str, name: str, values: Any) -> list[float]:
    try:
        sample = [float(v) for v in values]
    except (TypeError, ValueError):
        raise TypeError(bad_argument(function, name, values,
                                     "a sequence of positive numbers")) from None
    if not all(math.isfinite(v) and v > 0 for v in sample):
        raise ValueError(bad_argument(function, name, values,
                                      "a sequence of finite positive numbers (logarithms "
                                      "are taken)"))
    return sample


def power_law(n: Any, n_c: float, alpha: float) -> Any:
    """``(n_c / n) ** alpha`` for a number or a numpy array ``n``."""
    return (n_c / n) ** alpha


def fit_power_law(n: Sequence[float], loss: Sequence[float]) -> PowerLaw:
    """Least-squares fit of ``log loss = a + b log n``; returns
    ``PowerLaw(n_c, alpha, r2)`` with ``alpha = -b`` and
    ``n_c = exp(a / alpha)`` (see the module docstring)."""
    xs = [math.log(v) for v in _positive_sample("fit_power_law", "n", n)]
    ys = [math.log(v) for v in _positive_sample("fit_power_law", "loss", loss)]
    if len(xs) != len(ys):
        raise ValueError(bad_argument("fit_power_law", "loss", f"{len(ys)} values",
                                      f"as many values as n ({len(xs)})"))
    if len(xs) < 2 or len(set(xs)) < 2:
        raise ValueError(bad_argument("fit_power_law", "n", list(n),
                                      "at least two different sizes"))
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    b = sxy / sxx
    a = my - b * mx
    syy = sum((y - my) ** 2 for y in ys)
    residual = sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys))
    r2 = 1.0 - residual / syy if syy > 0 else 1.0
    alpha = -b
    if alpha == 0:
        raise ValueError(bad_argument(
            "fit_power_law", "loss", list(loss),
            "losses that change with n (the fitted slope is 0)"))
    return PowerLaw(n_c=math.exp(a / alpha), alpha=alpha, r2=r2)


def non_embedding_parameters(model: Any) -> int:
    """The number of parameters of ``model`` outside its token and position embedding
    tables (a tied output layer shares the token table and is not counted twice)."""
    import torch
    if not isinstance(model, torch.nn.Module):
        raise TypeError(bad_argument("non_embedding_parameters", "model", model,
                                     "a torch.nn.Module"))
    embedding = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    return sum(p.numel() for p in model.parameters() if id(p) not in embedding)


# (num_layers, d_model) of the sweep's models; 4 heads each, d_ff = 4 d_model
SWEEP: tuple = ((1, 16), (2, 32), (2, 64), (3, 96))                     # 300 steps
SWEEP_FULL: tuple = ((1, 16), (1, 32), (2, 32), (2, 64), (3, 96), (4, 128))  # 1000 steps


LR_TIMES_WIDTH = 0.16     # the sweep's peak learning rate is LR_TIMES_WIDTH / d_model


def scaling_settings(num_layers: int, d_model: int, *, steps: int = 300,
                     batch_size: int = 32, base: Any = None):
    """The :class:`~lmcore.zoo.SmallGPTSettings` of one model of the sweep: ``base``
    (default chapter 11's) with this depth and width, 4 heads, ``d_ff = 4 d_model``, the
    sweep's steps and batch size (the token budget is ``steps * batch_size * context``)
    and a peak learning rate ``LR_TIMES_WIDTH / d_model``: wider models need smaller
    steps (the rule of thumb behind muP, Yang et al. 2022; 0.005 at width 32)."""
    from lmcore.zoo import SMALL_GPT, SmallGPTSettings
    base = SMALL_GPT if base is None else base
    if not isinstance(base, SmallGPTSettings):
        raise TypeError(bad_argument("scaling_settings", "base", base,
                                     "a SmallGPTSettings"))
    check_int("scaling_settings", "num_layers", num_layers, minimum=1)
    check_int("scaling_settings", "d_model", d_model, minimum=4)
    if d_model % 4:
        raise ValueError(bad_argument("scaling_settings", "d_model", d_model,
                                      "a multiple of 4 (the number of heads)"))
    steps = check_int("scaling_settings", "steps", steps, minimum=2)
    check_int("scaling_settings", "batch_size", batch_size, minimum=1)
    return dataclasses.replace(base, num_layers=num_layers, d_model=d_model, num_heads=4,
                               d_ff=4 * d_model, steps=steps, batch_size=batch_size,
                               lr=LR_TIMES_WIDTH / d_model, warmup_steps=max(1, steps // 10),
                               eval_every=steps)


def _data_settings(settings: Any):
    """The settings that decide the data only (so every size shares one tokenizer)."""
    from lmcore.zoo import SMALL_GPT
    return dataclasses.replace(SMALL_GPT, corpus=settings.corpus, held_out=settings.held_out,
                               vocab_size=settings.vocab_size, context=settings.context)


def _train_one(settings: Any, progress: bool) -> dict:
    from lmcore import zoo
    path = zoo.cache_dir() / "scaling" / f"{settings.name}-b{settings.batch_size}-" \
                                         f"{zoo.small_gpt_hash(settings)}.json"
    if path.is_file():
        return json.loads(path.read_text())
    data = zoo.small_gpt_data(_data_settings(settings))
    model, history = zoo._train_gpt(settings, data, progress)
    result = {"num_layers": settings.num_layers, "d_model": settings.d_model,
              "non_embedding_parameters": non_embedding_parameters(model),
              "parameters": sum(p.numel() for p in model.parameters()),
              "steps": settings.steps, "batch_size": settings.batch_size,
              "tokens": settings.steps * settings.batch_size * settings.context,
              "held_out_loss": history.final_eval["loss"],
              "train_loss_last_10": sum(history.train_loss[-10:]) / 10,
              "train_seconds": history.seconds}
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps(result, indent=1))
    staging.replace(path)
    return result


def scaling_sweep(sizes: Sequence[tuple[int, int]] = SWEEP, *, steps: int = 300,
                  batch_size: int = 32, progress: bool = False) -> list[dict]:
    """Train one small GPT per ``(num_layers, d_model)`` in ``sizes`` with
    :func:`scaling_settings` (same data, steps and batches) and return, per model, its
    ``non_embedding_parameters``, ``parameters``, ``tokens`` seen, final
    ``held_out_loss`` (nats per token on chapter 11's held-out works) and
    ``train_seconds``. Results are cached (see the module docstring)."""
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(bad_argument("scaling_sweep", "sizes", sizes,
                                     "a sequence of (num_layers, d_model) pairs"))
    sizes = list(sizes)
    if len(sizes) < 2 or not all(isinstance(s, (tuple, list)) and len(s) == 2
                                 for s in sizes):
        raise ValueError(bad_argument("scaling_sweep", "sizes", sizes,
                                      "at least two (num_layers, d_model) pairs"))
    settings = [scaling_settings(layers, width, steps=steps, batch_size=batch_size)
                for layers, width in sizes]
    return [_train_one(s, progress) for s in settings]
