"""The Transformer (chapter 6): every part checked against an independent computation.

References: torch.nn.LayerNorm and torch's GELU; the formula of Vaswani et al. (2017) written out
in numpy; torch.nn.TransformerEncoderLayer; Hugging Face transformers (a test-only dependency,
offline) for the parameter counts of BERT-base and GPT-2 small and for MiniLM's outputs.
"""

from __future__ import annotations

import math
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch

from lmcore.transformer import (BertConfig, BertEncoder, CheckpointMismatchError, DecoderBlock,
                                EncoderBlock, FusedLayerNorm, GPTConfig, GPTDecoder, LayerNorm,
                                count_parameters,
                                gelu, gelu_tanh, load_bert, load_bert_weights, load_gpt2,
                                load_gpt2_weights, load_minilm,
                                mean_pool, minilm_folder, parameter_count, read_safetensors,
                                sentence_embeddings, sinusoidal_positions)

# --------------------------------------------------------------------------------------------
# LayerNorm, GELU, positions
# --------------------------------------------------------------------------------------------


def test_layernorm_equals_torch_layernorm():
    torch.manual_seed(0)
    x = torch.randn(3, 7, 16) * 5 + 2
    ours, theirs = LayerNorm(16, eps=1e-5), torch.nn.LayerNorm(16, eps=1e-5)
    with torch.no_grad():
        for module in (ours, theirs):
            module.weight.copy_(torch.linspace(0.5, 2.0, 16))
            module.bias.copy_(torch.linspace(-1.0, 1.0, 16))
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-6, rtol=1e-5)
    x.requires_grad_(True)
    (grad_ours,) = torch.autograd.grad(ours(x).pow(2).sum(), x)
    (grad_theirs,) = torch.autograd.grad(theirs(x).pow(2).sum(), x)
    torch.testing.assert_close(grad_ours, grad_theirs, atol=1e-5, rtol=1e-4)


def test_layernorm_gives_each_position_zero_mean_and_unit_variance():
    x = torch.randn(4, 10, 32, generator=torch.Generator().manual_seed(1)) * 9 - 3
    y = LayerNorm(32, eps=1e-12)(x)
    torch.testing.assert_close(y.mean(-1), torch.zeros(4, 10), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(-1, unbiased=False), torch.ones(4, 10), atol=1e-4, rtol=0)


def test_layernorm_rejects_the_wrong_width():
    with pytest.raises(ValueError, match=r"'x' argument of LayerNorm.forward must be a tensor whose last dimension is d = 8"):
        LayerNorm(8)(torch.zeros(2, 9))


def test_gelu_equals_torch_gelu_exact_and_tanh():
    x = torch.linspace(-6, 6, 1001)
    torch.testing.assert_close(gelu(x), torch.nn.functional.gelu(x), atol=1e-6, rtol=0)
    torch.testing.assert_close(gelu_tanh(x), torch.nn.functional.gelu(x, approximate="tanh"),
                               atol=1e-6, rtol=0)


