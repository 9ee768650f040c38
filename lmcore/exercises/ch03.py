"""Checkers of chapter 3, "Words as vectors"."""

from __future__ import annotations

from collections import Counter

import numpy as np

from lmcore.exercises import exercise, expect, typical_mistake

_PAIR_CASES = [
    ("to be or not to be".split(), 1),
    ("to be or not to be".split(), 2),
    ("the king and the queen and the prince".split(), 3),
    ("a a a".split(), 1),
    ("word".split(), 2),
    ("o romeo romeo wherefore art thou romeo".split(), 10),
]


def _reference_pairs(tokens, window):
    counts = Counter()
    for i, word in enumerate(tokens):
        for j in range(max(0, i - window), min(len(tokens), i + window + 1)):
            if j != i:
                counts[(word, tokens[j])] += 1
    return counts


@exercise("ch03.count_pairs", function_name="count_pairs", points=2,
          title="Count co-occurring pairs within a window", forbidden=("lmcore",))
def _check_count_pairs(count_pairs):
    for tokens, window in _PAIR_CASES:
        got = count_pairs(list(tokens), window)
        expect(isinstance(got, dict),
               f"count_pairs({tokens!r}, window={window}) should return a dict (a Counter is "
               f"fine) of (word, context) -> count; yours returned {type(got).__name__}.")
        want = _reference_pairs(tokens, window)
        for pair, n in sorted(want.items()):
            expect(got.get(pair, 0) == n,
                   f"for tokens {' '.join(tokens)!r} and window={window} the count of {pair} "
                   f"should be {n}, yours is {got.get(pair, 0)}.")
        extra = {pair: n for pair, n in got.items() if n and pair not in want}
        expect(not extra,
               f"for tokens {' '.join(tokens)!r} and window={window} you counted pairs that do "
               f"not co-occur within the window: {dict(list(extra.items())[:3])}.")


_check_count_pairs.n_cases = len(_PAIR_CASES)


@typical_mistake("ch03.count_pairs")
def _right_neighbours_only(tokens, window):
    counts = Counter()
    for i, word in enumerate(tokens):
        for j in range(i + 1, min(len(tokens), i + window + 1)):
            counts[(word, tokens[j])] += 1
    return counts


@typical_mistake("ch03.count_pairs")
def _off_by_one_window(tokens, window):
    counts = Counter()
    for i, word in enumerate(tokens):
        for j in range(max(0, i - window + 1), min(len(tokens), i + window)):
            if j != i:
                counts[(word, tokens[j])] += 1
    return counts


def _ppmi_cases():
    rng = np.random.default_rng(3)
    small = np.array([[0, 2, 1], [2, 0, 4], [1, 4, 0]], dtype=float)
    with_zero_row = np.array([[3, 0, 1, 0], [0, 0, 0, 0], [1, 0, 5, 2], [0, 0, 2, 0]], dtype=float)
    random = rng.poisson(1.5, size=(6, 6)).astype(float)
    random = random + random.T
    return [(small, 1.0), (small, 0.75), (with_zero_row, 0.75), (random, 0.75), (random, 0.5)]


@exercise("ch03.ppmi_matrix", function_name="ppmi_matrix", points=3,
          title="PPMI with context-distribution smoothing",
          forbidden=("lmcore.ppmi", "lmcore.cooccurrence.ppmi"))
def _check_ppmi(ppmi_matrix):
    from lmcore.cooccurrence import ppmi
    for counts, alpha in _ppmi_cases():
        got = ppmi_matrix(counts.copy(), alpha)
        got = np.asarray(got, dtype=float)
        expect(got.shape == counts.shape,
               f"for a {counts.shape} count matrix your result has shape {got.shape}.")
        expect(not np.isnan(got).any(),
               f"for counts\n{counts.astype(int)}\nwith alpha={alpha} your result holds NaN "
               f"(at {np.argwhere(np.isnan(got))[:3].tolist()}); pairs never seen, and zero "
               "rows, should get 0.")
        expect((got >= 0).all(),
               f"for alpha={alpha} your result has negative values (e.g. {got.min():.3f}); "
               "PPMI keeps only the positive part: max(0, PMI).")
        want = ppmi(counts, alpha=alpha)
        worst = np.unravel_index(np.abs(got - want).argmax(), want.shape)
        expect(np.allclose(got, want, atol=1e-9),
               f"for counts\n{counts.astype(int)}\nwith alpha={alpha}, entry {tuple(map(int, worst))} "
               f"should be {want[worst]:.4f}, yours is {got[worst]:.4f}.")


_check_ppmi.n_cases = len(_ppmi_cases())


@typical_mistake("ch03.ppmi_matrix")
def _pmi_without_clipping(counts, alpha=0.75):
    total = counts.sum()
    context = counts.sum(0) ** alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log((counts / total) / ((counts.sum(1, keepdims=True) / total)
                                         * (context / context.sum())))
    pmi[counts == 0] = 0
    return pmi


@typical_mistake("ch03.ppmi_matrix")
def _smoothing_ignored(counts, alpha=0.75):
    total = counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log((counts / total) / ((counts.sum(1, keepdims=True) / total)
                                         * (counts.sum(0) / total)))
    pmi[counts == 0] = 0
    return np.maximum(pmi, 0)
