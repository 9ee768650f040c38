"""Argument checks shared by lmcore's public functions.

Every message names the argument, the value it got and what was expected, in the style
``The 'window' argument of cooccurrence_matrix must be an int >= 1. Got 0 instead.``
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def bad_argument(function: str, name: str, value: Any, expected: str) -> str:
    """The message for an argument that is not what ``function`` expects."""
    return f"The {name!r} argument of {function} must be {expected}. Got {_show(value)} instead."


def check_int(function: str, name: str, value: Any, minimum: int | None = None) -> int:
    """Return ``value`` if it is an int (not a bool) >= ``minimum``, else raise."""
    expected = "an int" if minimum is None else f"an int >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(bad_argument(function, name, value, expected))
    if minimum is not None and value < minimum:
        raise ValueError(bad_argument(function, name, value, expected))
    return value


def check_number(function: str, name: str, value: Any, *, positive: bool = False,
                 minimum: float | None = None, maximum: float | None = None) -> float:
    """Return ``value`` as a float if it is a finite real number within the bounds, else raise."""
    parts = ["a finite number"]
    if positive:
        parts.append("> 0")
    if minimum is not None:
        parts.append(f">= {minimum}")
    if maximum is not None:
        parts.append(f"<= {maximum}")
    expected = " ".join(parts)
    if isinstance(value, bool):
        raise TypeError(bad_argument(function, name, value, expected))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(bad_argument(function, name, value, expected)) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(bad_argument(function, name, value, expected))
    if (positive and number <= 0) or (minimum is not None and number < minimum) or (
        maximum is not None and number > maximum
    ):
        raise ValueError(bad_argument(function, name, value, expected))
    return number


def closest(word: str, candidates: Iterable[str], n: int = 5) -> list[str]:
    """The ``n`` candidates spelled most like ``word`` (for 'did you mean' messages)."""
    return difflib.get_close_matches(word, list(candidates), n=n, cutoff=0.5)
