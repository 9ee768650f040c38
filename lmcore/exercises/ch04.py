"""Checkers of chapter 4's coding exercises (attention).

* ``ch04.masked_softmax``: a softmax over the last axis that gives masked entries exactly zero
  weight, never overflows, and returns an all-zero row where every entry is masked.
* ``ch04.softmax_backward``: the softmax's vector-Jacobian product
  ``dL/dx = s * (g - sum(g * s))`` without building the Jacobian.
"""

from __future__ import annotations

import numpy as np

from lmcore.exercises import exercise, expect, typical_mistake


def _as_array(value, name: str, shape: tuple[int, ...]) -> np.ndarray:
    expect(value is not None, f"your {name} returned None: did you forget `return`?")
    array = np.asarray(value, dtype=float)
    expect(array.shape == shape,
           f"your {name} should return an array of shape {shape} (the input's shape); "
           f"yours has shape {array.shape}")
    return array


def _reference_masked_softmax(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    scores = np.where(mask, scores, -np.inf)
    top = scores.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    exps = np.exp(scores - top)            # exp(-inf) = 0 at masked entries
    totals = exps.sum(axis=-1, keepdims=True)
    return np.divide(exps, totals, out=np.zeros_like(exps), where=totals > 0)


@exercise("ch04.masked_softmax", function_name="masked_softmax", points=2,
          title="A softmax that respects a mask")
def check_masked_softmax(masked_softmax) -> None:
    rng = np.random.default_rng(4)
    cases = [
        ("no entry masked", rng.normal(size=(3, 5)), np.ones((3, 5), dtype=bool)),
        ("some entries masked", rng.normal(size=(4, 6)), rng.random((4, 6)) > 0.4),
        ("large scores (exp(1000) overflows)", np.array([[1000.0, 999.0, 0.0]]),
         np.array([[True, True, True]])),
        ("a row with every entry masked", rng.normal(size=(2, 3)),
         np.array([[True, False, True], [False, False, False]])),
        ("a batch of matrices", rng.normal(size=(2, 3, 4)), rng.random((2, 3, 4)) > 0.3),
    ]
    cases[1][2][:, 0] = True  # every row keeps at least one entry in that case
    for label, scores, mask in cases:
        got = _as_array(masked_softmax(scores.copy(), mask.copy()), "masked_softmax", scores.shape)
        expected = _reference_masked_softmax(scores, mask)
        expect(not np.isnan(got).any(),
               f"case '{label}': your result contains NaN. Subtract each row's largest allowed "
               f"score before exp, and give a row with no allowed entry zeros rather than 0/0.")
        expect(np.all(got[~mask] == 0),
               f"case '{label}': masked entries must get exactly zero weight; yours has "
               f"{np.abs(got[~mask]).max(initial=0.0):.3g} at a masked entry (-1e9 is not -inf: use -np.inf or "
               f"set them to zero).")
        expect(np.allclose(got, expected, atol=1e-9),
               f"case '{label}': scores {np.round(scores, 3).tolist()} with mask "
               f"{mask.astype(int).tolist()} should give {np.round(expected, 4).tolist()}, yours "
               f"gives {np.round(got, 4).tolist()}")


check_masked_softmax.n_cases = 5


@typical_mistake("ch04.masked_softmax")
def masked_softmax_with_a_big_negative_number(scores, mask):
    """Masking with -1e9: fine for partly masked rows, uniform weights for a fully masked one."""
    scores = np.where(mask, scores, -1e9)
    exps = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return exps / exps.sum(axis=-1, keepdims=True)


@typical_mistake("ch04.masked_softmax")
def masked_softmax_without_subtracting_the_max(scores, mask):
    """exp(1000) = inf, and inf / inf = NaN."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        exps = np.where(mask, np.exp(scores), 0.0)
        totals = exps.sum(axis=-1, keepdims=True)
        return np.where(totals > 0, exps / np.where(totals > 0, totals, 1.0), 0.0)


# ----------------------------------------------------------------------------------------------


@exercise("ch04.softmax_backward", function_name="softmax_backward", points=2,
          title="The softmax's backward pass without its Jacobian")
def check_softmax_backward(softmax_backward) -> None:
    rng = np.random.default_rng(5)
    for label, shape in (("one vector", (5,)), ("a matrix, row by row", (3, 4)),
                         ("a batch of matrices", (2, 3, 6))):
        x = rng.normal(size=shape)
        s = np.exp(x - x.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        g = rng.normal(size=shape)
        got = _as_array(softmax_backward(s.copy(), g.copy()), "softmax_backward", shape)
        # independent reference: the full Jacobian diag(s) - s s^T applied to g
        jacobian = np.einsum("...i,ij->...ij", s, np.eye(shape[-1])) - s[..., :, None] * s[..., None, :]
        expected = np.einsum("...ij,...i->...j", jacobian, g)
        expect(np.allclose(got, expected, atol=1e-10),
               f"case '{label}': for s = {np.round(s, 3).tolist()} and g = "
               f"{np.round(g, 3).tolist()} the gradient should be "
               f"{np.round(expected, 4).tolist()}, yours is {np.round(got, 4).tolist()}")
        expect(np.allclose(got.sum(-1), 0.0, atol=1e-10),
               f"case '{label}': each row of the gradient must sum to 0 (adding a constant to "
               f"every score changes nothing); yours sums to {np.round(got.sum(-1), 4).tolist()}")
    # the gradient of a constant shift is zero: g = 1 everywhere gives 0
    s = np.full(4, 0.25)
    got = _as_array(softmax_backward(s, np.ones(4)), "softmax_backward", (4,))
    expect(np.allclose(got, 0.0), "g = [1, 1, 1, 1] (a loss that is the sum of the weights, "
           f"always 1) must give a zero gradient; yours gives {np.round(got, 4).tolist()}")


check_softmax_backward.n_cases = 4


@typical_mistake("ch04.softmax_backward")
def softmax_backward_diagonal_only(s, g):
    """Keeps only d s_i / d x_i = s_i (1 - s_i) and forgets that every s_j depends on x_i."""
    return np.asarray(g) * s * (1 - s)


@typical_mistake("ch04.softmax_backward")
def softmax_backward_summing_over_the_wrong_axis(s, g):
    """Sums g * s over the first axis instead of the last (the same for a single vector)."""
    return s * (g - (g * s).sum(axis=0, keepdims=True))
