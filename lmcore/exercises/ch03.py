"""Checkers of chapter 3, "Words as vectors"."""

from __future__ import annotations

from collections import Counter

import numpy as np

from lmcore.exercises import exercise, expect, typical_mistake

_PAIR_CASES = [
    ([["to", "be", "or", "not", "to", "be"]], 1),
    ([["to", "be", "or", "not", "to", "be"]], 2),
    ([["the", "king", "and", "the", "queen"], ["and", "the", "prince"]], 3),
    ([["a", "a", "a"]], 1),
    ([["word"], ["another", "word"]], 2),
    ([["o", "romeo", "romeo"], ["wherefore", "art", "thou", "romeo"]], 10),
]


def _reference_pairs(sentences, window):
    """Sum of 1/d over co-occurrences at distance d <= window inside one sentence."""
    counts = {}
    for words in sentences:
        for i, word in enumerate(words):
            for j in range(len(words)):
                d = abs(i - j)
                if 1 <= d <= window:
                    counts[(word, words[j])] = counts.get((word, words[j]), 0.0) + 1 / d
    return counts


@exercise("ch03.count_pairs", function_name="count_pairs", points=2,
          title="Count co-occurring pairs within a window", forbidden=("lmcore",))
def _check_count_pairs(count_pairs):
    for sentences, window in _PAIR_CASES:
        shown = " | ".join(" ".join(words) for words in sentences)
        got = count_pairs([list(words) for words in sentences], window)
        expect(isinstance(got, dict),
               f"count_pairs({sentences!r}, window={window}) should return a dict of "
               f"(word, context) -> weighted count; yours returned {type(got).__name__}.")
        want = _reference_pairs(sentences, window)
        for pair, n in sorted(want.items()):
            value = got.get(pair, 0)
            expect(abs(value - n) < 1e-9,
                   f"for the sentences {shown!r} and window={window} the weighted count "
                   f"of {pair} should be {n:.4f} (a sum of 1/d), yours is {value}.")
        extra = {pair: n for pair, n in got.items() if n and pair not in want}
        expect(not extra,
               f"for the sentences {shown!r} and window={window} you counted pairs that "
               f"are not within the window of one sentence: {dict(list(extra.items())[:3])}"
               ".")


_check_count_pairs.n_cases = len(_PAIR_CASES)


@typical_mistake("ch03.count_pairs")
def _unweighted(sentences, window):
    """The chapter's count_pairs_by_hand, sentence by sentence: every distance counts 1."""
    counts = Counter()
    for words in sentences:
        for i, word in enumerate(words):
            for j in range(max(0, i - window), min(len(words), i + window + 1)):
                if j != i:
                    counts[(word, words[j])] += 1
    return dict(counts)


@typical_mistake("ch03.count_pairs")
def _across_sentence_ends(sentences, window):
    """Weighted by 1/d, but the window runs on into the next sentence."""
    words = [w for sentence in sentences for w in sentence]
    counts = Counter()
    for i, word in enumerate(words):
        for j in range(max(0, i - window), min(len(words), i + window + 1)):
            if j != i:
                counts[(word, words[j])] += 1 / abs(i - j)
    return dict(counts)


@typical_mistake("ch03.count_pairs")
def _right_neighbours_only(sentences, window):
    counts = Counter()
    for words in sentences:
        for i, word in enumerate(words):
            for j in range(i + 1, min(len(words), i + window + 1)):
                counts[(word, words[j])] += 1 / (j - i)
    return dict(counts)


def _ppmi_cases():
    """(counts, alpha, shift): symmetric, square non-symmetric and rectangular matrices."""
    rng = np.random.default_rng(3)
    small = np.array([[0, 2, 1], [2, 0, 4], [1, 4, 0]], dtype=float)
    with_zero_row = np.array([[3, 0, 1, 0], [0, 0, 0, 0], [1, 0, 5, 2], [0, 0, 2, 0]],
                             dtype=float)
    symmetric = rng.poisson(1.5, size=(6, 6)).astype(float)
    symmetric = symmetric + symmetric.T
    # contexts to the left only: square, not symmetric
    one_sided = np.array([[0, 5, 1, 0], [1, 0, 0, 3], [4, 0, 0, 1], [0, 2, 6, 0]],
                         dtype=float)
    skewed = rng.poisson(2.0, size=(5, 5)).astype(float) * np.arange(1, 6)
    rectangular = rng.poisson(1.0, size=(4, 7)).astype(float)
    rectangular[:, 2] = 0                                  # a context never seen
    return [(small, 1.0, 1), (small, 0.75, 1), (with_zero_row, 0.75, 1),
            (symmetric, 0.75, 1), (symmetric, 0.5, 2), (one_sided, 0.75, 1),
            (one_sided, 1.0, 1), (skewed, 0.75, 1), (skewed, 0.75, 5),
            (rectangular, 0.75, 1), (rectangular, 0.75, 2)]


