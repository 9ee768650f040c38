"""What a fine-tuned model has to beat (chapter 10).

Three baselines for three-way sentiment (negative, neutral, positive), each a real tool or a
standard method, fitted only on the training and validation splits:

* **majority class**: always the most frequent training label;
* **VADER** (Hutto & Gilbert 2014), a rule-based analyser with a human-rated lexicon. It gives a
  *compound* score in [-1, 1]; three classes need two thresholds::

      negative if compound < low,   positive if compound > high,   neutral otherwise

  :func:`fit_vader_thresholds` picks ``(low, high)`` on a grid to maximise macro-F1 on the
  validation split (VADER's authors suggest -0.05 and 0.05);
* **bag of words + logistic regression**: a text becomes the vector of its word counts
  ``x`` (log-scaled, ``log(1 + count)``) over the training vocabulary, and the class
  probabilities are ``softmax(W x + b)``. Training minimises the mean cross-entropy plus
  ``l2 / 2 * ||W||^2`` with L-BFGS, a convex problem with one minimum.
"""

from __future__ import annotations

import collections
import re
from typing import Any, Sequence

import numpy as np

from lmcore._validate import bad_argument, check_int, check_number

__all__ = ["majority_class", "vader_compound", "fit_vader_thresholds", "vader_classes",
           "BagOfWordsClassifier"]


def _texts(function: str, texts: Any) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence) or not texts:
        raise TypeError(bad_argument(function, "texts", texts, "a non-empty list of str"))
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"The 'texts' argument of {function} must hold str; item {i} is "
                            f"{type(text).__name__}.")
    return list(texts)


def majority_class(train_labels: Sequence[int]) -> int:
    """The most frequent label (the smallest one on a tie)."""
    if isinstance(train_labels, str) or not train_labels:
        raise ValueError(bad_argument("majority_class", "train_labels", train_labels,
                                      "a non-empty sequence of labels"))
    counts = collections.Counter(train_labels)
    return min(counts, key=lambda label: (-counts[label], label))


def vader_compound(texts: Sequence[str]) -> np.ndarray:
    """VADER's compound score of each text (the ``vadersentiment`` package, unchanged)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    analyser = SentimentIntensityAnalyzer()
    texts = _texts("vader_compound", texts)
    return np.array([analyser.polarity_scores(t)["compound"] for t in texts])


def vader_classes(compound: np.ndarray, low: float, high: float) -> np.ndarray:
    """0 (negative) below ``low``, 2 (positive) above ``high``, 1 (neutral) between."""
    check_number("vader_classes", "low", low, minimum=-1.0, maximum=1.0)
    check_number("vader_classes", "high", high, minimum=-1.0, maximum=1.0)
    if low > high:
        raise ValueError(f"The 'low' argument of vader_classes must be <= 'high'. "
                         f"Got low={low}, high={high}.")
    compound = np.asarray(compound, dtype=float)
    return np.where(compound < low, 0, np.where(compound > high, 2, 1))


def fit_vader_thresholds(compound: np.ndarray, labels: Sequence[int],
                         grid: Sequence[float] | None = None) -> tuple[float, float]:
    """The ``(low, high)`` on ``grid`` (default: -0.95 to 0.95 in steps of 0.05) whose classes
    have the highest macro-F1 against ``labels`` (the validation split)."""
    from lmcore.metrics import macro_f1
    compound = np.asarray(compound, dtype=float)
    labels = np.asarray(labels)
    if compound.shape != labels.shape or compound.ndim != 1:
        raise ValueError(f"The 'compound' and 'labels' arguments of fit_vader_thresholds must "
                         f"be 1-D and of the same length. Got shapes {compound.shape} and "
                         f"{labels.shape}.")
    grid = np.round(np.arange(-0.95, 0.951, 0.05), 2) if grid is None else np.asarray(grid)
    best = max(((macro_f1(labels, vader_classes(compound, lo, hi), [0, 1, 2]), -abs(lo + hi),
                 float(lo), float(hi)) for lo in grid for hi in grid if lo <= hi))
    return best[2], best[3]


_TOKEN = re.compile(r"[a-z0-9']+|[!?]")


def _words(text: str) -> list[str]:
    """Lower-cased words, numbers and ! ? marks; @mentions and links become one token each."""
    text = re.sub(r"https?://\S+", " URL ", text)
    text = re.sub(r"@\w+", " USER ", text)
    return _TOKEN.findall(text.lower())


class BagOfWordsClassifier:
    """Multinomial logistic regression on log-scaled word counts (see the module docstring)."""

    def __init__(self, num_classes: int = 3, min_count: int = 2, l2: float = 1e-4,
                 max_iter: int = 100):
        self.num_classes = check_int("BagOfWordsClassifier", "num_classes", num_classes, minimum=2)
        self.min_count = check_int("BagOfWordsClassifier", "min_count", min_count, minimum=1)
        self.l2 = check_number("BagOfWordsClassifier", "l2", l2, minimum=0.0)
        self.max_iter = check_int("BagOfWordsClassifier", "max_iter", max_iter, minimum=1)
        self.vocabulary: dict[str, int] = {}
        self.weight = None
        self.bias = None

    def features(self, texts: Sequence[str]):
        """The ``[len(texts), len(vocabulary)]`` matrix of ``log(1 + count)``, sparse."""
        import torch
        texts = _texts("BagOfWordsClassifier.features", texts)
        rows, cols, values = [], [], []
        for i, text in enumerate(texts):
            for word, count in collections.Counter(_words(text)).items():
                j = self.vocabulary.get(word)
                if j is not None:
                    rows.append(i), cols.append(j), values.append(np.log1p(count))
        index = torch.tensor([rows, cols], dtype=torch.long).reshape(2, -1)
        return torch.sparse_coo_tensor(index, torch.tensor(values, dtype=torch.float32),
                                       (len(texts), len(self.vocabulary)),
                                       check_invariants=True).coalesce()

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> "BagOfWordsClassifier":
        import torch
        texts = _texts("BagOfWordsClassifier.fit", texts)
        y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
        if y.shape != (len(texts),) or int(y.min()) < 0 or int(y.max()) >= self.num_classes:
            raise ValueError(bad_argument("BagOfWordsClassifier.fit", "labels", labels,
                                          f"one label in [0, {self.num_classes}) per text"))
        counts = collections.Counter(w for t in texts for w in set(_words(t)))
        kept = sorted(w for w, c in counts.items() if c >= self.min_count)
        self.vocabulary = {w: j for j, w in enumerate(kept)}
        x = self.features(texts)
        generator = torch.Generator().manual_seed(0)
        weight = (0.01 * torch.randn(len(kept), self.num_classes, generator=generator)
                  ).requires_grad_()
        bias = torch.zeros(self.num_classes, requires_grad=True)
        optimizer = torch.optim.LBFGS([weight, bias], max_iter=self.max_iter,
                                      line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            logits = torch.sparse.mm(x, weight) + bias
            loss = torch.nn.functional.cross_entropy(logits, y) + self.l2 / 2 * (weight ** 2).sum()
            loss.backward()
            return loss

        optimizer.step(closure)
        self.weight, self.bias = weight.detach(), bias.detach()
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        import torch
        if self.weight is None:
            raise RuntimeError("BagOfWordsClassifier.predict_proba: call fit(texts, labels) "
                               "first.")
        logits = torch.sparse.mm(self.features(texts), self.weight) + self.bias
        return torch.softmax(logits, dim=-1).numpy()

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.predict_proba(texts).argmax(axis=1)
