"""Every chapter notebook follows the book's conventions (see CONTRIBUTING.md)."""

from __future__ import annotations

import re

import nbformat
import pytest
import yaml

from conftest import ROOT

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def toc_files() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return {entry["file"] for part in toc["parts"] for entry in part["chapters"]}


def test_every_chapter_is_in_the_table_of_contents_and_every_entry_exists():
    listed = {f for f in toc_files() if f.startswith("chapters/")}
    present = {f"chapters/{path.stem}" for path in CHAPTERS}
    assert listed == present
    for entry in toc_files():
        assert (ROOT / f"{entry}.md").exists() or (ROOT / f"{entry}.ipynb").exists(), entry


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_structure(path):
    notebook = nbformat.read(path, as_version=4)
    assert re.fullmatch(r"\d\d_[a-z0-9_]+", path.stem)
    first = notebook.cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith(f"# Chapter {int(path.stem[:2])}. ")
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "## Exercises" in markdown
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert "lmcore.set_seed(" in "\n".join(c.source for c in code[:3]), "seed the chapter first"
    for cell in code:
        assert "sys.path" not in cell.source, "lmcore is installed; no sys.path tricks"
        assert cell.get("execution_count") is not None, "committed with outputs, run in order"
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"an error is stored in {path.name}"
    counts = [c.execution_count for c in code]
    assert counts == sorted(counts), "cells were executed top to bottom"
    assert "widgets" not in notebook.metadata, "no widget state is stored (it would need a CDN)"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_exercises_follow_the_nbgrader_convention(path):
    notebook = nbformat.read(path, as_version=4)
    solutions = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")]
    checks = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    answers = [c for c in notebook.cells if "answer" in c.metadata.get("tags", [])]
    assert solutions and checks and answers
    for cell in solutions:
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
    for cell in checks:
        assert re.search(r"check\(\"ch\d\d\.\w+\", \w+\)", cell.source)
        assert cell.metadata["nbgrader"]["points"] > 0
    for cell in answers:
        assert cell.cell_type == "markdown"
        assert '<details class="answer">' in cell.source and "</details>" in cell.source
    ids = [c.metadata["nbgrader"]["grade_id"] for c in solutions + checks]
    assert len(ids) == len(set(ids)), "nbgrader grade_ids must be unique"
