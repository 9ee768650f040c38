"""Classroom tooling: the student edition of a chapter, and grading of submitted notebooks.

The chapter notebooks are *master* notebooks in nbgrader's format (see CONTRIBUTING.md):

- a **solution cell** (``metadata.nbgrader.solution = true``, ``grade_id`` "ch03-count_pairs")
  holds a function whose reference solution sits between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``;
- a **check cell** (``metadata.nbgrader.grade = true``) calls ``check("ch03.count_pairs",
  count_pairs)``, which runs the checker registered in ``lmcore/exercises/ch03.py``;
- an **answer cell** (a Markdown cell tagged ``answer``) holds the answer to a conceptual
  question inside ``<details class="answer">``.

:func:`student_edition` removes what a student must not see: each solution region becomes
nbgrader's own stub (``# YOUR CODE HERE`` / ``raise NotImplementedError()``, indented like the
marker), each answer cell becomes an empty "Your answer" cell, and the outputs of solution and
check cells are cleared. Everything else is kept as it is.

:func:`grade` grades a folder of submitted notebooks. It trusts nothing the student handed in
except the code of the solution cells:

1. the notebook that runs is rebuilt from the **master**: the master's own cells, with each
   solution cell replaced by the submission's cell of the same ``grade_id`` (a deleted cell is
   replaced by the stub, so it scores 0); the submission's outputs, metadata, check cells,
   added and edited cells are ignored;
2. it runs in a fresh kernel, in a scratch folder, against a private copy of ``lmcore``; each
   cell may take at most ``timeout`` seconds, then it is interrupted; a cell that raises is
   recorded and the run goes on; a kernel that dies or cannot be interrupted is restarted and
   the run repeated without the offending cell;
3. after the last cell, one grader cell per exercise imports the checkers afresh from disk
   (so rebinding ``check``, ``run`` or the registry in the notebook changes nothing), runs the
   exercise's checker on the student's function, and, as a canary, on an unfinished stub and
   every registered typical mistake: if any of those passes, the checking machinery in that
   kernel was tampered with, and the exercise is marked ``tampered`` with 0 points;
4. the private copy of ``lmcore`` is hashed before and after: a submission that rewrote it
   on disk is marked ``tampered``.

The limits of this design are stated in book/instructor-guide.md: code that runs in the same
process as a checker can, with enough effort, fool it; the grader makes the easy ways fail and
flags the suspicious ones (see :data:`SUSPICIOUS`) for a human to read.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import hashlib
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

import nbformat
from nbformat import NotebookNode

__all__ = ["student_edition", "write_student_edition", "strip_solutions", "exercises_in",
           "ExerciseCell", "Grade", "grade", "grade_submission", "CODE_STUB", "STATUSES"]

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

STATUSES = ("passed", "failed", "error", "not done", "missing", "timed out", "tampered",
            "crashed")

# Words in a solution cell that a solution has no need for and a tampering attempt does;
# a submission whose solution cells use them is flagged for a human to read (not penalised).
SUSPICIOUS = ("lmcore.exercises", "_REGISTRY", "sys.modules", "builtins", "__code__",
              "importlib", "setattr(", "gc.get_objects", "sys._getframe", "inspect.stack",
              "os._exit", "__import__", "monkeypatch", ".checker", "LMCORE_STRICT_CHECKS")


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


# ---------------------------------------------------------------- the student edition
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


def _notebooks(paths: Iterable[str | os.PathLike]) -> list[Path]:
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


def write_student_edition(paths: Iterable[str | os.PathLike], out: str | os.PathLike) -> list[Path]:
    """Write the student edition of each notebook in ``paths`` (files or folders) into ``out``."""
    notebooks = _notebooks(paths)
    if not notebooks:
        raise FileNotFoundError(f"No notebooks found in {[str(p) for p in paths]}.")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        target = out / path.name
        if target.resolve() == path.resolve():
            raise ValueError(f"The 'out' folder {str(out)!r} holds the master {path.name}; "
                             "writing the student edition there would destroy the solutions.")
        nbformat.write(student_edition(nbformat.read(path, as_version=4)), target)
        written.append(target)
    return written


# ---------------------------------------------------------------- grading
@dataclasses.dataclass
class Grade:
    """One exercise of one submission."""
    student: str
    notebook: str
    exercise: str
    status: str        # one of STATUSES
    points: int
    max_points: int
    message: str
    notes: str = ""    # about the whole submission, one per line: timeouts, crashes, ...


_GRADER_CELL = '''\
import importlib as _lmcore_grader_importlib, json as _lmcore_grader_json, sys as _lmcore_grader_sys
for _lmcore_grader_name in [_n for _n in list(_lmcore_grader_sys.modules)
                            if _n == "lmcore.exercises" or _n.startswith("lmcore.exercises.")]:
    del _lmcore_grader_sys.modules[_lmcore_grader_name]
_lmcore_grader_ex = _lmcore_grader_importlib.import_module("lmcore.exercises")
_lmcore_grader_answer = globals().get({name!r})
if _lmcore_grader_answer is None:
    _lmcore_grader_record = {{"status": "missing", "message": "Your notebook does not define "
                             "`{name}` (was its cell deleted or renamed?)."}}
else:
    _lmcore_grader_result = _lmcore_grader_ex.run({exercise!r}, _lmcore_grader_answer)
    _lmcore_grader_record = {{"status": _lmcore_grader_result.status,
                             "message": _lmcore_grader_result.message}}
def _lmcore_grader_stub(*args, **kwargs):
    raise NotImplementedError()
_lmcore_grader_record["canary"] = [
    getattr(_w, "__name__", repr(_w))
    for _w in [_lmcore_grader_stub] + _lmcore_grader_ex.mistakes({exercise!r})
    if _lmcore_grader_ex.run({exercise!r}, _w).status == "passed"]
_lmcore_grader_record["nonce"] = {nonce!r}
with open({path!r}, "w") as _lmcore_grader_file:
    _lmcore_grader_json.dump(_lmcore_grader_record, _lmcore_grader_file)
'''


def _hash_tree(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _find_master(submission: NotebookNode, name: str, masters: dict[Path, NotebookNode]) -> Path | None:
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


def _submitted_solution(submission: NotebookNode, grade_id: str, name: str) -> tuple[str | None, str]:
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


class _Run:
    """Execute code cells in a fresh kernel: per-cell time limit, errors recorded, restarts."""

    def __init__(self, workdir: Path, env: dict[str, str], timeout: float):
        self.workdir, self.env, self.timeout = workdir, env, timeout

    def run(self, sources: list[str], done: set[int], targets: set[int],
            max_passes: int = 3) -> tuple[dict[int, str], list[str]]:
        """Run ``sources`` in order, until every cell in ``targets`` is in ``done`` (a set
        the caller fills as results arrive). Returns {index: "ok" | "error: ..." | "timed out"
        | "crashed"} and notes on restarts."""
        from nbclient import NotebookClient
        from nbclient.exceptions import DeadKernelError

        class Client(NotebookClient):
            timed_out = False

            async def _async_handle_timeout(self, timeout, cell=None):
                Client.timed_out = True
                return await super()._async_handle_timeout(timeout, cell)

        outcome: dict[int, str] = {}
        notes: list[str] = []
        skip: set[int] = set()
        for attempt in range(max_passes):
            order = [i for i in range(len(sources)) if i not in skip and i not in done]
            if not any(i in targets for i in order):
                break
            notebook = nbformat.v4.new_notebook()
            notebook.cells = [nbformat.v4.new_code_cell(sources[i]) for i in order]
            client = Client(notebook, timeout=self.timeout, allow_errors=True, kernel_name="python3",
                            interrupt_on_timeout=True, store_widget_state=False,
                            error_on_timeout={"ename": "TimeoutError", "traceback": [],
                                              "evalue": f"cell stopped after {self.timeout:g} s"},
                            resources={"metadata": {"path": str(self.workdir)}})
            stuck = None
            current = None
            try:
                with client.setup_kernel(env=self.env):
                    for position, index in enumerate(order):
                        if index in done:       # a result arrived from an earlier pass
                            continue
                        current = index
                        Client.timed_out = False
                        cell = client.execute_cell(notebook.cells[position], position)
                        errors = [o for o in cell.outputs if o.output_type == "error"]
                        if Client.timed_out:
                            outcome[index] = "timed out"
                            probe = nbformat.v4.new_code_cell("pass")
                            notebook.cells.append(probe)
                            Client.timed_out = False
                            client.timeout = 5
                            client.execute_cell(probe, len(notebook.cells) - 1)
                            client.timeout = self.timeout
                            if Client.timed_out:    # the interrupt did not stop it
                                stuck = index
                                break
                        elif errors:
                            outcome[index] = f"error: {errors[0].ename}: {errors[0].evalue}"
                        else:
                            outcome[index] = "ok"
            except DeadKernelError:
                outcome[current] = "crashed"
                stuck = current
            if stuck is None:
                break
            what = "died" if outcome[stuck] == "crashed" else "could not be interrupted"
            notes.append(f"the kernel {what} in a cell (run {attempt + 1}), so it was restarted "
                         "and the notebook run again without that cell")
            skip.add(stuck)
        return outcome, notes


def _kernel_env(pythonpath: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LMCORE_STRICT_CHECKS",)}
    env["PYTHONPATH"] = os.pathsep.join([str(pythonpath)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


def grade_submission(submission_path: str | os.PathLike, master_path: str | os.PathLike, *,
                     student: str, timeout: float = 120) -> list[Grade]:
    """Grade one submitted notebook against its master; see the module docstring for how."""
    from lmcore.exercises import registry
    import lmcore

    submission_path, master_path = Path(submission_path), Path(master_path)
    master = nbformat.read(master_path, as_version=4)
    notebook_name = master_path.name
    try:
        submission = nbformat.read(submission_path, as_version=4)
    except Exception as error:  # not a notebook at all
        return [Grade(student, notebook_name, e.exercise_id, "missing", 0,
                      registry(e.exercise_id).points,
                      f"The submitted file could not be read as a notebook ({type(error).__name__}: "
                      f"{error}).") for e in exercises_in(master)]

    exercises = exercises_in(master)
    solution_index = {e.solution_index: e for e in exercises}
    check_cells = {e.check_index for e in exercises}
    notes: list[str] = []
    sources: list[str] = []
    student_cells: dict[int, str] = {}          # source index -> grade_id, for feedback
    submitted_code: dict[str, str | None] = {}
    for index, cell in enumerate(master.cells):
        if cell.cell_type != "code" or index in check_cells or is_check_cell(cell):
            continue
        if is_solution_cell(cell):
            grade_id = str(_nbgrader(cell).get("grade_id", index))
            names = [e.function_name for e in exercises if e.solution_index == index]
            code, note = _submitted_solution(submission, grade_id, names[0] if names else "")
            if note:
                notes.append(note)
            submitted_code[grade_id] = code
            if code is None:                    # deleted: nothing (never the reference)
                code = f"# the solution cell {grade_id} is missing from the submission"
            student_cells[len(sources)] = grade_id
            sources.append(code)
        else:
            sources.append(cell.source)
    suspicious = sorted({word for code in submitted_code.values() if code
                         for word in SUSPICIOUS if word in code})
    if suspicious:
        notes.append("read by hand: the solution cells use " + ", ".join(suspicious))

    with tempfile.TemporaryDirectory(prefix="lmcore-grade-") as scratch:
        scratch = Path(scratch)
        workdir, results, packages = scratch / "work", scratch / "results", scratch / "packages"
        workdir.mkdir(), results.mkdir()
        shutil.copytree(Path(lmcore.__file__).parent, packages / "lmcore",
                        ignore=shutil.ignore_patterns("__pycache__"))
        before = _hash_tree(packages)
        grader_cells: dict[int, tuple[ExerciseCell, Path, str]] = {}
        for number, ex in enumerate(exercises):
            nonce = secrets.token_hex(16)
            path = results / f"{number}.json"
            grader_cells[len(sources)] = (ex, path, nonce)
            sources.append(_GRADER_CELL.format(name=ex.function_name, exercise=ex.exercise_id,
                                               nonce=nonce, path=str(path)))

        class Done(set):
            def __contains__(self, index):     # a grader cell whose result file is written
                return index in grader_cells and grader_cells[index][1].exists()

        outcome, run_notes = _Run(workdir, _kernel_env(packages), timeout).run(
            sources, Done(), set(grader_cells))
        notes.extend(run_notes)
        tampered_on_disk = _hash_tree(packages) != before
        if tampered_on_disk:
            notes.append("the submission rewrote lmcore's files on disk during the run")
        for index, grade_id in student_cells.items():
            if outcome.get(index, "ok") != "ok":
                notes.append(f"cell {grade_id}: {outcome.get(index)}")

        grades = []
        for index, (ex, path, nonce) in grader_cells.items():
            spec = registry(ex.exercise_id)
            record: dict[str, Any] = {}
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                pass
            if record.get("nonce") != nonce:
                state = outcome.get(index, "not run")
                if state == "timed out":
                    record = {"status": "timed out",
                              "message": f"Checking `{ex.function_name}` took longer than "
                                         f"{timeout:g} s and was stopped (an infinite loop?)."}
                elif state == "crashed":
                    record = {"status": "crashed", "message": f"The kernel died while "
                              f"`{ex.function_name}` was being checked."}
                else:
                    record = {"status": "error", "message": "The grader could not check this "
                              f"exercise ({state}); the notebook's kernel was not usable."}
            status, message = record.get("status", "error"), record.get("message", "")
            solution_state = next((outcome.get(i) for i, gid in student_cells.items()
                                   if gid == ex.solution_grade_id), None)
            if status == "missing" and solution_state in ("crashed", "timed out"):
                status = solution_state
                message = (f"Running your cell {ex.solution_grade_id} "
                           + ("killed the kernel (the Python process died)." if status == "crashed"
                              else f"took longer than {timeout:g} s and could not be stopped."))
            if record.get("canary"):
                status, message = "tampered", ("The checker accepted answers it must reject "
                                               f"({', '.join(record['canary'])}) in this notebook's "
                                               "kernel: something in the notebook changed how "
                                               "checking works.")
            if tampered_on_disk:
                status, message = "tampered", "The notebook rewrote lmcore's checkers on disk."
            if status not in STATUSES:
                status = "error"
            points = spec.points if status == "passed" else 0
            grades.append(Grade(student, notebook_name, ex.exercise_id, status, points,
                                spec.points, message, "\n".join(notes)))
    return grades


def _submissions(folder: Path) -> list[tuple[str, Path]]:
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        relative = path.relative_to(folder)
        student = relative.parts[0] if len(relative.parts) > 1 else path.stem
        found.append((student, path))
    return found


def _feedback(student: str, grades: list[Grade]) -> str:
    total, maximum = sum(g.points for g in grades), sum(g.max_points for g in grades)
    lines = [f"# Feedback for {student}: {grades[0].notebook}", "",
             f"Total: {total} / {maximum} points", ""]
    for g in grades:
        lines += [f"## {g.exercise}: {g.status} ({g.points}/{g.max_points})", "", g.message, ""]
    if grades[0].notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in grades[0].notes.splitlines()] + [""]
    return "\n".join(lines)


def grade(submissions: str | os.PathLike, out: str | os.PathLike, *,
          master: str | os.PathLike = "chapters", timeout: float = 120,
          log=print) -> list[Grade]:
    """Grade every notebook under ``submissions``; write ``grades.csv`` (one row per exercise),
    ``summary.csv`` (one row per notebook) and ``feedback/STUDENT/NOTEBOOK.md`` into ``out``.

    A submission is ``submissions/STUDENT/anything.ipynb`` (or ``submissions/STUDENT.ipynb``);
    it is matched to the master notebook of the same file name in ``master``, else to the
    master that shares the most exercise ids with it.
    """
    submissions, out, master = Path(submissions), Path(out), Path(master)
    if not submissions.is_dir():
        raise NotADirectoryError(f"The 'submissions' argument of grade must be a folder of "
                                 f"notebooks. Got {str(submissions)!r}, which is not a folder.")
    if timeout is None or not timeout > 0:
        raise ValueError(f"The 'timeout' argument of grade must be a number of seconds > 0. "
                         f"Got {timeout!r} instead.")
    masters = {path: nbformat.read(path, as_version=4) for path in _notebooks([master])}
    masters = {p: nb for p, nb in masters.items() if exercises_in(nb)}
    if not masters:
        raise FileNotFoundError(f"The 'master' argument of grade must name master notebooks with "
                                f"exercises. Got {str(master)!r}, which has none.")
    out.mkdir(parents=True, exist_ok=True)
    all_grades: list[Grade] = []
    for student, path in _submissions(submissions):
        start = time.perf_counter()
        try:
            submission = nbformat.read(path, as_version=4)
        except Exception:
            submission = nbformat.v4.new_notebook()
        found = _find_master(submission, path.name, masters)
        if found is None:
            log(f"{path}: skipped, it matches none of the master notebooks in {master}")
            all_grades.append(Grade(student, path.name, "", "missing", 0, 0,
                                    "This notebook matches none of the chapters.", ""))
            continue
        try:
            grades = grade_submission(path, found, student=student, timeout=timeout)
        except Exception as error:  # a grader failure costs this submission a re-run, not the class
            from lmcore.exercises import registry
            grades = [Grade(student, found.name, e.exercise_id, "error", 0,
                            registry(e.exercise_id).points,
                            f"The grader itself failed on this notebook ({type(error).__name__}: "
                            f"{error}); grade it again or by hand.")
                      for e in exercises_in(masters[found])]
        all_grades.extend(grades)
        folder = out / "feedback" / student
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{found.stem}.md").write_text(_feedback(student, grades), encoding="utf-8")
        log(f"{path}: {sum(g.points for g in grades)}/{sum(g.max_points for g in grades)} points "
            f"({time.perf_counter() - start:.1f} s)")

    fields = [f.name for f in dataclasses.fields(Grade)]
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for g in all_grades:
            row = dataclasses.asdict(g)
            for field in ("message", "notes"):
                row[field] = " | ".join(line for line in row[field].splitlines() if line.strip())
            writer.writerow(row)
    totals: dict[tuple[str, str], list[int]] = {}
    for g in all_grades:
        totals.setdefault((g.student, g.notebook), [0, 0])
        totals[g.student, g.notebook][0] += g.points
        totals[g.student, g.notebook][1] += g.max_points
    with open(out / "summary.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "notebook", "points", "max_points"])
        for (student, notebook), (points, maximum) in totals.items():
            writer.writerow([student, notebook, points, maximum])
    return all_grades
