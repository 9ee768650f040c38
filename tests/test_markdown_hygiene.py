"""No control characters in the book's text.

A notebook cell written from a Python string loses a TeX command when the string is not
raw: ``"\\frac"`` is a form feed followed by ``rac``, ``"\\beta"`` a backspace and ``eta``,
``"\\rho"`` a carriage return and ``ho``, ``"\\alpha"`` a bell and ``lpha``. Chapter 3 lost
its Spearman formula this way once; MathJax then shows garbage and no other test notices.
This test reads every Markdown cell, every code cell's source and every book page, and
fails on any character below U+0020 other than newline and tab, naming the file, the cell
and the TeX command the character most likely ate.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
PAGES = sorted((ROOT / "book").glob("*.md"))
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
# the escape Python applied, so the message can say what was probably meant
EATEN = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\r": "\\r", "\v": "\\v", "\x00": "\\0"}


def control_characters(text: str) -> list[str]:
    """Each control character in ``text`` with the word it starts, as 'U+000C in "\\frac"'."""
    found = []
    for match in CONTROL.finditer(text):
        char = match.group()
        word = re.match(r"[A-Za-z]*", text[match.end():]).group()
        guess = EATEN.get(char, "")
        found.append(f"U+{ord(char):04X} before {word!r}"
                     + (f" (probably {guess + word!r})" if guess else ""))
    return found


def test_the_detector_catches_an_eaten_frac():
    assert control_characters("$\\frac{a}{b}$") == []
    found = control_characters("$\frac{a}{b}$")          # not raw: \f is a form feed
    assert found == ["U+000C before 'rac' (probably '\\\\frac')"]
    assert control_characters("line\nnext\ttab") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_no_control_characters(path):
    nb = nbformat.read(path, as_version=4)
    problems = [f"cell {i} ({cell.cell_type}): {what}"
                for i, cell in enumerate(nb.cells)
                for what in control_characters(cell.source)]
    assert not problems, f"{path.name}: " + "; ".join(problems)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_book_page_has_no_control_characters(path):
    with open(path, encoding="utf-8", newline="") as page:     # keep a stray "\r" visible
        lines = page.read().split("\n")
    problems = [f"line {number}: {what}" for number, line in enumerate(lines, start=1)
                for what in control_characters(line)]
    assert not problems, f"{path.name}: " + "; ".join(problems)
