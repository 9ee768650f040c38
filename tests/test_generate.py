"""lmcore.generate (chapter 11) against transformers: the same tokens, the same filtered sets."""

import pytest
import torch

from lmcore.generate import generate, top_k_filter, top_p_filter
from lmcore.transformer import GPTConfig, GPTDecoder, load_gpt2

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A random GPT-2 made by transformers, and the same weights loaded into lmcore."""
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=97, n_positions=64, n_embd=32, n_layer=2,
                                     n_head=4, bos_token_id=None, eos_token_id=None)
    hf = transformers.GPT2LMHeadModel(config).eval()
    folder = tmp_path_factory.mktemp("gpt2")
    hf.save_pretrained(folder)
    return hf, load_gpt2(folder)


@pytest.mark.parametrize("num_beams", [1, 2, 4])
def test_greedy_and_beam_search_give_the_tokens_of_transformers(pair, num_beams):
    hf, ours = pair
    torch.manual_seed(1)
    prompt = torch.randint(0, 97, (3, 6))
    theirs = hf.generate(prompt, max_new_tokens=24, do_sample=False, num_beams=num_beams,
                         length_penalty=1.0, pad_token_id=0)
    mine = generate(ours, prompt, 24, num_beams=num_beams)
    assert mine.shape == (3, 30) and torch.equal(mine[:, :6], prompt)
    assert torch.equal(mine, theirs)


@pytest.mark.parametrize("settings", [dict(), dict(num_beams=3),
                                      dict(do_sample=True, temperature=0.7, top_k=20),
                                      dict(do_sample=True, top_p=0.9)])
def test_cache_on_and_off_give_identical_tokens(pair, settings):
    _, ours = pair
    prompt = torch.randint(0, 97, (2, 4), generator=torch.Generator().manual_seed(2))
    runs = [generate(ours, prompt, 30, use_cache=cache,
                     generator=torch.Generator().manual_seed(3), **settings)
            for cache in (True, False)]
    assert torch.equal(runs[0], runs[1])


def test_beam_search_is_at_least_as_likely_as_greedy(pair):
    _, ours = pair
    prompt = torch.randint(0, 97, (4, 3), generator=torch.Generator().manual_seed(4))

    def log_prob(ids):
        logp = torch.log_softmax(ours(ids), dim=-1)[:, 2:-1]            # predictions of new
        return logp.gather(-1, ids[:, 3:, None]).sum(dim=(1, 2))
    with torch.no_grad():
        greedy, beam = log_prob(generate(ours, prompt, 10)), log_prob(
            generate(ours, prompt, 10, num_beams=4))
    assert torch.all(beam >= greedy - 1e-4) and torch.any(beam > greedy + 1e-4)


@pytest.mark.parametrize("k", [1, 2, 5, 50, 200])
def test_top_k_keeps_the_set_of_the_transformers_warper(k):
    logits = torch.randn(8, 97, generator=torch.Generator().manual_seed(k))
    ours = top_k_filter(logits, k)
    theirs = transformers.TopKLogitsWarper(k)(None, logits.clone())
    assert torch.equal(torch.isinf(ours), torch.isinf(theirs))
    assert torch.equal(ours[~torch.isinf(ours)], logits[~torch.isinf(ours)])
    assert (~torch.isinf(ours)).sum(-1).min() >= 1


@pytest.mark.parametrize("p", [1e-6, 0.1, 0.5, 0.9, 0.99, 1.0])
@pytest.mark.parametrize("scale", [0.3, 3.0, 30.0])
def test_top_p_keeps_the_set_of_the_transformers_warper(p, scale):
    logits = scale * torch.randn(16, 97, generator=torch.Generator().manual_seed(7))
    ours = top_p_filter(logits, p)
    theirs = transformers.TopPLogitsWarper(p)(None, logits.clone())
    assert torch.equal(torch.isinf(ours), torch.isinf(theirs))
    kept = ~torch.isinf(ours)
    assert kept.sum(-1).min() >= 1
    assert torch.all(torch.softmax(logits, -1).masked_fill(~kept, 0).sum(-1) >= p - 1e-6)


def test_sampling_draws_from_the_renormalised_filtered_distribution(pair):
    """Every sampled token is in the filtered set; with the same generator, the same text."""
    _, ours = pair
    prompt = torch.zeros(200, 1, dtype=torch.long)
    with torch.no_grad():
        allowed = ~torch.isinf(top_k_filter(ours(prompt[:1])[:, -1], 3))[0]
    out = generate(ours, prompt, 1, do_sample=True, top_k=3,
                   generator=torch.Generator().manual_seed(0))
    assert allowed[out[:, 1]].all() and len(out[:, 1].unique()) > 1
    again = generate(ours, prompt, 1, do_sample=True, top_k=3,
                     generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_a_row_stops_at_the_end_token_and_is_filled_with_it(pair):
    _, ours = pair
    prompt = torch.randint(0, 97, (2, 4), generator=torch.Generator().manual_seed(5))
    free = generate(ours, prompt, 20)
    eos = int(free[0, 6])                                  # the row's third new token
    out = generate(ours, prompt, 20, eos_token_id=eos)
    assert torch.equal(out[0, :7], free[0, :7]) and torch.all(out[0, 7:] == eos)
    first = (free[1, 4:] == eos).nonzero()
    stop = 4 + int(first[0]) if len(first) else free.shape[1]
    assert torch.equal(out[1, :stop], free[1, :stop])
    if len(first) == 0:
        assert out.shape[1] == free.shape[1]


def test_left_padded_batch_gives_each_prompt_s_own_continuation(pair):
    _, ours = pair
    short = torch.tensor([[5, 6]])
    long = torch.tensor([[7, 8, 9, 10, 11]])
    batch = torch.tensor([[0, 0, 0, 5, 6], [7, 8, 9, 10, 11]])
    mask = torch.tensor([[0, 0, 0, 1, 1], [1, 1, 1, 1, 1]])
    for beams in (1, 3):
        for cache in (True, False):
            out = generate(ours, batch, 8, attention_mask=mask, num_beams=beams,
                           use_cache=cache)
            assert torch.equal(out[0, 3:], generate(ours, short, 8, num_beams=beams)[0])
            assert torch.equal(out[1], generate(ours, long, 8, num_beams=beams)[0])


def test_bad_arguments_are_named(pair):
    _, ours = pair
    prompt = torch.zeros(1, 3, dtype=torch.long)
    cases = [(dict(do_sample=True, temperature=0.0), "'temperature'"),
             (dict(do_sample=True, temperature=-1.0), "'temperature'"),
             (dict(do_sample=True, top_p=0.0), "'top_p'"),
             (dict(do_sample=True, top_p=1.5), "'top_p'"),
             (dict(do_sample=True, top_k=0), "'top_k'"),
             (dict(num_beams=0), "'num_beams'"),
             (dict(num_beams=2, do_sample=True), "'do_sample'")]
    for kwargs, name in cases:
        with pytest.raises((ValueError, TypeError), match=f"{name} argument of generate"):
            generate(ours, prompt, 5, **kwargs)
    with pytest.raises(ValueError, match="'input_ids' argument of generate .* 64 tokens"):
        generate(ours, torch.zeros(1, 65, dtype=torch.long), 1)
    with pytest.raises(ValueError, match="'max_new_tokens' argument of generate"):
        generate(ours, prompt, 62)
    with pytest.raises(TypeError, match="'model' argument of generate"):
        generate(torch.nn.Linear(2, 2), prompt, 5)
    with pytest.raises(ValueError, match="'k' argument of top_k_filter"):
        top_k_filter(torch.randn(5), 0)
    with pytest.raises(ValueError, match="'p' argument of top_p_filter"):
        top_p_filter(torch.randn(5), 1.01)


def test_generate_restores_training_mode():
    model = GPTDecoder(GPTConfig(vocab_size=11, max_positions=16, d_model=8, num_layers=1,
                                 num_heads=2, d_ff=16)).train()
    generate(model, torch.zeros(1, 2, dtype=torch.long), 3)
    assert model.training
