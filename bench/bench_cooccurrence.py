"""Benchmark: lmcore.cooccurrence_matrix (one numpy.bincount per distance) against the
pair-by-pair Python loop of chapter 3, on the same Shakespeare tokens, in one run.

Prints the median time of each over interleaved repetitions and their ratio.
Run: .venv/bin/python bench/bench_cooccurrence.py
"""

from __future__ import annotations

import statistics
import time
from collections import Counter

import numpy as np

import lmcore
from lmcore import cooccurrence_matrix


def loop_matrix(tokens, window, vocab):
    """The teaching version: a Python loop over every position and every neighbour."""
    index = {w: i for i, w in enumerate(vocab)}
    counts = np.zeros((len(vocab), len(vocab)), dtype=np.int64)
    for t, w in enumerate(tokens):
        i = index.get(w)
        if i is None:
            continue
        for s in range(max(0, t - window), min(len(tokens), t + window + 1)):
            j = index.get(tokens[s])
            if s != t and j is not None:
                counts[i, j] += 1
    return counts


def main(n_tokens: int = 200_000, window: int = 2, repeats: int = 3) -> None:
    tokens = lmcore.corpus_words("shakespeare")[:n_tokens]
    vocab = [w for w, _ in Counter(tokens).most_common(3000)]
    reference = loop_matrix(tokens, window, vocab)
    fast, _ = cooccurrence_matrix(tokens, window=window, vocab=vocab)
    assert (fast == reference).all(), "the two implementations disagree"
    times = {"lmcore (bincount)": [], "python loop": []}
    for _ in range(repeats):  # interleaved, so both see the same machine load
        start = time.perf_counter()
        cooccurrence_matrix(tokens, window=window, vocab=vocab)
        times["lmcore (bincount)"].append(time.perf_counter() - start)
        start = time.perf_counter()
        loop_matrix(tokens, window, vocab)
        times["python loop"].append(time.perf_counter() - start)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"co-occurrence counts, {n_tokens:,} tokens, window {window}, vocabulary {len(vocab):,}")
    for name, value in medians.items():
        print(f"  {name:<18} {value * 1000:8.1f} ms  ({n_tokens / value / 1e6:.2f} M tokens/s)")
    print(f"  ratio: lmcore is {medians['python loop'] / medians['lmcore (bincount)']:.0f}x "
          "faster than the loop")


if __name__ == "__main__":
    main()
