"""Attention (chapter 4) and multi-head attention (chapter 5).

Scaled dot-product attention (Vaswani et al., 2017), for queries ``Q`` (``n_q`` rows),
keys ``K`` and values ``V`` (``n_k`` rows each)::

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V

    Q: [..., n_q, d_k]   K: [..., n_k, d_k]   V: [..., n_k, d_v]
    scores = Q K^T / sqrt(d_k): [..., n_q, n_k]
    weights = softmax(scores) (over the last axis, the keys): [..., n_q, n_k], rows sum to 1
    output = weights V: [..., n_q, d_v]

Multi-head attention runs ``h`` such attentions side by side on learned projections and mixes
their outputs::

    MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O
    head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V),   W_i^Q, W_i^K, W_i^V: [d_model, d_model / h]

Masks
-----
A mask is a **boolean** tensor, ``True`` where a query may attend to a key, broadcastable to the
scores' shape ``[..., n_q, n_k]``. A masked key gets a weight of exactly zero (its score is set
to ``-inf`` before the softmax, and ``exp(-inf) = 0``). :func:`causal_mask` and
:func:`padding_mask` build the two masks the book uses.

A query whose every key is masked (a padding query of a padded batch, for instance) has no
distribution to attend with: softmax over nothing would be ``0/0 = NaN``. This module's choice,
tested in ``tests/test_attention.py``: such a row gets **all-zero weights and a zero output**,
and its gradients are zero, never NaN. (PyTorch 2.13's fused CPU kernel returns zeros for such a
row too, while ``torch.nn.MultiheadAttention`` returns NaN.)

The reference implementations this module is checked against: ``torch.nn.MultiheadAttention``,
``torch.nn.functional.scaled_dot_product_attention`` and autograd for the hand-derived
gradients of chapter 4.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmcore._validate import bad_argument, check_int, check_number

__all__ = [
    "scaled_dot_product_attention",
    "MultiHeadAttention",
    "causal_mask",
    "padding_mask",
    "softmax_jacobian",
    "attention_backward",
]


# --------------------------------------------------------------------------------------------
# argument checks


class _Described:
    """A value shown in an error message by its description (a tensor by its shape)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _shape_of(tensor: Tensor) -> _Described:
    return _Described(f"a tensor of shape {list(tensor.shape)}")


def _check_tensor(function: str, name: str, value: object, min_rank: int) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(bad_argument(function, name, value, "a torch.Tensor"))
    if value.dim() < min_rank:
        raise ValueError(bad_argument(function, name, _shape_of(value),
                                      f"a tensor of rank >= {min_rank}"))
    if not value.is_floating_point():
        raise TypeError(bad_argument(function, name, _Described(f"a tensor of dtype {value.dtype}"),
                                     "a floating-point tensor"))
    return value


def _check_mask(function: str, mask: object, scores_shape: torch.Size) -> Tensor:
    """``mask`` must be a bool tensor that broadcasts to ``scores_shape`` without enlarging it."""
    expected = (f"a bool tensor (True = may attend) broadcastable to the scores' shape "
                f"{list(scores_shape)}")
    if not isinstance(mask, Tensor):
        raise TypeError(bad_argument(function, "mask", mask, expected))
    if mask.dtype != torch.bool:
        raise TypeError(bad_argument(function, "mask", _Described(f"a tensor of dtype {mask.dtype}"), expected))
    try:
        broadcast = torch.broadcast_shapes(mask.shape, scores_shape)
    except RuntimeError:
        broadcast = None
    if broadcast != scores_shape:
        raise ValueError(bad_argument(function, "mask", _shape_of(mask),
                                      expected))
    return mask


# --------------------------------------------------------------------------------------------
# masks


