"""Scoring classifiers and taggers (chapter 10).

Sentence-level classes are scored by accuracy, the confusion matrix and macro-F1; named
entities by exact spans, as the CoNLL shared tasks did. A tag sequence in the BIO scheme marks
each token ``O`` (outside), ``B-TYPE`` (begins an entity) or ``I-TYPE`` (inside one), and an
entity counts as found only if its type, its first token and its last token all match::

    precision = |gold ∩ predicted| / |predicted|     recall = |gold ∩ predicted| / |gold|
    F1        = 2 · precision · recall / (precision + recall)

:func:`entity_spans` reads spans with the semantics of the ``conlleval`` script (and of
``seqeval``'s default mode): an ``I-X`` that follows ``O`` or a tag of another type starts a new
entity instead of being an error. ``tests/test_metrics.py`` checks :func:`entity_scores` against
``seqeval`` on random tag sequences.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from lmcore._validate import bad_argument, check_int, check_number

__all__ = ["accuracy", "confusion_matrix", "f1_scores", "macro_f1", "bootstrap_interval",
           "entity_spans", "entity_scores", "paired_bootstrap_difference"]


def _labels(function: str, name: str, values: Any) -> np.ndarray:
    try:
        array = np.asarray(values)
    except (TypeError, ValueError):
        raise TypeError(bad_argument(function, name, values, "a sequence of labels")) from None
    if array.ndim != 1 or array.size == 0:
        raise ValueError(bad_argument(function, name, values, "a non-empty 1-D sequence of labels"))
    return array


def _pair(function: str, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    true, pred = _labels(function, "y_true", y_true), _labels(function, "y_pred", y_pred)
    if true.shape != pred.shape:
        raise ValueError(f"The 'y_true' and 'y_pred' arguments of {function} must have the same "
                         f"length. Got {true.size} and {pred.size} instead.")
    return true, pred


def accuracy(y_true: Sequence[Any], y_pred: Sequence[Any]) -> float:
    """The fraction of positions where the prediction equals the truth."""
    true, pred = _pair("accuracy", y_true, y_pred)
    return float(np.mean(true == pred))


def confusion_matrix(y_true: Sequence[Any], y_pred: Sequence[Any],
                     labels: Sequence[Any] | None = None) -> np.ndarray:
    """Counts ``C[i, j]`` of examples whose true label is ``labels[i]`` and predicted ``labels[j]``.

    ``labels`` fixes the order (default: the sorted labels that occur in either argument); a
    label outside ``labels`` is an error, not a silently dropped example.
    """
    true, pred = _pair("confusion_matrix", y_true, y_pred)
    order = sorted(set(true.tolist()) | set(pred.tolist())) if labels is None else list(labels)
    index = {label: i for i, label in enumerate(order)}
    if len(index) != len(order):
        raise ValueError(bad_argument("confusion_matrix", "labels", labels, "distinct labels"))
    for name, array in (("y_true", true), ("y_pred", pred)):
        unknown = sorted(set(array.tolist()) - set(index), key=str)
        if unknown:
            raise ValueError(f"The '{name}' argument of confusion_matrix holds labels that are "
                             f"not in 'labels' {order}: {unknown[:5]}.")
    matrix = np.zeros((len(order), len(order)), dtype=np.int64)
    np.add.at(matrix, ([index[t] for t in true.tolist()], [index[p] for p in pred.tolist()]), 1)
    return matrix


def f1_scores(y_true: Sequence[Any], y_pred: Sequence[Any],
              labels: Sequence[Any] | None = None) -> dict[Any, float]:
    """One-against-the-rest F1 of every label (0 where a label is never predicted nor true)."""
    true, pred = _pair("f1_scores", y_true, y_pred)
    order = sorted(set(true.tolist()) | set(pred.tolist())) if labels is None else list(labels)
    matrix = confusion_matrix(true, pred, order)
    hits = np.diag(matrix).astype(float)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    denominator = predicted + actual                      # 2·tp + fp + fn
    f1 = np.divide(2 * hits, denominator, out=np.zeros_like(hits), where=denominator > 0)
    return {label: float(value) for label, value in zip(order, f1)}


def macro_f1(y_true: Sequence[Any], y_pred: Sequence[Any],
             labels: Sequence[Any] | None = None) -> float:
    """The unweighted mean of the labels' F1: a rare class counts as much as a frequent one."""
    return float(np.mean(list(f1_scores(y_true, y_pred, labels).values())))


