"""Every coding exercise checks itself: the reference solution passes, the unfinished stub is
told "Not done yet", and every registered typical mistake is caught with a specific message.

Parametrised over the solution cells of chapters/*.ipynb (the reference solution is the code
of the chapter's own cell, run in a namespace holding the chapter's imports and definitions)
and over every exercise registered in lmcore.exercises.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from lmcore import exercises
from lmcore.classroom import (exercises_in, is_answer_cell, is_check_cell, is_solution_cell,
                              student_edition)

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = {path: nbformat.read(path, as_version=4)
            for path in sorted((ROOT / "chapters").glob("*.ipynb"))}
REGISTRY = exercises.registry()
IN_CHAPTERS = [(path, exercise) for path, notebook in CHAPTERS.items()
               for exercise in exercises_in(notebook)]
IN_CHAPTERS_IDS = [f"{path.stem[:2]}-{exercise.function_name}" for path, exercise in IN_CHAPTERS]


def chapter_namespace(path: Path) -> dict:
    """The chapter's imports, functions and classes (not its computations), for solution cells."""
    namespace: dict = {"__name__": "__chapter__"}
    for cell in CHAPTERS[path].cells:
        if cell.cell_type != "code" or is_solution_cell(cell) or is_check_cell(cell):
            continue
        code = "\n".join(line for line in cell.source.splitlines()
                         if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
                try:  # a definition whose defaults use the chapter's data is not needed here
                    exec(compile(ast.Module(body=[node], type_ignores=[]),
                                 f"<{path.stem} set-up>", "exec"), namespace)
                except NameError:
                    pass
    return namespace


def solution_function(path: Path, exercise, student: bool = False):
    notebook = student_edition(CHAPTERS[path]) if student else CHAPTERS[path]
    namespace = chapter_namespace(path)
    exec(compile(notebook.cells[exercise.solution_index].source, f"<{path.stem} solution>", "exec"),
         namespace)
    return namespace[exercise.function_name]


@pytest.mark.parametrize("path, exercise", IN_CHAPTERS, ids=IN_CHAPTERS_IDS)
def test_reference_solution_passes_its_checker(path, exercise):
    result = exercises.run(exercise.exercise_id, solution_function(path, exercise))
    assert result.passed, repr(result)
    assert result.points == result.max_points == REGISTRY[exercise.exercise_id].points


@pytest.mark.parametrize("path, exercise", IN_CHAPTERS, ids=IN_CHAPTERS_IDS)
def test_stub_is_told_not_done_yet(path, exercise):
    result = exercises.run(exercise.exercise_id, solution_function(path, exercise, student=True))
    assert result.status == "not done" and result.points == 0
    assert result.message.startswith("Not done yet") and exercise.function_name in result.message


@pytest.mark.parametrize("exercise_id", sorted(REGISTRY))
def test_typical_mistakes_are_caught_with_a_specific_message(exercise_id):
    wrong_answers = exercises.mistakes(exercise_id)
    assert wrong_answers, f"register at least one @typical_mistake for {exercise_id}"
    for wrong in wrong_answers:
        result = exercises.run(exercise_id, wrong)
        assert result.status == "failed", (wrong.__name__, repr(result))
        # specific: it names the function, a number or what the value should be, not only "wrong"
        name = REGISTRY[exercise_id].function_name
        assert len(result.message) > 30 and re.search(rf"\d|should|{name}", result.message), \
            result.message


@pytest.mark.parametrize("exercise_id", sorted(REGISTRY))
def test_an_exception_in_the_learners_code_becomes_feedback(exercise_id):
    def crashes(*args, **kwargs):
        return {}["no such key"]
    result = exercises.run(exercise_id, crashes)
    assert result.status == "error" and "KeyError" in result.message
    assert "at line" in result.message            # where, in the learner's own code


@pytest.mark.parametrize("path", list(CHAPTERS), ids=[p.stem for p in CHAPTERS])
def test_every_check_cell_names_a_registered_exercise(path):
    notebook = CHAPTERS[path]
    for exercise in exercises_in(notebook):
        assert exercise.exercise_id in REGISTRY, f"{path.name}: {exercise.exercise_id} is not registered"
        spec = REGISTRY[exercise.exercise_id]
        assert exercise.exercise_id.startswith(path.stem[:2].join(["ch", ""]) + ".")
        assert exercise.function_name == spec.function_name
        assert exercise.solution_grade_id == exercise.exercise_id.replace(".", "-", 1)
        check = notebook.cells[exercise.check_index].metadata["nbgrader"]
        assert check["grade"] and check["locked"] and check["points"] == spec.points
        assert check["grade_id"] == exercise.solution_grade_id + "-check"
    grade_ids = [c.metadata["nbgrader"]["grade_id"] for c in notebook.cells if "nbgrader" in c.metadata]
    assert len(grade_ids) == len(set(grade_ids)), "nbgrader needs unique grade_ids"
    for cell in notebook.cells:       # every solution cell is checked by some check cell
        if is_solution_cell(cell) and cell.cell_type == "code":
            assert cell.metadata["nbgrader"]["grade_id"] in {
                e.solution_grade_id for e in exercises_in(notebook)}


@pytest.mark.parametrize("path", list(CHAPTERS), ids=[p.stem for p in CHAPTERS])
def test_conceptual_answers_are_hidden_behind_a_click(path):
    for cell in CHAPTERS[path].cells:
        if is_answer_cell(cell):
            assert "answer" in cell.metadata.get("tags", [])
            source = cell.source.strip()
            assert source.startswith('<details class="answer"><summary>Answer</summary>\n\n')
            assert source.endswith("\n\n</details>")


def test_every_registered_exercise_appears_in_a_chapter():
    in_chapters = {exercise.exercise_id for _, exercise in IN_CHAPTERS}
    assert set(REGISTRY) <= in_chapters, (
        f"registered but in no chapter: {sorted(set(REGISTRY) - in_chapters)}")


# --- chapters 5-8: cases added for issue 9 (kept in their own functions to ease merging) ---

def _reference(exercise_id):
    """The chapter's own solution cell for ``exercise_id``, as a function."""
    for path, exercise in IN_CHAPTERS:
        if exercise.exercise_id == exercise_id:
            return solution_function(path, exercise)
    raise LookupError(exercise_id)


def test_gpt_parameters_accepts_a_numpy_integer():
    import numpy as np
    reference = _reference("ch06.gpt_parameters")
    as_numpy = lambda *args: np.int64(reference(*args))            # noqa: E731
    result = exercises.run("ch06.gpt_parameters", as_numpy)
    assert result.passed, repr(result)


def test_gpt_parameters_rejects_a_float():
    reference = _reference("ch06.gpt_parameters")
    as_float = lambda *args: float(reference(*args))               # noqa: E731
    assert not exercises.run("ch06.gpt_parameters", as_float).passed


def test_cross_entropy_grad_checker_overflows_a_naive_softmax_in_float64():
    import torch
    from lmcore.exercises import ch08
    huge = [logits for logits, _ in ch08._gradient_cases()
            if logits.dtype == torch.float64 and logits.abs().max() > 710]
    assert huge, "a case whose exp overflows in float64 is needed"
    assert not torch.isfinite(torch.exp(huge[0])).all()
    result = exercises.run("ch08.cross_entropy_grad", ch08._naive_softmax)
    assert not result.passed and "inf or nan" in result.message


def test_amsgrad_checker_needs_the_running_maximum():
    from lmcore.exercises import ch07
    # in some case the old v_max must exceed the new v somewhere, or plain Adam would pass
    assert any(bool((v_max > beta2 * v + (1 - beta2) * grad ** 2).any())
               for _, grad, _, v, v_max, _, _, _, beta2, _ in ch07._amsgrad_cases())
    assert not exercises.run("ch07.amsgrad_step", ch07._plain_adam).passed


def test_ppmi_checker_has_non_symmetric_cases_that_catch_swapped_marginals():
    """Issue 9: with symmetric cases only, a solution that takes p(w) from the column sums
    and smooths the row sums passed. It agrees with the right answer on every symmetric
    case and must be caught on the non-symmetric ones."""
    from lmcore.exercises import ch03
    cases = ch03._ppmi_cases()
    is_symmetric = [c.shape[0] == c.shape[1] and (c == c.T).all() for c, _, _ in cases]
    symmetric = [c for c, sym in zip(cases, is_symmetric) if sym]
    others = [c for c, sym in zip(cases, is_symmetric) if not sym]
    assert symmetric and len(others) >= 4
    swapped = ch03._marginals_swapped
    for counts, alpha, shift in symmetric:
        assert np.allclose(swapped(counts, alpha, shift),
                           ch03._reference_ppmi(counts, alpha, shift))
    square_others = [c for c in others if c[0].shape[0] == c[0].shape[1]]
    assert any(not np.allclose(swapped(c, a, k), ch03._reference_ppmi(c, a, k))
               for c, a, k in square_others)
    result = exercises.run("ch03.ppmi_matrix", swapped)
    assert result.status == "failed" and "non-symmetric" in result.message


def test_count_pairs_checker_rejects_the_chapters_unweighted_loop():
    """Exercise 3.3 asks for something the chapter does not spell out: the chapter's own
    count_pairs_by_hand (unweighted, across sentence ends) must fail it."""
    path = next(p for p in CHAPTERS if p.stem.startswith("03_"))
    by_hand = chapter_namespace(path)["count_pairs_by_hand"]

    def flattened(sentences, window):
        return by_hand([w for s in sentences for w in s], window)

    assert exercises.run("ch03.count_pairs", flattened).status == "failed"


def test_bigram_checker_accepts_an_exact_fraction_and_numpy_numbers():
    """Issue 9: a correct answer returned as fractions.Fraction was rejected."""
    from fractions import Fraction

    def as_fraction(tokens, previous, word):
        pairs = sum(1 for a, b in zip(tokens, tokens[1:]) if (a, b) == (previous, word))
        contexts = sum(1 for a in tokens[:-1] if a == previous)
        return Fraction(pairs, contexts) if contexts else Fraction(0)

    assert exercises.run("ch01.bigram_probability", as_fraction).passed
    assert exercises.run("ch01.bigram_probability",
                         lambda *a: np.float64(float(as_fraction(*a)))).passed
    assert not exercises.run("ch01.bigram_probability", lambda *a: True).passed
