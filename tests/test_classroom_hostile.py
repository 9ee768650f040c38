"""The grader against hostile submissions (tests/hostile/attacks.py), graded in one run.

Also: the plain-data channel refuses trick objects, forbidden names are found in the syntax
tree, and the sandbox is what the instructor guide says it is.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lmcore.classroom import plain, sandbox
from lmcore.classroom.forbidden import forbidden_uses

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
_spec = importlib.util.spec_from_file_location("hostile_attacks", ROOT / "tests" / "hostile"
                                               / "attacks.py")
attacks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(attacks)

needs_bwrap = pytest.mark.skipif(not sandbox.available()[0],
                                 reason="bubblewrap cannot run here: " + sandbox.available()[1])
PLANTED_OUTSIDE = [Path("/root/hostile-planted.txt"), Path("/work/hostile-planted.txt"),
                   Path("/home/hostile-planted.txt")]


def tree_hash(folder: Path) -> str:
    """A hash of every file under ``folder`` (names and bytes), caches and builds excluded."""
    digest = hashlib.sha256()
    skip = {".git", "__pycache__", ".pytest_cache", "_build", ".ipynb_checkpoints"}
    for path in sorted(folder.rglob("*")):
        if skip & set(path.relative_to(folder).parts) or not path.is_file():
            continue
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Grade every hostile submission with one `lmcore grade`; return (out, result, hashes)."""
    base = tmp_path_factory.mktemp("hostile")
    masters, submitted = attacks.build(ROOT / "chapters", base)
    out = base / "grades"
    before = tree_hash(ROOT)
    start = time.perf_counter()
    result = subprocess.run([PYTHON, "-m", "lmcore.cli", "grade", str(submitted), "--out",
                             str(out), "--master", str(masters), "--timeout", "60"],
                            capture_output=True, text=True, timeout=3000, cwd=ROOT)
    seconds = time.perf_counter() - start
    return out, result, (before, tree_hash(ROOT)), seconds


