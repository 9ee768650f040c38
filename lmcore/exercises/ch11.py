"""Checkers of chapter 11, "Generating text"."""

from __future__ import annotations

import torch

from lmcore.exercises import exercise, expect, typical_mistake
from lmcore.generate import distinct_n, top_p_filter


def _nucleus_cases():
    g = torch.Generator().manual_seed(11)
    cases = [(torch.tensor([0.5, 0.3, 0.15, 0.05]), 0.7),     # 0.5 < 0.7: 0.3 is needed too
             (torch.tensor([0.5, 0.3, 0.15, 0.05]), 0.5),     # exactly p with the first one
             (torch.tensor([0.05, 0.6, 0.35]), 0.9),          # not sorted
             (torch.tensor([0.9, 0.05, 0.05]), 0.01)]         # the top token always stays
    for p in (0.3, 0.8, 0.95):
        cases.append((torch.softmax(2 * torch.randn(30, generator=g), 0), p))
    return cases


@exercise("ch11.nucleus", function_name="nucleus", points=2,
          title="The tokens top-p sampling keeps")
def _check_nucleus(nucleus):
    for probs, p in _nucleus_cases():
        expected = ~torch.isinf(top_p_filter(probs.log(), p))
        got = nucleus(probs.clone(), p)
        expect(isinstance(got, torch.Tensor) and got.dtype == torch.bool
               and got.shape == probs.shape,
               f"return a bool tensor of the shape of probs {tuple(probs.shape)}; yours is "
               f"{type(got).__name__} {getattr(got, 'dtype', '')} "
               f"{tuple(getattr(got, 'shape', ()))}.")
        expect(bool(got.any()), f"for probs {[round(float(x), 3) for x in probs]} and p={p} you "
               "keep no token at all; the most likely token must always stay.")
        expect(torch.equal(got, expected),
               f"for probs {[round(float(x), 3) for x in probs]} and p={p} the nucleus is "
               f"{expected.nonzero().flatten().tolist()} (indices), yours is "
               f"{got.nonzero().flatten().tolist()}. Sort by probability, and keep a token "
               "while the probability of the tokens ranked above it is below p.")


@typical_mistake("ch11.nucleus")
def _stops_before_reaching_p(probs, p):
    order = torch.argsort(probs, descending=True)
    keep = torch.zeros_like(probs, dtype=torch.bool)
    keep[order[probs[order].cumsum(0) < p]] = True     # drops the token that reaches p
    return keep


@typical_mistake("ch11.nucleus")
def _forgets_to_sort(probs, p):
    before = probs.cumsum(0) - probs
    return before < p


def _distinct_cases():
    return [([1, 2, 3, 4], 1), ([1, 2, 1, 2, 1, 2], 2), ([5, 5, 5, 5, 5], 1),
            (["to", "be", "or", "not", "to", "be"], 2), ([7, 8, 7, 8, 9, 7, 8], 3),
            (list(range(10)) * 3, 4)]


@exercise("ch11.distinct", function_name="distinct", points=1,
          title="distinct-n: how much of a text is new")
def _check_distinct(distinct):
    for tokens, n in _distinct_cases():
        expected = distinct_n(tokens, n)
        got = distinct(list(tokens), n)
        expect(isinstance(got, (int, float)) and abs(got - expected) < 1e-12,
               f"for tokens {tokens} and n={n} distinct-n is {expected:.4f}, yours is {got!r}."
               " Count the different n-grams and divide by the number of n-grams, "
               "len(tokens) - n + 1.")


@typical_mistake("ch11.distinct")
def _divides_by_tokens(tokens, n):
    grams = {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}
    return len(grams) / len(tokens)


@typical_mistake("ch11.distinct")
def _counts_tokens_not_ngrams(tokens, n):
    return len(set(tokens)) / (len(tokens) - n + 1)
