"""Small helpers for the chapter notebooks: reproducibility and showing lmcore's own source."""

from __future__ import annotations

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


def show_source(obj: Any) -> _Source:
    """Display the source of an lmcore function or class, so the book shows the very code it runs."""
    try:
        code = inspect.getsource(obj)
    except (TypeError, OSError) as error:
        raise TypeError(f"The 'obj' argument of show_source must be a function, class or module "
                        f"defined in Python source. Got {obj!r} instead ({error}).") from None
    return _Source(code, getattr(obj, "__qualname__", repr(obj)))
