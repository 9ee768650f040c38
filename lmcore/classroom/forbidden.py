"""Forbidden names: does a solution cell use what its exercise says not to use?

An exercise registers ``forbidden=("lmcore.ppmi", "lmcore.cooccurrence.ppmi")``. The grader
reads the syntax tree of the student's solution cell, with the imports of the cells that run
before it (the chapter's own ``import lmcore`` counts), and resolves every name, attribute
chain, import and ``getattr(module, "constant")`` to a dotted name; a name equal to a
forbidden one, or below it, is reported. This is a static reading: it catches "solution by
import" as students write it, not code built to hide a name (``getattr(m, "pp" + "mi")``,
``exec``), which is why the grader only *flags* the submission for a human to read.
"""

from __future__ import annotations

import ast

__all__ = ["imported_names", "forbidden_uses"]


def imported_names(source: str, names: dict[str, str] | None = None) -> dict[str, str]:
    """Add the bindings made by the imports in ``source`` (local name -> dotted name)."""
    names = {} if names is None else names
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.AST, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, names)
        return f"{base}.{node.attr}" if base else None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
            and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)):
        base = _dotted(node.args[0], names)
        return f"{base}.{node.args[1].value}" if base else None
    return None


def _matches(dotted: str, forbidden: tuple[str, ...]) -> str | None:
    for name in forbidden:
        if dotted == name or dotted.startswith(name + "."):
            return name
    return None


def forbidden_uses(source: str, forbidden: tuple[str, ...], before: list[str] = ()) -> list[str]:
    """The forbidden names ``source`` uses (sorted, each once), given the cells ``before`` it.

    ``before`` are the sources of the cells that run earlier (their imports bind names);
    a SyntaxError in ``source`` gives no uses (it is reported as a syntax error instead).
    """
    if not forbidden:
        return []
    names: dict[str, str] = {}
    for earlier in before:
        imported_names(earlier, names)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    imported_names(source, names)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                hit = _matches(alias.name, forbidden)
                if hit:
                    found.add(hit)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                hit = _matches(f"{node.module}.{alias.name}", forbidden) or _matches(node.module, forbidden)
                if hit:
                    found.add(hit)
        elif isinstance(node, (ast.Name, ast.Attribute, ast.Call)):
            dotted = _dotted(node, names)
            if dotted:
                hit = _matches(dotted, forbidden)
                if hit:
                    found.add(hit)
    return sorted(found)
