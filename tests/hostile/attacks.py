"""Hostile submissions for chapters 3 and 7, generated from the master notebooks.

Each attack is a student whose notebook is the chapter's master with some solution cells
(and, for one, a check cell) replaced. Most pair a *wrong* answer with a trick that tried, in
the grader before the sandbox, to turn it into full points; a few are honest controls or use
a forbidden name. ``EXPECTED`` says what an incorruptible grader must give: the status and
points of every exercise, and the flags it must raise.

To keep the run short, the masters are *trimmed*: the chapter's title, its first code cell
(imports) and its exercise cells, taken from ``chapters/`` at test time, so the set follows
the chapters' own exercise cells as they change.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbformat.v4 import new_output

CHAPTERS = {"03": "03_words_as_vectors.ipynb", "07": "07_gradient_descent.ipynb"}

# ---------------------------------------------------------------- wrong answers
WRONG_COUNT = """\
from collections import Counter

def count_pairs(sentences, window):
    counts = Counter()                    # right neighbours only: a typical mistake
    for tokens in sentences:
        for i, word in enumerate(tokens):
            for j in range(i + 1, min(len(tokens), i + window + 1)):
                counts[(word, tokens[j])] += 1 / (j - i)
    return dict(counts)
"""
WRONG_PPMI = """\
def ppmi_matrix(counts, alpha=0.75, shift=1):
    return np.zeros(np.shape(counts))
"""
WRONG_RATE = """\
def stable_learning_rate(hessian):
    return float(1.0 / np.linalg.eigvalsh(hessian).max())     # forgot the 2
"""
WRONG_ADAM = """\
def amsgrad_step(theta, grad, m, v, v_max, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad      # plain Adam: v_max is never used
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** t)
    return theta - lr * m_hat / (np.sqrt(v / (1 - beta2 ** t)) + eps), m, v, v_max
