"""Checkers of chapter 1, "Language, NLP and models as a service"."""

from __future__ import annotations

import numbers

from lmcore.exercises import exercise, expect, typical_mistake

_CASES = [
    ("to be or not to be".split(), "to", "be", 1.0),
    ("the king and the queen and the prince".split(), "the", "queen", 1 / 3),
    ("the king and the queen and the prince".split(), "and", "the", 1.0),
    ("a b a c a".split(), "a", "b", 0.5),   # the last "a" has no next word
    ("a b a c a".split(), "b", "c", 0.0),
    ("a b".split(), "z", "b", 0.0),          # never seen: 0, not a ZeroDivisionError
]


@exercise("ch01.bigram_probability", function_name="bigram_probability", points=2,
          title="Maximum-likelihood bigram probability")
def _check(bigram_probability):
    for tokens, previous, word, want in _CASES:
        got = bigram_probability(list(tokens), previous, word)
        # any real number will do: int, float, numpy scalars, fractions.Fraction
        expect(isinstance(got, numbers.Real) and not isinstance(got, bool),
               f"bigram_probability should return a number; for {previous!r} -> {word!r} yours "
               f"returned {type(got).__name__}.")
        got = float(got)
        expect(abs(got - want) < 1e-9,
               f"for tokens {' '.join(tokens)!r}, p({word!r} | {previous!r}) should be "
               f"{want:.4f}, yours is {got:.4f}.")


_check.n_cases = len(_CASES)


@typical_mistake("ch01.bigram_probability")
def _divides_by_all_occurrences(tokens, previous, word):
    pairs = sum(1 for a, b in zip(tokens, tokens[1:]) if a == previous and b == word)
    total = tokens.count(previous)
    return pairs / total if total else 0.0


@typical_mistake("ch01.bigram_probability")
def _divides_by_length(tokens, previous, word):
    pairs = sum(1 for a, b in zip(tokens, tokens[1:]) if a == previous and b == word)
    return pairs / (len(tokens) - 1)
