"""The student edition of a master notebook: solutions and hidden answers removed.

:func:`student_edition` removes what a student must not see: each solution region becomes
nbgrader's own stub (``# YOUR CODE HERE`` / ``raise NotImplementedError()``, indented like the
marker), each answer cell becomes an empty "Your answer" cell, and the outputs of solution and
check cells are cleared. Everything else is kept as it is.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Iterable

import nbformat
from nbformat import NotebookNode

from lmcore.classroom.notebooks import (ANSWER_SPACE, BEGIN_HIDDEN_TESTS, BEGIN_SOLUTION,
                                        CODE_STUB, END_HIDDEN_TESTS, TEXT_STUB, find_notebooks,
                                        is_answer_cell, is_check_cell, is_solution_cell,
                                        strip_solutions)

__all__ = ["student_edition", "write_student_edition", "WouldOverwriteMaster"]


class WouldOverwriteMaster(ValueError):
    """The output folder of the student edition holds a master notebook it would replace."""


def _clear_outputs(cell: NotebookNode) -> None:
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)


def student_edition(notebook: NotebookNode) -> NotebookNode:
    """A copy of the master ``notebook`` with every reference solution and hidden answer removed.

    Solution regions become nbgrader's stub (``raise NotImplementedError()``), a solution cell
    without markers becomes the whole stub, ``BEGIN HIDDEN TESTS`` regions are dropped, answer
    cells become an empty "Your answer" cell, and solution and check cells lose their outputs.
    """
    if not isinstance(notebook, NotebookNode) or "cells" not in notebook:
        raise TypeError(f"The 'notebook' argument of student_edition must be an nbformat "
                        f"NotebookNode. Got {type(notebook).__name__} instead.")
    student = copy.deepcopy(notebook)
    for index, cell in enumerate(student.cells):
        stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
        source, replaced = strip_solutions(cell.source, stub)
        if replaced and not is_solution_cell(cell):
            raise ValueError(f"cell {index} holds a {BEGIN_SOLUTION!r} region but is not marked "
                             "as an nbgrader solution cell (metadata.nbgrader.solution = true); "
                             "nbgrader would refuse it too:\n" + cell.source)
        if is_solution_cell(cell):
            cell.source = source if replaced else stub
            _clear_outputs(cell)
        elif is_check_cell(cell):
            cell.source = strip_solutions(cell.source, "", BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS)[0]
            _clear_outputs(cell)
        elif is_answer_cell(cell):
            tags = [t for t in cell.metadata.get("tags", []) if t != "answer"] + ["your-answer"]
            cell.source = ANSWER_SPACE
            cell.metadata["tags"] = tags
    return student


def write_student_edition(paths: Iterable[str | os.PathLike], out: str | os.PathLike) -> list[Path]:
    """Write the student edition of each notebook in ``paths`` (files or folders) into ``out``."""
    notebooks = find_notebooks(paths)
    if not notebooks:
        raise FileNotFoundError(f"No notebooks found in {[str(p) for p in paths]}.")
    out = Path(out)
    for path in notebooks:              # check every target before writing any
        target = out / path.name
        if target.exists() and (target.resolve() == path.resolve()
                                or BEGIN_SOLUTION in target.read_text(errors="replace")):
            raise WouldOverwriteMaster(
                f"The 'out' folder {str(out)!r} holds the master {path.name} (a notebook with "
                "solutions); writing the student edition there would destroy the solutions. "
                "Choose another folder, e.g. --out student.")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        target = out / path.name
        nbformat.write(student_edition(nbformat.read(path, as_version=4)), target)
        written.append(target)
    return written
