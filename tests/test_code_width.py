"""Code and printed output fit the book's column (issue 18): at most 79 characters a line.

About 76 characters of code fit the 688-px column at 1280 px; 79 is the limit the tests
enforce for every line of a code cell and of its stored text output. A cell whose text
output cannot be narrowed (a wide table that is the point of the cell) is tagged
``wide-output``; its code lines are still checked. Outputs of cells tagged ``remove-output``
are not shown in the book and not checked. Internal equation labels (``eq-...``)
never appear in stored text output or in a shown code cell (comments, docstrings): readers see
equation numbers, not labels.

Chapters listed in ``NOT_YET_CHECKED`` are expected to fail (``xfail(strict=False)``); their
owners remove them from the set once the chapter passes.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from conftest import ROOT

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
LIMIT = 79

# chapters not yet brought under this rule (stems); shrink me
NOT_YET_CHECKED: set[str] = set()

LABEL = re.compile(r"\beq-[a-z0-9-]+")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def output_text(output) -> str:
    if output.output_type == "stream":
        return output.text
    data = output.get("data", {})
    if "text/html" in data or "image/png" in data:  # rendered, not shown as text
        return ""
    return data.get("text/plain", "")


def problems(notebook) -> list[str]:
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        for number, line in enumerate(cell.source.splitlines(), 1):
            if len(line) > LIMIT:
                found.append(f"cell {index} line {number}: code is {len(line)} characters")
            if LABEL.search(line) and "remove-input" not in tags:
                found.append(f"cell {index} line {number}: equation label in shown code "
                             "(a comment or docstring)")
        for output in cell.get("outputs", []):
            text = ANSI.sub("", output_text(output))
            if LABEL.search(text):
                found.append(f"cell {index}: equation label {LABEL.search(text)[0]!r} "
                             "in the output")
            if "wide-output" in tags or "remove-output" in tags:
                continue
            for line in text.splitlines():
                if len(line) > LIMIT:
                    found.append(f"cell {index}: an output line is {len(line)} characters")
                    break
    return found


def marks(path):
    if path.stem in NOT_YET_CHECKED:
        return [pytest.mark.xfail(strict=False, reason="chapter not yet checked for line "
                                                       "width (NOT_YET_CHECKED)")]
    return []


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=p.stem, marks=marks(p)) for p in CHAPTERS])
def test_code_and_output_lines_fit_the_column_and_show_no_equation_labels(path):
    notebook = nbformat.read(path, as_version=4)
    found = problems(notebook)
    assert not found, "\n".join(found)


def test_the_checker_finds_a_long_line_and_a_label():
    cell = nbformat.v4.new_code_cell("x = 1  # see eq-ppl\n" + "y = 0" + " " * 80 + "# long")
    cell.outputs = [nbformat.v4.new_output("stream", text="a" * 80 + "\n")]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    assert len(problems(notebook)) == 3
    cell.metadata["tags"] = ["wide-output"]
    assert len(problems(notebook)) == 2
