"""The causal LM objective and chapter 11's small GPT recipe (tiny settings, real corpus)."""

import dataclasses
import math

import pytest
import torch

from lmcore.causal_lm import causal_lm_loss, random_windows, token_windows, window_log_probs
from lmcore.generate import distinct_n, repeated_ngrams
from lmcore.transformer import GPTConfig, GPTDecoder, init_gpt2_weights

TINY = GPTConfig(vocab_size=40, max_positions=16, d_model=16, num_layers=2, num_heads=2,
                 d_ff=32, dropout=0.0)


def test_one_pass_loss_equals_the_loss_of_every_prefix_run_alone():
    torch.manual_seed(0)
    model = GPTDecoder(TINY).eval()
    windows = torch.randint(0, 40, (2, 9))
    with torch.no_grad():
        one_pass = causal_lm_loss(model, windows)
        terms = [torch.log_softmax(model(windows[:, :t])[:, -1], -1).gather(
            1, windows[:, t:t + 1]) for t in range(1, 9)]
    torch.testing.assert_close(one_pass, -torch.cat(terms, 1).mean(), atol=1e-5, rtol=0)


def test_window_log_probs_score_every_token_but_the_first_of_each_window():
    torch.manual_seed(0)
    model = GPTDecoder(TINY).eval()
    stream = torch.randint(0, 40, (50,))
    log_probs, positions = window_log_probs(model, stream, 8, batch_size=2)
    assert len(log_probs) == 6 * 7 and positions.tolist()[:8] == [1, 2, 3, 4, 5, 6, 7, 9]
    with torch.no_grad():
        windows = token_windows(stream, 8)
        loss = causal_lm_loss(model, windows)
    assert math.isclose(float(-log_probs.mean()), float(loss), rel_tol=1e-5)


def test_random_windows_are_slices_of_the_stream():
    stream = torch.arange(100)
    windows = random_windows(stream, 5, 10, torch.Generator().manual_seed(0))
    assert windows.shape == (5, 10)
    assert torch.all(windows[:, 1:] - windows[:, :-1] == 1) and int(windows.max()) < 100
    with pytest.raises(ValueError, match="'tokens' argument of random_windows"):
        random_windows(torch.arange(5), 2, 10)


def test_gpt2_initialisation_gives_a_near_uniform_first_guess():
    torch.manual_seed(0)
    model = init_gpt2_weights(GPTDecoder(GPTConfig(vocab_size=2048, max_positions=32,
                                                   d_model=128, num_layers=4, num_heads=4,
                                                   d_ff=512, dropout=0.0)))
    with torch.no_grad():
        loss = causal_lm_loss(model, torch.randint(0, 2048, (4, 33)))
    assert abs(float(loss) - math.log(2048)) < 0.1      # uniform guessing: log V


def test_distinct_n_and_repeated_ngrams():
    assert distinct_n([1, 2, 3, 4], 2) == 1.0
    assert distinct_n([1, 2, 1, 2, 1, 2], 2) == 2 / 5
    assert repeated_ngrams([5] * 10, 4) == 1 - 1 / 7
    with pytest.raises(ValueError, match="'tokens' argument of distinct_n"):
        distinct_n([1], 2)


@pytest.mark.slow
def test_small_gpt_recipe_saves_a_gpt2_checkpoint_transformers_generates_with(
        tmp_path, monkeypatch):
    """Tiny settings on the real corpus: the folder is a GPT-2 checkpoint; transformers and
    lmcore generate the same tokens from it; the n-gram baselines score the same tokens."""
    transformers = pytest.importorskip("transformers")
    from lmcore import zoo
    from lmcore.generate import generate
    monkeypatch.setenv("LMCORE_CACHE", str(tmp_path))
    settings = dataclasses.replace(zoo.SMALL_GPT, vocab_size=300, context=32, d_model=32,
                                   num_layers=1, d_ff=64, steps=3, warmup_steps=1,
                                   eval_windows=4, eval_every=3)
    folder = zoo.small_gpt(settings, progress=False)
    assert folder.parent == tmp_path and folder.name.startswith(settings.name)
    model, tokenizer = zoo.load_small_gpt(settings)
    hf = transformers.GPT2LMHeadModel.from_pretrained(folder).eval()
    ids = torch.tensor([tokenizer.encode("To be, or not to be")])
    assert torch.equal(generate(model, ids, 10), hf.generate(ids, max_new_tokens=10,
                                                             do_sample=False,
                                                             pad_token_id=0))
    record = __import__("json").loads((folder / "training.json").read_text())
    results = record["results"]
    assert results["bigram"]["tokens"] == results["gpt"]["tokens"] == 4 * 31
    assert record["held_out_documents"] == ["The Tempest", "Twelfth Night"]
    with pytest.raises(TypeError, match="'settings' argument of small_gpt"):
        zoo.small_gpt("big")
