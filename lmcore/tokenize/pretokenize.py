"""GPT-2's pre-tokenization pattern, written for Python's standard ``re`` module (chapter 2).

Before byte-pair merges are applied, GPT-2 cuts text into chunks with one regular expression
(Radford et al. 2019, ``encoder.py`` of openai/gpt-2)::

    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+

Read left to right, the first alternative that matches wins: an English contraction suffix;
an optional space and a run of letters; an optional space and a run of digits; an optional
space and a run of anything else that is not a space; a run of spaces that leaves the last
one to the word after it; any other run of spaces. Merges never cross chunk boundaries, so
" dog" and "dog." never share a token with the words around them.

``\\p{L}`` (any letter) and ``\\p{N}`` (any number) are Unicode property classes that the
standard ``re`` module does not have, and ``re``'s ``\\s`` is not Unicode's White_Space (it
also matches the separators U+001C..U+001F). So the three classes are built here, once, from
``unicodedata``: letters are the general categories Lu Ll Lt Lm Lo, numbers Nd Nl No, and
white space is the fixed list of the Unicode property White_Space. The result is the same
pattern, character for character, as far as Python's Unicode tables go (Python 3.11 ships
Unicode 14.0; a letter added to Unicode later is not a letter here). tests/test_tokenize.py
checks the classes against the ``regex`` module for every code point and the chunks against
tiktoken.
"""

from __future__ import annotations

import functools
import itertools
import re
import sys
import unicodedata

__all__ = ["GPT2_PATTERN", "gpt2_pattern", "pretokenize", "unicode_class", "class_body",
           "category_runs", "fast_class",
           "LETTER_CATEGORIES", "NUMBER_CATEGORIES", "WHITE_SPACE"]

# The original pattern, as GPT-2 wrote it for the third-party `regex` module.
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

LETTER_CATEGORIES = ("Lu", "Ll", "Lt", "Lm", "Lo")   # \p{L}
NUMBER_CATEGORIES = ("Nd", "Nl", "No")               # \p{N}

# Unicode's White_Space property (PropList.txt; unchanged since Unicode 6.3): what \s means
# in the `regex` module and in Rust, the language tiktoken is written in.
WHITE_SPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
               "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def _ranges(code_points: list[int]) -> list[tuple[int, int]]:
    """Sorted code points as maximal runs (first, last)."""
    runs: list[tuple[int, int]] = []
    for cp in code_points:
        if runs and runs[-1][1] == cp - 1:
            runs[-1] = (runs[-1][0], cp)
        else:
            runs.append((cp, cp))
    return runs


@functools.lru_cache(maxsize=None)
def category_runs() -> dict[str, tuple[tuple[int, int], ...]]:
    """For each Unicode general category ("Lu", "Nd", "Mn", ...): its code points as runs."""
    categories = map(unicodedata.category, map(chr, range(sys.maxunicode + 1)))
    runs: dict[str, list[tuple[int, int]]] = {}
    start = 0
    for category, group in itertools.groupby(categories):  # consecutive code points alike
        length = sum(1 for _ in group)
        runs.setdefault(category, []).append((start, start + length - 1))
        start += length
    return {category: tuple(r) for category, r in runs.items()}


def class_body(categories: tuple[str, ...] = (), extra: str = "") -> str:
    """The inside of a ``re`` character class ``[...]``: every code point whose general
    category is in ``categories`` (e.g. ``("Lu", "Ll")``), plus the characters ``extra``."""
    table = category_runs()
    runs = sorted([run for c in categories for run in table.get(c, ())]
                  + _ranges(sorted(set(map(ord, extra)))))
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in runs)


def unicode_class(name: str) -> str:
    """The body of a ``re`` character class: ``"L"`` letters, ``"N"`` numbers, ``"s"`` white space."""
    if name == "s":
        return class_body(extra=WHITE_SPACE)
    if name == "L":
        return class_body(LETTER_CATEGORIES)
    if name == "N":
        return class_body(NUMBER_CATEGORIES)
    from lmcore._validate import bad_argument
    raise ValueError(bad_argument("unicode_class", "name", name, "one of 'L', 'N', 's'"))


_ASTRAL = "\\U00010000-\\U0010ffff"   # the planes beyond the Basic Multilingual Plane


def fast_class(categories: tuple[str, ...], extra: str = "", negated: bool = False,
               also_not: str = "") -> str:
    """A ``re`` group matching one character, written for speed.

    Without ``negated``: a character whose general category is in ``categories`` or that is
    in ``extra``. With ``negated``: a character that is none of those and not in ``also_not``
    (a class body of characters below U+10000, e.g. white space).

    Why not one class ``[...]``: ``re`` stores the part of a class below U+10000 as a bitmap
    (one lookup), but checks the ranges above it one by one, hundreds of them for the letters,
    for every character it tries. So the class is split in two, and the astral half is tried
    only for characters above U+FFFF.
    """
    table = category_runs()
    runs = sorted([run for c in categories for run in table.get(c, ())]
                  + _ranges(sorted(set(map(ord, extra)))))
    bmp = "".join(f"\\U{a:08x}-\\U{min(b, 0xFFFF):08x}" for a, b in runs if a <= 0xFFFF)
    astral = "".join(f"\\U{max(a, 0x10000):08x}-\\U{b:08x}" for a, b in runs if b > 0xFFFF)
    if negated:
        high = f"|(?=[{_ASTRAL}])[^{astral}]" if astral else f"|[{_ASTRAL}]"
        return f"(?:[^{also_not}{bmp}{_ASTRAL}]{high})"
    high = f"|(?=[{_ASTRAL}])[{astral}]" if astral else ""
    return f"(?:[{bmp}]{high})" if bmp else f"(?:(?=[{_ASTRAL}])[{astral}])"


@functools.lru_cache(maxsize=None)
def gpt2_pattern() -> re.Pattern[str]:
    """GPT-2's pattern compiled with the standard ``re`` module (see the module docstring)."""
    S = unicode_class("s")                                  # white space: all below U+10000
    letter = fast_class(LETTER_CATEGORIES)                  # \p{L}
    number = fast_class(NUMBER_CATEGORIES)                  # \p{N}
    other = fast_class(LETTER_CATEGORIES + NUMBER_CATEGORIES, negated=True, also_not=S)  # [^\s\p{L}\p{N}]
    return re.compile(
        r"'s|'t|'re|'ve|'m|'ll|'d"     # contraction suffixes
        rf"| ?{letter}+"                # optional space + letters
        rf"| ?{number}+"                # optional space + numbers
        rf"| ?{other}+"                 # optional space + other symbols
        rf"|[{S}]+(?![^{S}])"          # spaces, leaving the last one to the next word
        rf"|[{S}]+"                     # any other spaces
    )


def pretokenize(text: str) -> list[str]:
    """Cut ``text`` into GPT-2's chunks; ``"".join(pretokenize(text)) == text`` always."""
    from lmcore.tokenize.base import check_text
    return gpt2_pattern().findall(check_text("pretokenize", text))
