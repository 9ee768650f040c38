"""Coding exercises that check themselves.

A chapter's coding exercise is a function the learner writes between the nbgrader markers
``### BEGIN SOLUTION`` / ``### END SOLUTION``, followed by a cell that calls::

    check("ch03.cooccurrence_counts", cooccurrence_counts)

``check`` runs the exercise's hidden cases on the learner's function and says precisely what is
wrong (the input, the expected value, the value it got). It never raises: an unfinished stub,
a wrong answer or an exception inside the learner's code all become feedback, so the rest of
the notebook still runs. (For nbgrader's autograder, set ``LMCORE_STRICT_CHECKS=1``: then a
check that does not pass also raises ``AssertionError`` after printing its feedback.)

The checkers live in one module per chapter, ``lmcore/exercises/chNN.py``, registered with
:func:`exercise`. Inside a checker, :func:`expect` states one case.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import traceback
from typing import Any, Callable

__all__ = ["Exercise", "CheckResult", "exercise", "typical_mistake", "mistakes", "expect", "check", "run", "registry", "load_all"]


class Wrong(Exception):
    """Raised by :func:`expect` inside a checker when a case fails; carries the feedback."""


@dataclasses.dataclass(frozen=True)
class Exercise:
    id: str            # "ch03.cooccurrence_counts": chapter prefix, then the exercise
    function_name: str  # the name the learner's code defines
    points: int
    title: str
    checker: Callable[[Any], Any]
    # dotted names the exercise says not to use ("lmcore.ppmi"); a solution cell that
    # imports or calls one is flagged by the grader (lmcore.classroom.forbidden)
    forbidden: tuple[str, ...] = ()


@dataclasses.dataclass
class CheckResult:
    exercise: str
    status: str        # "passed", "failed", "error" or "not done"
    message: str
    points: int
    max_points: int

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __repr__(self) -> str:
        mark = {"passed": "PASSED", "failed": "NOT YET", "error": "ERROR", "not done": "NOT DONE"}
        return (f"[{mark[self.status]}] {self.exercise} ({self.points}/{self.max_points} points)\n"
                f"{self.message}")

    def _repr_html_(self) -> str:
        import html
        colour = {"passed": "#1b7f3b", "failed": "#b35c00", "error": "#b00020",
                  "not done": "#555"}[self.status]
        return (f'<div class="lmcore-check" style="border-left:4px solid {colour};'
                f'padding:4px 10px;margin:4px 0"><pre style="margin:0;white-space:pre-wrap">'
                f"{html.escape(repr(self))}</pre></div>")


_REGISTRY: dict[str, Exercise] = {}


def exercise(exercise_id: str, *, function_name: str, points: int = 1, title: str = "",
             forbidden: tuple[str, ...] = ()):
    """Register the decorated function as the checker of ``exercise_id``.

    ``forbidden`` lists the dotted names the exercise tells the learner not to use (a name
    also forbids everything below it: "lmcore" forbids "lmcore.ppmi"); the grader flags a
    solution cell that imports or uses one of them.
    """
    if isinstance(forbidden, str) or not all(isinstance(n, str) and n for n in forbidden):
        raise TypeError(f"The 'forbidden' argument of exercise must be a tuple of dotted "
                        f"names. Got {forbidden!r} instead.")

    def register(checker: Callable[[Any], Any]) -> Callable[[Any], Any]:
        _REGISTRY[exercise_id] = Exercise(exercise_id, function_name, points, title, checker,
                                          tuple(forbidden))
        return checker
    return register


_MISTAKES: dict[str, list[Callable[..., Any]]] = {}


def typical_mistake(exercise_id: str):
    """Register the decorated function as a typical wrong answer to ``exercise_id``.

    The test suite proves that the checker catches every registered mistake (with feedback
    that is not empty), so checkers cannot silently become too lenient.
    """
    def register(wrong_answer: Callable[..., Any]) -> Callable[..., Any]:
        _MISTAKES.setdefault(exercise_id, []).append(wrong_answer)
        return wrong_answer
    return register


def mistakes(exercise_id: str) -> list[Callable[..., Any]]:
    """The typical wrong answers registered for ``exercise_id``."""
    registry(exercise_id)
    return list(_MISTAKES.get(exercise_id, []))


def expect(condition: bool, message: str) -> None:
    """One case of a checker: if ``condition`` is false, the learner sees ``message``."""
    if not condition:
        raise Wrong(message)


def _chapter_module(exercise_id: str) -> str:
    return "lmcore.exercises." + exercise_id.split(".", 1)[0]


def registry(exercise_id: str | None = None) -> Exercise | dict[str, Exercise]:
    """The registered exercise ``exercise_id`` (importing its chapter's checkers), or all of them."""
    if exercise_id is None:
        load_all()
        return dict(_REGISTRY)
    if not isinstance(exercise_id, str) or "." not in exercise_id:
        raise ValueError(f"The 'exercise_id' argument of registry must look like 'ch03.name'. "
                         f"Got {exercise_id!r} instead.")
    if exercise_id not in _REGISTRY:
        try:
            importlib.import_module(_chapter_module(exercise_id))
        except ModuleNotFoundError:
            pass
    if exercise_id not in _REGISTRY:
        from lmcore._validate import closest
        load_all()
        hint = closest(exercise_id, _REGISTRY)
        raise KeyError(f"No exercise is called {exercise_id!r}."
                       + (f" Did you mean {', '.join(map(repr, hint))}?" if hint else ""))
    return _REGISTRY[exercise_id]


def load_all() -> None:
    """Import every chapter's checkers."""
    import pkgutil
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("ch"):
            importlib.import_module(f"{__name__}.{info.name}")


def _where_it_failed(error: BaseException) -> str:
    """The last frame of the learner's own code (a notebook cell), if any."""
    frames = traceback.extract_tb(error.__traceback__)
    own = [f for f in frames if "/lmcore/" not in f.filename.replace("\\", "/")]
    if not own:
        return ""
    frame = own[-1]
    line = f" ({frame.line.strip()})" if frame.line else ""
    return f"\n  at line {frame.lineno} of your code{line}"


def run(exercise_id: str, answer: Any) -> CheckResult:
    """Run the checker of ``exercise_id`` on ``answer`` and return the result (never raises)."""
    spec = registry(exercise_id)
    assert isinstance(spec, Exercise)
    try:
        spec.checker(answer)
    except Wrong as wrong:
        return CheckResult(exercise_id, "failed", str(wrong), 0, spec.points)
    except NotImplementedError:
        return CheckResult(exercise_id, "not done",
                           f"Not done yet: write `{spec.function_name}` where it says "
                           "`raise NotImplementedError()`, then run this cell again.",
                           0, spec.points)
    except Exception as error:  # the learner's code raised: report it, do not crash
        return CheckResult(exercise_id, "error",
                           f"Your `{spec.function_name}` raised {type(error).__name__}: {error}"
                           f"{_where_it_failed(error)}", 0, spec.points)
    n_cases = getattr(spec.checker, "n_cases", None)
    detail = f"all {n_cases} cases passed" if n_cases else "all cases passed"
    return CheckResult(exercise_id, "passed", f"Well done: {detail}.", spec.points, spec.points)


def check(exercise_id: str, answer: Any) -> CheckResult:
    """Check the learner's ``answer`` to ``exercise_id`` and show specific feedback.

    Returns a :class:`CheckResult` (shown as the cell's output). Never raises on a wrong,
    unfinished or crashing answer, unless ``LMCORE_STRICT_CHECKS=1`` is set (for nbgrader).
    """
    result = run(exercise_id, answer)
    if os.environ.get("LMCORE_STRICT_CHECKS") == "1" and not result.passed:
        raise AssertionError(repr(result))
    return result
