"""The smallest language models: unigram and bigram counts with add-k smoothing (chapter 1).

A language model gives a probability to the next token given the ones before it. A unigram
model looks at no token back, with add-k smoothing so that no word gets probability zero:

    p_1(w_t) = (n(w_t) + k) / (N + k V)

A bigram model looks one token back, and mixes in the unigram model (linear interpolation) so
that a pair never seen in training does not get probability zero:

    p_2(w_t | w_{t-1}) = lam * n(w_{t-1}, w_t) / n(w_{t-1}) + (1 - lam) * p_1(w_t)
Perplexity, exp of the mean negative log-probability per token, measures how surprised a model
is by held-out text: a model that spreads its bets evenly over V words has perplexity V.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from lmcore._validate import bad_argument, check_int, check_number

UNK = "<unk>"


class NGramLM:
    """A unigram (``order=1``) or bigram (``order=2``) language model over words."""

    def __init__(self, order: int = 2, k: float = 0.1, lam: float = 0.5, min_count: int = 2):
        check_int("NGramLM", "order", order, minimum=1)
        if order > 2:
            raise ValueError(bad_argument("NGramLM", "order", order, "1 (unigram) or 2 (bigram)"))
        self.order = order
        self.k = check_number("NGramLM", "k", k, positive=True)
        self.lam = check_number("NGramLM", "lam", lam, minimum=0.0, maximum=1.0)
        self.min_count = check_int("NGramLM", "min_count", min_count, minimum=1)
        self.vocab: dict[str, int] = {}

    def _ids(self, tokens: Sequence[str]) -> np.ndarray:
        unk = self.vocab[UNK]
        return np.fromiter((self.vocab.get(t, unk) for t in tokens), dtype=np.int64,
                           count=len(tokens))

    def fit(self, tokens: Sequence[str]) -> "NGramLM":
        """Count unigrams and bigrams; words seen fewer than ``min_count`` times become <unk>."""
        if isinstance(tokens, str) or not isinstance(tokens, (list, tuple)) or len(tokens) < 2:
            raise TypeError(bad_argument("NGramLM.fit", "tokens", tokens,
                                         "a list of at least two words"))
        frequency = Counter(tokens)
        words = sorted(w for w, n in frequency.items() if n >= self.min_count)
        self.vocab = {w: i for i, w in enumerate([UNK] + words)}
        self.words = [UNK] + words
        ids = self._ids(tokens)
        size = len(self.vocab)
        self.unigram_counts = np.bincount(ids, minlength=size).astype(np.float64)
        pair_index = ids[:-1] * size + ids[1:]
        unique, pair_counts = np.unique(pair_index, return_counts=True)
        self._pairs = dict(zip(unique.tolist(), pair_counts.tolist()))
        self._context_counts = np.bincount(ids[:-1], minlength=size).astype(np.float64)
        return self

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def _check_fitted(self) -> None:
        if not self.vocab:
            raise RuntimeError("This NGramLM is not fitted yet: call .fit(tokens) first.")

    def next_distribution(self, previous: str | None = None) -> np.ndarray:
        """p(next word | previous word) for every word of the vocabulary (sums to 1)."""
        self._check_fitted()
        size = self.vocab_size
        unigram = (self.unigram_counts + self.k) / (self.unigram_counts.sum() + self.k * size)
        if self.order == 1:
            return unigram
        prev = self.vocab.get(previous, self.vocab[UNK]) if previous is not None else self.vocab[UNK]
        if self._context_counts[prev] == 0:
            return unigram
        counts = np.zeros(size)
        base = prev * size
        for index, n in self._pairs.items():  # only pairs starting with `prev` contribute
            if base <= index < base + size:
                counts[index - base] = n
        return self.lam * counts / self._context_counts[prev] + (1 - self.lam) * unigram

    def log_probs(self, tokens: Sequence[str]) -> np.ndarray:
        """log p(w_t | history) for t = 1 .. len(tokens) - 1 (the first word is the context)."""
        self._check_fitted()
        ids = self._ids(list(tokens))
        size = self.vocab_size
        unigram = (self.unigram_counts[ids[1:]] + self.k) / (self.unigram_counts.sum() + self.k * size)
        if self.order == 1:
            return np.log(unigram)
        pair = (ids[:-1] * size + ids[1:]).tolist()
        counts = np.array([self._pairs.get(i, 0) for i in pair], dtype=np.float64)
        context = self._context_counts[ids[:-1]]
        bigram = np.divide(counts, context, out=np.zeros_like(counts), where=context > 0)
        lam = np.where(context > 0, self.lam, 0.0)
        return np.log(lam * bigram + (1 - lam) * unigram)

    def perplexity(self, tokens: Sequence[str]) -> float:
        """exp(mean negative log-probability per predicted token) on ``tokens``."""
        if isinstance(tokens, str) or len(tokens) < 2:
            raise ValueError(bad_argument("NGramLM.perplexity", "tokens", tokens,
                                          "a list of at least two words"))
        return float(np.exp(-self.log_probs(tokens).mean()))

    def generate(self, start: str, length: int, rng: np.random.Generator) -> list[str]:
        """Sample ``length`` words after ``start``, each from p(next | previous)."""
        check_int("NGramLM.generate", "length", length, minimum=0)
        words = [start]
        for _ in range(length):
            p = self.next_distribution(words[-1])
            words.append(self.words[int(rng.choice(self.vocab_size, p=p))])
        return words
