"""The two simplest tokenizers, the baselines of chapter 2: characters and whole words.

* :class:`CharTokenizer`: one token per character seen in training. A small vocabulary, long
  sequences; a character never seen (an emoji, a Chinese character) becomes [UNK].
* :class:`WordTokenizer`: one token per word (a run of letters and digits, with inner
  apostrophes) or punctuation mark, keeping the ``vocab_size - 1`` most frequent ones. Short
  sequences, a large vocabulary, and every rarer word becomes [UNK].

Both have id 0 = "[UNK]" and share the interface of :class:`lmcore.tokenize.Tokenizer`.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

from lmcore._validate import bad_argument, check_int
from lmcore.tokenize.base import Tokenizer, check_ids, check_text

__all__ = ["CharTokenizer", "WordTokenizer", "UNK", "split_words"]

UNK = "[UNK]"
_WORD_OR_PUNCTUATION = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


def split_words(text: str) -> list[str]:
    """Words (letters and digits, inner apostrophes kept) and single punctuation marks."""
    return _WORD_OR_PUNCTUATION.findall(check_text("split_words", text))


def _texts(function: str, texts: str | Iterable[str]) -> list[str]:
    if isinstance(texts, str):
        return [texts]
    try:
        texts = list(texts)
    except TypeError:
        raise TypeError(bad_argument(function, "texts", texts, "a str or a list of str")) from None
    if not all(isinstance(t, str) for t in texts):
        raise TypeError(bad_argument(function, "texts", texts, "a str or a list of str"))
    return texts


class _VocabularyTokenizer(Tokenizer):
    unk_token_id = 0

    def __init__(self, vocab: Sequence[str]):
        self.vocab = [UNK, *vocab]
        self.token_to_id = {token: i for i, token in enumerate(self.vocab)}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        name = f"{type(self).__name__}.convert_ids_to_tokens"
        return [self.vocab[i] for i in check_ids(name, ids, self.vocab_size)]

    def _ids(self, pieces: Iterable[str]) -> list[int]:
        get = self.token_to_id.get
        return [get(piece, 0) for piece in pieces]


class CharTokenizer(_VocabularyTokenizer):
    """One token per character of the training texts (sorted), plus [UNK] = 0."""

    def __init__(self, texts: str | Iterable[str]):
        characters = set()
        for text in _texts("CharTokenizer", texts):
            characters.update(text)
        super().__init__(sorted(characters))

    def encode(self, text: str) -> list[int]:
        return self._ids(check_text("CharTokenizer.encode", text))

    def decode(self, ids: Sequence[int]) -> str:
        """The characters of ``ids``; [UNK] is shown as U+FFFD."""
        return "".join("\ufffd" if t == UNK else t for t in self.convert_ids_to_tokens(ids))


class WordTokenizer(_VocabularyTokenizer):
    """The ``vocab_size - 1`` most frequent words and punctuation marks, plus [UNK] = 0."""

    def __init__(self, texts: str | Iterable[str], vocab_size: int = 10_000):
        check_int("WordTokenizer", "vocab_size", vocab_size, minimum=2)
        counts: Counter[str] = Counter()
        for text in _texts("WordTokenizer", texts):
            counts.update(split_words(text))
        ranked = sorted(counts, key=lambda word: (-counts[word], word))  # ties: alphabetical
        super().__init__(ranked[: vocab_size - 1])

    def encode(self, text: str) -> list[int]:
        return self._ids(split_words(check_text("WordTokenizer.encode", text)))

    def decode(self, ids: Sequence[int]) -> str:
        """The words of ``ids`` separated by spaces (the original spacing is lost)."""
        return " ".join(self.convert_ids_to_tokens(ids))
