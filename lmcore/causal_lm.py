"""The causal language-modelling objective (chapter 11).

A causal language model factorises the probability of a text ``x_1..x_N`` by the chain rule
and predicts each token from the ones before it::

    log P(x_1..x_N) = sum_{t=1}^{N-1} log P(x_{t+1} | x_1..x_t)

Training minimises the mean negative log-likelihood of the next token over every position of
a window of ``n + 1`` tokens (the decoder's causal mask lets one forward pass predict all
``n`` of them at once)::

    L = -(1/n) sum_{t=1}^{n} log softmax(z_t)[x_{t+1}]          z_t = logits at position t

and its exponential is the perplexity. An n-gram model (chapter 1) is the same objective with
the history cut to the last ``n - 1`` tokens; a masked language model (chapters 8-9) predicts
a few hidden tokens from both sides, which is not a distribution over texts one can sample
from left to right.

* :func:`causal_lm_loss` -- ``L`` from a model and a batch of windows ``[batch, n + 1]``.
* :func:`token_windows` -- cut a token stream into non-overlapping windows.
* :func:`random_windows` -- a batch of windows at random offsets (for training).
* :func:`window_log_probs` -- ``log P(x_{t+1} | x_1..x_t)`` of every predicted token of a
  stream, window by window, and the positions in the stream they belong to, so that another
  model (an n-gram) can be scored on exactly the same tokens.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from lmcore._validate import bad_argument, check_int

__all__ = ["causal_lm_loss", "token_windows", "random_windows", "window_log_probs"]


def _as_stream(function: str, tokens: Any) -> Tensor:
    if isinstance(tokens, Tensor):
        stream = tokens
    else:
        try:
            stream = torch.as_tensor(list(tokens), dtype=torch.long)
        except (TypeError, ValueError, RuntimeError):
            stream = None
    if stream is None or stream.dim() != 1 or stream.is_floating_point():
        raise ValueError(bad_argument(function, "tokens", tokens,
                                      "a 1-D sequence of token ids"))
    return stream


def causal_lm_loss(model: Any, windows: Tensor) -> Tensor:
    """The mean next-token cross-entropy of ``model`` on ``windows``
    ``[batch, n + 1]``: inputs ``windows[:, :-1]``, targets
    ``windows[:, 1:]``."""
    if (not isinstance(windows, Tensor) or windows.dim() != 2
            or windows.shape[1] < 2):
        raise ValueError(bad_argument(
            "causal_lm_loss", "windows", windows,
            "an integer tensor [batch, n + 1] with n >= 1"))
    logits = model(windows[:, :-1])                   # [batch, n, vocab]
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),         # [batch * n, vocab]
        windows[:, 1:].reshape(-1))                   # [batch * n]


def token_windows(tokens: Sequence[int] | Tensor, length: int,
                  limit: Optional[int] = None) -> Tensor:
    """Non-overlapping windows ``[count, length]`` from the start of a token stream (the
    incomplete tail is dropped); at most ``limit`` windows."""
    stream = _as_stream("token_windows", tokens)
    check_int("token_windows", "length", length, minimum=2)
    count = len(stream) // length
    if limit is not None:
        count = min(count, check_int("token_windows", "limit", limit, minimum=1))
    if count == 0:
        raise ValueError(bad_argument("token_windows", "tokens", f"{len(stream)} tokens",
                                      f"at least length = {length} tokens"))
    return stream[:count * length].view(count, length)


def random_windows(tokens: Tensor, batch_size: int, length: int,
                   generator: Optional[torch.Generator] = None) -> Tensor:
    """``batch_size`` windows of ``length`` tokens at uniformly random offsets ``[batch,
    length]``."""
    stream = _as_stream("random_windows", tokens)
    check_int("random_windows", "batch_size", batch_size, minimum=1)
    check_int("random_windows", "length", length, minimum=2)
    if len(stream) < length:
        raise ValueError(bad_argument("random_windows", "tokens", f"{len(stream)} tokens",
                                      f"at least length = {length} tokens"))
    starts = torch.randint(0, len(stream) - length + 1, (batch_size,), generator=generator)
    return stream[starts[:, None] + torch.arange(length)]           # [batch, length]


def window_log_probs(model: Any, tokens: Sequence[int] | Tensor, length: int,
                     limit: Optional[int] = None,
                     batch_size: int = 16) -> tuple[Tensor, Tensor]:
    """``(log_probs, positions)``: ``log P(x_p | the tokens of its window before p)`` for every
    token ``p`` of ``tokens`` that :func:`token_windows` puts after the first of its window,
    and those positions ``p`` in the stream. Perplexity is ``exp(-log_probs.mean())``."""
    windows = token_windows(tokens, length, limit)                    # [count, length]
    check_int("window_log_probs", "batch_size", batch_size, minimum=1)
    was_training = model.training
    model.eval()
    pieces = []
    try:
        with torch.no_grad():
            for chunk in windows.split(batch_size):
                logp = torch.log_softmax(model(chunk[:, :-1]).float(), dim=-1)  # [b, n, vocab]
                pieces.append(logp.gather(-1, chunk[:, 1:, None])[..., 0])     # [b, n]
    finally:
        model.train(was_training)
    starts = torch.arange(windows.shape[0])[:, None] * length         # [count, 1]
    positions = starts + torch.arange(1, length)                      # [count, length - 1]
    return torch.cat(pieces).reshape(-1), positions.reshape(-1)
