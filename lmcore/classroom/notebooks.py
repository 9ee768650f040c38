"""Reading master notebooks and submissions: which cells are solutions, checks, answers.

The chapter notebooks are *master* notebooks in nbgrader's format (see CONTRIBUTING.md):

- a **solution cell** (``metadata.nbgrader.solution = true``, ``grade_id`` "ch03-count_pairs")
  holds a function whose reference solution sits between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``;
- a **check cell** (``metadata.nbgrader.grade = true``) calls ``check("ch03.count_pairs",
  count_pairs)``, which runs the checker registered in ``lmcore/exercises/ch03.py``;
- an **answer cell** (a Markdown cell tagged ``answer``) holds the answer to a conceptual
  question inside ``<details class="answer">``.

Nothing here runs code: this module only reads notebooks (the instructor's side).
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Iterable

from nbformat import NotebookNode

__all__ = ["is_solution_cell", "is_check_cell", "is_answer_cell", "strip_solutions",
           "exercises_in", "ExerciseCell", "find_notebooks", "find_master",
           "submitted_solution", "find_submissions", "CODE_STUB"]

BEGIN_SOLUTION = "BEGIN SOLUTION"      # nbgrader's delimiters (matched anywhere in a line)
END_SOLUTION = "END SOLUTION"
BEGIN_HIDDEN_TESTS = "BEGIN HIDDEN TESTS"
END_HIDDEN_TESTS = "END HIDDEN TESTS"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"   # nbgrader's stub, byte for byte
TEXT_STUB = "YOUR ANSWER HERE"
ANSWER_SPACE = "**Your answer.** *(Double-click this cell and write your answer here.)*"

# check("ch03.count_pairs", count_pairs) or lmcore.check(...), possibly with a trailing ';'
CHECK_CALL = re.compile(
    r"""^[ \t]*(?:[A-Za-z_][\w.]*\.)?check\(\s*["']([A-Za-z_][\w]*\.[A-Za-z_]\w*)["']\s*,"""
    r"""\s*([A-Za-z_]\w*)\s*\)\s*;?[ \t]*$""", re.M)

# ---------------------------------------------------------------- reading master notebooks
def _nbgrader(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_solution_cell(cell: NotebookNode) -> bool:
    """A cell the student writes (nbgrader ``solution: true``)."""
    return bool(_nbgrader(cell).get("solution", False))


def is_check_cell(cell: NotebookNode) -> bool:
    """A code cell that checks an exercise: nbgrader ``grade: true`` or a ``check(...)`` call."""
    if cell.cell_type != "code" or is_solution_cell(cell):
        return False
    return bool(_nbgrader(cell).get("grade", False)) or bool(CHECK_CALL.search(cell.source))


def is_answer_cell(cell: NotebookNode) -> bool:
    """A Markdown cell holding the hidden answer to a conceptual question."""
    if cell.cell_type != "markdown":
        return False
    return ("answer" in cell.get("metadata", {}).get("tags", [])
            or '<details class="answer"' in cell.source)


def strip_solutions(source: str, stub: str = CODE_STUB,
                    begin: str = BEGIN_SOLUTION, end: str = END_SOLUTION) -> tuple[str, bool]:
    """Replace every ``begin`` ... ``end`` region of ``source`` by ``stub``, indented like the
    ``begin`` line (exactly what nbgrader's ClearSolutions does). Returns (new source, replaced?).
    """
    lines, out = source.split("\n"), []
    inside = replaced = False
    for number, line in enumerate(lines, 1):
        if begin in line:
            if inside:
                raise ValueError(f"line {number}: a {begin!r} marker inside another solution "
                                 f"region (nested regions are not allowed):\n{source}")
            inside = replaced = True
            indent = re.match(r"\s*", line).group(0)
            if stub:
                out.extend(indent + stub_line for stub_line in stub.split("\n"))
        elif end in line:
            if not inside:
                raise ValueError(f"line {number}: {end!r} without a {begin!r} before it:\n{source}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"a {begin!r} region is never closed by {end!r}:\n{source}")
    return "\n".join(out), replaced


@dataclasses.dataclass(frozen=True)
class ExerciseCell:
    """A coding exercise as it appears in a master notebook."""
    exercise_id: str       # "ch03.count_pairs" (the checker's registry key)
    function_name: str     # the name the check cell passes to check()
    solution_grade_id: str  # nbgrader grade_id of the solution cell ("" if it has none)
    solution_index: int    # index of the solution cell in notebook.cells
    check_index: int       # index of the check cell


def _defines(source: str, name: str) -> bool:
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(|^\s*{re.escape(name)}\s*=",
                     source, re.M) is not None


def exercises_in(notebook: NotebookNode) -> list[ExerciseCell]:
    """The coding exercises of ``notebook``: each check cell with the solution cell it checks.

    The solution cell is the one whose ``grade_id`` is the check's minus ``-check``, else the
    nearest solution cell above the check that defines the checked function.
    """
    cells = notebook.cells
    by_id = {_nbgrader(c).get("grade_id"): i for i, c in enumerate(cells) if is_solution_cell(c)}
    found = []
    for index, cell in enumerate(cells):
        if not is_check_cell(cell):
            continue
        for match in CHECK_CALL.finditer(cell.source):
            exercise_id, name = match.groups()
            grade_id = str(_nbgrader(cell).get("grade_id", ""))
            solution = by_id.get(grade_id[:-len("-check")]) if grade_id.endswith("-check") else None
            if solution is None:
                solution = next((i for i in range(index - 1, -1, -1) if is_solution_cell(cells[i])
                                 and _defines(cells[i].source, name)), None)
            if solution is None:
                raise ValueError(f"the check cell {index} ({cell.source.strip()!r}) has no "
                                 f"solution cell defining {name!r} above it")
            found.append(ExerciseCell(exercise_id, name,
                                      str(_nbgrader(cells[solution]).get("grade_id", "")),
                                      solution, index))
    return found


def find_notebooks(paths: Iterable[str | os.PathLike]) -> list[Path]:
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(path.glob("*.ipynb")))
        elif path.suffix == ".ipynb" and path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"The 'paths' argument must name notebooks (.ipynb) or "
                                    f"folders of them. Got {str(name)!r}, which is neither.")
    return found



def find_master(submission: NotebookNode, name: str, masters: dict[Path, NotebookNode]) -> Path | None:
    for path in masters:
        if path.name == name:
            return path
    ids = {_nbgrader(c).get("grade_id") for c in submission.cells} - {None}
    calls = {m.group(1) for c in submission.cells if c.cell_type == "code"
             for m in CHECK_CALL.finditer(c.source)}
    best, best_score = None, 0
    for path, master in masters.items():
        master_ids = {_nbgrader(c).get("grade_id") for c in master.cells} - {None}
        master_calls = {e.exercise_id for e in exercises_in(master)}
        score = len(ids & master_ids) + len(calls & master_calls)
        if score > best_score:
            best, best_score = path, score
    return best


def submitted_solution(submission: NotebookNode, grade_id: str, name: str) -> tuple[str | None, str]:
    """The student's code for one solution cell: by grade_id, else the last cell defining name."""
    matches = [c for c in submission.cells if c.cell_type == "code" and grade_id
               and _nbgrader(c).get("grade_id") == grade_id]
    if matches:
        note = f"two cells claim grade_id {grade_id}; the first was graded" if len(matches) > 1 else ""
        return matches[0].source, note
    defining = [c for c in submission.cells if c.cell_type == "code" and _defines(c.source, name)
                and not is_check_cell(c)]
    if defining:
        return defining[-1].source, (f"the cell {grade_id} had lost its nbgrader metadata; the "
                                     f"last cell defining {name} was graded")
    return None, ""



def find_submissions(folder: Path) -> list[tuple[str, Path]]:
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        relative = path.relative_to(folder)
        student = relative.parts[0] if len(relative.parts) > 1 else path.stem
        found.append((student, path))
    return found


