"""The claims of chapters 4 and 5 about lmcore.attention, each checked against an independent
computation: a plain loop, torch.nn.functional.scaled_dot_product_attention,
torch.nn.MultiheadAttention, or autograd."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lmcore
from lmcore.attention import (MultiHeadAttention, attention_backward, causal_mask, padding_mask,
                              scaled_dot_product_attention, softmax_jacobian)


def randn(*shape, seed=0, dtype=torch.float64, requires_grad=False):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=dtype).requires_grad_(requires_grad)


def loop_attention(q, k, v, mask=None):
    """One query at a time, one key at a time, in numpy: the formula read literally."""
    q, k, v = (np.asarray(t, dtype=np.float64) for t in (q, k, v))
    n_q, n_k = q.shape[0], k.shape[0]
    weights = np.zeros((n_q, n_k))
    for i in range(n_q):
        allowed = [j for j in range(n_k) if mask is None or mask[i, j]]
        if not allowed:
            continue
        scores = {j: float(q[i] @ k[j]) / math.sqrt(q.shape[1]) for j in allowed}
        top = max(scores.values())
        total = sum(math.exp(s - top) for s in scores.values())
        for j in allowed:
            weights[i, j] = math.exp(scores[j] - top) / total
    return weights @ v, weights


# ------------------------------------------------------------------------ the public names


def test_public_names_are_exported_from_lmcore():
    assert lmcore.scaled_dot_product_attention is scaled_dot_product_attention
    assert lmcore.MultiHeadAttention is MultiHeadAttention


# --------------------------------------------------------------- scaled dot-product attention


def test_attention_equals_the_formula_read_one_query_at_a_time():
    q, k, v = randn(4, 8, seed=1), randn(6, 8, seed=2), randn(6, 3, seed=3)
    output, weights = scaled_dot_product_attention(q, k, v)
    expected_output, expected_weights = loop_attention(q, k, v)
    np.testing.assert_allclose(weights.numpy(), expected_weights, atol=1e-12)
    np.testing.assert_allclose(output.numpy(), expected_output, atol=1e-12)
    assert output.shape == (4, 3) and weights.shape == (4, 6)


def test_weights_are_a_probability_distribution_over_keys():
    _, weights = scaled_dot_product_attention(randn(2, 3, 5, 4), randn(2, 3, 7, 4),
                                              randn(2, 3, 7, 4))
    assert (weights >= 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5, dtype=torch.float64))


def test_attention_agrees_with_torch_fused_kernel_with_and_without_masks():
    q, k, v = randn(2, 4, 9, 16, seed=1), randn(2, 4, 9, 16, seed=2), randn(2, 4, 9, 8, seed=3)
    padding = padding_mask(torch.tensor([[1] * 9, [1] * 6 + [0] * 3]))
    for mask in (None, causal_mask(9), padding, causal_mask(9) & padding):
        output, _ = scaled_dot_product_attention(q, k, v, mask)
        expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        torch.testing.assert_close(output, expected)


def test_leading_dimensions_broadcast():
    q = randn(3, 1, 5, 4, seed=1)      # one query set per batch element, shared by the heads
    k, v = randn(2, 7, 4, seed=2), randn(2, 7, 4, seed=3)  # keys shared across the batch
    output, weights = scaled_dot_product_attention(q, k, v)
    assert output.shape == (3, 2, 5, 4) and weights.shape == (3, 2, 5, 7)
    expected, _ = scaled_dot_product_attention(q[1, 0], k[1], v[1])
    torch.testing.assert_close(output[1, 1], expected)


def test_masked_keys_get_exactly_zero_weight():
    mask = torch.rand(5, 7, generator=torch.Generator().manual_seed(0)) > 0.5
    mask[:, 0] = True  # every query has at least one key here
    q, k, v = randn(5, 4, seed=1) * 30, randn(7, 4, seed=2) * 30, randn(7, 2, seed=3)
    _, weights = scaled_dot_product_attention(q, k, v, mask)
    assert (weights[~mask] == 0).all()   # exactly zero, not merely small
    torch.testing.assert_close(weights.sum(-1), torch.ones(5, dtype=torch.float64))
    _, expected = loop_attention(q, k, v, mask.numpy())
    np.testing.assert_allclose(weights.numpy(), expected, atol=1e-12)


def test_causal_attention_never_looks_at_the_future():
    q, k, v = randn(6, 4, seed=1), randn(6, 4, seed=2), randn(6, 3, seed=3)
    output, weights = scaled_dot_product_attention(q, k, v, causal_mask(6))
    assert (weights.triu(diagonal=1) == 0).all()
    changed_k, changed_v = k.clone(), v.clone()
    changed_k[4:] += 10.0
    changed_v[4:] -= 10.0                    # change positions 4 and 5 only
    changed, _ = scaled_dot_product_attention(q, changed_k, changed_v, causal_mask(6))
    torch.testing.assert_close(changed[:4], output[:4])   # positions 0..3 cannot tell
    assert not torch.allclose(changed[4:], output[4:])


def test_causal_mask_with_more_keys_than_queries_is_shifted():
    # queries are the last 2 of 5 positions (a key-value cache): query 0 is position 3
    expected = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(causal_mask(2, 5), expected)
    assert torch.equal(causal_mask(3), torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]]).bool())


def test_fully_masked_query_row_gets_zero_weights_zero_output_and_finite_gradients():
    q, k, v = (randn(4, 3, seed=s, requires_grad=True) for s in (1, 2, 3))
    mask = torch.tensor([[1, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]]).bool()
    output, weights = scaled_dot_product_attention(q, k, v, mask)
    assert (weights[1] == 0).all() and (output[1] == 0).all()
    output.sum().backward()
    for tensor in (q, k, v):
        assert torch.isfinite(tensor.grad).all()
    assert (q.grad[1] == 0).all()   # the empty row depends on nothing


def test_scaling_keeps_score_variance_near_one():
    generator = torch.Generator().manual_seed(0)
    for d_k in (4, 64, 512):
        q = torch.randn(20_000, d_k, generator=generator)
        k = torch.randn(20_000, d_k, generator=generator)
        raw = (q * k).sum(-1)
        assert abs(raw.var().item() / d_k - 1) < 0.05           # Var(q.k) = d_k
        assert abs((raw / math.sqrt(d_k)).var().item() - 1) < 0.05


def test_unscaled_softmax_saturates_and_its_gradient_vanishes_as_d_k_grows():
    generator = torch.Generator().manual_seed(0)
    n = 16
    largest_weight, gradient_size = {}, {}
    for d_k in (16, 1024):
        q = torch.randn(500, 1, d_k, generator=generator)
        k = torch.randn(500, n, d_k, generator=generator)
        raw = (q @ k.transpose(-2, -1)).squeeze(1)            # [500, n]
        for scaled in (False, True):
            weights = torch.softmax(raw / math.sqrt(d_k) if scaled else raw, -1)
            largest_weight[d_k, scaled] = weights.max(-1).values.mean().item()
            gradient_size[d_k, scaled] = softmax_jacobian(weights).abs().sum((-2, -1)).mean().item()
    # unscaled: the largest weight heads for 1 and the Jacobian for 0
    assert largest_weight[1024, False] > 0.9 > 0.7 > largest_weight[16, False]
    assert gradient_size[1024, False] < 0.2 * gradient_size[16, False]
    # scaled: neither depends on d_k
    assert abs(largest_weight[1024, True] - largest_weight[16, True]) < 0.02
    assert abs(gradient_size[1024, True] / gradient_size[16, True] - 1) < 0.02


# ---------------------------------------------------------------- gradients derived by hand


def test_softmax_jacobian_matches_autograd():
    x = randn(7, seed=4)
    expected = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, -1), x)
    torch.testing.assert_close(softmax_jacobian(torch.softmax(x, -1)), expected)
    assert softmax_jacobian(torch.softmax(x, -1)).sum(-1).abs().max() < 1e-15


@pytest.mark.parametrize("use_mask", [False, True])
def test_hand_derived_attention_gradients_match_autograd(use_mask):
    q, k, v = (randn(2, 3, n, d, seed=s, requires_grad=True)
               for s, n, d in ((1, 5, 4), (2, 6, 4), (3, 6, 7)))
    mask = None
    if use_mask:
        mask = causal_mask(5, 6) & padding_mask(torch.tensor([[1] * 6, [1] * 4 + [0] * 2]))
        mask = mask.clone()
        mask[..., 2, :] = False   # and a fully masked query row
    output, _ = scaled_dot_product_attention(q, k, v, mask)
    grad_output = randn(*output.shape, seed=5)
    output.backward(grad_output)
    grad_q, grad_k, grad_v = attention_backward(q.detach(), k.detach(), v.detach(), grad_output,
                                                mask)
    torch.testing.assert_close(grad_q, q.grad)
    torch.testing.assert_close(grad_k, k.grad)
    torch.testing.assert_close(grad_v, v.grad)


def test_attention_passes_gradcheck_with_masks():
    q, k, v = (randn(n, 2, seed=s, requires_grad=True) for n, s in ((3, 1), (4, 2), (4, 3)))
    mask = torch.tensor([[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]]).bool()
    assert torch.autograd.gradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c, mask)[0],
                                    (q, k, v))


# ----------------------------------------------------------------------- multi-head attention


def paired_modules(d_model=32, num_heads=4, bias=True, seed=0):
    torch.manual_seed(seed)
    reference = torch.nn.MultiheadAttention(d_model, num_heads, bias=bias, batch_first=True)
    if bias:  # torch starts its biases at zero: make them matter
        with torch.no_grad():
            reference.in_proj_bias.normal_()
            reference.out_proj.bias.normal_()
    return reference, MultiHeadAttention.from_torch(reference)


@pytest.mark.parametrize("bias", [True, False])
def test_equals_torch_multihead_attention_with_the_same_weights(bias):
    reference, ours = paired_modules(bias=bias)
    query, key = randn(3, 5, 32, seed=1, dtype=torch.float32), randn(3, 7, 32, seed=2,
                                                                      dtype=torch.float32)
    value = randn(3, 7, 32, seed=3, dtype=torch.float32)
    output, weights = ours(query, key, value)
    expected, expected_weights = reference(query, key, value, average_attn_weights=False)
    assert weights.shape == (3, 4, 5, 7)
    torch.testing.assert_close(output, expected)
    torch.testing.assert_close(weights, expected_weights)


def test_equals_torch_multihead_attention_with_causal_and_padding_masks():
    reference, ours = paired_modules()
    x = randn(2, 6, 32, seed=1, dtype=torch.float32)
    tokens = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    causal = causal_mask(6)
    # torch's masks say True where attention is NOT allowed: the opposite of lmcore's
    output, weights = ours(x, x, x, mask=causal & padding_mask(tokens))
    expected, expected_weights = reference(x, x, x, attn_mask=~causal,
                                           key_padding_mask=tokens == 0,
                                           average_attn_weights=False)
    torch.testing.assert_close(output, expected)
    torch.testing.assert_close(weights, expected_weights)
    assert (weights[1, :, :, 4:] == 0).all()


def test_equals_torch_fused_kernel_given_the_same_projections():
    _, ours = paired_modules()
    x = randn(2, 6, 32, seed=1, dtype=torch.float32)

    def heads(t):  # [2, 6, 32] -> [2, 4, 6, 8]
        return t.view(2, 6, 4, 8).transpose(1, 2)

    for mask in (None, causal_mask(6)):
        output, _ = ours(x, x, x, mask=mask)
        context = F.scaled_dot_product_attention(heads(ours.q_proj(x)), heads(ours.k_proj(x)),
                                                 heads(ours.v_proj(x)), attn_mask=mask)
        expected = ours.out_proj(context.transpose(1, 2).reshape(2, 6, 32))
        torch.testing.assert_close(output, expected)


def test_heads_are_independent_attentions_on_slices_of_the_projections():
    _, ours = paired_modules()
    x = randn(2, 5, 32, seed=1, dtype=torch.float32)
    output, weights = ours(x, x, x)
    q, k, v = ours.q_proj(x), ours.k_proj(x), ours.v_proj(x)
    heads = []
    for i in range(4):
        part = slice(8 * i, 8 * (i + 1))
        head, head_weights = scaled_dot_product_attention(q[..., part], k[..., part], v[..., part])
        torch.testing.assert_close(head_weights, weights[:, i])
        heads.append(head)
    torch.testing.assert_close(ours.out_proj(torch.cat(heads, -1)), output)


@pytest.mark.parametrize("mask_kind", ["none", "causal", "padding", "per_example", "empty_row"])
def test_fused_path_equals_the_path_that_returns_weights(mask_kind):
    _, ours = paired_modules()
    x = randn(2, 6, 32, seed=1, dtype=torch.float32, requires_grad=True)
    mask = {
        "none": None,
        "causal": causal_mask(6),
        "padding": padding_mask(torch.tensor([[1] * 6, [1] * 3 + [0] * 3])),
        "per_example": torch.rand(2, 6, 6, generator=torch.Generator().manual_seed(0)) > 0.3,
        "empty_row": padding_mask(torch.tensor([[1] * 6, [0] * 6])),  # nothing to attend to
    }[mask_kind]
    output, weights = ours(x, x, x, mask=mask)
    (grad_x,) = torch.autograd.grad(output.square().sum(), x)
    fused, none = ours(x, x, x, mask=mask, need_weights=False)
    (fused_grad_x,) = torch.autograd.grad(fused.square().sum(), x)
    assert none is None
    torch.testing.assert_close(fused, output)
    torch.testing.assert_close(fused_grad_x, grad_x)
    assert torch.isfinite(grad_x).all()


def test_a_query_with_no_key_gets_the_output_bias_only():
    _, ours = paired_modules()
    x = randn(1, 3, 32, seed=1, dtype=torch.float32)
    mask = torch.tensor([[1, 1, 1], [0, 0, 0], [1, 0, 0]]).bool()
    for need_weights in (True, False):
        output, _ = ours(x, x, x, mask=mask, need_weights=need_weights)
        torch.testing.assert_close(output[0, 1], ours.out_proj.bias)   # zero context -> W^O 0 + b


def test_parameter_count_is_four_d_squared_plus_four_d():
    for d_model, num_heads in ((32, 4), (384, 12), (512, 8)):
        ours = MultiHeadAttention(d_model, num_heads)
        assert sum(p.numel() for p in ours.parameters()) == 4 * d_model**2 + 4 * d_model
        reference = torch.nn.MultiheadAttention(d_model, num_heads)
        assert sum(p.numel() for p in reference.parameters()) == 4 * d_model**2 + 4 * d_model
    assert sum(p.numel() for p in MultiHeadAttention(64, 1, bias=False).parameters()) == 4 * 64**2


def test_dropout_acts_in_training_only():
    torch.manual_seed(0)
    ours = MultiHeadAttention(16, 2, dropout=0.5)
    x = randn(1, 4, 16, seed=1, dtype=torch.float32)
    ours.eval()
    first, _ = ours(x, x, x)
    again, _ = ours(x, x, x, need_weights=False)
    torch.testing.assert_close(first, again)
    ours.train()
    dropped, weights = ours(x, x, x)
    assert (weights == 0).any() and not torch.allclose(dropped, first)


# --------------------------------------------------------------------------------- bad input


def test_d_model_not_divisible_by_num_heads_names_both():
    with pytest.raises(ValueError, match=r"d_model.*divisible by num_heads=3.*d_model=10"):
        MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match="num_heads"):
        MultiHeadAttention(8, 0)


def test_input_of_the_wrong_rank_or_width_names_the_shape():
    ours = MultiHeadAttention(16, 4)
    x = torch.zeros(2, 5, 16)
    with pytest.raises(ValueError, match=r"'query'.*\[batch, n, d_model=16\].*\[5, 16\]"):
        ours(x[0], x, x)
    with pytest.raises(ValueError, match=r"'key'.*\[2, 5, 12\]"):
        ours(x, torch.zeros(2, 5, 12), x)
    with pytest.raises(ValueError, match=r"key and value.*\[2, 4, 16\]"):
        ours(x, x, torch.zeros(2, 4, 16))


def test_bad_masks_are_refused_with_the_expected_shape():
    ours = MultiHeadAttention(16, 4)
    x = torch.zeros(2, 5, 16)
    with pytest.raises(TypeError, match=r"'mask'.*bool.*torch.float32"):
        ours(x, x, x, mask=torch.ones(5, 5))
    with pytest.raises(ValueError, match=r"'mask'.*\[2, 4, 5, 5\].*\[6, 6\]"):
        ours(x, x, x, mask=causal_mask(6))
    with pytest.raises(ValueError, match=r"'mask'.*\[3, 5\]"):
        scaled_dot_product_attention(torch.zeros(3, 4), torch.zeros(5, 4), torch.zeros(5, 2),
                                     mask=torch.ones(3, 5, 1, dtype=torch.bool).expand(3, 5, 5))


def test_bad_attention_inputs_name_the_shapes():
    with pytest.raises(ValueError, match=r"same last dimension d_k.*\[3, 4\].*\[5, 6\]"):
        scaled_dot_product_attention(torch.zeros(3, 4), torch.zeros(5, 6), torch.zeros(5, 2))
    with pytest.raises(ValueError, match=r"number of positions n_k.*\[5, 4\].*\[6, 2\]"):
        scaled_dot_product_attention(torch.zeros(3, 4), torch.zeros(5, 4), torch.zeros(6, 2))
    with pytest.raises(ValueError, match=r"'q'.*rank >= 2.*\[4\]"):
        scaled_dot_product_attention(torch.zeros(4), torch.zeros(5, 4), torch.zeros(5, 2))
    with pytest.raises(TypeError, match=r"'q'.*torch.Tensor"):
        scaled_dot_product_attention(np.zeros((3, 4)), torch.zeros(5, 4), torch.zeros(5, 2))


def test_from_torch_refuses_what_it_cannot_copy():
    with pytest.raises(TypeError, match="torch.nn.MultiheadAttention"):
        MultiHeadAttention.from_torch(torch.nn.Linear(4, 4))
    with pytest.raises(ValueError, match="kdim"):
        MultiHeadAttention.from_torch(torch.nn.MultiheadAttention(8, 2, kdim=4, vdim=4))
    with pytest.raises(ValueError, match="add_bias_kv"):
        MultiHeadAttention.from_torch(torch.nn.MultiheadAttention(8, 2, add_bias_kv=True))


def test_padding_mask_refuses_values_other_than_zero_and_one():
    with pytest.raises(ValueError, match=r"'attention_mask'.*0 \(padding\) and 1"):
        padding_mask(torch.tensor([[1, 2, 0]]))
    assert padding_mask(torch.tensor([[1, 1, 0]])).shape == (1, 1, 1, 3)


# ------------------------------------------------------------------- the chapters' exercises

def _notebook_solutions(chapter: str) -> dict:
    """Run the reference solutions of a chapter's coding exercises (its nbgrader solution
    cells) and return the functions they define."""
    import nbformat
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "chapters" / chapter
    namespace: dict = {"np": np}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            exec(compile(cell.source, f"{chapter} solution cell", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("chapter, exercise_ids", [
    ("04_attention.ipynb", ["ch04.masked_softmax", "ch04.softmax_backward"]),
    ("05_multi_head_attention.ipynb", ["ch05.split_heads", "ch05.previous_token_weight"]),
])
def test_exercise_checkers_pass_the_reference_and_catch_stubs_and_typical_mistakes(chapter,
                                                                                exercise_ids):
    from lmcore.exercises import mistakes, registry, run
    solutions = _notebook_solutions(chapter)
    for exercise_id in exercise_ids:
        spec = registry(exercise_id)
        assert run(exercise_id, solutions[spec.function_name]).passed, exercise_id

        def stub(*args):
            raise NotImplementedError()
        assert "Not done yet" in run(exercise_id, stub).message
        wrong_answers = mistakes(exercise_id)
        assert len(wrong_answers) >= 1
        for wrong in wrong_answers:
            result = run(exercise_id, wrong)
            assert not result.passed and result.message, (exercise_id, wrong.__name__)


def test_causal_mask_refuses_fewer_keys_than_queries():
    with pytest.raises(ValueError, match=r"'n_k'.*>= 4.*Got 2"):
        causal_mask(4, 2)
    with pytest.raises(TypeError, match=r"'n_q'"):
        causal_mask(2.5)
