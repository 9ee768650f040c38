"""Classroom tooling: the student edition of a chapter, and grading that a student cannot game.

One module per idea, so that the isolation boundary shows in the layout:

- :mod:`~lmcore.classroom.notebooks` reads master notebooks and submissions (no code runs);
- :mod:`~lmcore.classroom.student_edition` removes solutions and hidden answers;
- :mod:`~lmcore.classroom.grading` (the grader's process) rebuilds each submission's
  notebook from its master, reads it for flags (:mod:`~lmcore.classroom.forbidden`: names an
  exercise forbids), and starts a helper per submission;
- :mod:`~lmcore.classroom.checking` (the helper, the checker's side) runs the registered
  checkers on a proxy of the student's function and writes one record per exercise;
- :mod:`~lmcore.classroom.sandbox` starts and kills the student's process in a bubblewrap
  sandbox; :mod:`~lmcore.classroom.runner` is the only code that runs inside it, next to the
  student's code;
- :mod:`~lmcore.classroom.plain` is the only language the two sides share: plain data;
- :mod:`~lmcore.classroom.report` writes ``grades.csv``, ``summary.csv`` and feedback.

The isolation model and its limits are in book/instructor-guide.md.
"""

from lmcore.classroom.grading import (FLAGS, STATUSES, SUSPICIOUS, Grade, SandboxUnavailable,
                                      grade, grade_submission)
from lmcore.classroom.notebooks import (CODE_STUB, ExerciseCell, exercises_in, find_notebooks,
                                        is_answer_cell, is_check_cell, is_solution_cell,
                                        strip_solutions)
from lmcore.classroom.student_edition import (WouldOverwriteMaster, student_edition,
                                              write_student_edition)

_notebooks = find_notebooks     # the name the command line used before the split

__all__ = ["student_edition", "write_student_edition", "strip_solutions", "exercises_in",
           "ExerciseCell", "Grade", "grade", "grade_submission", "CODE_STUB", "STATUSES",
           "FLAGS", "SUSPICIOUS", "SandboxUnavailable", "WouldOverwriteMaster",
           "is_solution_cell", "is_check_cell", "is_answer_cell", "find_notebooks"]
