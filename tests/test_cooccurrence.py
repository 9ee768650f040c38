"""Chapter 3's formulas: co-occurrence counts, cosine similarity, PPMI, neighbours, SVD."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import lmcore
from lmcore import (cooccurrence_matrix, cooccurrence_probabilities, cosine_similarity,
                    nearest_neighbors, ppmi, truncated_svd)

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
nonnegative = st.floats(0, 1e3, allow_nan=False, allow_infinity=False)


def loop_counts(tokens, window):
    """Independent reference: the definition, one pair at a time."""
    counts = Counter()
    for t, w in enumerate(tokens):
        for s in range(max(0, t - window), min(len(tokens), t + window + 1)):
            if s != t:
                counts[(w, tokens[s])] += 1
    return counts


# ---------------------------------------------------------------- cosine similarity

@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, (2, 7), elements=finite))
def test_cosine_equals_torch_cosine_similarity(pair):
    a, b = pair
    if np.linalg.norm(a) < 1e-6 or np.linalg.norm(b) < 1e-6:
        return
    ours = cosine_similarity(a, b)
    theirs = torch.nn.functional.cosine_similarity(torch.from_numpy(a), torch.from_numpy(b), dim=0)
    assert isinstance(ours, float)
    assert ours == pytest.approx(float(theirs), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, (2, 6), elements=nonnegative),
       st.floats(1e-3, 1e3), st.floats(1e-3, 1e3))
def test_cosine_is_scale_invariant_and_in_unit_interval_for_nonnegative_vectors(pair, s, t):
    a, b = pair
    if np.linalg.norm(a) < 1e-3 or np.linalg.norm(b) < 1e-3:
        return
    value = cosine_similarity(a, b)
    assert -1e-12 <= value <= 1 + 1e-12
    assert cosine_similarity(s * a, t * b) == pytest.approx(value, abs=1e-9)


@given(arrays(np.float64, 5, elements=finite), st.floats(1e-3, 1e3))
def test_cosine_of_parallel_vectors_is_one(a, scale):
    if np.linalg.norm(a) < 1e-3:
        return
    assert cosine_similarity(a, scale * a) == pytest.approx(1.0, abs=1e-12)
    assert cosine_similarity(a, -scale * a) == pytest.approx(-1.0, abs=1e-12)


def test_cosine_row_by_row_for_numpy_and_torch():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    rows = cosine_similarity(a, b)
    assert rows.shape == (4,)
    assert np.allclose(rows, [cosine_similarity(x, y) for x, y in zip(a, b)])
    as_torch = cosine_similarity(torch.from_numpy(a), torch.from_numpy(b))
    assert torch.is_tensor(as_torch)
    assert np.allclose(as_torch.numpy(), rows)
    assert isinstance(cosine_similarity(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])), float)
    assert cosine_similarity([1, 0], [1, 1]) == pytest.approx(1 / math.sqrt(2))


@pytest.mark.parametrize("a, b, message", [
    (np.zeros(3), np.ones(3), "'a' is the zero vector"),
    (np.ones(3), np.zeros(3), "'b' is the zero vector"),
    (np.ones((2, 3)), np.array([[1, 1, 1], [0, 0, 0]]), "row(s) [1] of 'b'"),
    (torch.zeros(3), torch.ones(3), "'a' is the zero vector"),
    (np.ones(3), np.ones(4), "same shape. Got (3,) and (4,)"),
    (np.ones((2, 3)), np.ones((3, 3)), "same shape"),
    (np.ones((2, 2, 2)), np.ones((2, 2, 2)), "two 1-D vectors or two 2-D arrays"),
])
def test_cosine_errors_name_the_problem(a, b, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        cosine_similarity(a, b)


# ---------------------------------------------------------------- co-occurrence counts

@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=40), st.integers(1, 6))
def test_counts_equal_the_definition(tokens, window):
    counts, vocab = cooccurrence_matrix(tokens, window=window)
    want = loop_counts(tokens, window)
    for (w, c), n in want.items():
        assert counts[vocab[w], vocab[c]] == n
    assert counts.sum() == sum(want.values())
    assert (counts == counts.T).all()


def test_counts_example_by_hand():
    counts, vocab = cooccurrence_matrix("to be or not to be".split(), window=2)
    assert counts[vocab["be"], vocab["to"]] == 2   # be(1): to; be(5): to(4) -- and not(3)->be
    assert counts[vocab["to"], vocab["to"]] == 0   # the two "to" are 4 apart
    assert counts[vocab["be"], vocab["not"]] == 2
    assert list(vocab) == ["be", "to", "not", "or"]  # most frequent first, ties alphabetical


def test_words_outside_the_vocabulary_keep_their_positions():
    counts, vocab = cooccurrence_matrix("a x b".split(), window=1, vocab=["a", "b"])
    assert counts.sum() == 0  # a and b are two apart: the x between them still counts
    counts, _ = cooccurrence_matrix("a x b".split(), window=2, vocab={"a": 0, "b": 1})
    assert counts[0, 1] == counts[1, 0] == 1


def test_min_count_and_probabilities():
    tokens = "a b a c a b".split()
    counts, vocab = cooccurrence_matrix(tokens, window=1, min_count=2)
    assert set(vocab) == {"a", "b"}
    p = cooccurrence_probabilities(counts)
    assert p.sum() == pytest.approx(1.0) and (p >= 0).all()


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(tokens="to be or not", window=2), TypeError, "a list of words"),
    (dict(tokens=None), TypeError, "'tokens' argument"),
    (dict(tokens=[]), ValueError, "empty corpus"),
    (dict(tokens=["a", 3]), TypeError, "position 1 holds 3"),
    (dict(tokens=["a", "b"], window=0), ValueError, "'window' argument of cooccurrence_matrix must be an int >= 1. Got 0"),
    (dict(tokens=["a", "b"], window=1.5), TypeError, "'window'"),
    (dict(tokens=["a", "b"], window=True), TypeError, "'window'"),
    (dict(tokens=["a", "b"], min_count=0), ValueError, "'min_count'"),
    (dict(tokens=["a", "b"], min_count=5), ValueError, "min_count=5"),
    (dict(tokens=["a", "b"], vocab=["a", "a"]), ValueError, "more than once"),
    (dict(tokens=["a", "b"], vocab={"a": 0, "b": 5}), ValueError, "rows 0..V-1"),
    (dict(tokens=["a", "b"], vocab=[]), ValueError, "empty"),
    (dict(tokens=["a", "b"], vocab="ab"), TypeError, "'vocab'"),
])
def test_cooccurrence_errors_name_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message.replace(".", r"\.").replace("(", r"\(")):
        cooccurrence_matrix(**kwargs)


def test_a_huge_vocabulary_is_refused_before_allocating():
    tokens = [f"w{i}" for i in range(25_000)]
    with pytest.raises(ValueError, match="min_count"):
        cooccurrence_matrix(tokens)


# ---------------------------------------------------------------- PPMI

def ppmi_by_definition(n, alpha):
    total = n.sum()
    context = n.sum(0) ** alpha
    out = np.zeros_like(n, dtype=float)
    for w in range(n.shape[0]):
        for c in range(n.shape[1]):
            if n[w, c] > 0:
                value = math.log((n[w, c] / total) / (n[w].sum() / total * context[c] / context.sum()))
                out[w, c] = max(0.0, value)
    return out


@settings(max_examples=100, deadline=None)
@given(arrays(np.int64, (5, 4), elements=st.integers(0, 20)), st.sampled_from([0.5, 0.75, 1.0]))
def test_ppmi_equals_definition_never_negative_never_nan(counts, alpha):
    result = ppmi(counts, alpha=alpha)
    assert not np.isnan(result).any() and (result >= 0).all()
    if counts.sum() > 0:
        assert np.allclose(result, ppmi_by_definition(counts, alpha), atol=1e-9)


def test_ppmi_of_independent_counts_is_zero_and_smoothing_lowers_rare_contexts():
    independent = np.outer([1, 2, 3], [4, 1, 2]).astype(float)
    assert np.allclose(ppmi(independent, alpha=1.0), 0)
    counts = np.array([[50, 1], [50, 0], [10, 0]], dtype=float)
    # the rare context (column 1) is less surprising once its probability is smoothed up
    assert ppmi(counts, alpha=0.75)[0, 1] < ppmi(counts, alpha=1.0)[0, 1]


def test_ppmi_handles_zero_rows_columns_and_all_zero():
    counts = np.array([[0, 0, 0], [0, 3, 0], [0, 0, 0]])
    assert (ppmi(counts) == 0).all()
    assert (ppmi(np.zeros((2, 2))) == 0).all()


@pytest.mark.parametrize("counts, alpha, message", [
    (np.array([[1, -1], [0, 1]]), 0.75, "non-negative"),
    (np.array([1, 2, 3]), 0.75, "2-D"),
    (np.array([[1, np.nan], [0, 1]]), 0.75, "NaN"),
    (np.ones((2, 2)), 0, "'alpha'"),
    (np.ones((2, 2)), 1.5, "'alpha'"),
])
def test_ppmi_errors(counts, alpha, message):
    with pytest.raises(ValueError, match=message):
        ppmi(counts, alpha=alpha)


# ---------------------------------------------------------------- neighbours and SVD

def test_nearest_neighbors_ranks_by_cosine_and_breaks_ties_alphabetically():
    vocab = {"a": 0, "b": 1, "c": 2, "d": 3}
    matrix = np.array([[1, 0], [1, 0.1], [0, 1], [1, 0.1]], dtype=float)
    result = nearest_neighbors("a", matrix, vocab, k=3)
    assert [w for w, _ in result] == ["b", "d", "c"]
    assert result[0][1] == pytest.approx(cosine_similarity(matrix[0], matrix[1]))
    assert result[2][1] == pytest.approx(0.0)


def test_unknown_word_names_the_closest_words():
    vocab = {"king": 0, "kings": 1, "queen": 2}
    with pytest.raises(KeyError, match="Closest words that are: king"):
        nearest_neighbors("kinng", np.eye(3), vocab)


def test_neighbour_errors():
    vocab = {"a": 0, "b": 1}
    with pytest.raises(ValueError, match="all zeros"):
        nearest_neighbors("a", np.array([[0, 0], [1, 1]]), vocab)
    with pytest.raises(ValueError, match="3 rows but 'vocab' has 2"):
        nearest_neighbors("a", np.eye(3), vocab)
    with pytest.raises(ValueError, match="'k'"):
        nearest_neighbors("a", np.eye(2), vocab, k=0)


def test_truncated_svd_is_the_best_rank_k_projection():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 5))
    coords = truncated_svd(x, k=2)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    assert np.allclose(np.abs(coords), np.abs(u[:, :2] * s[:2]))
    # projecting onto the top-2 right singular vectors gives the same coordinates (up to sign)
    assert np.allclose(np.abs(x @ vt[:2].T), np.abs(coords))
    assert np.allclose(truncated_svd(x, k=2), truncated_svd(x.copy(), k=2))
    with pytest.raises(ValueError, match="at most"):
        truncated_svd(x, k=6)


def test_public_names_resolve():
    for name in ["cosine_similarity", "cooccurrence_matrix", "ppmi", "nearest_neighbors",
                 "load_corpus", "check", "NGramLM", "set_seed", "show_source"]:
        assert callable(getattr(lmcore, name))
    with pytest.raises(AttributeError):
        lmcore.no_such_name
