"""The decoder's KV cache (chapter 11) is exact: cached logits equal a full forward pass."""

import pytest
import torch

from lmcore.transformer import DecoderOutput, GPTConfig, GPTDecoder

SMALL = GPTConfig(vocab_size=90, max_positions=32, d_model=32, num_layers=3, num_heads=4,
                  d_ff=64, dropout=0.0)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return GPTDecoder(SMALL).eval()


def test_plain_call_still_returns_logits(model):
    ids = torch.randint(0, 90, (2, 5))
    assert isinstance(model(ids), torch.Tensor)
    out = model(ids, use_cache=True)
    assert isinstance(out, DecoderOutput) and out.attentions == ()
    assert len(out.past_key_values) == 3
    assert out.past_key_values[0][0].shape == (2, 4, 5, 8)
    torch.testing.assert_close(out.logits, model(ids), atol=1e-5, rtol=0)


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_token_by_token_with_the_cache_equals_one_full_pass(positions):
    torch.manual_seed(1)
    model = GPTDecoder(GPTConfig(**{**SMALL.__dict__, "positions": positions})).eval()
    ids = torch.randint(0, 90, (3, 12))
    with torch.no_grad():
        full = model(ids)                                        # [3, 12, 90]
        out = model(ids[:, :4], use_cache=True)                  # a prompt of 4
        steps = [out.logits]
        for t in range(4, 12):                                   # then one token at a time
            out = model(ids[:, t:t + 1], past_key_values=out.past_key_values, use_cache=True)
            steps.append(out.logits)
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=0)
    assert out.past_key_values[-1][1].shape == (3, 4, 12, 8)


def test_cached_attention_weights_match_the_last_rows_of_the_full_ones(model):
    ids = torch.randint(0, 90, (1, 7))
    with torch.no_grad():
        _, full = model(ids, output_attentions=True)
        past = model(ids[:, :6], use_cache=True).past_key_values
        out = model(ids[:, 6:], past_key_values=past, use_cache=True, output_attentions=True)
    for ours, theirs in zip(out.attentions, full):
        assert ours.shape == (1, 4, 1, 7)
        torch.testing.assert_close(ours, theirs[:, :, 6:], atol=1e-6, rtol=0)


def test_left_padded_batch_with_the_cache_equals_each_prompt_alone(model):
    torch.manual_seed(2)
    short, long = torch.randint(1, 90, (1, 3)), torch.randint(1, 90, (1, 6))
    batch = torch.cat([torch.cat([torch.zeros(1, 3, dtype=torch.long), short], 1), long])
    mask = torch.tensor([[0, 0, 0, 1, 1, 1], [1] * 6])
    nxt = torch.randint(1, 90, (2, 1))
    with torch.no_grad():
        out = model(batch, attention_mask=mask, use_cache=True)
        mask2 = torch.cat([mask, torch.ones(2, 1, dtype=torch.long)], dim=1)
        step = model(nxt, attention_mask=mask2, past_key_values=out.past_key_values,
                     use_cache=True)
        alone_short = model(torch.cat([short, nxt[:1]], 1))
        alone_long = model(torch.cat([long, nxt[1:]], 1))
    torch.testing.assert_close(out.logits[0, 3:], alone_short[0, :3], atol=1e-5, rtol=0)
    torch.testing.assert_close(step.logits[0, -1], alone_short[0, -1], atol=1e-5, rtol=0)
    torch.testing.assert_close(step.logits[1, -1], alone_long[0, -1], atol=1e-5, rtol=0)


def test_bad_caches_and_masks_are_named(model):
    ids = torch.randint(0, 90, (2, 4))
    past = model(ids, use_cache=True).past_key_values
    with pytest.raises(ValueError, match="'past_key_values' argument of GPTDecoder.forward"):
        model(ids[:, :1], past_key_values=past[:2], use_cache=True)
    with pytest.raises(ValueError, match="'past_key_values' argument of GPTDecoder.forward"):
        model(ids[:1, :1], past_key_values=past, use_cache=True)        # batch of 1 vs 2
    with pytest.raises(ValueError, match=r"'attention_mask' argument .* \[2, 5\]"):
        model(ids[:, :1], attention_mask=torch.ones(2, 1), past_key_values=past)
    with pytest.raises(ValueError, match=r"33 tokens \(30 cached\)"):
        long = model(torch.randint(0, 90, (1, 30)), use_cache=True).past_key_values
        model(torch.randint(0, 90, (1, 3)), past_key_values=long)
