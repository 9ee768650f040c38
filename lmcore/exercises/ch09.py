"""Checkers of chapter 9, "Pretraining a small BERT"."""

from __future__ import annotations

import torch

from lmcore.exercises import exercise, expect, typical_mistake


def _clip_cases():
    g = torch.Generator().manual_seed(9)
    return [
        ([torch.tensor([3.0, 4.0])], 1.0),                                  # norm 5 -> 1
        ([torch.tensor([0.3, 0.4])], 1.0),                                  # norm 0.5: unchanged
        ([torch.tensor([[1.0, 2.0], [2.0, 0.0]]), torch.tensor([4.0])], 2.5),  # global norm 5
        ([torch.randn(3, 4, generator=g) * 5, torch.randn(6, generator=g)], 0.7),
    ]


def _reference(grads, max_norm):
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads))
    scale = min(1.0, max_norm / float(norm)) if float(norm) > 0 else 1.0
    return [g * scale for g in grads]


@exercise("ch09.clip_by_global_norm", function_name="clip_by_global_norm", points=2,
          title="Gradient clipping by the global norm")
def _check_clip(clip_by_global_norm):
    for grads, max_norm in _clip_cases():
        want = _reference(grads, max_norm)
        got = clip_by_global_norm([g.clone() for g in grads], max_norm)
        expect(isinstance(got, (list, tuple)) and len(got) == len(grads),
               f"return a list of {len(grads)} tensors, one per gradient; yours returned "
               f"{type(got).__name__}.")
        for i, (a, b) in enumerate(zip(got, want)):
            expect(isinstance(a, torch.Tensor) and a.shape == b.shape,
                   f"gradient {i} should keep its shape {tuple(b.shape)}.")
            expect(torch.allclose(a.double(), b.double(), atol=1e-6),
                   f"for gradients {[g.tolist() for g in grads]} and max_norm {max_norm}, "
                   f"gradient {i} should become {b.round(decimals=4).tolist()}; yours is "
                   f"{a.round(decimals=4).tolist()}. One scale for all tensors: "
                   f"min(1, max_norm / global norm), where the global norm is the square root "
                   f"of the sum of all squared entries of all tensors.")


_check_clip.n_cases = len(_clip_cases())


@typical_mistake("ch09.clip_by_global_norm")
def _each_tensor_on_its_own(grads, max_norm):
    out = []
    for g in grads:
        norm = float(g.norm())
        out.append(g * min(1.0, max_norm / norm) if norm > 0 else g)
    return out


@typical_mistake("ch09.clip_by_global_norm")
def _always_rescaled(grads, max_norm):
    norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    return [g * max_norm / norm for g in grads]
