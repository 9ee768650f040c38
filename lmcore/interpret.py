"""Three answers to "which earlier tokens made a GPT predict its next token?" (chapter 13).

For a decoder's prediction at the last position ``q`` of ``input_ids`` (the logit ``z`` of
the token it ranks first), each function returns one score per position ``j <= q``:

* :func:`attention_to_positions`: the attention weight ``alpha_qj`` of the last query,
  averaged over the heads and layers (what a heat map shows);
* the same call's ``norms``: the norm-based contribution of Kobayashi et al. (2020),
  ``|| sum_h alpha^h_qj f^h_j ||`` with ``f^h_j = v^h_j W^O_h`` the vector head ``h`` fetches
  from ``j`` (chapter 5), averaged over the layers;
* :func:`gradient_x_input`: ``a_j = x_j . dz/dx_j`` with ``x_j`` the input vector of
  position ``j`` (token plus position embedding), the first-order estimate of how much ``z``
  would change without ``x_j`` (chapter 10 computes it for a classifier);
* :func:`occlusion`: the measured drop of ``log P(predicted token)`` when token ``j`` is
  replaced by another token: an intervention, the reference the other three are judged by.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from lmcore._validate import bad_argument, check_int

__all__ = ["AttentionScores", "attention_to_positions", "gradient_x_input", "occlusion"]


def _check(function: str, model: Any, input_ids: Any) -> Tensor:
    if not isinstance(model, nn.Module) or not hasattr(model, "blocks"):
        raise TypeError(bad_argument(function, "model", model, "a GPTDecoder"))
    if not isinstance(input_ids, Tensor) or input_ids.dim() != 1 or len(input_ids) < 2 \
            or input_ids.is_floating_point():
        raise ValueError(bad_argument(function, "input_ids", input_ids,
                                      "a 1-D tensor of at least 2 token ids"))
    return input_ids[None]                                            # [1, n]


class AttentionScores(NamedTuple):
    """Per position ``j`` of the input: ``weights`` (alpha_qj averaged over heads and
    layers) and ``norms`` (Kobayashi's norm-based contribution, averaged over layers)."""
    weights: Tensor                                                   # [n]
    norms: Tensor                                                     # [n]


def attention_to_positions(model: nn.Module, input_ids: Tensor) -> AttentionScores:
    """What the last position's attention weights, and its weighted value vectors, say
    about each earlier position (see the module docstring)."""
    ids = _check("attention_to_positions", model, input_ids)
    captured: list = []
    hooks = [block.attention.register_forward_pre_hook(
        lambda module, args: captured.append(args[0])) for block in model.blocks]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            _, attentions = model(ids, output_attentions=True)
            norms = []
            for block, h, alpha in zip(model.blocks, captured, attentions):
                att = block.attention
                v = att._split_heads(att.v_proj(h))[0]                # [heads, n, d_head]
                w_o = att.out_proj.weight.T.reshape(att.num_heads, att.d_head, -1)
                f = v @ w_o                                           # [heads, n, d]
                fetched = alpha[0, :, -1, :, None] * f                # [heads, n, d]
                norms.append(fetched.sum(0).norm(dim=-1))             # [n]
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    weights = torch.stack([a[0, :, -1] for a in attentions]).mean((0, 1))   # [n]
    return AttentionScores(weights, torch.stack(norms).mean(0))


def gradient_x_input(model: nn.Module, input_ids: Tensor) -> Tensor:
    """``x_j . dz/dx_j`` for every position ``j`` (``[n]``), ``z`` the logit of
    the token the model ranks first after the last position."""
    ids = _check("gradient_x_input", model, input_ids)
    captured: dict = {}

    def keep(_module, _inputs, output):      # the input vectors, as a leaf
        captured["x"] = output.detach().requires_grad_(True)     # [1, n, d]
        return captured["x"]

    was_training = model.training
    model.eval()
    handle = model.dropout.register_forward_hook(keep)
    try:
        logits = model(ids)[0, -1]                                    # [vocab]
        logits[logits.argmax()].backward()
        x = captured["x"]
        scores = (x * x.grad).sum(-1)[0].detach()                     # [n]
    finally:
        handle.remove()
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return scores


def occlusion(model: nn.Module, input_ids: Tensor, replacement: int) -> Tensor:
    """The drop of ``log P(t)`` (``t`` the token ranked first after the full input) when
    token ``j`` alone is replaced by ``replacement``, for every position ``j``: ``[n]``."""
    ids = _check("occlusion", model, input_ids)
    check_int("occlusion", "replacement", replacement, minimum=0)
    n = ids.shape[1]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            full = torch.log_softmax(model(ids)[0, -1], -1)           # [vocab]
            target = int(full.argmax())
            variants = ids.repeat(n, 1)                               # [n, n]
            variants[torch.arange(n), torch.arange(n)] = replacement
            occluded = torch.log_softmax(model(variants)[:, -1], -1)[:, target]   # [n]
    finally:
        model.train(was_training)
    return full[target] - occluded