def causal_mask(n_q: int, n_k: Optional[int] = None, *, device: torch.device | str | None = None
                ) -> Tensor:
    """The causal mask ``[n_q, n_k]``: query ``i`` may attend to keys ``j <= i + (n_k - n_q)``.

    With ``n_k = n_q`` (the default) this is the lower triangle including the diagonal: a
    position sees itself and the past, never the future. When ``n_k > n_q`` (queries are the
    last ``n_q`` of ``n_k`` positions, as with a KV cache) the triangle is shifted right.
    """
    check_int("causal_mask", "n_q", n_q, minimum=1)
    n_k = n_q if n_k is None else check_int("causal_mask", "n_k", n_k, minimum=n_q)
    return torch.ones(n_q, n_k, dtype=torch.bool, device=device).tril(diagonal=n_k - n_q)


def padding_mask(attention_mask: Tensor) -> Tensor:
    """From a ``[batch, n]`` 0/1 (or bool) tensor, 1 on real tokens and 0 on padding, the mask
    ``[batch, 1, 1, n]`` that hides padded keys from every head and every query."""
    if not isinstance(attention_mask, Tensor) or attention_mask.dim() != 2:
        shown = (_shape_of(attention_mask)
                 if isinstance(attention_mask, Tensor) else attention_mask)
        raise ValueError(bad_argument("padding_mask", "attention_mask", shown,
                                      "a [batch, n] tensor of 0/1 or bool"))
    if attention_mask.dtype != torch.bool:
        values = attention_mask.unique().tolist()
        if any(v not in (0, 1) for v in values):
            raise ValueError(bad_argument("padding_mask", "attention_mask",
                                          _Described(f"a tensor with values {values[:5]}"),
                                          "a tensor of 0 (padding) and 1 (token) only"))
        attention_mask = attention_mask != 0
    return attention_mask[:, None, None, :]  # [batch, 1, 1, n]: every head, every query


# --------------------------------------------------------------------------------------------
# scaled dot-product attention (chapter 4)


def _masked_softmax(scores: Tensor, mask: Optional[Tensor]) -> Tensor:
    """softmax over the last axis, with exactly zero weight where ``mask`` is False and an
    all-zero row where a query has no allowed key at all (never NaN, in value or gradient)."""
    if mask is None:
        return torch.softmax(scores, dim=-1)
    has_key = mask.any(dim=-1, keepdim=True)            # [..., n_q, 1]: some key allowed?
    # A row with no allowed key is left unmasked for the softmax (finite values and gradients)
    # and zeroed afterwards; every other row gets -inf where masked, so exp(-inf) = 0 exactly.
    scores = scores.masked_fill(~mask & has_key, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights.masked_fill(~has_key, 0.0)


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor,
                                 mask: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
    """softmax(q k^T / sqrt(d_k)) v, returned with the attention weights (chapter 4).

    Args:
        q: queries ``[..., n_q, d_k]``.
        k: keys ``[..., n_k, d_k]``.
        v: values ``[..., n_k, d_v]``.
        mask: optional bool tensor, ``True`` where attention is allowed, broadcastable to
            ``[..., n_q, n_k]``. Masked keys get exactly zero weight; a query row with every key
            masked gets all-zero weights and a zero output (see the module docstring).

    Returns:
        ``(output, weights)``: ``output`` is ``[..., n_q, d_v]``, ``weights`` is
        ``[..., n_q, n_k]`` with rows that sum to 1 (or to 0 for a fully masked row).

    The leading dimensions ``...`` of ``q``, ``k`` and ``v`` broadcast against each other.
    """
    name = "scaled_dot_product_attention"
    q = _check_tensor(name, "q", q, 2)
    k = _check_tensor(name, "k", k, 2)
    v = _check_tensor(name, "v", v, 2)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"In {name}, q and k must have the same last dimension d_k. Got q of "
                         f"shape {list(q.shape)} and k of shape {list(k.shape)}.")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"In {name}, k and v must have the same number of positions n_k "
                         f"(second-to-last dimension). Got k of shape {list(k.shape)} and v of "
                         f"shape {list(v.shape)}.")
    try:
        batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except RuntimeError:
        raise ValueError(f"In {name}, the leading dimensions of q, k and v must broadcast. Got "
                         f"q {list(q.shape)}, k {list(k.shape)}, v {list(v.shape)}.") from None
    d_k = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)   # [..., n_q, n_k]
    if mask is not None:
        mask = _check_mask(name, mask, torch.Size([*batch, q.shape[-2], k.shape[-2]]))
    weights = _masked_softmax(scores, mask)             # [..., n_q, n_k]
    return weights @ v, weights                          # [..., n_q, d_v], [..., n_q, n_k]


