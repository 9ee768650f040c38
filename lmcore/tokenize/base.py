"""The one interface every tokenizer of the book shares (chapter 2).

A tokenizer turns text into a list of integer ids from a finite vocabulary and back:

    encode(text)  -> list[int]     the ids a model reads
    decode(ids)   -> str           the text the ids stand for
    tokens(text)  -> list[str]     the vocabulary entries behind encode(text), for reading
    vocab_size                     the number of distinct ids, 0 .. vocab_size - 1

Character, word, byte-level BPE and WordPiece tokenizers all implement it, so a chapter can
put them side by side and a model can be handed any of them.
"""

from __future__ import annotations

import abc
import operator
from typing import Any, Sequence

from lmcore._validate import bad_argument

__all__ = ["Tokenizer", "check_text", "check_ids"]


def check_text(function: str, text: Any, name: str = "text") -> str:
    """Return ``text`` if it is a str, else raise a TypeError that names the argument."""
    if not isinstance(text, str):
        raise TypeError(bad_argument(function, name, text, "a str"))
    return text


def check_ids(function: str, ids: Any, vocab_size: int, name: str = "ids") -> list[int]:
    """Return ``ids`` as a list of ints if each is an id in ``[0, vocab_size)``, else raise.

    numpy and torch integers are accepted (anything with ``__index__``); bools and floats are not.
    """
    expected = f"a list of int token ids in [0, {vocab_size})"
    if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
        raise TypeError(bad_argument(function, name, ids, expected))
    checked = []
    for position, token_id in enumerate(ids):
        try:
            if isinstance(token_id, bool):
                raise TypeError
            value = operator.index(token_id)
        except TypeError:
            raise TypeError(bad_argument(function, name, ids, expected)
                            + f" Element {position} is {token_id!r}.") from None
        if not 0 <= value < vocab_size:
            raise ValueError(bad_argument(function, name, ids, expected)
                             + f" Element {position} is {value}.")
        checked.append(value)
    return checked


class Tokenizer(abc.ABC):
    """Text <-> ids over a finite vocabulary. Subclasses define the four members below."""

    @property
    @abc.abstractmethod
    def vocab_size(self) -> int:
        """The number of distinct token ids."""

    @abc.abstractmethod
    def encode(self, text: str) -> list[int]:
        """The token ids of ``text``."""

    @abc.abstractmethod
    def decode(self, ids: Sequence[int]) -> str:
        """The text that ``ids`` stand for."""

    @abc.abstractmethod
    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        """The vocabulary entry of each id."""

    def tokens(self, text: str) -> list[str]:
        """The vocabulary entries of ``encode(text)``: what the model's input looks like."""
        return self.convert_ids_to_tokens(self.encode(text))

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size:,})"