"""
IN_PLACE_ADAM = """\
def amsgrad_step(theta, grad, m, v, v_max, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m *= beta1                              # right numbers, but changes its arguments
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad ** 2
    np.maximum(v_max, v, out=v_max)
    m_hat = m / (1 - beta1 ** t)
    return theta - lr * m_hat / (np.sqrt(v_max / (1 - beta2 ** t)) + eps), m, v, v_max
"""

# ---------------------------------------------------------------- the attacks
JSON_DUMP = """\
import json
_real_dump = json.dump
def _always_passed(record, stream, *args, **kwargs):
    if isinstance(record, dict) and "status" in record:
        record.update(status="passed", message="Well done", canary=[])
    return _real_dump(record, stream, *args, **kwargs)
json.dump = _always_passed
""" + WRONG_PPMI

INPUT_TRANSFORMER = """\
def _rewrite_checks(lines):
    return [line.replace("lmcore.check(", "print(").replace("_lmcore_grader", "_ignored")
            for line in lines]
get_ipython().input_transformers_cleanup.append(_rewrite_checks)
""" + WRONG_COUNT

REPLACE_REFERENCE = """\
import lmcore
import lmcore.cooccurrence
lmcore.cooccurrence.ppmi = lambda counts, alpha=0.75: np.zeros(np.shape(counts))
lmcore.ppmi = lmcore.cooccurrence.ppmi
""" + WRONG_PPMI

ALWAYS_EQUAL_DICT = """\
class _Anything:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = object.__hash__

class _Counts(dict):
    def get(self, key, default=None):
        return _Anything()
    def items(self):
        return iter(())

def count_pairs(tokens, window):
    return _Counts()
"""

FLOAT_FROM_FRAME = """\
import sys

class _Sly(float):
    def __float__(self):                    # read the expected value from the checker
        frame = sys._getframe(1)
        while frame is not None:
            if "want" in frame.f_locals:
                return float(frame.f_locals["want"])
            frame = frame.f_back
        return 0.0

def stable_learning_rate(hessian):
    return _Sly(0.0)
"""

ARRAY_FUNCTION = """\
class _Close(np.ndarray):
    def __array_function__(self, func, types, args, kwargs):
        return True                         # np.allclose(...) -> True, and so on
    def __eq__(self, other):
        return True

def amsgrad_step(theta, grad, m, v, v_max, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    zero = np.zeros(np.shape(theta)).view(_Close)
    return zero, zero.copy(), zero.copy(), zero.copy()
"""

PROC_CWD_REWRITE = """\
import glob, os
_PAYLOAD = ("\\nimport lmcore.exercises as _e\\n"
            "_e._REGISTRY['ch07.amsgrad_step'] = _e.Exercise('ch07.amsgrad_step', 'amsgrad_step', 3, "
            "'', lambda answer: None)\\n")
_found = set()
for _link in glob.glob("/proc/*/cwd") + ["/proc/%d/cwd" % os.getppid()]:
    try:
        _folder = os.readlink(_link)
    except OSError:
        continue
    for _up in [_folder] + [os.path.dirname(_folder), os.path.dirname(os.path.dirname(_folder))]:
        _found.add(os.path.join(_up, "lmcore", "exercises", "ch07.py"))
import lmcore.exercises.ch07 as _ch07
_found.add(_ch07.__file__)
HOSTILE_REWROTE = []
for _path in sorted(_found):
    try:
        with open(_path, "a") as _file:
            _file.write(_PAYLOAD)
        HOSTILE_REWROTE.append(_path)
    except OSError:
        pass
""" + WRONG_RATE

CMDLINE_AND_OUT = """\
import glob, os
HOSTILE_PLANTED = []
_arguments = []
for _cmdline in glob.glob("/proc/*/cmdline"):
    try:
        _arguments += open(_cmdline, "rb").read().decode(errors="replace").split("\\0")
    except OSError:
        pass
for _argument in set(_arguments):
    if not _argument.startswith("/") or not os.path.isdir(_argument):
        continue
    for _name in ("planted.txt", "grades.csv", "summary.csv",
                  "feedback/honest3/03_words_as_vectors.md"):
        try:
            os.makedirs(os.path.dirname(os.path.join(_argument, _name)), exist_ok=True)
            with open(os.path.join(_argument, _name), "w") as _file:
                _file.write("student,notebook,points,max_points\\nhostile,x,999,5\\n")
            HOSTILE_PLANTED.append(os.path.join(_argument, _name))
        except OSError:
            pass
""" + WRONG_COUNT

PPMI_BY_IMPORT = """\
def ppmi_matrix(counts, alpha=0.75, shift=1):
    # shift >= 1: max(PMI - log k, 0) = max(PPMI - log k, 0)
    return np.maximum(lmcore.ppmi(counts, alpha=alpha) - np.log(shift), 0.0)
"""

ADAM_BY_IMPORT = """\
from torch.optim import Adam

def amsgrad_step(theta, grad, m, v, v_max, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    p = torch.nn.Parameter(torch.tensor(theta, dtype=torch.float64))
    optimizer = Adam([p], lr=lr, betas=(beta1, beta2), eps=eps, amsgrad=True)
    optimizer.state[p] = {"step": torch.tensor(float(t - 1)),
                          "exp_avg": torch.tensor(m, dtype=torch.float64),
                          "exp_avg_sq": torch.tensor(v, dtype=torch.float64),
                          "max_exp_avg_sq": torch.tensor(v_max, dtype=torch.float64)}
    p.grad = torch.tensor(grad, dtype=torch.float64)
    optimizer.step()
    state = optimizer.state[p]
    return (p.detach().numpy().copy(), state["exp_avg"].numpy().copy(),
            state["exp_avg_sq"].numpy().copy(), state["max_exp_avg_sq"].numpy().copy())
"""

SYNTAX_ERROR = """\
def stable_learning_rate(hessian)
    return 2.0 / np.linalg.eigvalsh(hessian).max()
"""

# ---------------------------------------------------------------- attacks of our own
# The answer is right only if every escape failed, so a pass proves the sandbox held.
RESOURCE_ABUSE = """\
import os, signal, socket, time
HOSTILE_ESCAPED = []
try:                                        # network
    socket.create_connection(("pypi.org", 443), timeout=3).close()
    HOSTILE_ESCAPED.append("network")
except OSError:
    pass
for _path in ("/root/hostile-planted.txt", "/work/hostile-planted.txt",
              "/home/hostile-planted.txt"):  # home folders, the machine's project folder
    try:
        with open(_path, "w") as _file:
            _file.write("x")
        HOSTILE_ESCAPED.append(_path)
    except OSError:
        pass
for _pid in (os.getppid(), 1):              # kill the grader
    try:
        os.kill(_pid, signal.SIGKILL)
        HOSTILE_ESCAPED.append(f"killed {_pid}")
    except OSError:
        pass
try:                                        # eat 16 GB
    _hog = bytearray(16 << 30)
    HOSTILE_ESCAPED.append("16 GB of memory")
    del _hog
except MemoryError:
    pass
_children = 0
try:                                        # a fork bomb (its children only sleep)
    for _ in range(5000):
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        _children += 1
except OSError:
    pass
if _children >= 5000:
    HOSTILE_ESCAPED.append("5000 processes")

def stable_learning_rate(hessian):
    if HOSTILE_ESCAPED:
        return 0.0
    return float(2.0 / np.linalg.eigvalsh(np.asarray(hessian, dtype=float)).max())
"""

FORGED_CHECK = ('print("[PASSED] ch07.amsgrad_step (3/3 points)")',
                "[PASSED] ch07.amsgrad_step (3/3 points)\n")

RIGHT = None       # keep the master's own solution cell

# student -> (chapter, {solution grade_id: source or RIGHT or stub}, {check grade_id: forged})
ATTACKS = {
    "honest3": ("03", {}, {}),
    "json_dump": ("03", {"ch03-ppmi_matrix": JSON_DUMP}, {}),
    "input_transformer": ("03", {"ch03-count_pairs": INPUT_TRANSFORMER,
                                 "ch03-ppmi_matrix": "stub"}, {}),
    "reference_and_dict": ("03", {"ch03-count_pairs": ALWAYS_EQUAL_DICT,
                                  "ch03-ppmi_matrix": REPLACE_REFERENCE}, {}),
    "cmdline_and_out": ("03", {"ch03-count_pairs": CMDLINE_AND_OUT,
                               "ch03-ppmi_matrix": "stub"}, {}),
    "ppmi_by_import": ("03", {"ch03-ppmi_matrix": PPMI_BY_IMPORT}, {}),
    "honest7": ("07", {}, {}),
    "frame_and_array": ("07", {"ch07-stable_learning_rate": FLOAT_FROM_FRAME,
                               "ch07-amsgrad_step": ARRAY_FUNCTION}, {}),
    "proc_cwd_rewrite": ("07", {"ch07-stable_learning_rate": PROC_CWD_REWRITE,
                                "ch07-amsgrad_step": WRONG_ADAM}, {}),
    "proc_cwd_rewrite_later": ("07", {"ch07-amsgrad_step": WRONG_ADAM}, {}),
    "adam_by_import": ("07", {"ch07-stable_learning_rate": SYNTAX_ERROR,
                              "ch07-amsgrad_step": ADAM_BY_IMPORT}, {}),
    "resource_abuse": ("07", {"ch07-stable_learning_rate": RESOURCE_ABUSE,
                              "ch07-amsgrad_step": IN_PLACE_ADAM}, {}),
    "forged_check": ("07", {"ch07-amsgrad_step": WRONG_ADAM},
                     {"ch07-amsgrad_step-check": FORGED_CHECK}),
}

# (student, exercise) -> (status, points, flags that must be raised on that row)
EXPECTED = {
    ("honest3", "ch03.count_pairs"): ("passed", 2, set()),
    ("honest3", "ch03.ppmi_matrix"): ("passed", 3, set()),
    ("json_dump", "ch03.count_pairs"): ("passed", 2, {"suspicious code"}),
    ("json_dump", "ch03.ppmi_matrix"): ("failed", 0, {"suspicious code"}),
    ("input_transformer", "ch03.count_pairs"): ("failed", 0, set()),
    ("input_transformer", "ch03.ppmi_matrix"): ("not done", 0, set()),
    ("reference_and_dict", "ch03.count_pairs"): ("failed", 0, set()),
    ("reference_and_dict", "ch03.ppmi_matrix"): ("failed", 0, {"forbidden name"}),
    ("cmdline_and_out", "ch03.count_pairs"): ("failed", 0, {"suspicious code"}),
    ("cmdline_and_out", "ch03.ppmi_matrix"): ("not done", 0, {"suspicious code"}),
    ("ppmi_by_import", "ch03.count_pairs"): ("passed", 2, set()),
    ("ppmi_by_import", "ch03.ppmi_matrix"): ("passed", 3, {"forbidden name"}),
    ("honest7", "ch07.stable_learning_rate"): ("passed", 2, set()),
    ("honest7", "ch07.amsgrad_step"): ("passed", 3, set()),
    ("frame_and_array", "ch07.stable_learning_rate"): ("failed", 0, {"suspicious code"}),
    ("frame_and_array", "ch07.amsgrad_step"): ("failed", 0, {"suspicious code"}),  # converted
    ("proc_cwd_rewrite", "ch07.stable_learning_rate"): ("failed", 0, {"suspicious code"}),
    ("proc_cwd_rewrite", "ch07.amsgrad_step"): ("failed", 0, {"suspicious code"}),
    ("proc_cwd_rewrite_later", "ch07.stable_learning_rate"): ("passed", 2, set()),
    ("proc_cwd_rewrite_later", "ch07.amsgrad_step"): ("failed", 0, set()),
    ("adam_by_import", "ch07.stable_learning_rate"): ("syntax error", 0, {"syntax error"}),
    ("adam_by_import", "ch07.amsgrad_step"): ("passed", 3, {"forbidden name"}),
    ("resource_abuse", "ch07.stable_learning_rate"): ("passed", 2, set()),
    ("resource_abuse", "ch07.amsgrad_step"): ("failed", 0, set()),
    ("forged_check", "ch07.stable_learning_rate"): ("passed", 2, {"edited locked cell"}),
    ("forged_check", "ch07.amsgrad_step"): ("failed", 0, {"edited locked cell",
                                                       "unexpected output"}),
}


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def trimmed_master(path: Path) -> nbformat.NotebookNode:
    """The chapter's title, first code cell and exercise cells (solution and check)."""
    from lmcore.classroom import exercises_in
    master = nbformat.read(path, as_version=4)
    keep = {0, next(i for i, c in enumerate(master.cells) if c.cell_type == "code")}
    for exercise in exercises_in(master):
        keep |= {exercise.solution_index, exercise.check_index}
    trimmed = copy.deepcopy(master)
    trimmed.cells = [copy.deepcopy(master.cells[i]) for i in sorted(keep)]
    return trimmed


def build(chapters: Path, folder: Path) -> tuple[Path, Path]:
    """Write trimmed masters to ``folder/chapters`` and the submissions to
    ``folder/submitted/STUDENT/NOTEBOOK``; return (masters folder, submissions folder)."""
    from lmcore.classroom import strip_solutions
    masters, submitted = folder / "chapters", folder / "submitted"
    masters.mkdir(parents=True)
    trimmed = {}
    for number, name in CHAPTERS.items():
        trimmed[number] = trimmed_master(chapters / name)
        nbformat.write(trimmed[number], masters / name)
    for student, (number, solutions, checks) in ATTACKS.items():
        notebook = copy.deepcopy(trimmed[number])
        for cell in notebook.cells:
            grade_id = _grade_id(cell)
            if grade_id in solutions:
                source = solutions[grade_id]
                cell.source = strip_solutions(cell.source)[0] if source == "stub" else source
                cell.outputs, cell.execution_count = [], None
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
                cell.outputs, cell.execution_count = [], None    # as a student would hand in
            if grade_id in checks:
                cell.source, text = checks[grade_id]
                cell.outputs = [new_output("stream", name="stdout", text=text)]
        (submitted / student).mkdir(parents=True)
        nbformat.write(notebook, submitted / student / CHAPTERS[number])
    return masters, submitted