# --------------------------------------------------------------------------------------------
# gradients by hand (chapter 4), checked against autograd in tests/test_attention.py


def softmax_jacobian(weights: Tensor) -> Tensor:
    """The Jacobian of the softmax at a point, from its output ``s = softmax(x)``.

    ``d s_i / d x_j = s_i (delta_ij - s_j)``, i.e. ``J = diag(s) - s s^T``, symmetric, with rows
    that sum to zero (adding a constant to every ``x_j`` changes nothing).
    ``weights``: ``[..., n]`` -> ``J``: ``[..., n, n]``.
    """
    weights = _check_tensor("softmax_jacobian", "weights", weights, 1)
    return torch.diag_embed(weights) - weights.unsqueeze(-1) * weights.unsqueeze(-2)


def attention_backward(q: Tensor, k: Tensor, v: Tensor, grad_output: Tensor,
                       mask: Optional[Tensor] = None) -> tuple[Tensor, Tensor, Tensor]:
    """The gradients of a loss with respect to ``q``, ``k`` and ``v``, by the chapter's formulas.

    Given ``G = dL/dO`` for ``O = P V``, ``P = softmax(S)``, ``S = Q K^T / sqrt(d_k)``::

        dL/dV = P^T G                                   [..., n_k, d_v]
        dL/dP = G V^T                                   [..., n_q, n_k]
        dL/dS = P * (dL/dP - rowsum(P * dL/dP))         (the softmax's vector-Jacobian product)
        dL/dQ = dL/dS K / sqrt(d_k)                     [..., n_q, d_k]
        dL/dK = (dL/dS)^T Q / sqrt(d_k)                 [..., n_k, d_k]

    Masked keys have ``P = 0`` and so receive no gradient through the scores. ``q``, ``k``,
    ``v`` must have the same leading dimensions (no broadcasting here).
    """
    _, weights = scaled_dot_product_attention(q, k, v, mask)       # P: [..., n_q, n_k]
    grad_output = _check_tensor("attention_backward", "grad_output", grad_output, 2)
    if grad_output.shape[:-2] + grad_output.shape[-2:] != weights.shape[:-1] + v.shape[-1:]:
        raise ValueError(bad_argument("attention_backward", "grad_output", _shape_of(grad_output),
                                      f"a tensor of the output's shape "
                                      f"{list(weights.shape[:-1] + v.shape[-1:])}"))
    scale = 1.0 / math.sqrt(q.shape[-1])
    grad_v = weights.transpose(-2, -1) @ grad_output                    # [..., n_k, d_v]
    grad_weights = grad_output @ v.transpose(-2, -1)                    # [..., n_q, n_k]
    grad_scores = weights * (grad_weights - (weights * grad_weights).sum(-1, keepdim=True))
    grad_q = grad_scores @ k * scale                                    # [..., n_q, d_k]
    grad_k = grad_scores.transpose(-2, -1) @ q * scale                  # [..., n_k, d_k]
    return grad_q, grad_k, grad_v


# --------------------------------------------------------------------------------------------
# multi-head attention (chapter 5)


