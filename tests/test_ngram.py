"""Chapter 1's bigram language model: proper distributions, perplexity, generation."""

from __future__ import annotations

import numpy as np
import pytest

from lmcore import NGramLM

TOKENS = "the cat sat on the mat the cat ate the rat".split() * 3


def test_next_word_distributions_sum_to_one_and_match_log_probs():
    model = NGramLM(order=2, min_count=1).fit(TOKENS)
    for previous in ["the", "cat", "unseen"]:
        p = model.next_distribution(previous)
        assert p.sum() == pytest.approx(1.0) and (p > 0).all()
    text = "the cat sat on the rat".split()
    expected = [np.log(model.next_distribution(a)[model.vocab[b]]) for a, b in zip(text, text[1:])]
    assert np.allclose(model.log_probs(text), expected)


def test_bigram_interpolation_by_hand():
    model = NGramLM(order=2, k=1.0, lam=0.5, min_count=1).fit(TOKENS)
    n_the = sum(1 for a in TOKENS[:-1] if a == "the")
    n_the_cat = sum(1 for a, b in zip(TOKENS, TOKENS[1:]) if (a, b) == ("the", "cat"))
    unigram_cat = (TOKENS.count("cat") + 1) / (len(TOKENS) + model.vocab_size)
    want = 0.5 * n_the_cat / n_the + 0.5 * unigram_cat
    assert model.next_distribution("the")[model.vocab["cat"]] == pytest.approx(want)


def test_uniform_perplexity_is_vocabulary_size_and_context_helps():
    unigram = NGramLM(order=1, k=1e9, min_count=1).fit(TOKENS)  # huge k: nearly uniform
    assert unigram.perplexity(TOKENS) == pytest.approx(unigram.vocab_size, rel=1e-6)
    bigram = NGramLM(order=2, min_count=1).fit(TOKENS)
    assert bigram.perplexity(TOKENS) < NGramLM(order=1, min_count=1).fit(TOKENS).perplexity(TOKENS)


def test_generation_is_reproducible_with_a_seed():
    model = NGramLM(min_count=1).fit(TOKENS)
    first = model.generate("the", 10, np.random.default_rng(3))
    assert first == model.generate("the", 10, np.random.default_rng(3))
    assert len(first) == 11 and set(first) <= set(model.words)


def test_errors():
    with pytest.raises(ValueError, match="'order'"):
        NGramLM(order=3)
    with pytest.raises(ValueError, match="'lam'"):
        NGramLM(lam=1.5)
    with pytest.raises(RuntimeError, match="not fitted"):
        NGramLM().next_distribution("a")
    with pytest.raises(TypeError, match="'tokens'"):
        NGramLM().fit("a string")
