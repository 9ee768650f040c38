"""Rank correlation: how well a similarity measure orders word pairs as people do (chapter 3).

Spearman's rank correlation of two samples ``x`` and ``y`` is Pearson's correlation of their
ranks,

    rho = cov(rank(x), rank(y)) / (std(rank(x)) * std(rank(y))),

where tied values share the mean of the ranks they occupy ("average" ranks). Without ties it
equals ``1 - 6 * sum(d_i^2) / (n (n^2 - 1))`` with ``d_i = rank(x_i) - rank(y_i)``.
"""

from __future__ import annotations

import numpy as np

from lmcore._validate import bad_argument

__all__ = ["average_ranks", "spearman"]


def _as_sample(name: str, argument: str, values) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(bad_argument(name, argument, values, "a 1-D sequence of numbers")) \
            from None
    if array.ndim != 1 or array.size < 2:
        raise ValueError(bad_argument(name, argument, values,
                                      "a 1-D sequence of at least two numbers"))
    if not np.isfinite(array).all():
        raise ValueError(bad_argument(name, argument, values, "finite numbers (no NaN, inf)"))
    return array


def average_ranks(values) -> np.ndarray:
    """Ranks 1..n of ``values`` (``[n]``); tied values get the mean of their ranks."""
    x = _as_sample("average_ranks", "values", values)
    order = np.argsort(x, kind="mergesort")               # [n]
    sorted_x = x[order]
    # start of each run of equal values in the sorted order
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], len(x)]                      # one past each run's end
    mean_rank = (starts + 1 + ends) / 2                   # mean of ranks starts+1 .. ends
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def spearman(x, y) -> float:
    """Spearman's rank correlation of two equally long samples (average ranks for ties)."""
    a = _as_sample("spearman", "x", x)
    b = _as_sample("spearman", "y", y)
    if len(a) != len(b):
        raise ValueError(bad_argument("spearman", "y", y,
                                      f"a sample as long as x ({len(a)} values)"))
    ra, rb = average_ranks(a), average_ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = np.sqrt((ra ** 2).sum() * (rb ** 2).sum())
    if denominator == 0:
        raise ValueError(bad_argument("spearman", "x" if (ra == 0).all() else "y",
                                      x if (ra == 0).all() else y,
                                      "a sample that is not constant (its ranks have no "
                                      "spread)"))
    return float((ra * rb).sum() / denominator)