class MultiHeadAttention(nn.Module):
    """Multi-head attention (Vaswani et al., 2017), batch first (chapter 5).

    ``MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O`` with
    ``head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)``. The ``h`` matrices ``W_i^Q`` (each
    ``[d_model, d_model / h]``) sit side by side in one ``nn.Linear`` ``q_proj``; likewise
    ``k_proj``, ``v_proj``; ``out_proj`` is ``W^O``. A reshape splits the projected
    ``[batch, n, d_model]`` into ``[batch, h, n, d_model / h]`` so that all heads run in one
    batched matrix product.

    Args:
        d_model: width of the inputs and the output; must be divisible by ``num_heads``.
        num_heads: number of heads ``h``; each head has size ``d_head = d_model // num_heads``.
        bias: whether the four projections have biases.
        dropout: dropout probability on the attention weights, applied in training mode only.

    ``forward(query, key, value, mask=None, need_weights=True)``: inputs ``[batch, n_q,
    d_model]``, ``[batch, n_k, d_model]``, ``[batch, n_k, d_model]``; ``mask`` is bool, ``True``
    where attention is allowed, of shape ``[n_q, n_k]``, ``[batch, n_q, n_k]`` (the same for every
    head) or anything broadcastable to ``[batch, num_heads, n_q, n_k]``, e.g. the
    ``[batch, 1, 1, n_k]`` of :func:`padding_mask`. Returns ``(output, weights)``: output
    ``[batch, n_q, d_model]`` and weights ``[batch, num_heads, n_q, n_k]``; with
    ``need_weights=False`` the fused kernel ``torch.nn.functional.scaled_dot_product_attention``
    computes the same output faster and ``weights`` is ``None``.
    """

    def __init__(self, d_model: int, num_heads: int, bias: bool = True, dropout: float = 0.0):
        super().__init__()
        check_int("MultiHeadAttention", "d_model", d_model, minimum=1)
        check_int("MultiHeadAttention", "num_heads", num_heads, minimum=1)
        if d_model % num_heads:
            raise ValueError(
                f"The 'd_model' argument of MultiHeadAttention must be divisible by num_heads="
                f"{num_heads} (each head gets d_model / num_heads dimensions). Got d_model="
                f"{d_model} instead; {d_model} / {num_heads} = {d_model / num_heads:.3g}.")
        if not isinstance(bias, bool):
            raise TypeError(bad_argument("MultiHeadAttention", "bias", bias, "a bool"))
        self.d_model = d_model
        self.num_heads = num_heads
        self.d_head = d_model // num_heads
        self.dropout = check_number("MultiHeadAttention", "dropout", dropout,
                                    minimum=0.0, maximum=1.0)
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)    # W^Q = [W_1^Q ... W_h^Q]
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)    # W^K
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)    # W^V
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)  # W^O

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, num_heads={self.num_heads}, d_head={self.d_head}"

    # -- shapes -------------------------------------------------------------------------------

    def _split_heads(self, x: Tensor) -> Tensor:
        batch, n, _ = x.shape
        # [batch, n, d_model] -> [batch, n, h, d_head] -> [batch, h, n, d_head]
        return x.view(batch, n, self.num_heads, self.d_head).transpose(1, 2)

    def _merge_heads(self, x: Tensor) -> Tensor:
        batch, _, n, _ = x.shape
        # [batch, h, n, d_head] -> [batch, n, h, d_head] -> [batch, n, d_model] (= Concat)
        return x.transpose(1, 2).reshape(batch, n, self.d_model)

    def _check_inputs(self, query: Tensor, key: Tensor, value: Tensor) -> None:
        name = "MultiHeadAttention.forward"
        for arg, tensor in (("query", query), ("key", key), ("value", value)):
            if not isinstance(tensor, Tensor):
                raise TypeError(bad_argument(name, arg, tensor, "a torch.Tensor"))
            if tensor.dim() != 3 or tensor.shape[-1] != self.d_model:
                raise ValueError(bad_argument(
                    name, arg, _shape_of(tensor),
                    f"a tensor of shape [batch, n, d_model={self.d_model}] (batch first)"))
        if key.shape[:2] != value.shape[:2] or key.shape[0] != query.shape[0]:
            raise ValueError(f"In {name}, key and value must have the same [batch, n_k] and the "
                             f"same batch as query. Got query {list(query.shape)}, key "
                             f"{list(key.shape)}, value {list(value.shape)}.")

    def _prepare_mask(self, mask: Tensor, batch: int, n_q: int, n_k: int) -> Tensor:
        if isinstance(mask, Tensor) and mask.dim() == 3:
            mask = mask.unsqueeze(1)  # [batch, n_q, n_k] -> [batch, 1, n_q, n_k]: every head
        return _check_mask("MultiHeadAttention.forward", mask,
                           torch.Size([batch, self.num_heads, n_q, n_k]))

    # -- forward ------------------------------------------------------------------------------

    def forward(self, query: Tensor, key: Tensor, value: Tensor, mask: Optional[Tensor] = None,
                need_weights: bool = True) -> tuple[Tensor, Optional[Tensor]]:
        self._check_inputs(query, key, value)
        batch, n_q, _ = query.shape
        n_k = key.shape[1]
        if mask is not None:
            mask = self._prepare_mask(mask, batch, n_q, n_k)
        q = self._split_heads(self.q_proj(query))   # [batch, h, n_q, d_head]
        k = self._split_heads(self.k_proj(key))     # [batch, h, n_k, d_head]
        v = self._split_heads(self.v_proj(value))   # [batch, h, n_k, d_head]
        dropout = self.dropout if self.training else 0.0
        if need_weights:
            context, weights = scaled_dot_product_attention(q, k, v, mask)
            if dropout:
                weights = F.dropout(weights, p=dropout)
                context = weights @ v
        else:
            weights = None
            if mask is None:
                context = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout)
            else:
                # Same convention as above for a query with no allowed key: let the kernel see
                # every key in that row (finite everywhere), then zero the row's output.
                has_key = mask.any(dim=-1, keepdim=True)           # [..., n_q, 1]
                context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask | ~has_key,
                                                         dropout_p=dropout)
                context = context.masked_fill(~has_key, 0.0)
        return self.out_proj(self._merge_heads(context)), weights  # [batch, n_q, d_model]

    # -- interoperability -----------------------------------------------------------------------

    @classmethod
    def from_torch(cls, module: nn.MultiheadAttention) -> "MultiHeadAttention":
        """A MultiHeadAttention holding a copy of the weights of ``module``.

        ``torch.nn.MultiheadAttention`` keeps ``W^Q, W^K, W^V`` stacked in one
        ``in_proj_weight`` ``[3 d_model, d_model]``; this splits it into ``q_proj``, ``k_proj``
        and ``v_proj``. The copy is batch first whatever ``module.batch_first`` says.
        """
        name = "MultiHeadAttention.from_torch"
        if not isinstance(module, nn.MultiheadAttention):
            raise TypeError(bad_argument(name, "module", module, "a torch.nn.MultiheadAttention"))
        if not module._qkv_same_embed_dim:
            raise ValueError(bad_argument(name, "module", module,
                                          "a module with kdim = vdim = embed_dim"))
        if module.bias_k is not None or module.add_zero_attn:
            raise ValueError(bad_argument(name, "module", module,
                                          "a module without add_bias_kv or add_zero_attn"))
        d_model = module.embed_dim
        has_bias = module.in_proj_bias is not None
        if has_bias != (module.out_proj.bias is not None):
            raise ValueError(bad_argument(name, "module", module,
                                          "a module with biases on all projections or on none"))
        new = cls(d_model, module.num_heads, bias=has_bias, dropout=float(module.dropout))
        new.to(device=module.in_proj_weight.device, dtype=module.in_proj_weight.dtype)
        with torch.no_grad():
            w_q, w_k, w_v = module.in_proj_weight.chunk(3, dim=0)   # each [d_model, d_model]
            new.q_proj.weight.copy_(w_q)
            new.k_proj.weight.copy_(w_k)
            new.v_proj.weight.copy_(w_v)
            new.out_proj.weight.copy_(module.out_proj.weight)
            if has_bias:
                b_q, b_k, b_v = module.in_proj_bias.chunk(3, dim=0)
                new.q_proj.bias.copy_(b_q)
                new.k_proj.bias.copy_(b_k)
                new.v_proj.bias.copy_(b_v)
                new.out_proj.bias.copy_(module.out_proj.bias)
        return new