def test_sinusoidal_positions_follow_the_papers_formula():
    n, d = 50, 16
    expected = np.zeros((n, d))
    for p in range(n):
        for i in range(d // 2):
            expected[p, 2 * i] = math.sin(p / 10000 ** (2 * i / d))
            expected[p, 2 * i + 1] = math.cos(p / 10000 ** (2 * i / d))
    np.testing.assert_allclose(sinusoidal_positions(n, d).numpy(), expected, atol=1e-6)


def test_sinusoidal_shift_by_k_is_one_linear_map_for_every_position():
    n, d, k = 100, 32, 7
    pe = sinusoidal_positions(n + k, d).double()
    # solve PE[p + k] = PE[p] M by least squares over all p; the residual must vanish
    M = torch.linalg.lstsq(pe[:n], pe[k:n + k]).solution
    torch.testing.assert_close(pe[:n] @ M, pe[k:n + k], atol=1e-5, rtol=0)
    # and M is the block-diagonal rotation by angle k * w_i, as derived in chapter 6
    w = 10000 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    rotation = torch.zeros(d, d, dtype=torch.float64)
    for i, angle in enumerate(k * w):
        rotation[2 * i:2 * i + 2, 2 * i:2 * i + 2] = torch.tensor(
            [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    torch.testing.assert_close(pe[:n] @ rotation, pe[k:n + k], atol=1e-6, rtol=0)


def test_sinusoidal_dot_product_depends_only_on_the_offset():
    pe = sinusoidal_positions(200, 64).double()
    for k in (1, 5, 30):
        dots = (pe[:-k] * pe[k:]).sum(-1)
        assert float(dots.max() - dots.min()) < 1e-5   # float32 encodings
    assert torch.all(pe.abs() <= 1)


def test_sinusoidal_positions_rejects_an_odd_width():
    with pytest.raises(ValueError, match=r"'d' argument of sinusoidal_positions must be an even int"):
        sinusoidal_positions(10, 7)


# --------------------------------------------------------------------------------------------
# Blocks against torch's own Transformer layer
# --------------------------------------------------------------------------------------------

def _copy_block_into_torch(block, layer):
    with torch.no_grad():
        attention = block.attention
        layer.self_attn.in_proj_weight.copy_(torch.cat([attention.q_proj.weight,
                                                        attention.k_proj.weight,
                                                        attention.v_proj.weight]))
        layer.self_attn.in_proj_bias.copy_(torch.cat([attention.q_proj.bias, attention.k_proj.bias,
                                                      attention.v_proj.bias]))
        layer.self_attn.out_proj.weight.copy_(attention.out_proj.weight)
        layer.self_attn.out_proj.bias.copy_(attention.out_proj.bias)
        layer.linear1.weight.copy_(block.ffn.ffn_in.weight)
        layer.linear1.bias.copy_(block.ffn.ffn_in.bias)
        layer.linear2.weight.copy_(block.ffn.ffn_out.weight)
        layer.linear2.bias.copy_(block.ffn.ffn_out.bias)
        for ours, theirs in ((block.attention_norm, layer.norm1), (block.ffn_norm, layer.norm2)):
            theirs.weight.copy_(torch.randn_like(theirs.weight))
            theirs.bias.copy_(torch.randn_like(theirs.bias))
            ours.weight.copy_(theirs.weight)
            ours.bias.copy_(theirs.bias)


def test_fused_layernorm_trains_with_the_formulas_values_and_gradients():
    torch.manual_seed(0)
    x = (torch.randn(3, 7, 16) * 5 + 2).requires_grad_(True)
    fused, formula = FusedLayerNorm(16, eps=1e-12), LayerNorm(16, eps=1e-12)
    with torch.no_grad():
        fused.weight.copy_(torch.linspace(0.5, 2.0, 16))
        fused.bias.copy_(torch.linspace(-1.0, 1.0, 16))
    formula.load_state_dict(fused.state_dict())
    assert fused.training and isinstance(fused, LayerNorm)
    torch.testing.assert_close(fused(x), formula(x), atol=1e-6, rtol=1e-5)
    grads = [torch.autograd.grad(m(x).pow(3).sum(), [x, m.weight]) for m in (fused, formula)]
    for ours, theirs in zip(*grads):
        torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)
    fused.eval()                                   # evaluation: the formula as written
    assert torch.equal(fused(x), formula(x))


def test_encoder_block_gives_the_same_output_in_training_and_evaluation_mode():
    torch.manual_seed(0)
    block = EncoderBlock(32, 4, 64, dropout=0.0)
    x = torch.randn(2, 9, 32)
    keep = torch.ones(2, 9, dtype=torch.bool)
    keep[1, 6:] = False
    trained_path, _ = block(x, keep[:, None, None, :], need_weights=False)
    evaluated, _ = block.eval()(x, keep[:, None, None, :], need_weights=False)
    torch.testing.assert_close(trained_path, evaluated, atol=1e-5, rtol=1e-5)


def test_encoder_block_equals_torch_post_ln_encoder_layer():
    torch.manual_seed(0)
    block = EncoderBlock(32, 4, 64, layer_norm_eps=1e-5).eval()
    layer = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, activation="gelu",
                                             batch_first=True, norm_first=False).eval()
    _copy_block_into_torch(block, layer)
    x = torch.randn(2, 9, 32)
    keep = torch.ones(2, 9, dtype=torch.bool)
    keep[1, 6:] = False                                            # padding in example 1
    ours, _ = block(x, keep[:, None, None, :])
    theirs = layer(x, src_key_padding_mask=~keep)
    torch.testing.assert_close(ours[keep], theirs[keep], atol=1e-5, rtol=1e-5)


def test_decoder_block_equals_torch_pre_ln_layer_with_a_causal_mask():
    torch.manual_seed(1)
    block = DecoderBlock(32, 4, 64, activation="gelu", layer_norm_eps=1e-5).eval()
    layer = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, activation="gelu",
                                             batch_first=True, norm_first=True).eval()
    _copy_block_into_torch(block, layer)
    x = torch.randn(2, 9, 32)
    ours, weights = block(x)                                       # causal by default
    theirs = layer(x, src_mask=torch.nn.Transformer.generate_square_subsequent_mask(9),
                   is_causal=True)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    assert torch.all(weights.triu(diagonal=1) == 0)


