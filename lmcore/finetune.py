"""Fine-tuning helpers (chapter 10).

A tagger labels words, but the model sees subword tokens: "Rosencrantz" may become
``Ros ##en ##cr ##antz``. :func:`align_labels` moves word labels onto tokens the way BERT's
authors did for named entities: the first subword of a word carries the word's label, and the
later subwords and the special tokens ([CLS], [SEP], padding) carry -100, the ``ignore_index``
of ``torch.nn.functional.cross_entropy``, so the loss and the scores count each word once.
"""

from __future__ import annotations

from typing import Any, Sequence

from lmcore._validate import bad_argument

__all__ = ["IGNORE_INDEX", "align_labels"]

IGNORE_INDEX = -100  # the label cross_entropy skips (its default ignore_index)


def align_labels(word_ids: Sequence[int | None], word_labels: Sequence[int]) -> list[int]:
    """One label per token from one label per word.

    ``word_ids`` has one entry per token: ``None`` for a special token, else the index of the
    word the token belongs to (as a fast tokenizer's ``word_ids()`` gives it). The first token of
    each word gets ``word_labels[word]``; later tokens of the same word and special tokens get
    :data:`IGNORE_INDEX`.
    """
    if isinstance(word_ids, (str, bytes)) or not isinstance(word_ids, Sequence):
        raise TypeError(bad_argument("align_labels", "word_ids", word_ids,
                                     "a sequence of word indices or None"))
    if isinstance(word_labels, (str, bytes)) or not isinstance(word_labels, Sequence):
        raise TypeError(bad_argument("align_labels", "word_labels", word_labels,
                                     "a sequence of int labels, one per word"))
    aligned: list[int] = []
    previous: int | None = None
    for position, word in enumerate(word_ids):
        if word is None:
            aligned.append(IGNORE_INDEX)
            previous = None
            continue
        if isinstance(word, bool) or not isinstance(word, int) or word < 0:
            raise ValueError(f"The 'word_ids' argument of align_labels must hold word indices "
                             f"(ints >= 0) or None. Got {word!r} at token {position}.")
        if word >= len(word_labels):
            raise ValueError(f"The 'word_ids' argument of align_labels refers to word {word} at "
                             f"token {position}, but 'word_labels' has only {len(word_labels)} "
                             f"labels (words 0 to {len(word_labels) - 1}).")
        aligned.append(int(word_labels[word]) if word != previous else IGNORE_INDEX)
        previous = word
    return aligned