def _reference_ppmi(counts, alpha, shift):
    from lmcore.cooccurrence import ppmi
    return np.maximum(ppmi(counts, alpha=alpha) - np.log(shift), 0.0)


@exercise("ch03.ppmi_matrix", function_name="ppmi_matrix", points=3,
          title="PPMI with context-distribution smoothing",
          forbidden=("lmcore.ppmi", "lmcore.cooccurrence.ppmi"))
def _check_ppmi(ppmi_matrix):
    for counts, alpha, shift in _ppmi_cases():
        kind = ("symmetric" if counts.shape[0] == counts.shape[1]
                and (counts == counts.T).all() else "non-symmetric")
        got = ppmi_matrix(counts.copy(), alpha, shift)
        got = np.asarray(got, dtype=float)
        expect(got.shape == counts.shape,
               f"for a {counts.shape} count matrix your result has shape {got.shape}.")
        expect(not np.isnan(got).any(),
               f"for counts\n{counts.astype(int)}\nwith alpha={alpha} your result holds NaN "
               f"(at {np.argwhere(np.isnan(got))[:3].tolist()}); pairs never seen, and zero "
               "rows, should get 0.")
        expect((got >= 0).all(),
               f"for alpha={alpha} your result has negative values (e.g. {got.min():.3f}); "
               "PPMI keeps only the positive part: max(0, PMI - log shift).")
        want = _reference_ppmi(counts, alpha, shift)
        worst = np.unravel_index(np.abs(got - want).argmax(), want.shape)
        expect(np.allclose(got, want, atol=1e-9),
               f"for the {kind} counts\n{counts.astype(int)}\nwith alpha={alpha} and "
               f"shift={shift}, entry {tuple(map(int, worst))} should be "
               f"{want[worst]:.4f}, yours is {got[worst]:.4f}. (p(w) comes from the row "
               "sums, p_alpha(c) from the column sums.)")


_check_ppmi.n_cases = len(_ppmi_cases())


@typical_mistake("ch03.ppmi_matrix")
def _pmi_without_clipping(counts, alpha=0.75, shift=1):
    total = counts.sum()
    context = counts.sum(0) ** alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log((counts / total) / ((counts.sum(1, keepdims=True) / total)
                                         * (context / context.sum()))) - np.log(shift)
    pmi[counts == 0] = 0
    return pmi


@typical_mistake("ch03.ppmi_matrix")
def _smoothing_ignored(counts, alpha=0.75, shift=1):
    total = counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log((counts / total) / ((counts.sum(1, keepdims=True) / total)
                                         * (counts.sum(0) / total))) - np.log(shift)
    pmi[counts == 0] = 0
    return np.maximum(pmi, 0)


@typical_mistake("ch03.ppmi_matrix")
def _marginals_swapped(counts, alpha=0.75, shift=1):
    """The word marginal from the column sums, the smoothing on the row sums: the same
    numbers as the right answer on a symmetric matrix, wrong on any other."""
    total = counts.sum()
    p_word = counts.sum(axis=0)[:, None] / total          # column sums: the wrong axis
    smoothed = counts.sum(axis=1) ** alpha                # row sums: the wrong axis
    p_context = (smoothed / smoothed.sum())[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log((counts / total) / (p_word * p_context))
    pmi = pmi - np.log(shift)
    pmi[(counts == 0) | ~np.isfinite(pmi)] = 0
    return np.maximum(pmi, 0)


@typical_mistake("ch03.ppmi_matrix")
def _shift_ignored(counts, alpha=0.75, shift=1):
    return _reference_ppmi(np.asarray(counts, dtype=float), alpha, 1)
