"""Spearman's rank correlation (lmcore.stats, chapter 3) against independent computations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lmcore.stats import average_ranks, spearman


def brute_force_ranks(values):
    """Rank of each value: 1 + the number of smaller values + half the other equal ones."""
    values = list(values)
    return np.array([1 + sum(v < x for v in values) + (sum(v == x for v in values) - 1) / 2
                     for x in values])


def pearson(a, b):
    a, b = np.asarray(a, float) - np.mean(a), np.asarray(b, float) - np.mean(b)
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


@pytest.mark.parametrize("seed", range(5))
def test_ranks_equal_a_brute_force_count_with_ties(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 6, size=40)               # many ties
    assert np.allclose(average_ranks(values), brute_force_ranks(values))


@pytest.mark.parametrize("seed", range(5))
def test_spearman_is_pearson_of_brute_force_ranks(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 8, size=60).astype(float)
    y = x + rng.normal(size=60)
    want = pearson(brute_force_ranks(x), brute_force_ranks(y))
    assert abs(spearman(x, y) - want) < 1e-12


def test_spearman_equals_scipy_when_installed():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 5, size=100), rng.normal(size=100)
    assert abs(spearman(x, y) - stats.spearmanr(x, y).statistic) < 1e-12


def test_spearman_of_a_monotone_map_is_one_and_of_its_reverse_minus_one():
    x = np.arange(1.0, 20.0)
    assert spearman(x, np.exp(x)) == pytest.approx(1.0)
    assert spearman(x, -x ** 3) == pytest.approx(-1.0)


def test_all_permutations_of_four_average_to_zero():
    rhos = [spearman([1, 2, 3, 4], p) for p in itertools.permutations([1, 2, 3, 4])]
    assert abs(np.mean(rhos)) < 1e-12


@pytest.mark.parametrize("x, y, message", [
    ([1, 2, 3], [1, 2], "as long as x"),
    ([1, 1, 1], [1, 2, 3], "not constant"),
    ([1], [1], "at least two"),
    ([1, float("nan")], [1, 2], "finite"),
    ("abc", [1, 2, 3], "numbers"),
])
def test_bad_input_gets_a_clear_error(x, y, message):
    with pytest.raises((ValueError, TypeError), match=message):
        spearman(x, y)
