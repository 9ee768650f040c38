"""Checkers of chapter 5's coding exercises (multi-head attention).

* ``ch05.split_heads``: ``[batch, n, d_model]`` -> ``[batch, h, n, d_model / h]`` in numpy, so
  that head ``i`` holds the columns ``i * d_head ... (i + 1) * d_head - 1`` of every position.
* ``ch05.previous_token_weight``: the average weight a head puts on the previous token.
"""

from __future__ import annotations

import numpy as np

from lmcore.exercises import exercise, expect, typical_mistake


def _result(value, name: str) -> np.ndarray:
    expect(value is not None, f"your {name} returned None: did you forget `return`?")
    return np.asarray(value)


@exercise("ch05.split_heads", function_name="split_heads", points=2,
          title="Split the projections into heads")
def check_split_heads(split_heads) -> None:
    for batch, n, d_model, num_heads in ((1, 3, 4, 2), (2, 5, 12, 3), (3, 4, 8, 8), (2, 6, 6, 1)):
        x = np.arange(batch * n * d_model, dtype=float).reshape(batch, n, d_model)
        d_head = d_model // num_heads
        got = _result(split_heads(x.copy(), num_heads), "split_heads")
        expected_shape = (batch, num_heads, n, d_head)
        expect(got.shape == expected_shape,
               f"for x of shape {x.shape} and num_heads={num_heads} the result should have shape "
               f"{expected_shape} = [batch, num_heads, n, d_model / num_heads]; yours has "
               f"shape {got.shape}")
        for head in range(num_heads):
            for position in range(n):
                expected = x[:, position, head * d_head:(head + 1) * d_head]
                expect(np.array_equal(got[:, head, position], expected),
                       f"for x of shape {x.shape} and num_heads={num_heads}, head {head} at "
                       f"position {position} should hold columns {head * d_head}.."
                       f"{(head + 1) * d_head - 1} of that position, "
                       f"{expected[0].tolist()} in batch element 0; yours holds "
                       f"{got[0, head, position].tolist()}. A reshape alone mixes positions: "
                       f"reshape to [batch, n, h, d_head] first, then swap the axes.")


check_split_heads.n_cases = 4


@typical_mistake("ch05.split_heads")
def split_heads_by_reshape_only(x, num_heads):
    """Reshapes straight to [batch, h, n, d_head]: the numbers are there, in the wrong places."""
    batch, n, d_model = x.shape
    return x.reshape(batch, num_heads, n, d_model // num_heads)


@typical_mistake("ch05.split_heads")
def split_heads_interleaved(x, num_heads):
    """Reshapes to [batch, n, d_head, h]: head i gets every h-th column instead of a block."""
    batch, n, d_model = x.shape
    return x.reshape(batch, n, d_model // num_heads, num_heads).transpose(0, 3, 1, 2)


# ----------------------------------------------------------------------------------------------


def _reference_previous_token_weight(weights: np.ndarray) -> np.ndarray:
    return np.diagonal(weights, offset=-1, axis1=-2, axis2=-1).mean(axis=-1)


@exercise("ch05.previous_token_weight", function_name="previous_token_weight", points=2,
          title="How much does a head look at the previous token?")
def check_previous_token_weight(previous_token_weight) -> None:
    rng = np.random.default_rng(5)
    n = 5
    shift = np.eye(n, k=-1)
    shift[0, 0] = 1.0                      # a perfect previous-token head (row 0 looks at itself)
    cases = [("a perfect previous-token head", shift, 1.0),
             ("a head that looks at the next token", np.eye(n, k=1) + np.diag([0, 0, 0, 0, 1.0]),
              0.0),
             ("uniform causal weights", np.tril(np.ones((n, n))) / np.arange(1, n + 1)[:, None],
              float(np.mean([1 / (i + 1) for i in range(1, n)])))]
    for label, weights, expected in cases:
        got = _result(previous_token_weight(weights.copy()), "previous_token_weight")
        expect(got.shape == () and np.isclose(float(got), expected),
               f"case '{label}', weights {np.round(weights, 3).tolist()}: the average weight on "
               f"the previous token (rows 1..n-1, column i-1) is {expected:.4f}; yours is "
               f"{np.round(got, 4).tolist()}")
    weights = rng.dirichlet(np.ones(7), size=(2, 3, 7))          # [batch 2, heads 3, 7, 7]
    expected = _reference_previous_token_weight(weights)
    got = _result(previous_token_weight(weights.copy()), "previous_token_weight")
    expect(got.shape == (2, 3),
           f"for weights of shape [2, 3, 7, 7] (batch, heads, n, n) the result should have shape "
           f"(2, 3), one number per head per example; yours has shape {got.shape}")
    expect(np.allclose(got, expected),
           f"for random weights of shape [2, 3, 7, 7] the expected result is "
           f"{np.round(expected, 4).tolist()}; yours is {np.round(got, 4).tolist()}")


check_previous_token_weight.n_cases = 4


@typical_mistake("ch05.previous_token_weight")
def previous_token_weight_next_token(weights):
    """Reads the diagonal above the main one: the weight on the NEXT token."""
    return np.diagonal(weights, offset=1, axis1=-2, axis2=-1).mean(axis=-1)


@typical_mistake("ch05.previous_token_weight")
def previous_token_weight_wrapping_around(weights):
    """Counts row 0 too, whose 'previous token' wraps around to the last one."""
    n = weights.shape[-1]
    rows = np.arange(n)
    return weights[..., rows, (rows - 1) % n].mean(axis=-1)
