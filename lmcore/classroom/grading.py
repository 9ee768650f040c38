"""Grading a folder of submitted notebooks: the grader's own process.

For each submission :func:`grade`

1. rebuilds the notebook that will run from the **master**: the master's code cells, with
   each solution cell replaced by the submission's cell of the same ``grade_id`` (a deleted
   cell gives nothing, so the function is reported missing); the submission's outputs,
   metadata, check cells, added and edited cells are never run;
2. reads the submission without running it, for the flags: a solution cell that uses a name
   its exercise forbids (its syntax tree, :mod:`lmcore.classroom.forbidden`), locked cells
   (check cells) that were edited or deleted, stored outputs that claim a pass;
3. starts a helper process (:mod:`lmcore.classroom.checking`) that runs the notebook in a
   bubblewrap sandbox (:mod:`lmcore.classroom.sandbox`) and the checkers in the helper
   itself, talking to the student's process in plain data only; the helper writes one record
   per exercise, atomically, under ``OUT/records/``;
4. reads the records this run wrote (each carries a random token of this run; anything else
   is ignored). An exercise without a record (the helper died) is graded "crashed" for this
   submission only.

At the end, ``grades.csv``, ``summary.csv`` and the feedback files are written from the
records (:mod:`lmcore.classroom.report`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from lmcore.classroom.forbidden import forbidden_uses
from lmcore.classroom.notebooks import (ExerciseCell, _nbgrader, exercises_in, find_master,
                                        find_notebooks, find_submissions, is_check_cell,
                                        is_solution_cell, submitted_solution)
from lmcore.classroom.sandbox import SandboxUnavailable, available

__all__ = ["Grade", "grade", "grade_submission", "STATUSES", "FLAGS", "SUSPICIOUS",
           "SandboxUnavailable"]

STATUSES = ("passed", "failed", "error", "not done", "missing", "syntax error", "timed out",
            "crashed")
FLAGS = ("timeout", "crash", "forbidden name", "edited locked cell", "unexpected output",
         "syntax error", "suspicious code", "not sandboxed")

# Words in a solution cell that a solution has no need for and a tampering attempt does;
# they cannot change a grade (the checker is in another process), but they are worth a look.
SUSPICIOUS = ("lmcore.exercises", "_REGISTRY", "sys.modules", "builtins", "__code__",
              "importlib", "setattr(", "gc.get_objects", "sys._getframe", "inspect.stack",
              "os._exit", "__import__", "monkeypatch", ".checker", "LMCORE_STRICT_CHECKS",
              "/proc/", "input_transformers", "ctypes", "json.dump")


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
    flags: str = ""    # why a human should look, "; "-separated (see FLAGS)
    notes: str = ""    # about the whole submission, one per line


@dataclasses.dataclass
class _Prepared:
    """A submission read, its notebook rebuilt, its static flags found; nothing run yet."""
    student: str
    notebook: str
    exercises: list[ExerciseCell]
    cells: list[tuple[int, str]]         # (index, source) of the notebook that will run
    student_cells: dict[int, str]        # index -> grade_id of the student's solution cells
    flags: dict[str, list[str]]          # exercise id ("" for the whole submission) -> flags
    notes: list[str]
    claims_passed: set[str]              # exercises whose stored check output says PASSED
    unreadable: str = ""


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@+-]", "_", name).strip(".") or "_"


def _outputs_text(cell: NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []) or []:
        text = output.get("text", "")
        parts.append(text if isinstance(text, str) else "".join(text))
        data = output.get("data", {}) or {}
        for key in ("text/plain", "text/html"):
            value = data.get(key, "")
            parts.append(value if isinstance(value, str) else "".join(value))
    return "".join(parts)


def prepare(submission_path: Path, master_path: Path, student: str) -> _Prepared:
    """Read one submission against its master (no code runs here)."""
    from lmcore.exercises import registry
    master = nbformat.read(master_path, as_version=4)
    exercises = exercises_in(master)
    prepared = _Prepared(student, master_path.name, exercises, [], {}, {"": []}, [], set())
    try:
        submission = nbformat.read(submission_path, as_version=4)
    except Exception as error:  # not a notebook at all
        prepared.unreadable = (f"The submitted file could not be read as a notebook "
                               f"({type(error).__name__}: {error}).")
        return prepared
    check_cells = {e.check_index for e in exercises}
    before: list[str] = []
    code_by_grade_id: dict[str, str | None] = {}
    for index, cell in enumerate(master.cells):
        if cell.cell_type != "code" or index in check_cells or is_check_cell(cell):
            continue
        source = cell.source
        if is_solution_cell(cell):
            grade_id = str(_nbgrader(cell).get("grade_id", index))
            names = [e.function_name for e in exercises if e.solution_index == index]
            code, note = submitted_solution(submission, grade_id, names[0] if names else "")
            if note:
                prepared.notes.append(note)
            code_by_grade_id[grade_id] = code
            prepared.student_cells[index] = grade_id
            source = code if code is not None else f"# the solution cell {grade_id} is missing"
            for ex in exercises:
                if ex.solution_index == index:
                    spec = registry(ex.exercise_id)
                    uses = forbidden_uses(source, spec.forbidden, before)
                    if uses:
                        prepared.flags.setdefault(ex.exercise_id, []).append(
                            "forbidden name: " + ", ".join(uses))
        prepared.cells.append((index, source))
        before.append(source)

    suspicious = sorted({word for code in code_by_grade_id.values() if code
                         for word in SUSPICIOUS if word in code})
    if suspicious:
        prepared.flags[""].append("suspicious code")
        prepared.notes.append("read by hand: the solution cells use " + ", ".join(suspicious))

    # locked cells: the master's non-solution cells with an nbgrader grade_id (check cells)
    submitted = {}
    for cell in submission.cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id is not None:
            submitted.setdefault(str(grade_id), cell)
    for cell in master.cells:
        meta = _nbgrader(cell)
        if is_solution_cell(cell) or "grade_id" not in meta or not (meta.get("locked") or meta.get("grade")):
            continue
        grade_id = str(meta["grade_id"])
        theirs = submitted.get(grade_id)
        if theirs is None:
            prepared.flags[""].append("edited locked cell")
            prepared.notes.append(f"the locked cell {grade_id} was deleted")
        elif theirs.source.strip() != cell.source.strip():
            prepared.flags[""].append("edited locked cell")
            prepared.notes.append(f"the locked cell {grade_id} was edited (the master's was run)")
    # stored outputs that claim a pass (checked against the verdict later)
    for ex in exercises:
        gid = str(_nbgrader(master.cells[ex.check_index]).get("grade_id", ""))
        cells = [submitted[gid]] if gid in submitted else []
        cells += [c for c in submission.cells if c.cell_type == "code"
                  and ex.exercise_id in c.source and c not in cells]
        if any("PASSED" in _outputs_text(c) for c in cells):
            prepared.claims_passed.add(ex.exercise_id)
    return prepared


def _helper_command(job_path: Path) -> list[str]:
    """The checker helper's command line (the tests replace it to crash a helper)."""
    return [sys.executable, "-m", "lmcore.classroom.checking", str(job_path)]