def rows(out: Path, name: str) -> list[dict]:
    with open(out / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
@needs_bwrap
def test_the_hostile_run_completes(hostile):
    out, result, _, seconds = hostile
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    print(f"graded {len(attacks.ATTACKS)} hostile submissions in {seconds:.0f} s")


@pytest.mark.slow
@needs_bwrap
def test_every_attack_is_graded_as_it_deserves_and_flagged(hostile):
    out = hostile[0]
    got = {(r["student"], r["exercise"]): r for r in rows(out, "grades.csv")}
    assert set(got) == set(attacks.EXPECTED)
    for key, (status, points, flags) in attacks.EXPECTED.items():
        row = got[key]
        raised = {flag.split(":")[0] for flag in row["flags"].split("; ") if flag}
        assert (row["status"], int(row["points"])) == (status, points), (key, row)
        assert flags <= raised, (key, row["flags"], row["notes"])
        if key[0].startswith("honest"):
            assert not raised, (key, row["flags"])


@pytest.mark.slow
@needs_bwrap
def test_forbidden_names_are_named_in_the_csv_and_the_feedback(hostile):
    out = hostile[0]
    got = {(r["student"], r["exercise"]): r["flags"] for r in rows(out, "grades.csv")}
    assert "forbidden name: lmcore.ppmi" in got["ppmi_by_import", "ch03.ppmi_matrix"]
    assert "forbidden name: torch.optim.Adam" in got["adam_by_import", "ch07.amsgrad_step"]
    feedback = (out / "feedback" / "adam_by_import" / "07_gradient_descent.md").read_text()
    assert "torch.optim.Adam" in feedback and "SyntaxError" in feedback


@pytest.mark.slow
@needs_bwrap
def test_the_instructors_project_is_byte_for_byte_unchanged(hostile):
    before, after = hostile[2]
    assert before == after
    for path in PLANTED_OUTSIDE:
        assert not path.exists(), path


@pytest.mark.slow
@needs_bwrap
def test_the_output_folder_holds_only_what_the_grader_wrote(hostile):
    out = hostile[0]
    expected = {Path("grades.csv"), Path("summary.csv")}
    for student, (number, _, _) in attacks.ATTACKS.items():
        stem = Path(attacks.CHAPTERS[number]).stem
        expected.add(Path("feedback") / student / f"{stem}.md")
        for index in range(2):
            expected.add(Path("records") / student / stem / f"{index:03d}.json")
    found = {p.relative_to(out) for p in out.rglob("*") if p.is_file()}
    assert found == expected
    honest = (out / "feedback" / "honest3" / "03_words_as_vectors.md").read_text()
    assert "Total: 5 / 5 points" in honest and "hostile" not in honest
    summary = {r["student"]: r for r in rows(out, "summary.csv")}
    assert set(summary) == set(attacks.ATTACKS)
    assert summary["honest3"]["points"] == "5" and summary["honest3"]["flags"] == ""
    assert "forbidden name" in summary["ppmi_by_import"]["flags"]


# ---------------------------------------------------------------- plain data
class AlwaysEqual:
    def __eq__(self, other):
        return True


def test_plain_values_round_trip_with_their_types():
    value = {("to", "be"): 2, "x": [1.5, float("inf"), None, True], "t": (1, "a"),
             "s": {1, 2}, "a": np.arange(6, dtype=np.int32).reshape(2, 3),
             "f": np.float64(0.25)}
    back = plain.decode(plain.loads(plain.dumps(plain.encode(value))))
    assert back[("to", "be")] == 2 and type(back["t"]) is tuple and back["s"] == {1, 2}
    assert back["a"].dtype == np.int32 and back["a"].shape == (2, 3)
    assert type(back["f"]) is float and back["x"][1] == float("inf")


def test_trick_objects_are_converted_to_their_plain_value_or_refused():
    class Sly(float):
        def __float__(self):
            return 42.0

    class Counts(dict):
        def get(self, key, default=None):
            return AlwaysEqual()

    class Close(np.ndarray):
        def __array_function__(self, *args):
            return True

    assert plain.decode(plain.encode(Sly(0.5))) == 0.5
    assert type(plain.decode(plain.encode(Counts(a=1)))) is dict
    array = plain.decode(plain.encode(np.zeros(3).view(Close)))
    assert type(array) is np.ndarray and not np.allclose(array, np.ones(3))
    with pytest.raises(plain.NotPlain, match="AlwaysEqual"):
        plain.encode(AlwaysEqual())
    with pytest.raises(plain.NotPlain):
        plain.encode(np.array([AlwaysEqual()], dtype=object))


@pytest.mark.parametrize("message", [
    {"$": "object", "class": "AlwaysEqual"},
    {"$": "ndarray", "dtype": "object", "shape": [1], "data": [1]},
    {"$": "ndarray", "dtype": "float64", "shape": [2], "data": [[1], [2, 3]]},
    {"$": "ndarray", "dtype": "float64", "shape": [3], "data": [1, 2]},
    {"$": "dict", "items": [[[1], 2]]},
    {"$": "tuple", "items": [], "extra": 1},
    {"plain": "dict"},
])
def test_decode_refuses_anything_but_plain_data(message):
    with pytest.raises(plain.NotPlain):
        plain.decode(message)


# ---------------------------------------------------------------- forbidden names
@pytest.mark.parametrize("source, before, found", [
    ("def f(c):\n    return lmcore.ppmi(c)", ["import lmcore"], ["lmcore.ppmi"]),
    ("from lmcore.cooccurrence import ppmi as p\ndef f(c):\n    return p(c)", [],
     ["lmcore.cooccurrence.ppmi"]),
    ("def f(c):\n    return co.ppmi(c)", ["import lmcore.cooccurrence as co"],
     ["lmcore.cooccurrence.ppmi"]),
    ("def f(c):\n    return getattr(lmcore, 'ppmi')(c)", ["import lmcore"], ["lmcore.ppmi"]),
    ("def f(c):\n    return np.log(c)", ["import lmcore", "import numpy as np"], []),
    ("def f(c)\n    return lmcore.ppmi(c)", ["import lmcore"], []),       # a SyntaxError
])
def test_forbidden_names_are_found_in_the_syntax_tree(source, before, found):
    forbidden = ("lmcore.ppmi", "lmcore.cooccurrence.ppmi")
    assert forbidden_uses(source, forbidden, before) == found


def test_exercises_declare_the_names_their_text_forbids():
    from lmcore.exercises import registry
    assert "lmcore.ppmi" in registry("ch03.ppmi_matrix").forbidden
    assert "lmcore" in registry("ch03.count_pairs").forbidden
    assert "torch.optim.Adam" in registry("ch07.amsgrad_step").forbidden


# ---------------------------------------------------------------- the sandbox itself
@needs_bwrap
def test_the_sandbox_command_hides_the_project_and_has_no_network(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "work").mkdir()
    box = sandbox.Sandbox(tmp_path, hide=[ROOT, tmp_path])
    command = box.command()
    assert "--unshare-net" in command and "--die-with-parent" in command
    assert ["--tmpfs", str(ROOT)] == command[command.index(str(ROOT)) - 1:
                                             command.index(str(ROOT)) + 1]
    probe = ["bwrap"] + command[1:command.index("--clearenv")] + [
        "sh", "-c", f"ls {ROOT} | wc -l; cat /proc/net/route | wc -l; touch /usr/x || echo ro"]
    result = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    lines = result.stdout.split()
    assert lines[0] == "0"          # the project folder is empty inside
    assert lines[1] == "1"          # the routing table has only its header: no network
    assert "ro" in result.stdout    # the system is read-only


@pytest.mark.slow
@needs_bwrap
def test_complete_chapters_run_in_the_sandbox_and_earn_full_points(tmp_path):
    """The real masters of chapters 3 and 7, handed in as they are, earn every point."""
    submitted = tmp_path / "submitted" / "teacher"
    submitted.mkdir(parents=True)
    for name in attacks.CHAPTERS.values():
        (submitted / name).write_bytes((ROOT / "chapters" / name).read_bytes())
    out = tmp_path / "grades"
    result = subprocess.run([PYTHON, "-m", "lmcore.cli", "grade", str(submitted.parent), "--out",
                             str(out), "--master", str(ROOT / "chapters"), "--timeout", "300"],
                            capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = rows(out, "summary.csv")
    assert len(summary) == 2
    assert all(r["points"] == r["max_points"] and not r["flags"] for r in summary), summary


def _through_plain_data(function):
    """``function`` as the checker sees it through the channel: arguments, result and the
    arguments after the call all go through JSON and back (what the Proxy does, in-process)."""
    from lmcore.classroom.checking import _copy_back

    def there_and_back(value):
        return plain.decode(plain.loads(plain.dumps(plain.encode(value))))

    def call(*args, **kwargs):
        sent, sent_kwargs = there_and_back(list(args)), there_and_back(kwargs)
        value = there_and_back(function(*sent, **sent_kwargs))
        for original, changed in zip(args, there_and_back(sent)):
            _copy_back(original, changed)
        for key, changed in there_and_back(sent_kwargs).items():
            _copy_back(kwargs[key], changed)
        return value
    return call


def _master_solutions() -> dict:
    """Each exercise's reference solution, from the solution cells of the chapters' masters."""
    import json
    import math
    from collections import Counter

    import nbformat
    import torch

    import lmcore
    from lmcore.classroom import exercises_in
    found = {}
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for exercise in exercises_in(notebook):
            namespace = {"np": np, "torch": torch, "math": math, "json": json, "Counter": Counter,
                         "lmcore": lmcore, "F": torch.nn.functional}
            exec(notebook.cells[exercise.solution_index].source, namespace)
            found[exercise.exercise_id] = namespace[exercise.function_name]
    return found


def test_every_checker_gives_the_same_verdict_through_plain_data():
    """The channel changes no verdict: every chapter's reference solution still passes and
    every registered typical mistake still fails, with the same message."""
    from lmcore.exercises import mistakes, run
    solutions = _master_solutions()
    assert len(solutions) >= 10
    for exercise_id, solution in solutions.items():
        assert run(exercise_id, _through_plain_data(solution)).status == "passed", exercise_id
        for mistake in mistakes(exercise_id):
            direct, channelled = run(exercise_id, mistake), run(exercise_id, _through_plain_data(mistake))
            assert (channelled.status, channelled.message) == (direct.status, direct.message), (
                exercise_id, mistake.__name__)
