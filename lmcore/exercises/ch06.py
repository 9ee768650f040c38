"""Checkers of chapter 6, "The Transformer"."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from lmcore.exercises import exercise, expect, typical_mistake


# --------------------------------------------------------------------------------------------
# ch06.layer_norm: LayerNorm from its formula
# --------------------------------------------------------------------------------------------

def _layer_norm_cases():
    generator = torch.Generator().manual_seed(6)
    cases = []
    for shape, eps in (((4,), 1e-5), ((3, 8), 1e-5), ((2, 5, 16), 1e-12), ((2, 3), 0.5)):
        x = torch.randn(*shape, generator=generator, dtype=torch.float64) * 3 + 1
        gamma = torch.rand(shape[-1], generator=generator, dtype=torch.float64) + 0.5
        beta = torch.randn(shape[-1], generator=generator, dtype=torch.float64)
        cases.append((x, gamma, beta, eps))
    constant = torch.full((2, 6), 4.0, dtype=torch.float64)          # variance 0: eps matters
    cases.append((constant, torch.ones(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64), 1e-5))
    return cases


@exercise("ch06.layer_norm", function_name="layer_norm", points=2,
          title="LayerNorm from its formula")
def _check_layer_norm(layer_norm):
    for x, gamma, beta, eps in _layer_norm_cases():
        got = layer_norm(x.clone(), gamma.clone(), beta.clone(), eps)
        expect(isinstance(got, torch.Tensor),
               f"layer_norm should return a tensor; yours returned {type(got).__name__}.")
        expect(tuple(got.shape) == tuple(x.shape),
               f"for x of shape {list(x.shape)} the result should have the same shape; yours "
               f"has {list(got.shape)}.")
        want = torch.nn.functional.layer_norm(x, (x.shape[-1],), gamma, beta, eps)
        expect(not torch.isnan(got).any(),
               f"for a constant input (every feature {float(x.flatten()[0])}) your result holds "
               "NaN: the variance is 0 there, and eps inside the square root prevents 0/0."
               if float(x.std()) == 0 else f"your result holds NaN for x of shape {list(x.shape)}.")
        error = float((got.to(want.dtype) - want).abs().max())
        hint = ""
        if x.shape[-1] > 1:
            d = x.shape[-1]   # dividing by d - 1 shrinks every normalised value by sqrt((d-1)/d)
            unbiased = torch.nn.functional.layer_norm(x, (d,), None, None, eps) * math.sqrt(
                (d - 1) / d)
            if float((got.to(x.dtype) - (unbiased * gamma + beta)).abs().max()) < 1e-3 < error:
                hint = (" It looks as if you divided by d - 1 (torch's default var()); "
                        "LayerNorm uses the biased variance, a mean over the d features.")
        expect(error < 1e-6,
               f"for x of shape {list(x.shape)} and eps={eps} your result differs from the "
               f"formula by up to {error:.3g} (first row: expected "
               f"{[round(v, 4) for v in want.reshape(-1, x.shape[-1])[0][:4].tolist()]}, got "
               f"{[round(v, 4) for v in got.reshape(-1, x.shape[-1])[0][:4].tolist()]}).{hint}")


_check_layer_norm.n_cases = len(_layer_norm_cases())


@typical_mistake("ch06.layer_norm")
def _unbiased_variance(x, gamma, beta, eps):
    mean = x.mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(x.var(-1, keepdim=True) + eps) * gamma + beta


@typical_mistake("ch06.layer_norm")
def _normalised_over_the_wrong_axis(x, gamma, beta, eps):
    axis = 0
    mean = x.mean(axis, keepdim=True)
    variance = ((x - mean) ** 2).mean(axis, keepdim=True)
    return (x - mean) / torch.sqrt(variance + eps) * gamma + beta


@typical_mistake("ch06.layer_norm")
def _eps_outside_the_root(x, gamma, beta, eps):
    mean = x.mean(-1, keepdim=True)
    variance = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / (torch.sqrt(variance) + eps) * gamma + beta


# --------------------------------------------------------------------------------------------
# ch06.gpt_parameters: count a GPT's parameters from its shape
# --------------------------------------------------------------------------------------------

_GPT_CASES = [
    # vocab_size, max_positions, d_model, num_layers, d_ff, tied
    (50257, 1024, 768, 12, 3072, True),      # GPT-2 small
    (50257, 1024, 1024, 24, 4096, True),     # GPT-2 medium
    (65, 256, 384, 6, 1536, True),
    (65, 256, 384, 6, 1536, False),
    (10, 8, 4, 1, 16, False),
    (1000, 64, 32, 3, 50, True),             # d_ff not 4 d_model
]


@exercise("ch06.gpt_parameters", function_name="gpt_parameters", points=2,
          title="Count the parameters of a GPT")
def _check_gpt_parameters(gpt_parameters):
    from lmcore.transformer import GPTConfig, parameter_count
    for vocab, positions, d, layers, d_ff, tied in _GPT_CASES:
        got = gpt_parameters(vocab, positions, d, layers, d_ff, tied)
        # any integer type will do (int, numpy.int64, ...), but not a bool or a float
        expect(isinstance(got, numbers.Integral) and not isinstance(got, (bool, np.bool_)),
               f"gpt_parameters should return an int; yours returned {got!r} "
               f"({type(got).__name__}).")
        got = int(got)
        config = GPTConfig(vocab_size=vocab, max_positions=positions, d_model=d,
                           num_layers=layers, num_heads=1, d_ff=d_ff, tie_embeddings=tied)
        parts = parameter_count(config, breakdown=True)
        want = parts["total"]
        hint = ""
        if got - want == vocab * d:
            hint = " You counted the output layer although it is tied to the embeddings."
        elif want - got == vocab * d:
            hint = " The untied output layer has its own vocab_size x d_model matrix."
        elif (want - got) % layers == 0 and 0 < (want - got) // layers <= 4 * d + d_ff + d + 4 * d:
            hint = (f" You are {(want - got) // layers:,} short in every block: did you forget "
                    "biases or the two LayerNorms (gamma and beta each)?")
        elif want - got == 2 * d:
            hint = " Did you forget the final LayerNorm before the output layer?"
        expect(got == want,
               f"for vocab_size={vocab}, max_positions={positions}, d_model={d}, "
               f"num_layers={layers}, d_ff={d_ff}, tied={tied} the count is {want:,}; yours is "
               f"{got:,} (off by {got - want:+,}).{hint}")


_check_gpt_parameters.n_cases = len(_GPT_CASES)


@typical_mistake("ch06.gpt_parameters")
def _tied_head_counted_twice(vocab_size, max_positions, d_model, num_layers, d_ff, tied):
    block = 4 * (d_model * d_model + d_model) + 2 * d_model * d_ff + d_ff + d_model + 4 * d_model
    return (vocab_size + max_positions) * d_model + num_layers * block + 2 * d_model + \
        vocab_size * d_model


@typical_mistake("ch06.gpt_parameters")
def _no_biases(vocab_size, max_positions, d_model, num_layers, d_ff, tied):
    block = 4 * d_model * d_model + 2 * d_model * d_ff + 4 * d_model
    head = 0 if tied else vocab_size * d_model
    return (vocab_size + max_positions) * d_model + num_layers * block + 2 * d_model + head
