"""Checkers of chapter 10, "Fine-tuning"."""

from __future__ import annotations

from lmcore.exercises import exercise, expect, typical_mistake
from lmcore.finetune import IGNORE_INDEX, align_labels


def _cases():
    return [
        ([None, 0, 1, 1, 1, 2, None], [3, 1, 0]),          # one word in three pieces
        ([None, 0, 0, None], [2]),                          # one word, two pieces
        ([None, 0, 1, 2, None, None], [1, 1, 1]),           # every word one token, padding
        ([None, 0, 1, None, 0, 0, None], [4, 5]),           # a pair: the word ids restart
        ([None, 0, None, 0, 1, None], [6, 8]),              # pair: word 0 again after [SEP]
        ([None, None], [7]),                                 # nothing but special tokens
    ]


@exercise("ch10.first_subword_labels", function_name="first_subword_labels", points=2,
          title="Word labels on subword tokens")
def _check(first_subword_labels):
    for word_ids, labels in _cases():
        want = align_labels(word_ids, labels)
        got = first_subword_labels(list(word_ids), list(labels))
        expect(isinstance(got, list) and len(got) == len(word_ids),
               f"return a list with one label per token ({len(word_ids)} for word_ids "
               f"{word_ids}); yours returned {got!r}.")
        expect([int(x) for x in got] == want,
               f"for word_ids {word_ids} and word labels {labels} the token labels are "
               f"{want}; yours are {got}. The first token of each word carries the word's "
               f"label; later tokens of the same word and the special tokens (None) carry "
               f"{IGNORE_INDEX}, so the loss counts every word exactly once.")


_check.n_cases = len(_cases())


@typical_mistake("ch10.first_subword_labels")
def _every_subword_labelled(word_ids, labels):
    return [IGNORE_INDEX if w is None else labels[w] for w in word_ids]


@typical_mistake("ch10.first_subword_labels")
def _special_tokens_as_outside(word_ids, labels):
    out, previous = [], None
    for w in word_ids:
        out.append(0 if w is None else (labels[w] if w != previous else IGNORE_INDEX))
        previous = w
    return out


@typical_mistake("ch10.first_subword_labels")
def _previous_not_reset_after_special(word_ids, labels):
    out, previous = [], None
    for w in word_ids:
        if w is None:
            out.append(IGNORE_INDEX)
            continue
        out.append(labels[w] if w != previous else IGNORE_INDEX)
        previous = w
    return out