def test_decoder_block_with_cross_attention_needs_memory():
    block = DecoderBlock(16, 2, 32, cross_attention=True).eval()
    x, memory = torch.randn(1, 4, 16), torch.randn(1, 6, 16)
    assert block(x, memory=memory)[0].shape == (1, 4, 16)
    with pytest.raises(ValueError, match="'memory' argument"):
        block(x)


# --------------------------------------------------------------------------------------------
# Parameter counts: formula = our module = transformers' module = the published totals
# --------------------------------------------------------------------------------------------

SMALL_BERT = BertConfig(vocab_size=100, max_positions=32, d_model=24, num_layers=2, num_heads=3,
                        d_ff=40)
SMALL_GPT = GPTConfig(vocab_size=90, max_positions=20, d_model=16, num_layers=3, num_heads=2,
                      d_ff=48)


@pytest.mark.parametrize("config", [SMALL_BERT, BertConfig(pooler=False, num_layers=1),
                                    SMALL_GPT, GPTConfig(tie_embeddings=False, num_layers=1),
                                    GPTConfig(positions="sinusoidal", num_layers=1)])
def test_parameter_formula_counts_our_modules(config):
    with torch.device("meta"):
        model = BertEncoder(config) if isinstance(config, BertConfig) else GPTDecoder(config)
    assert parameter_count(config) == count_parameters(model)


def test_bert_base_and_gpt2_small_counts_match_transformers_and_the_published_totals():
    import transformers
    with torch.device("meta"):
        hf_bert = transformers.BertModel(transformers.BertConfig())             # with pooler
        hf_gpt2 = transformers.GPT2LMHeadModel(transformers.GPT2Config())       # tied head
        hf_gpt2_body = transformers.GPT2Model(transformers.GPT2Config())        # no head at all
        ours_bert, ours_gpt = BertEncoder(BertConfig()), GPTDecoder(GPTConfig())
    bert = parameter_count(BertConfig())
    assert bert == count_parameters(hf_bert) == count_parameters(ours_bert) == 109_482_240
    assert parameter_count(BertConfig(pooler=False)) == bert - (768 * 768 + 768)
    assert round(bert / 1e6) == 109 and round(bert / 1e7) * 10 == 110       # "110M" in the paper
    gpt = parameter_count(GPTConfig())
    assert gpt == count_parameters(hf_gpt2) == count_parameters(ours_gpt) == 124_439_808
    assert count_parameters(hf_gpt2_body) == gpt          # tying adds no parameter


def test_tied_output_layer_shares_the_embedding_matrix():
    model = GPTDecoder(SMALL_GPT)
    assert model.lm_head.weight is model.token_embeddings.weight
    untied = GPTDecoder(GPTConfig(**{**SMALL_GPT.__dict__, "tie_embeddings": False}))
    assert count_parameters(untied) - count_parameters(model) == 90 * 16


def test_bad_configs_are_clear_errors():
    with pytest.raises(ValueError, match=r"'d_model' argument of BertConfig must be divisible by num_heads=5"):
        BertConfig(d_model=768, num_heads=5)
    with pytest.raises(ValueError, match=r"'positions' argument of GPTConfig"):
        GPTConfig(positions="rotary")
    with pytest.raises(ValueError, match=r"'input_ids' argument of GPTDecoder.forward must be ids in 0..89"):
        GPTDecoder(SMALL_GPT)(torch.tensor([[1, 90]]))


# --------------------------------------------------------------------------------------------
# The GPT decoder is causal
# --------------------------------------------------------------------------------------------

def test_decoder_output_at_t_does_not_depend_on_tokens_after_t():
    torch.manual_seed(0)
    model = GPTDecoder(SMALL_GPT).eval()
    ids = torch.randint(0, 90, (2, 12))
    logits = model(ids)
    assert logits.shape == (2, 12, 90)
    for t in (0, 5, 10):
        changed = ids.clone()
        changed[:, t + 1:] = torch.randint(0, 90, changed[:, t + 1:].shape)
        other = model(changed)
        torch.testing.assert_close(other[:, :t + 1], logits[:, :t + 1], atol=1e-6, rtol=0)
        assert not torch.allclose(other[:, t + 1:], logits[:, t + 1:])    # the future did change


