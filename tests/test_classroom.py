"""The classroom tools: the student edition, nbgrader compatibility, and grading.

Most tests build a small master notebook in tmp_path with two real exercises
(ch01.bigram_probability, ch03.count_pairs), so they do not depend on which chapters exist;
the last tests run over every chapters/*.ipynb.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lmcore import classroom
from lmcore.classroom import CODE_STUB, exercises_in, strip_solutions, student_edition

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
PYTHON = sys.executable

SECRET_ANSWER = "The secret answer is forty-two, because the window is symmetric."

BIGRAM_SOLUTION = """\
    pairs = sum(1 for a, b in zip(tokens, tokens[1:]) if a == previous and b == word)
    contexts = sum(1 for a in tokens[:-1] if a == previous)
    return pairs / contexts if contexts else 0.0"""

COUNT_PAIRS_SOLUTION = """\
    counts = Counter()
    for tokens in sentences:             # exercise 3.3: weight 1/d, never across sentences
        for i, word in enumerate(tokens):
            for j in range(max(0, i - window), min(len(tokens), i + window + 1)):
                if j != i:
                    counts[(word, tokens[j])] += 1 / (j - i if j > i else i - j)
    return dict(counts)"""


def _solution_cell(grade_id: str, source: str) -> nbformat.NotebookNode:
    return new_code_cell(source, metadata={"nbgrader": {
        "grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
        "solution": True, "task": False}})


def _check_cell(grade_id: str, source: str, points: int) -> nbformat.NotebookNode:
    return new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "grade_id": grade_id, "locked": True, "points": points,
        "schema_version": 3, "solution": False, "task": False}})


def bigram_cell(body: str = BIGRAM_SOLUTION) -> str:
    return ("def bigram_probability(tokens, previous, word):\n    ### BEGIN SOLUTION\n"
            f"{body}\n    ### END SOLUTION")


def count_pairs_cell(body: str = COUNT_PAIRS_SOLUTION) -> str:
    return ("from collections import Counter\n\ndef count_pairs(sentences, window):\n"
            f"    ### BEGIN SOLUTION\n{body}\n    ### END SOLUTION")


def master_notebook() -> nbformat.NotebookNode:
    """A chapter in miniature: set-up, a conceptual question, two coding exercises, a last cell."""
    setup = new_code_cell("import lmcore\nfrom lmcore import check\nGREETING = 'still running'\n"
                          "print('set up')")
    setup.outputs = [new_output("stream", name="stdout", text="set up\n")]
    setup.execution_count = 1
    check_bigram = _check_cell("ch01-bigram_probability-check",
                               'lmcore.check("ch01.bigram_probability", bigram_probability)', 2)
    check_bigram.outputs = [new_output("execute_result", data={"text/plain": "[PASSED] ..."},
                                       execution_count=3)]
    notebook = new_notebook(cells=[
        new_markdown_cell("# Chapter F. A fixture\n\nWhat you will learn:\n\n- to test tools"),
        setup,
        new_markdown_cell("**Exercise 1.** Why is the window symmetric?"),
        new_markdown_cell(f'<details class="answer"><summary>Answer</summary>\n\n{SECRET_ANSWER}'
                          "\n\n</details>", metadata={"tags": ["answer"]}),
        _solution_cell("ch01-bigram_probability", bigram_cell()),
        check_bigram,
        _solution_cell("ch03-count_pairs", count_pairs_cell()),
        _check_cell("ch03-count_pairs-check", 'check("ch03.count_pairs", count_pairs)', 2),
        new_code_cell("print(GREETING)"),
    ])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    return notebook


def execute(notebook: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    """Run a notebook with the book's own command (`lmcore execute`), as a learner would."""
    path = folder / "run.ipynb"
    nbformat.write(notebook, path)
    env = {k: v for k, v in os.environ.items() if k != "LMCORE_STRICT_CHECKS"}
    result = subprocess.run([PYTHON, "-m", "lmcore.cli", "execute", "--timeout", "300", str(path)],
                            capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, f"the notebook stopped:\n{result.stderr[-3000:]}"
    return nbformat.read(path, as_version=4)


def text_of(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def all_text(notebook: nbformat.NotebookNode) -> str:
    """Every cell's source and every output's text, as a reader of the notebook sees them."""
    return "\n".join(cell.source + "\n" + text_of(cell) for cell in notebook.cells)


def solution_regions(notebook: nbformat.NotebookNode) -> list[str]:
    """The code between the markers of every solution cell, marker lines excluded."""
    regions = []
    for cell in notebook.cells:
        lines, inside, region = cell.source.split("\n"), False, []
        for line in lines:
            if "BEGIN SOLUTION" in line:
                inside, region = True, []
            elif "END SOLUTION" in line:
                inside = False
                regions.append("\n".join(region))
            elif inside:
                region.append(line)
    return regions


# ---------------------------------------------------------------- the student edition
def test_solution_region_becomes_nbgraders_stub_at_the_markers_indentation():
    source, replaced = strip_solutions(bigram_cell())
    assert replaced
    assert source == ("def bigram_probability(tokens, previous, word):\n"
                      "    # YOUR CODE HERE\n    raise NotImplementedError()")
    assert strip_solutions("x = 1\n")[0] == "x = 1\n"


@pytest.mark.parametrize("bad", ["### BEGIN SOLUTION\nx = 1",
                                 "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
                                 "x = 1\n### END SOLUTION"])
def test_malformed_markers_are_refused_with_the_cell_shown(bad):
    with pytest.raises(ValueError, match="SOLUTION"):
        strip_solutions(bad)


def test_student_edition_removes_solutions_and_answers_and_keeps_everything_else():
    master = master_notebook()
    student = student_edition(master)
    assert len(student.cells) == len(master.cells)
    text = all_text(student)
    for region in solution_regions(master):
        assert region not in text
        for line in region.splitlines():        # not even one line of a solution survives
            if line.strip() and "return" not in line:
                assert line.strip() not in text, line
    assert "BEGIN SOLUTION" not in text and SECRET_ANSWER not in text
    assert 'class="answer"' not in text
    assert student.cells[4].source == ("def bigram_probability(tokens, previous, word):\n"
                                       "    # YOUR CODE HERE\n    raise NotImplementedError()")
    assert student.cells[5].outputs == [] and student.cells[5].execution_count is None
    assert student.cells[1] == master.cells[1]           # set-up code and its output intact
    for index in (0, 2, 7, 8):
        assert student.cells[index].source == master.cells[index].source
    assert student.cells[3].metadata["tags"] == ["your-answer"]
    assert master.cells[4].source == bigram_cell()       # the master itself is not changed


def test_a_solution_region_outside_a_solution_cell_is_refused():
    master = master_notebook()
    master.cells[1].source += "\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    with pytest.raises(ValueError, match="not marked as an nbgrader solution cell"):
        student_edition(master)


def test_student_edition_runs_to_the_end_and_every_check_says_not_done_yet(tmp_path):
    executed = execute(student_edition(master_notebook()), tmp_path)
    checks = [executed.cells[e.check_index] for e in exercises_in(executed)]
    assert len(checks) == 2
    for cell in checks:
        assert "Not done yet" in text_of(cell), text_of(cell)
    assert "still running" in text_of(executed.cells[-1])


def test_master_passes_its_own_checks_when_run(tmp_path):
    executed = execute(master_notebook(), tmp_path)
    for exercise in exercises_in(executed):
        assert "PASSED" in text_of(executed.cells[exercise.check_index])


def test_strict_checks_stop_the_student_edition_for_nbgraders_autograder(tmp_path):
    path = tmp_path / "strict.ipynb"
    nbformat.write(student_edition(master_notebook()), path)
    env = dict(os.environ, LMCORE_STRICT_CHECKS="1")
    result = subprocess.run([PYTHON, "-m", "lmcore.cli", "execute", str(path)],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode != 0
    assert "AssertionError" in result.stderr and "Not done yet" in result.stderr


def test_cli_writes_the_student_edition_and_never_over_the_master(tmp_path):
    masters = tmp_path / "chapters"
    masters.mkdir()
    nbformat.write(master_notebook(), masters / "99_fixture.ipynb")
    out = tmp_path / "student"
    result = subprocess.run([PYTHON, "-m", "lmcore.cli", "student-edition", "--out", str(out),
                             str(masters)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    written = nbformat.read(out / "99_fixture.ipynb", as_version=4)
    assert "raise NotImplementedError()" in written.cells[4].source
    with pytest.raises(ValueError, match="destroy the solutions"):
        classroom.write_student_edition([masters], masters)
    refused = subprocess.run([PYTHON, "-m", "lmcore.cli", "student-edition", "--out", str(masters),
                              str(masters)], capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("lmcore student-edition: ") and "destroy" in refused.stderr
    assert "BEGIN SOLUTION" in (masters / "99_fixture.ipynb").read_text()   # master intact
    with pytest.raises(FileNotFoundError, match="'paths'"):
        classroom.write_student_edition([tmp_path / "nothing.txt"], out)


# ---------------------------------------------------------------- nbgrader
NBGRADER_CONFIG = """\
c = get_config()
# the book's conceptual answers are Markdown cells tagged `answer`: remove them too
c.GenerateAssignment.preprocessors.append("nbconvert.preprocessors.TagRemovePreprocessor")
c.TagRemovePreprocessor.enabled = True
c.TagRemovePreprocessor.remove_cell_tags = ["answer"]
"""


def test_nbgrader_generate_assignment_accepts_the_masters_and_writes_the_same_stubs(tmp_path):
    """nbgrader (as the instructor guide configures it) and `lmcore student-edition` agree."""
    source = tmp_path / "course" / "source" / "book"
    source.mkdir(parents=True)
    masters = {"99_fixture.ipynb": master_notebook()}
    masters.update({path.name: nbformat.read(path, as_version=4) for path in CHAPTERS})
    for name, notebook in masters.items():
        nbformat.write(notebook, source / name)
    (tmp_path / "course" / "nbgrader_config.py").write_text(NBGRADER_CONFIG)
    nbgrader = Path(PYTHON).with_name("nbgrader")
    result = subprocess.run([str(nbgrader), "generate_assignment", "book", "--no-db", "--force"],
                            cwd=tmp_path / "course", capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name, master in masters.items():
        released = nbformat.read(tmp_path / "course" / "release" / "book" / name, as_version=4)
        ours = student_edition(master)
        stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in released.cells
                 if classroom.is_solution_cell(c)}
        assert stubs == {c.metadata["nbgrader"]["grade_id"]: c.source for c in ours.cells
                         if classroom.is_solution_cell(c)}, name
        assert not any(classroom.is_answer_cell(c) for c in released.cells), name


def test_nbgrader_autograde_gives_a_stub_zero_only_with_strict_checks(tmp_path):
    """Without LMCORE_STRICT_CHECKS=1 a check cell never raises, so nbgrader's autograder
    would give every check full points (the instructor guide says to set it)."""
    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    nbformat.write(master_notebook(), course / "source" / "ps1" / "99_fixture.ipynb")
    (course / "submitted" / "bob" / "ps1").mkdir(parents=True)
    nbformat.write(submission(**{"ch03-count_pairs": STUB_COUNT_PAIRS}),
                   course / "submitted" / "bob" / "ps1" / "99_fixture.ipynb")
    env = {k: v for k, v in os.environ.items() if k != "LMCORE_STRICT_CHECKS"}
    env["PATH"] = os.pathsep.join([str(Path(PYTHON).parent), env.get("PATH", "")])  # alembic

    def nbgrader(*args, **extra_env):
        result = subprocess.run(["nbgrader", *args], cwd=course, capture_output=True, text=True,
                                env={**env, **extra_env}, timeout=600)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    def bobs_score() -> float:
        nbgrader("export")
        with open(course / "grades.csv", newline="") as handle:
            return float(next(csv.DictReader(handle))["raw_score"])

    nbgrader("generate_assignment", "ps1", "--force")
    nbgrader("autograde", "ps1", "--create", "--force")
    assert bobs_score() == 4.0                     # the stub of count_pairs got its 2 points
    nbgrader("autograde", "ps1", "--create", "--force", LMCORE_STRICT_CHECKS="1")
    assert bobs_score() == 2.0                     # only bigram_probability's 2 points


# ---------------------------------------------------------------- grading
def submission(**replace: str | None) -> nbformat.NotebookNode:
    """The master with some cells replaced (by grade_id) or deleted (None)."""
    notebook = master_notebook()
    cells = []
    for cell in notebook.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in replace:
            if replace[grade_id] is None:
                continue
            cell.source = replace[grade_id]
        cells.append(cell)
    notebook.cells = cells
    return notebook


STUB_COUNT_PAIRS = strip_solutions(count_pairs_cell())[0]
STUBBORN_LOOP = """\
    import time
    while True:                      # swallows the grader's interrupt, too
        try:
            time.sleep(0.2)
        except BaseException:
            pass"""
WRONG_BIGRAM = """\
    pairs = sum(1 for a, b in zip(tokens, tokens[1:]) if a == previous and b == word)
    return pairs / tokens.count(previous)"""
REBINDING = """
import lmcore, lmcore.exercises as ex
class _Pass:
    status, passed, points = "passed", True, 2
    def __repr__(self): return "[PASSED]"
ex.run = ex.check = lmcore.check = check = lambda *args, **kwargs: _Pass()
for spec in list(ex._REGISTRY.values()):
    ex._REGISTRY[spec.id] = spec.__class__(spec.id, spec.function_name, 100, spec.title,
                                           lambda answer: None)
ex.expect = lambda condition, message: None
"""
PATCH_ABS = "\nimport builtins\nbuiltins.abs = lambda x: 0   # every float now looks close\n"
REWRITE_ON_DISK = """
import lmcore.exercises.ch01 as _ch01
with open(_ch01.__file__, "a") as _f:
    _f.write("\\n# rewritten by a submission\\n")
"""

SUBMISSIONS = {
    "alice": submission(),                                           # complete
    "bob": submission(**{"ch03-count_pairs": STUB_COUNT_PAIRS}),     # partial
    "carol": submission(**{                                          # broken, cells deleted
        "ch01-bigram_probability": bigram_cell("    return 1 / 0"),
        "ch03-count_pairs": None, "ch03-count_pairs-check": None}),
    "dave": submission(**{"ch03-count_pairs": count_pairs_cell(STUBBORN_LOOP)}),  # loops
    "erin": submission(**{                                           # rebinds the checker
        "ch01-bigram_probability": bigram_cell(WRONG_BIGRAM) + REBINDING,
        "ch01-bigram_probability-check": "print('[PASSED] 2/2 points')"}),
    "frank": submission(**{"ch01-bigram_probability": bigram_cell(WRONG_BIGRAM) + PATCH_ABS}),
    "grace": submission(**{"ch03-count_pairs": count_pairs_cell() + REWRITE_ON_DISK}),
    "ivan": submission(**{"ch01-bigram_probability": "import os\nos._exit(1)\n" + bigram_cell()}),
}
EXPECTED = {  # (student, exercise) -> (status, points)
    ("alice", "ch01.bigram_probability"): ("passed", 2), ("alice", "ch03.count_pairs"): ("passed", 2),
    ("bob", "ch01.bigram_probability"): ("passed", 2), ("bob", "ch03.count_pairs"): ("not done", 0),
    ("carol", "ch01.bigram_probability"): ("error", 0), ("carol", "ch03.count_pairs"): ("missing", 0),
    ("dave", "ch01.bigram_probability"): ("passed", 2), ("dave", "ch03.count_pairs"): ("timed out", 0),
    # erin's rebinding and frank's patched abs() run in the student's process, the checkers in
    # another: they change nothing, and the wrong answers simply fail
    ("erin", "ch01.bigram_probability"): ("failed", 0), ("erin", "ch03.count_pairs"): ("passed", 2),
    ("frank", "ch01.bigram_probability"): ("failed", 0), ("frank", "ch03.count_pairs"): ("passed", 2),
    # grace's write to lmcore's checkers fails (a read-only private copy); her answers are right
    ("grace", "ch01.bigram_probability"): ("passed", 2), ("grace", "ch03.count_pairs"): ("passed", 2),
    ("ivan", "ch01.bigram_probability"): ("crashed", 0), ("ivan", "ch03.count_pairs"): ("passed", 2),
}
FLAGGED = {  # (student, exercise) -> flags that must be raised (a human should look)
    ("carol", "ch03.count_pairs"): {"edited locked cell"},
    ("dave", "ch03.count_pairs"): {"timeout"},
    ("erin", "ch01.bigram_probability"): {"suspicious code", "edited locked cell"},
    ("frank", "ch01.bigram_probability"): {"suspicious code"},
    ("grace", "ch03.count_pairs"): {"suspicious code", "forbidden name"},  # 3.3: no lmcore
    ("ivan", "ch01.bigram_probability"): {"crash"},
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the prepared submissions once with the command line; return (out, seconds)."""
    base = tmp_path_factory.mktemp("grading")
    masters, submitted, out = base / "chapters", base / "submitted", base / "grades"
    masters.mkdir()
    nbformat.write(master_notebook(), masters / "99_fixture.ipynb")
    for student, notebook in SUBMISSIONS.items():
        (submitted / student).mkdir(parents=True)
        nbformat.write(notebook, submitted / student / "99_fixture.ipynb")
    real_checkers = (ROOT / "lmcore" / "exercises" / "ch01.py").read_bytes()
    start = time.perf_counter()
    try:
        result = subprocess.run([PYTHON, "-m", "lmcore.cli", "grade", str(submitted), "--out",
                                 str(out), "--master", str(masters), "--timeout", "5"],
                                capture_output=True, text=True, timeout=900)
    finally:  # a grader bug must never leave the book's own checkers rewritten
        rewritten = (ROOT / "lmcore" / "exercises" / "ch01.py").read_bytes() != real_checkers
        if rewritten:
            (ROOT / "lmcore" / "exercises" / "ch01.py").write_bytes(real_checkers)
    assert not rewritten, "a submission rewrote the real lmcore/exercises/ch01.py"
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # no Jupyter kernel is started, so no per-kernel warning (TCP without encryption, ...)
    assert result.stderr == "", result.stderr[-3000:]
    return out, time.perf_counter() - start


def test_grading_prepared_submissions_gives_the_expected_csv(graded):
    out, seconds = graded
    with open(out / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    got = {(r["student"], r["exercise"]): (r["status"], int(r["points"])) for r in rows}
    assert got == EXPECTED
    assert {r["max_points"] for r in rows} == {"2"}      # from the registry, never the notebook
    with open(out / "summary.csv", newline="") as handle:
        totals = {r["student"]: int(r["points"]) for r in csv.DictReader(handle)}
    assert totals == {s: sum(p for (t, _), (_, p) in EXPECTED.items() if t == s) for s in SUBMISSIONS}
    for key, flags in FLAGGED.items():
        row = next(r for r in rows if (r["student"], r["exercise"]) == key)
        assert flags <= {f.split(":")[0] for f in row["flags"].split("; ")}, (key, row["flags"])
    assert not any(r["flags"] for r in rows if r["student"] in ("alice", "bob"))
    print(f"graded {len(SUBMISSIONS)} submissions in {seconds:.1f} s")


def test_feedback_says_precisely_what_is_wrong(graded):
    out, _ = graded
    erin = (out / "feedback" / "erin" / "99_fixture.md").read_text()
    assert "Total: 2 / 4 points" in erin
    assert "p('queen' | 'the') should be 0.3333" in erin or "should be" in erin
    assert "read by hand" in erin and "lmcore.exercises" in erin     # flagged for a human
    carol = (out / "feedback" / "carol" / "99_fixture.md").read_text()
    assert "ZeroDivisionError" in carol and "does not define `count_pairs`" in carol
    dave = (out / "feedback" / "dave" / "99_fixture.md").read_text()
    assert "longer than 5 s" in dave and "timeout" in dave
    ivan = (out / "feedback" / "ivan" / "99_fixture.md").read_text()
    assert "died" in ivan


def test_grading_refuses_bad_arguments_by_name(tmp_path):
    with pytest.raises(NotADirectoryError, match="'submissions'"):
        classroom.grade(tmp_path / "nope", tmp_path / "out", master=tmp_path)
    with pytest.raises(ValueError, match="'timeout'"):
        classroom.grade(tmp_path, tmp_path / "out", master=tmp_path, timeout=0)
    with pytest.raises(FileNotFoundError, match="'master'"):
        nbformat.write(new_notebook(), tmp_path / "empty.ipynb")
        classroom.grade(tmp_path, tmp_path / "out", master=tmp_path)


# ---------------------------------------------------------------- the book's own chapters
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_student_edition_of_chapter_holds_no_solution_text(chapter):
    master = nbformat.read(chapter, as_version=4)
    text = all_text(student_edition(master))
    for region in solution_regions(master):
        assert region.strip() and region not in text
    assert "BEGIN SOLUTION" not in text and 'class="answer"' not in text


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_student_edition_of_chapter_runs_end_to_end_saying_not_done_yet(chapter, tmp_path):
    master = nbformat.read(chapter, as_version=4)
    shutil.copytree(chapter.parent, tmp_path / "chapters", ignore=shutil.ignore_patterns("*.ipynb"))
    executed = execute(student_edition(master), tmp_path / "chapters")
    for exercise in exercises_in(master):
        assert "Not done yet" in text_of(executed.cells[exercise.check_index]), exercise


def test_instructor_guide_covers_every_chapter_and_exercise():
    guide = (ROOT / "book" / "instructor-guide.md").read_text()
    for path in CHAPTERS:
        notebook = nbformat.read(path, as_version=4)
        title = notebook.cells[0].source.splitlines()[0].removeprefix("# Chapter ")
        assert f"| {title} |" in guide, title
        numbers = {m.group(1) for cell in notebook.cells if cell.cell_type == "markdown"
                   for m in re.finditer(r"\*\*Exercise (\d+\.\d+) \(\w+\)", cell.source)}
        for number in numbers:
            assert f"| {number} |" in guide, f"exercise {number} of {path.name}"
        for exercise in exercises_in(notebook):
            assert f"`{exercise.function_name}`" in guide, exercise
    assert "LMCORE_STRICT_CHECKS=1" in guide and "TagRemovePreprocessor" in guide


# ---------------------------------------------------------------- robustness of the run
CRASHING_HELPER = """\
import json, os, sys
from lmcore.classroom import checking
job = json.load(open(sys.argv[1]))
if "/bob/" in job["records"].replace(os.sep, "/") + "/":
    job["exercises"] = job["exercises"][:1]     # check the first exercise, then die
    checking.check_submission(job)
    os.abort()
sys.exit(checking.main(sys.argv[1:]))
"""


def _three_submissions(base: Path) -> tuple[Path, Path]:
    masters, submitted = base / "chapters", base / "submitted"
    masters.mkdir()
    nbformat.write(master_notebook(), masters / "99_fixture.ipynb")
    for student in ("alice", "bob", "carol"):
        (submitted / student).mkdir(parents=True)
        nbformat.write(SUBMISSIONS[student], submitted / student / "99_fixture.ipynb")
    return masters, submitted


def test_a_helper_that_dies_costs_only_its_own_submission(tmp_path, monkeypatch):
    from lmcore.classroom import grading, sandbox
    if not sandbox.available()[0]:
        pytest.skip("bubblewrap cannot run here")
    masters, submitted = _three_submissions(tmp_path)
    script = tmp_path / "crashing_helper.py"
    script.write_text(CRASHING_HELPER)
    monkeypatch.setattr(grading, "_helper_command", lambda job: [PYTHON, str(script), str(job)])
    out = tmp_path / "grades"
    # a record planted beforehand (another run's, or forged) must change nothing
    planted = out / "records" / "bob" / "99_fixture" / "001.json"
    planted.parent.mkdir(parents=True)
    planted.write_text('{"nonce": "guessed", "status": "passed", "message": "planted"}')
    grades = classroom.grade(submitted, out, master=masters, timeout=5, log=lambda *a: None)
    got = {(g.student, g.exercise): (g.status, g.points) for g in grades}
    for student in ("alice", "carol"):
        for exercise in ("ch01.bigram_probability", "ch03.count_pairs"):
            assert got[student, exercise] == EXPECTED[student, exercise]
    assert got["bob", "ch01.bigram_probability"] == ("passed", 2)      # recorded before it died
    assert got["bob", "ch03.count_pairs"] == ("crashed", 0)
    bob = (out / "feedback" / "bob" / "99_fixture.md").read_text()
    assert "helper process" in bob and "planted" not in bob
    with open(out / "summary.csv", newline="") as handle:
        assert {r["student"]: r["points"] for r in csv.DictReader(handle)} == {
            "alice": "4", "bob": "2", "carol": "0"}


def test_without_bubblewrap_grading_refuses_unless_told_it_is_unsafe(tmp_path):
    masters, submitted = _three_submissions(tmp_path)
    for student in ("bob", "carol"):
        shutil.rmtree(submitted / student)
    no_bwrap = tmp_path / "bin"           # a PATH where bwrap cannot be found
    no_bwrap.mkdir()
    env = dict(os.environ, PATH=str(no_bwrap))
    command = [PYTHON, "-m", "lmcore.cli", "grade", str(submitted), "--out", str(tmp_path / "out"),
               "--master", str(masters), "--timeout", "5"]
    refused = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "bubblewrap is not installed" in refused.stderr and "--unsafe-no-sandbox" in refused.stderr
    assert not (tmp_path / "out").exists()
    unsafe = subprocess.run(command + ["--unsafe-no-sandbox"], capture_output=True, text=True,
                            env=env, timeout=300)
    assert unsafe.returncode == 0, unsafe.stderr[-3000:]
    with open(tmp_path / "out" / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["status"], r["points"]) for r in rows] == [("passed", "2"), ("passed", "2")]
    assert all("not sandboxed" in r["flags"] for r in rows)
