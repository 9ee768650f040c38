"""The front and back matter keep up with the chapters.

Claims, each checked against the files themselves (no build needed):

* The glossary is in the alphabetical order of its English terms; every entry gives a Chinese
  term and names the chapter that introduces it: a ``{doc}`` link to a page that exists, or,
  for a chapter that is not in the book yet, the words "Chapter N" (once that chapter exists,
  the link is required).
* Every entry of the "Common misstatements" appendix says what is true and where the book
  shows it, with a link to a chapter that exists; every section it names ("4.3 Attention:
  queries, keys and values") is a heading of the chapter linked just before it, so a renamed
  section breaks this test instead of the reader's trail.
* The introduction links every chapter of the book, and the table of contents lists the
  appendix in the Reference part, before the glossary.
"""

from __future__ import annotations

import re

import nbformat
import pytest
import yaml

from conftest import ROOT

BOOK = ROOT / "book"
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
DOC_LINK = re.compile(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`")
HAN = re.compile(r"[\u4e00-\u9fff]")


def chapter_exists(number: int) -> bool:
    return any(path.name.startswith(f"{number:02d}_") for path in CHAPTERS)


def page_exists(target: str, page_folder=BOOK) -> bool:
    path = (page_folder / target).resolve()
    return any(path.with_suffix(suffix).exists() for suffix in (".md", ".ipynb"))


def glossary_entries() -> list[tuple[str, str]]:
    text = (BOOK / "glossary.md").read_text(encoding="utf-8")
    body = text.split("```{glossary}\n", 1)[1].rsplit("```", 1)[0]
    entries = []
    for block in re.split(r"\n\s*\n", body.strip()):
        term, _, definition = block.partition("\n")
        entries.append((term, definition))
    return entries


def test_glossary_is_sorted_by_the_english_term():
    english = [term.split(" · ")[0].lower() for term, _ in glossary_entries()]
    assert english == sorted(english)
    assert len(english) == len(set(english)), "a term is listed twice"


@pytest.mark.parametrize("term,definition", glossary_entries(),
                         ids=[t.split(" · ")[0] for t, _ in glossary_entries()])
def test_glossary_entry_has_chinese_and_its_chapter(term, definition):
    assert " · " in term and HAN.search(term.split(" · ", 1)[1]), term
    links = DOC_LINK.findall(definition)
    for target in links:
        assert page_exists(target), f"{term}: no page {target}"
    unlinked = [int(n) for n in re.findall(r"\b[Cc]hapter (\d+)\b(?![^`]*`)", definition)
                if not re.search(rf"`[Cc]hapter {n} <", definition)]
    for number in unlinked:
        assert not chapter_exists(number), (
            f"{term}: chapter {number} exists now; link it with {{doc}}")
    assert links or unlinked, f"{term}: names no chapter"


def misstatement_entries() -> list[tuple[str, str]]:
    text = (BOOK / "misstatements.md").read_text(encoding="utf-8")
    parts = re.split(r"^### (.+)$", text, flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))


def chapter_headings(stem: str) -> set[str]:
    notebook = nbformat.read(ROOT / "chapters" / f"{stem}.ipynb", as_version=4)
    return {" ".join(line.lstrip("#").split())
            for cell in notebook.cells if cell.cell_type == "markdown"
            for line in cell.source.splitlines() if re.match(r"#{2,4} ", line)}


def test_the_appendix_has_entries():
    assert len(misstatement_entries()) >= 10


@pytest.mark.parametrize("heading,body", misstatement_entries(),
                         ids=[h[:40] for h, _ in misstatement_entries()])
def test_each_misstatement_says_what_is_true_and_where_it_is_shown(heading, body):
    assert "**What is true.**" in body and "**Where the book shows it.**" in body, heading
    where = " ".join(body.split("**Where the book shows it.**", 1)[1].split())
    links = DOC_LINK.findall(where)
    assert links, f"{heading}: no chapter linked"
    chapter = None
    # a chapter link, or a section named in quotes that starts with its number
    for match in re.finditer(r'\{doc\}`[^`<]*<\.\./chapters/([^`>]+)>`|"(\d+\.[^"]*)"',
                             where):
        if match.group(1):
            chapter = match.group(1)
            assert (ROOT / "chapters" / f"{chapter}.ipynb").exists(), chapter
        else:
            assert chapter, f"{heading}: section {match.group(2)!r} before any chapter link"
            assert match.group(2) in chapter_headings(chapter), (
                f"{heading}: {chapter} has no section {match.group(2)!r}")


def test_the_introduction_links_every_chapter_and_the_appendix():
    intro = (BOOK / "intro.md").read_text(encoding="utf-8")
    for path in CHAPTERS:
        assert f"{{doc}}`../chapters/{path.stem}`" in intro, path.stem
    assert "{doc}`misstatements`" in intro
    assert "in preparation" not in intro


def test_the_appendix_is_in_the_reference_part_before_the_glossary():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    reference = next(p for p in toc["parts"] if p["caption"] == "Reference")
    files = [c["file"] for c in reference["chapters"]]
    assert files.index("book/misstatements") < files.index("book/glossary")