def test_decoder_gradient_of_position_t_to_later_embeddings_is_exactly_zero():
    torch.manual_seed(0)
    model = GPTDecoder(SMALL_GPT).eval()
    ids = torch.randint(0, 90, (1, 8))
    embeddings = model.token_embeddings(ids).detach().requires_grad_(True)
    original = model.token_embeddings.forward
    model.token_embeddings.forward = lambda _ids: embeddings          # feed our leaf tensor
    try:
        logits = model(ids)
    finally:
        model.token_embeddings.forward = original
    (grad,) = torch.autograd.grad(logits[0, 3].sum(), embeddings)
    assert torch.all(grad[0, 4:] == 0) and torch.all(grad[0, :4].abs().sum(-1) > 0)


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_decoder_left_padding_with_a_mask_gives_the_unpadded_logits(positions):
    torch.manual_seed(0)
    model = GPTDecoder(GPTConfig(**{**SMALL_GPT.__dict__, "positions": positions})).eval()
    ids = torch.randint(1, 90, (1, 6))
    padded = torch.cat([torch.zeros(1, 3, dtype=torch.long), ids], dim=1)   # 3 pads in front
    mask = torch.tensor([[0] * 3 + [1] * 6])
    with torch.no_grad():
        alone, batched = model(ids), model(padded, attention_mask=mask)
        unmasked = model(padded)
    torch.testing.assert_close(batched[:, 3:], alone, atol=1e-5, rtol=0)
    assert (unmasked[:, 3:] - alone).abs().max() > 1e-3    # without the mask the pads leak in


def test_decoder_attention_weights_are_lower_triangular():
    model = GPTDecoder(SMALL_GPT).eval()
    logits, attentions = model(torch.randint(0, 90, (1, 7)), output_attentions=True)
    assert len(attentions) == 3 and attentions[0].shape == (1, 2, 7, 7)
    for weights in attentions:
        assert torch.all(weights.triu(diagonal=1) == 0)
        torch.testing.assert_close(weights.sum(-1), torch.ones(1, 2, 7))


# --------------------------------------------------------------------------------------------
# MiniLM: our loader and encoder against transformers
# --------------------------------------------------------------------------------------------

SENTENCES = ["A man is eating food.", "A man is eating a piece of bread.",
             "The girl is carrying a baby.", "Transformers use self-attention; LSTMs do not!"]


@pytest.fixture(scope="module")
def hf_minilm():
    import transformers
    folder = str(minilm_folder())
    model = transformers.BertModel.from_pretrained(folder, attn_implementation="eager").eval()
    tokenizer = transformers.BertTokenizerFast.from_pretrained(folder)
    return model, tokenizer


def test_minilm_hidden_states_and_attentions_match_transformers(hf_minilm):
    hf_model, hf_tokenizer = hf_minilm
    model, _ = load_minilm()
    batch = hf_tokenizer(SENTENCES[:3], ["And a second segment.", "B.", "Yes"],
                         padding=True, return_tensors="pt")
    with torch.no_grad():
        theirs = hf_model(**batch, output_attentions=True)
        ours = model(batch["input_ids"], attention_mask=batch["attention_mask"],
                     token_type_ids=batch["token_type_ids"])
    real = batch["attention_mask"].bool()                 # compare real tokens, not padding
    assert int(batch["token_type_ids"].max()) == 1        # sentence B's segment is exercised
    torch.testing.assert_close(ours.last_hidden_state[real], theirs.last_hidden_state[real],
                               atol=1e-5, rtol=0)
    assert len(ours.attentions) == len(theirs.attentions) == 6
    for a, b in zip(ours.attentions, theirs.attentions):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.pooler_output, theirs.pooler_output, atol=1e-5, rtol=0)


def test_minilm_sentence_embeddings_match_transformers_to_1e_5(hf_minilm):
    hf_model, hf_tokenizer = hf_minilm
    batch = hf_tokenizer(SENTENCES, padding=True, truncation=True, max_length=256,
                         return_tensors="pt")
    with torch.no_grad():
        hidden = hf_model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    theirs = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    ours = sentence_embeddings(SENTENCES)                 # our tokenizer, model and pooling
    assert ours.shape == (4, 384)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


def test_minilm_similarity_of_the_eating_sentences_is_0_755():
    embeddings = sentence_embeddings(SENTENCES[:3])
    assert round(float(embeddings[0] @ embeddings[1]), 3) == 0.755
    assert float(embeddings[0] @ embeddings[2]) < 0.2      # an unrelated sentence is far