def bootstrap_interval(metric: Callable[[np.ndarray, np.ndarray], float], y_true: Sequence[Any],
                       y_pred: Sequence[Any], *, num_samples: int = 1000, level: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap confidence interval of ``metric(y_true, y_pred)``.

    The test examples are resampled with replacement ``num_samples`` times; the interval holds
    the central ``level`` fraction of the metric's values over the resamples.
    """
    true, pred = _pair("bootstrap_interval", y_true, y_pred)
    check_int("bootstrap_interval", "num_samples", num_samples, minimum=10)
    check_number("bootstrap_interval", "level", level, positive=True)
    if level >= 1:
        raise ValueError(bad_argument("bootstrap_interval", "level", level, "a number in (0, 1)"))
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(num_samples):
        rows = rng.integers(0, true.size, size=true.size)
        values.append(metric(true[rows], pred[rows]))
    tail = (1.0 - level) / 2
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


def _split_tag(tag: Any, position: int) -> tuple[str, str | None]:
    if tag == "O":
        return "O", None
    if isinstance(tag, str) and len(tag) > 2 and tag[:2] in ("B-", "I-"):
        return tag[0], tag[2:]
    raise ValueError(f"The 'tags' argument of entity_spans must hold BIO tags ('O', 'B-TYPE' or "
                     f"'I-TYPE'). Got {tag!r} at position {position}.")


def entity_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The entities of one BIO tag sequence as ``(type, start, end)``, ``end`` exclusive.

    conlleval semantics: an entity starts at ``B-X``, and also at an ``I-X`` that follows ``O``,
    the start of the sequence, or a tag of another type; it goes on through the ``I-X`` tags of
    the same type that follow.
    """
    if isinstance(tags, str) or not isinstance(tags, Sequence):
        raise TypeError(bad_argument("entity_spans", "tags", tags, "a sequence of BIO tags"))
    spans: list[tuple[str, int, int]] = []
    current: tuple[str, int] | None = None          # (type, start) of the open entity
    for position, tag in enumerate(tags):
        prefix, kind = _split_tag(tag, position)
        continues = prefix == "I" and current is not None and current[0] == kind
        if current is not None and not continues:
            spans.append((current[0], current[1], position))
            current = None
        if prefix in ("B", "I") and not continues:
            current = (kind, position)
    if current is not None:
        spans.append((current[0], current[1], len(tags)))
    return spans


def _sentences(name: str, value: Any) -> list[Sequence[str]]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise TypeError(bad_argument("entity_scores", name, value,
                                     "a non-empty list of sentences, each a list of BIO tags"))
    for i, sentence in enumerate(value):
        if isinstance(sentence, str) or not isinstance(sentence, Sequence):
            raise TypeError(f"The '{name}' argument of entity_scores must be a list of sentences, "
                            f"each a list of BIO tags. Sentence {i} is {sentence!r}.")
    return list(value)


def entity_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
                  ) -> dict[str, dict[str, float]]:
    """Exact-span precision, recall, F1 and support per entity type and over all (``"micro"``).

    ``gold`` and ``pred`` are lists of sentences, each a list of BIO tags, sentence by sentence of
    the same lengths. ``support`` is the number of gold entities. A score whose denominator is
    zero is 0, as in ``seqeval``.
    """
    gold, pred = _sentences("gold", gold), _sentences("pred", pred)
    if len(gold) != len(pred):
        raise ValueError(f"The 'gold' and 'pred' arguments of entity_scores must hold the same "
                         f"number of sentences. Got {len(gold)} and {len(pred)} instead.")
    gold_set, pred_set = set(), set()
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"Sentence {i} has {len(g)} gold tags but {len(p)} predicted tags; "
                             f"entity_scores needs one predicted tag per gold tag.")
        gold_set |= {(i, *span) for span in entity_spans(g)}
        pred_set |= {(i, *span) for span in entity_spans(p)}

    def score(true: set, found: set) -> dict[str, float]:
        hits = len(true & found)
        precision = hits / len(found) if found else 0.0
        recall = hits / len(true) if true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "support": len(true)}

    types = sorted({span[1] for span in gold_set | pred_set})
    result = {kind: score({s for s in gold_set if s[1] == kind},
                          {s for s in pred_set if s[1] == kind}) for kind in types}
    result["micro"] = score(gold_set, pred_set)
    return result


def paired_bootstrap_difference(metric: Callable[[np.ndarray, np.ndarray], float],
                                y_true: Sequence[Any], pred_a: Sequence[Any],
                                pred_b: Sequence[Any], *, num_samples: int = 1000,
                                level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """``(difference, low, high)``: ``metric(y_true, pred_a) - metric(y_true, pred_b)`` and its
    percentile bootstrap interval, both systems scored on the *same* resamples of the test
    examples (a paired bootstrap: the test set's luck is shared, so the interval of the
    difference is narrower than two separate intervals suggest)."""
    true, a = _pair("paired_bootstrap_difference", y_true, pred_a)
    _, b = _pair("paired_bootstrap_difference", y_true, pred_b)
    check_int("paired_bootstrap_difference", "num_samples", num_samples, minimum=10)
    if not 0 < level < 1:
        raise ValueError(bad_argument("paired_bootstrap_difference", "level", level,
                                      "a number in (0, 1)"))
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(num_samples):
        rows = rng.integers(0, true.size, size=true.size)
        values.append(metric(true[rows], a[rows]) - metric(true[rows], b[rows]))
    tail = (1.0 - level) / 2
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(metric(true, a) - metric(true, b)), float(low), float(high)
