"""Chapter 13's measuring tools: the power-law fit, gradient accumulation, activation
checkpointing, the saved-tensor count and the three attributions."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from lmcore.causal_lm import causal_lm_loss
from lmcore.efficiency import accumulated_gradients, checkpoint_blocks, saved_tensor_bytes
from lmcore.interpret import attention_to_positions, gradient_x_input, occlusion
from lmcore.scaling import (fit_power_law, non_embedding_parameters, power_law,
                            scaling_settings, scaling_sweep)
from lmcore.transformer import GPTConfig, GPTDecoder, init_gpt2_weights

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _gpt(num_layers=2, d_model=32, vocab=50, positions=16):
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=vocab, max_positions=positions, d_model=d_model,
                       num_layers=num_layers, num_heads=4, d_ff=4 * d_model, dropout=0.0,
                       positions="learned", tie_embeddings=True)
    return init_gpt2_weights(GPTDecoder(config))


# --- the power law --------------------------------------------------------------------------

@pytest.mark.parametrize("n_c, alpha", [(8.8e13, 0.076), (1e5, 0.34), (3e6, 0.02)])
def test_power_law_fit_recovers_known_parameters(n_c, alpha):
    sizes = np.array([1e3, 7e3, 5e4, 2e5, 1e6])
    law = fit_power_law(sizes, power_law(sizes, n_c, alpha))
    assert law.alpha == pytest.approx(alpha, rel=1e-9)
    assert law.n_c == pytest.approx(n_c, rel=1e-6)
    assert law.r2 == pytest.approx(1.0)
    assert law(2e4) == pytest.approx(power_law(2e4, n_c, alpha))


def test_power_law_fit_equals_numpy_polyfit_on_noisy_data():
    rng = np.random.default_rng(1)
    sizes = np.geomspace(1e3, 1e7, 9)
    loss = power_law(sizes, 1e9, 0.1) * np.exp(rng.normal(0, 0.05, 9))
    slope, intercept = np.polyfit(np.log(sizes), np.log(loss), 1)
    law = fit_power_law(list(sizes), list(loss))
    assert law.alpha == pytest.approx(-slope, rel=1e-10)
    assert math.log(law.n_c) == pytest.approx(intercept / -slope, rel=1e-10)
    assert 0 < law.r2 < 1


@pytest.mark.parametrize("n, loss, name", [
    ([1e3, 1e4], [5.0, 0.0], "loss"),
    ([1e3, -1e4], [5.0, 4.0], "n"),
    ([1e3, 1e4, 1e5], [5.0, 4.0], "loss"),
    ([1e3], [5.0], "n"),
    ([1e3, 1e3], [5.0, 4.0], "n"),
    ([1e3, 1e4], [4.0, 4.0], "loss"),
    ([1e3, float("nan")], [5.0, 4.0], "n"),
])
def test_bad_input_to_the_fit_names_the_argument(n, loss, name):
    with pytest.raises(ValueError, match=f"'{name}' argument of fit_power_law"):
        fit_power_law(n, loss)


def test_fit_rejects_non_numbers():
    with pytest.raises(TypeError, match="'n' argument of fit_power_law"):
        fit_power_law(["a", "b"], [1.0, 2.0])


def test_non_embedding_parameters_leaves_out_exactly_the_embedding_tables():
    model = _gpt(num_layers=1, d_model=16, vocab=50, positions=16)
    total = sum(p.numel() for p in model.parameters())       # tied output layer: counted once
    assert non_embedding_parameters(model) == total - (50 + 16) * 16
    block = 4 * 16 * 16 + 4 * 16 + 2 * 16 * 64 + 64 + 16 + 4 * 16   # attention, FFN, 2 LN
    assert non_embedding_parameters(model) == block + 2 * 16         # + the final LayerNorm
    with pytest.raises(TypeError, match="'model' argument of non_embedding_parameters"):
        non_embedding_parameters("a model")


def test_sweep_settings_share_the_data_and_scale_the_learning_rate():
    a, b = scaling_settings(1, 16), scaling_settings(3, 96)
    assert (a.vocab_size, a.context, a.held_out, a.steps, a.batch_size) == \
        (b.vocab_size, b.context, b.held_out, b.steps, b.batch_size)
    assert a.lr * 16 == pytest.approx(b.lr * 96)
    with pytest.raises(ValueError, match="'d_model' argument of scaling_settings"):
        scaling_settings(2, 30)
    with pytest.raises(ValueError, match="'sizes' argument of scaling_sweep"):
        scaling_sweep([(1, 16)])
    with pytest.raises(TypeError, match="'sizes' argument of scaling_sweep"):
        scaling_sweep("16")


# --- gradient accumulation and checkpointing ----------------------------------------------

@pytest.mark.parametrize("micro_batches", [2, 3, 7])
def test_accumulated_gradients_equal_the_big_batch_gradient(micro_batches):
    model = _gpt()
    batch = torch.randint(0, 50, (7, 12), generator=torch.Generator().manual_seed(0))
    causal_lm_loss(model, batch).backward()
    reference = [p.grad.clone() for p in model.parameters()]
    got = accumulated_gradients(model, causal_lm_loss, batch, micro_batches)
    for r, g in zip(reference, got):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-7)


def test_accumulation_rejects_more_micro_batches_than_rows():
    with pytest.raises(ValueError, match="'micro_batches' argument of accumulated_gradients"):
        accumulated_gradients(_gpt(), causal_lm_loss, torch.zeros(3, 5, dtype=torch.long), 4)


def test_checkpointing_keeps_gradients_and_saves_less():
    model = _gpt(num_layers=3)
    checkpointed = checkpoint_blocks(copy.deepcopy(model))
    batch = torch.randint(0, 50, (8, 16), generator=torch.Generator().manual_seed(1))
    plain = accumulated_gradients(model, causal_lm_loss, batch, 1)
    same = accumulated_gradients(checkpointed, causal_lm_loss, batch, 1)
    for a, b in zip(plain, same):
        torch.testing.assert_close(a, b)
    before = saved_tensor_bytes(model, lambda: causal_lm_loss(model, batch))
    after = saved_tensor_bytes(checkpointed, lambda: causal_lm_loss(checkpointed, batch))
    assert after < before / 2
    with torch.no_grad():                            # inference is unchanged
        torch.testing.assert_close(checkpointed(batch), model(batch))
    with pytest.raises(ValueError, match="'model' argument of checkpoint_blocks"):
        checkpoint_blocks(torch.nn.Linear(2, 2))


def test_saved_tensor_bytes_counts_a_linear_layers_input_only():
    layer = torch.nn.Linear(8, 4)
    x = torch.randn(5, 8)
    assert saved_tensor_bytes(layer, lambda: layer(x).sum()) == 5 * 8 * 4
    assert saved_tensor_bytes(layer, lambda: layer(x.double().float()).sum()) == 5 * 8 * 4


# --- attributions ---------------------------------------------------------------------------

def test_gradient_x_input_is_a_first_order_estimate_of_removing_an_input():
    model = _gpt()
    ids = torch.randint(0, 50, (10,), generator=torch.Generator().manual_seed(2))
    scores = gradient_x_input(model, ids)
    assert scores.shape == (10,)
    with torch.no_grad():
        logits = model(ids[None])[0, -1]
    target, eps = int(logits.argmax()), 1e-3
    for j in range(10):
        hook = model.dropout.register_forward_hook(
            lambda m, i, out, j=j: out.index_put((torch.tensor([0]), torch.tensor([j])),
                                                 out[0, j] * (1 - eps)))
        with torch.no_grad():
            shifted = model(ids[None])[0, -1, target]
        hook.remove()
        assert float(logits[target] - shifted) == pytest.approx(eps * float(scores[j]),
                                                                rel=0.05, abs=1e-6)


def test_attention_scores_match_the_models_own_weights_and_a_loop():
    model = _gpt(num_layers=2)
    ids = torch.randint(0, 50, (9,), generator=torch.Generator().manual_seed(3))
    scores = attention_to_positions(model, ids)
    with torch.no_grad():
        _, attentions = model(ids[None], output_attentions=True)
    expected = torch.stack([a[0, :, -1] for a in attentions]).mean((0, 1))
    torch.testing.assert_close(scores.weights, expected)
    assert float(scores.weights.sum()) == pytest.approx(1.0, abs=1e-5)
    # norms: recompute the first layer's with an explicit loop over heads
    block = model.blocks[0]
    with torch.no_grad():
        x = model.token_embeddings(ids[None]) + model.position_embeddings(torch.arange(9))
        h = block.attention_norm(x)[0]
        att = block.attention
        d = att.d_head
        total = torch.zeros(9, att.out_proj.weight.shape[0])
        for head in range(att.num_heads):
            v = att.v_proj(h)[:, head * d:(head + 1) * d]                      # [n, d_head]
            f = v @ att.out_proj.weight[:, head * d:(head + 1) * d].T         # [n, d]
            total += attentions[0][0, head, -1][:, None] * f
    layer0 = total.norm(dim=-1)
    assert scores.norms.shape == (9,)
    # a one-layer copy's norms are exactly layer 0's, computed independently above
    one_layer = copy.deepcopy(model)
    one_layer.blocks = one_layer.blocks[:1]
    torch.testing.assert_close(attention_to_positions(one_layer, ids).norms, layer0,
                               rtol=1e-4, atol=1e-6)


def test_occlusion_of_nothing_changes_nothing_and_bad_input_is_named():
    model = _gpt()
    ids = torch.randint(0, 50, (6,), generator=torch.Generator().manual_seed(4))
    ids[2] = 7
    effect = occlusion(model, ids, 7)
    assert float(effect[2]) == pytest.approx(0.0, abs=1e-5)     # replacing 7 by 7
    with pytest.raises(ValueError, match="'input_ids' argument of occlusion"):
        occlusion(model, ids[None], 7)
    with pytest.raises(TypeError, match="'model' argument of gradient_x_input"):
        gradient_x_input(torch.nn.Linear(2, 2), ids)
