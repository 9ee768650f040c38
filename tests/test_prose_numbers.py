"""Prose says only what the code shows: no number typed into a chapter's Markdown.

A number in a chapter's Markdown must be one of:

- glued from a computation (myst-nb's ``{glue:}`name``` roles and their variants);
- part of a formula (``$...$`` or ``$$...$$``) or of code (a code span or a fenced block);
- a year (1500-2099), or the number of a chapter, section, exercise, equation, figure or
  table, or of a step of a numbered list ("chapter 3", "exercise 4.5", "sections 5.6 and
  6.12", "step 3", a heading's own "## 3.2");
- a part of a name (GPT-2, WordSim-353, UTF-8, all-MiniLM-L6-v2: a number glued to letters
  by a hyphen, or inside a word such as word2vec);
- on the chapter's own allow-list: ``metadata["lmcore"]["prose_numbers"]`` of the notebook, a
  list of strings ``"NUMBER: reason"``, e.g. ``"0.15: BERT's masking rate, a constant of the
  method"``. The NUMBER part (which may be a phrase such as ``80/10/10``) is removed wherever
  it occurs as a whole token before the Markdown is scanned; the reason must not be empty.

Anything else is a number some earlier run printed and someone typed in: glue it, or state
it in a cell's output next to an ``assert``, and let the prose refer to that output.

Chapters listed in ``NOT_YET_CHECKED`` are expected to fail (``xfail(strict=False)``); their
owners remove them from the set once the chapter passes.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from conftest import ROOT

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

# chapters whose Markdown has not been brought under this rule yet (stems); shrink me
NOT_YET_CHECKED: set = set()

# words after which a number names a part of the book, not a quantity
REFERENCE_WORDS = (r"chapters?|ch\.|sections?|§|exercises?|equations?|eqs?\.|figures?|"
                   r"figs?\.|tables?|parts?|appendix|steps?")
NUMBER = r"\d+(?:\.\d+)*"
REFERENCE = re.compile(
    rf"\b(?:{REFERENCE_WORDS})\s+\(?{NUMBER}\)?"
    rf"(?:\s*(?:,|and|or|to|-|–|—)\s*\(?{NUMBER}\)?)*", re.IGNORECASE)
ROLE = re.compile(r"\{[a-z:-]+\}`[^`]*`")            # {glue:}`x`, {eq}`eq-x`, {cite:p}`k`
MATH_BLOCK = re.compile(r"\$\$.*?\$\$(?:\s*\([^)]*\))?", re.DOTALL)
MATH_INLINE = re.compile(r"(?<![\\$])\$(?!\$)(?:[^$\n]|\n(?![ \t]*\n))+?\$")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.DOTALL | re.MULTILINE)
CODE_SPAN = re.compile(r"(`+)[^`]*?\1")
LINK_TARGET = re.compile(r"\]\([^)]*\)")
HTML_TAG = re.compile(r"<[^>\n]+>")
HEADING_NUMBER = re.compile(r"^(#+\s+)(?:Chapter\s+)?\d+(?:\.\d+)*\.?", re.MULTILINE)
LIST_MARKER = re.compile(r"^(\s*)\d+[.)]\s", re.MULTILINE)
YEAR = re.compile(r"(?<![\d.,])(?:1[5-9]|20)\d\d(?![\d.,]\d)")
NAME_PART = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*[-_]\d[\w.-]*"
                       r"|[A-Za-z]+\d+[A-Za-z]\w*|[A-Za-z]+\d+\b")
NUMBER_TOKEN = re.compile(r"(?<![\w.])[-+−]?\d[\d,]*(?:\.\d+)?(?:%|×)?")


def allow_list(notebook) -> list[str]:
    """The chapter's allowed prose numbers (the part of each entry before ': ')."""
    entries = notebook.metadata.get("lmcore", {}).get("prose_numbers", [])
    allowed = []
    for entry in entries:
        number, sep, reason = str(entry).partition(": ")
        assert sep and reason.strip(), f"allow-list entry {entry!r} needs 'NUMBER: reason'"
        allowed.append(number.strip())
    return allowed


def strip_allowed(text: str, allowed: list[str]) -> str:
    for item in sorted(allowed, key=len, reverse=True):
        text = re.sub(rf"(?<![\w.]){re.escape(item)}(?![\w]|\.\d)", " ", text)
    return text


def typed_numbers(markdown: str, allowed: list[str]) -> list[str]:
    """The numbers in ``markdown`` that are not glued, formula, code, reference or allowed."""
    text = FENCE.sub(" ", markdown)
    text = MATH_BLOCK.sub(" ", text)
    text = ROLE.sub(" ", text)
    text = CODE_SPAN.sub(" ", text)
    text = MATH_INLINE.sub(" ", text)
    text = LINK_TARGET.sub("]", text)
    text = HTML_TAG.sub(" ", text)
    text = HEADING_NUMBER.sub(r"\1", text)
    text = LIST_MARKER.sub(r"\1", text)
    text = REFERENCE.sub(" ", text)
    text = strip_allowed(text, allowed)
    text = NAME_PART.sub(" ", text)
    text = YEAR.sub(" ", text)
    return NUMBER_TOKEN.findall(text)


def offending_lines(notebook) -> list[str]:
    allowed = allow_list(notebook)
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        numbers = typed_numbers(cell.source, allowed)
        if numbers:
            first = cell.source.strip().splitlines()[0][:70]
            found.append(f"cell {index} ({first!r}...): {', '.join(numbers)}")
    return found


def marks(path):
    if path.stem in NOT_YET_CHECKED:
        return [pytest.mark.xfail(strict=False, reason="chapter not yet checked for typed "
                                                       "numbers (NOT_YET_CHECKED)")]
    return []


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=p.stem, marks=marks(p)) for p in CHAPTERS])
def test_prose_numbers_are_glued_formulas_references_or_allowed(path):
    notebook = nbformat.read(path, as_version=4)
    found = offending_lines(notebook)
    assert not found, ("numbers typed into the Markdown (glue them, print and assert them "
                       "in a cell, or allow-list a constant of the method with a reason):\n"
                       + "\n".join(found))


@pytest.mark.parametrize("markdown, expected", [
    ("The bigram model is 40% less perplexed.", ["40%"]),
    ("It is {glue:}`ppl_ratio` less perplexed.", []),
    ("Section 4.4 and exercises 3.3 and 3.4; chapters 9-13", []),
    ("## 1.3 Three tasks", []),
    ("GPT-2 reads UTF-8; WordSim-353 in 1992; word2vec", []),
    ("a formula $p = 0.5$ and $$ x = 3 $$ (eq-x) and `f(2)`", []),
    ("1. first\n2. second", []),
    ("a table of 1,066 links and 0.97", ["1,066", "0.97"]),
    ("the mask rate 0.15 and 80/10/10", ["0.15", "80", "10", "10"]),
])
def test_the_scanner_finds_typed_numbers_only(markdown, expected):
    assert typed_numbers(markdown, []) == expected


def test_the_allow_list_removes_whole_tokens_only():
    assert typed_numbers("the mask rate 0.15 and 80/10/10, not 0.155",
                         ["0.15", "80/10/10"]) == ["0.155"]
