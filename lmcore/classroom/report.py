"""Reports written from the grader's records: ``grades.csv``, ``summary.csv``, feedback.

Everything here is written by the grader's own process, after every submission has been
checked, from the :class:`~lmcore.classroom.grading.Grade` list built from the records; a
file already in the output folder is replaced, never read.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import re
import tempfile
from pathlib import Path

__all__ = ["feedback", "write_reports"]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@+-]", "_", name).strip(".") or "_"


def feedback(student: str, grades: list) -> str:
    """The Markdown feedback of one student's notebook."""
    total, maximum = sum(g.points for g in grades), sum(g.max_points for g in grades)
    lines = [f"# Feedback for {student}: {grades[0].notebook}", "",
             f"Total: {total} / {maximum} points", ""]
    for g in grades:
        lines += [f"## {g.exercise}: {g.status} ({g.points}/{g.max_points})", "", g.message, ""]
        if g.flags:
            lines += [f"Flagged for a human look: {g.flags}.", ""]
    if grades[0].notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in grades[0].notes.splitlines()] + [""]
    return "\n".join(lines)


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.is_dir():
        raise FileExistsError(f"{path} is a link or a folder; the grader will not write through it")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".writing-")
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
        stream.write(text)
    os.replace(temporary, path)


def _one_line(text: str) -> str:
    return " | ".join(line for line in text.splitlines() if line.strip())


def write_reports(out: Path, grades: list) -> None:
    """``grades.csv`` (one row per exercise), ``summary.csv`` (one row per notebook, with the
    union of its flags) and ``feedback/STUDENT/NOTEBOOK.md``."""
    out = Path(out)
    by_notebook: dict[tuple[str, str], list] = {}
    for g in grades:
        by_notebook.setdefault((g.student, g.notebook), []).append(g)
    for (student, notebook), group in by_notebook.items():
        if group[0].exercise:
            _write(out / "feedback" / _safe(student) / f"{_safe(Path(notebook).stem)}.md",
                   feedback(student, group))
    fields = [f.name for f in dataclasses.fields(grades[0])] if grades else [
        "student", "notebook", "exercise", "status", "points", "max_points", "message",
        "flags", "notes"]
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=fields)
    writer.writeheader()
    for g in grades:
        row = dataclasses.asdict(g)
        row["message"], row["notes"] = _one_line(row["message"]), _one_line(row["notes"])
        writer.writerow(row)
    _write(out / "grades.csv", table.getvalue())
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["student", "notebook", "points", "max_points", "flags"])
    for (student, notebook), group in by_notebook.items():
        flags = dict.fromkeys(f for g in group for f in g.flags.split("; ") if f)
        writer.writerow([student, notebook, sum(g.points for g in group),
                         sum(g.max_points for g in group), "; ".join(flags)])
    _write(out / "summary.csv", table.getvalue())