def test_mean_pool_ignores_padding():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    torch.testing.assert_close(mean_pool(hidden, torch.tensor([[1, 1, 0]])),
                               torch.tensor([[2.0, 3.0]]))
    with pytest.raises(ValueError, match="'attention_mask' argument of mean_pool"):
        mean_pool(hidden, torch.ones(1, 2))


def test_padding_does_not_change_a_sentence_embedding():
    alone = sentence_embeddings(SENTENCES[0])
    padded = sentence_embeddings([SENTENCES[0], SENTENCES[3]])[0]  # padded to the longer one
    torch.testing.assert_close(padded, alone[0], atol=1e-6, rtol=0)


# --------------------------------------------------------------------------------------------
# The loader checks every name and shape before copying
# --------------------------------------------------------------------------------------------

def test_read_safetensors_reads_every_tensor_of_minilm():
    state = read_safetensors(minilm_folder() / "model.safetensors")
    assert len(state) == 104 and state["embeddings.word_embeddings.weight"].shape == (30522, 384)
    assert state["embeddings.position_ids"].dtype == torch.int64
    assert torch.equal(state["embeddings.position_ids"][0], torch.arange(512))


def test_loader_lists_missing_unexpected_and_mismatched_names_and_copies_nothing():
    state = dict(read_safetensors(minilm_folder() / "model.safetensors"))
    del state["encoder.layer.3.output.dense.bias"]
    state["encoder.layer.0.attention.self.rotary.weight"] = torch.zeros(3)
    state["encoder.layer.5.intermediate.dense.weight"] = torch.zeros(1536, 385)
    config = BertConfig(vocab_size=30522, d_model=384, num_layers=6, num_heads=12, d_ff=1536)
    model = BertEncoder(config)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointMismatchError) as error:
        load_bert_weights(model, state)
    message = str(error.value)
    assert "1 missing from the checkpoint:\n  blocks.3.ffn.ffn_out.bias" in message
    assert "1 unexpected in the checkpoint:\n  encoder.layer.0.attention.self.rotary.weight" in message
    assert ("encoder.layer.5.intermediate.dense.weight -> blocks.5.ffn.ffn_in.weight: "
            "checkpoint [1536, 385], model [1536, 384]") in message
    assert "nothing was copied" in message
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name]), name


def test_loader_reads_a_random_transformers_checkpoint(tmp_path):
    import transformers
    torch.manual_seed(0)
    hf_config = transformers.BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2,
                                        num_attention_heads=4, intermediate_size=37,
                                        max_position_embeddings=40, type_vocab_size=3)
    hf_model = transformers.BertModel(hf_config).eval()
    hf_model.save_pretrained(tmp_path)                        # config.json + model.safetensors
    model = load_bert(tmp_path)
    assert model.config.type_vocab_size == 3 and model.config.d_ff == 37
    ids = torch.randint(0, 99, (2, 11))
    types = torch.randint(0, 3, (2, 11))
    with torch.no_grad():
        theirs = hf_model(ids, token_type_ids=types)
        ours = model(ids, token_type_ids=types)
    torch.testing.assert_close(ours.last_hidden_state, theirs.last_hidden_state, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.pooler_output, theirs.pooler_output, atol=1e-5, rtol=0)


def test_gpt_decoder_loads_a_transformers_gpt2_and_computes_the_same_logits(tmp_path):
    """Same weights, same logits: GPTDecoder is GPT-2's architecture (pre-LN, tanh GELU, tied)."""
    import transformers
    torch.manual_seed(0)
    hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        vocab_size=97, n_positions=24, n_embd=32, n_layer=2, n_head=4)).eval()
    hf.save_pretrained(tmp_path)
    model = load_gpt2(tmp_path)
    assert model.config.activation == "gelu_tanh" and model.config.tie_embeddings
    assert model.lm_head.weight is model.token_embeddings.weight
    ids = torch.randint(0, 97, (2, 24))
    with torch.no_grad():
        torch.testing.assert_close(model(ids), hf(ids).logits, atol=1e-5, rtol=0)
    # a checkpoint of another shape is refused with the names that do not fit
    state = read_safetensors(tmp_path / "model.safetensors")
    with pytest.raises(CheckpointMismatchError, match=r"missing from the checkpoint:\n  blocks.2."):
        load_gpt2_weights(GPTDecoder(GPTConfig(vocab_size=97, max_positions=24, d_model=32,
                                               num_layers=3, num_heads=4, d_ff=128)), state)