def _run_helper(prepared: _Prepared, master: Path, records: Path, nonce: str, *,
                timeout: float, memory_mb: int, unsafe: bool, hide: list[Path]) -> str:
    """Run the checker helper for one submission; '' or what went wrong with it."""
    import lmcore
    package_root = Path(lmcore.__file__).resolve().parents[1]
    job = {"cells": prepared.cells, "timeout": timeout, "memory_mb": memory_mb,
           "unsafe": unsafe, "nonce": nonce, "records": str(records),
           "master_folder": str(master), "hide": [str(h) for h in hide],
           "exercises": [{"id": e.exercise_id, "function_name": e.function_name, "index": i}
                         for i, e in enumerate(prepared.exercises)]}
    env = dict(os.environ)
    env.pop("LMCORE_STRICT_CHECKS", None)
    env["PYTHONPATH"] = os.pathsep.join([str(package_root)] + ([env["PYTHONPATH"]]
                                                                if env.get("PYTHONPATH") else []))
    limit = timeout * (len(prepared.cells) + 2 * len(prepared.exercises) + 4) + 600
    with tempfile.TemporaryDirectory(prefix="lmcore-job-") as folder:
        job_path = Path(folder) / "job.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        try:
            result = subprocess.run(_helper_command(job_path), env=env, capture_output=True,
                                    text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            return f"the grader's helper process ran longer than {limit:g} s and was stopped"
        except OSError as error:
            return f"the grader's helper process could not start ({error})"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        return f"the grader's helper process failed ({last[:300]})"
    return ""


def _read_record(path: Path, nonce: str) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("nonce") != nonce:
        return None
    return record


def _grades_from_records(prepared: _Prepared, records: Path, nonce: str, timeout: float,
                         helper_problem: str, unsafe: bool) -> list[Grade]:
    from lmcore.exercises import registry
    grades = []
    notes = list(prepared.notes)
    if helper_problem:
        notes.append(helper_problem)
    whole = list(prepared.flags[""]) + (["not sandboxed"] if unsafe else [])
    found = [_read_record(records / f"{i:03d}.json", nonce) for i in range(len(prepared.exercises))]
    cells: dict[str, str] = {}
    for record in found:
        if record:
            cells.update({str(k): str(v) for k, v in (record.get("cells") or {}).items()})
            notes.extend(str(n) for n in record.get("notes") or [])
    for index, grade_id in prepared.student_cells.items():
        state = cells.get(str(index), "ok")
        if state != "ok":
            notes.append(f"cell {grade_id}: {state}")
    if any(v == "timed out" for v in cells.values()):
        whole.append("timeout")
    if any(v == "crashed" for v in cells.values()):
        whole.append("crash")
    for number, ex in enumerate(prepared.exercises):
        spec = registry(ex.exercise_id)
        flags = list(prepared.flags.get(ex.exercise_id, []))
        record = found[number]
        if prepared.unreadable:
            status, message = "missing", prepared.unreadable
        elif record is None:
            status = "crashed"
            message = ("The grader's helper process stopped before this exercise was checked "
                       f"({helper_problem or 'no record was written'}); grade it again or by hand.")
        else:
            status, message = str(record.get("status", "error")), str(record.get("message", ""))
        state = cells.get(str(ex.solution_index), "ok")
        if status == "missing" and state.startswith("syntax error"):
            status = "syntax error"
            message = (f"Your cell {ex.solution_grade_id} has a {state.replace('syntax error', 'SyntaxError', 1)}"
                       f", so `{ex.function_name}` was never defined.")
        elif status == "missing" and state in ("crashed", "timed out"):
            status = state
            message = (f"Running your cell {ex.solution_grade_id} "
                       + ("killed the student's process (it died)." if state == "crashed"
                          else f"took longer than {timeout:g} s and could not be stopped."))
        if status not in STATUSES:
            status = "error"
        if status == "timed out":
            flags.append("timeout")
        if status == "crashed":
            flags.append("crash")
        if status == "syntax error":
            flags.append("syntax error")
        if ex.exercise_id in prepared.claims_passed and status != "passed":
            flags.append("unexpected output")
            notes.append(f"the submitted notebook's stored output says {ex.exercise_id} "
                         f"passed; the grader found: {status}")
        points = spec.points if status == "passed" else 0
        grades.append(Grade(prepared.student, prepared.notebook, ex.exercise_id, status, points,
                            spec.points, message))
        grades[-1].flags = "; ".join(dict.fromkeys(flags + whole))
    for g in grades:
        g.notes = "\n".join(dict.fromkeys(notes))
    return grades


def _hidden_folders(*paths: Path) -> list[Path]:
    import lmcore
    return [Path(lmcore.__file__).resolve().parents[1], Path.cwd(), *[p.resolve() for p in paths]]


def grade_submission(submission_path: str | os.PathLike, master_path: str | os.PathLike, *,
                     student: str, timeout: float = 120, records: str | os.PathLike | None = None,
                     memory_mb: int = 4096, unsafe: bool = False) -> list[Grade]:
    """Grade one submitted notebook against its master; see the module docstring for how."""
    submission_path, master_path = Path(submission_path), Path(master_path)
    nonce = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="lmcore-records-") as scratch:
        folder = Path(records) if records is not None else Path(scratch)
        prepared = prepare(submission_path, master_path, student)
        problem = ""
        if not prepared.unreadable:
            problem = _run_helper(prepared, master_path.parent, folder, nonce, timeout=timeout,
                                  memory_mb=memory_mb, unsafe=unsafe,
                                  hide=_hidden_folders(submission_path.parent, master_path.parent,
                                                       folder))
        return _grades_from_records(prepared, folder, nonce, timeout, problem, unsafe)


