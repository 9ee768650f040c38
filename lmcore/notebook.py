"""Small helpers for the chapter notebooks: reproducibility and showing lmcore's own source."""

from __future__ import annotations

import ast
import inspect
import random
from typing import Any


def set_seed(seed: int = 0) -> None:
    """Seed Python's, numpy's and (if it is imported) torch's random generators."""
    from lmcore._validate import check_int
    check_int("set_seed", "seed", seed, minimum=0)
    random.seed(seed)
    import numpy as np
    np.random.seed(seed)
    import sys
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


class _Source:
    def __init__(self, code: str, name: str):
        self.code, self.name = code, name

    def _repr_markdown_(self) -> str:
        return f"```python\n{self.code}```"

    def __repr__(self) -> str:
        return self.code


CHECKS_NOTE = "# ... argument checks (show them: show_source({name}, full=True))"
FORMULA_MARKER = "# -- formula --"


def _is_check_call(node: ast.AST, function: str) -> bool:
    """A call of a validation helper: its name contains "check", or it is ``bad_argument``,
    or its first argument is the calling function's name (as lmcore's helpers take it)."""
    if not isinstance(node, ast.Call):
        return False
    callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
    if "check" in callee or callee == "bad_argument":
        return True
    first = node.args[0] if node.args else None
    return (isinstance(first, ast.Name) and first.id == "fn") or (
        isinstance(first, ast.Constant) and first.value == function)


def _is_check(statement: ast.stmt, function: str) -> bool:
    """Is ``statement`` an argument check: ``fn = "name"``, a ``raise``, an ``if`` that
    only checks, or a statement that calls a validation helper?"""
    if isinstance(statement, ast.Raise):
        return True
    if isinstance(statement, ast.If):
        return (not statement.orelse and bool(statement.body)
                and all(_is_check(inner, function) for inner in statement.body))
    if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant) and (
            statement.value.value == function):
        return True
    if isinstance(statement, (ast.Expr, ast.Assign, ast.AnnAssign)):
        return any(_is_check_call(node, function) for node in ast.walk(statement))
    return False


def _leading_checks(function: ast.FunctionDef | ast.AsyncFunctionDef,
                    lines: list[str]) -> tuple[int, int]:
    """The line range (1-based, inclusive) of the checks that open ``function``'s body,
    after its docstring: up to a ``# -- formula --`` line if the function has one, else the
    leading statements that :func:`_is_check` recognises; (0, -1) if there are none."""
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(
            getattr(body[0], "value", None), ast.Constant) and isinstance(
            body[0].value.value, str):
        body = body[1:]
    if not body:
        return 0, -1
    for number in range(body[0].lineno, function.end_lineno + 1):
        if lines[number - 1].strip() == FORMULA_MARKER:
            return (body[0].lineno, number) if number > body[0].lineno else (0, -1)
    checks = []
    for statement in body:
        if not _is_check(statement, function.name):
            break
        checks.append(statement)
    if not checks or len(checks) == len(body):
        return 0, -1
    return checks[0].lineno, checks[-1].end_lineno


def formula_part(code: str, name: str) -> str:
    """``code`` with the argument checks that open each function replaced by one comment."""
    import textwrap
    lines = textwrap.dedent(code).splitlines(keepends=True)
    try:
        tree = ast.parse("".join(lines))
    except SyntaxError:
        return code
    cuts = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start, end = _leading_checks(node, lines)
            if start:
                cuts.append((start, end))
    for start, end in sorted(cuts, reverse=True):
        indent = lines[start - 1][:len(lines[start - 1]) - len(lines[start - 1].lstrip())]
        lines[start - 1:end] = [indent + CHECKS_NOTE.format(name=name) + "\n"]
    return "".join(lines)


def show_source(obj: Any, full: bool = False) -> _Source:
    """Display the source of an lmcore function or class, so the book shows the very code it
    runs: the formula part, with the argument checks that open each function replaced by a
    one-line comment; ``full=True`` shows everything.

    The checks are the statements after the docstring up to a ``# -- formula --`` comment
    line, or, without one, the leading statements that call a validation helper
    (``check_*``, ``bad_argument``, a helper given the function's name) or only raise."""
    try:
        code = inspect.getsource(obj)
    except (TypeError, OSError) as error:
        raise TypeError(f"The 'obj' argument of show_source must be a function, class or "
                        f"module defined in Python source. Got {obj!r} instead "
                        f"({error}).") from None
    name = getattr(obj, "__qualname__", repr(obj))
    if not isinstance(full, bool):
        from lmcore._validate import bad_argument
        raise TypeError(bad_argument("show_source", "full", full, "True or False"))
    return _Source(code if full else formula_part(code, name.split(".")[-1]), name)