def grade(submissions: str | os.PathLike, out: str | os.PathLike, *,
          master: str | os.PathLike = "chapters", timeout: float = 120, memory_mb: int = 4096,
          unsafe: bool = False, log=print) -> list[Grade]:
    """Grade every notebook under ``submissions``; write ``grades.csv`` (one row per exercise),
    ``summary.csv`` (one row per notebook), ``feedback/STUDENT/NOTEBOOK.md`` and the records
    ``records/STUDENT/NOTEBOOK/NNN.json`` into ``out``.

    A submission is ``submissions/STUDENT/anything.ipynb`` (or ``submissions/STUDENT.ipynb``);
    it is matched to the master notebook of the same file name in ``master``, else to the
    master that shares the most exercise ids with it. Each runs in a bubblewrap sandbox;
    without bwrap this raises :class:`SandboxUnavailable` unless ``unsafe=True``.
    """
    from lmcore.classroom.report import write_reports
    submissions, out, master = Path(submissions), Path(out), Path(master)
    if not submissions.is_dir():
        raise NotADirectoryError(f"The 'submissions' argument of grade must be a folder of "
                                 f"notebooks. Got {str(submissions)!r}, which is not a folder.")
    if timeout is None or not timeout > 0:
        raise ValueError(f"The 'timeout' argument of grade must be a number of seconds > 0. "
                         f"Got {timeout!r} instead.")
    if not isinstance(memory_mb, int) or memory_mb < 256:
        raise ValueError(f"The 'memory_mb' argument of grade must be an int >= 256 (MB). "
                         f"Got {memory_mb!r} instead.")
    masters = {path: nbformat.read(path, as_version=4) for path in find_notebooks([master])}
    masters = {p: nb for p, nb in masters.items() if exercises_in(nb)}
    if not masters:
        raise FileNotFoundError(f"The 'master' argument of grade must name master notebooks with "
                                f"exercises. Got {str(master)!r}, which has none.")
    if not unsafe:
        ok, why = available()
        if not ok:
            raise SandboxUnavailable(
                f"Cannot grade safely: {why}. Submissions are student code; without the "
                "sandbox they could read or change your files. Install bubblewrap, or, "
                "knowing the risk, pass --unsafe-no-sandbox (unsafe=True).")
    out.mkdir(parents=True, exist_ok=True)
    nonce = secrets.token_hex(16)
    hide = _hidden_folders(submissions, master, out)
    all_grades: list[Grade] = []
    for student, path in find_submissions(submissions):
        start = time.perf_counter()
        try:
            submission = nbformat.read(path, as_version=4)
        except Exception:
            submission = nbformat.v4.new_notebook()
        found = find_master(submission, path.name, masters)
        if found is None:
            log(f"{path}: skipped, it matches none of the master notebooks in {master}")
            all_grades.append(Grade(student, path.name, "", "missing", 0, 0,
                                    "This notebook matches none of the chapters.", ""))
            continue
        records = out / "records" / _safe(student) / _safe(found.stem)
        try:
            prepared = prepare(path, found, student)
            problem = ""
            if not prepared.unreadable:
                problem = _run_helper(prepared, master, records, nonce, timeout=timeout,
                                      memory_mb=memory_mb, unsafe=unsafe, hide=hide)
            grades = _grades_from_records(prepared, records, nonce, timeout, problem, unsafe)
        except Exception as error:  # a grader failure costs this submission a re-run, not the class
            from lmcore.exercises import registry
            grades = [Grade(student, found.name, e.exercise_id, "error", 0,
                            registry(e.exercise_id).points,
                            f"The grader itself failed on this notebook ({type(error).__name__}: "
                            f"{error}); grade it again or by hand.", "crash")
                      for e in exercises_in(masters[found])]
        all_grades.extend(grades)
        log(f"{path}: {sum(g.points for g in grades)}/{sum(g.max_points for g in grades)} points "
            f"({time.perf_counter() - start:.1f} s)")
    write_reports(out, all_grades)
    return all_grades
