"""The checker's side: a helper process per submission, outside the sandbox.

``python -m lmcore.classroom.checking JOB.json`` (started by :mod:`lmcore.classroom.grading`)

1. makes a private temporary folder: a copy of ``lmcore`` and a work folder (a copy of the
   master folder's data files, never a notebook);
2. starts the student's process in a :class:`~lmcore.classroom.sandbox.Sandbox` and sends it
   the notebook's code cells (the master's cells, with the student's solution cells); a cell
   that runs past the time limit and cannot be interrupted, or kills the process, is recorded
   and the process is started again without that cell;
3. for each exercise, runs the registered checker **in this process** on a :class:`Proxy`:
   calling the proxy sends the arguments (plain data) to the student's process, which calls
   the student's function and sends back plain data; the proxy rebuilds plain values (and
   copies any in-place change of an argument back). Expected values stay here;
4. writes one record per exercise, atomically, into the grader's records folder as soon as
   it is known.

Nothing the student's process does can reach the checker's objects, modules or files.
"""

from __future__ import annotations

import builtins
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lmcore.classroom import plain
from lmcore.classroom.sandbox import Sandbox, StudentCrashed, StudentTimedOut

__all__ = ["Proxy", "write_record", "main"]


def write_record(path: Path, record: dict) -> None:
    """Write ``record`` as JSON to ``path`` atomically (a reader sees all of it or none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".writing-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(record, stream, indent=1)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


def _student_exception(info: Any) -> BaseException:
    """Rebuild the exception the student's code raised, as a plain exception here."""
    if type(info) is not dict:
        return RuntimeError("the student's process sent a malformed error")
    name = str(info.get("type", "Exception"))[:60]
    message = str(info.get("message", ""))[:2000] + str(info.get("where", ""))[:400]
    if name == "NotImplementedError":
        return NotImplementedError(message)
    builtin = getattr(builtins, name, None)
    if isinstance(builtin, type) and issubclass(builtin, Exception):
        try:
            return builtin(message)
        except TypeError:
            pass
    if not name.isidentifier():
        name = "Exception"
    return type(name, (Exception,), {"__module__": "student"})(message)


def _copy_back(original: Any, after: Any) -> None:
    """Make ``original`` (the checker's argument) show the change the student's code made."""
    try:
        import numpy as np
        if isinstance(original, np.ndarray) and isinstance(after, np.ndarray):
            if after.shape == original.shape and not np.array_equal(original, after,
                                                                     equal_nan=True):
                original[...] = after
            return
    except ImportError:
        pass
    if type(original).__module__.startswith("torch"):
        import torch
        if isinstance(original, torch.Tensor) and isinstance(after, torch.Tensor):
            if after.shape == original.shape and not torch.equal(original, after.to(original.dtype)):
                with torch.no_grad():
                    original.copy_(after)
        return
    if type(original) is list and type(after) is list:
        if len(original) != len(after):
            original[:] = after
            return
        for i, (item, changed) in enumerate(zip(original, after)):   # e.g. a list of tensors
            if _is_array(item) and _is_array(changed):
                _copy_back(item, changed)
            elif not _plain_equal(item, changed):
                original[i] = changed
    elif type(original) is dict and type(after) is dict and not _plain_equal(original, after):
        original.clear()
        original.update(after)
    elif type(original) is set and type(after) is set and original != after:
        original.clear()
        original.update(after)


def _is_array(value: Any) -> bool:
    module = type(value).__module__
    return module.startswith("numpy") and hasattr(value, "shape") or (
        module.startswith("torch") and hasattr(value, "shape"))


def _plain_equal(a: Any, b: Any) -> bool:
    """Equality of plain values that may hold arrays or tensors (whose ``==`` is elementwise)."""
    if _is_array(a) or _is_array(b):
        if not (_is_array(a) and _is_array(b)) or tuple(a.shape) != tuple(b.shape):
            return False
        if type(a).__module__.startswith("torch") or type(b).__module__.startswith("torch"):
            import torch
            return torch.equal(torch.as_tensor(a), torch.as_tensor(b).to(torch.as_tensor(a).dtype))
        import numpy as np
        return bool(np.array_equal(a, b, equal_nan=True))
    if type(a) in (list, tuple) and type(b) is type(a):
        return len(a) == len(b) and all(_plain_equal(x, y) for x, y in zip(a, b))
    if type(a) is dict and type(b) is dict:
        return a.keys() == b.keys() and all(_plain_equal(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:                   # an ambiguous comparison: treat as changed
        return False


class Proxy:
    """Stands for the student's function in the checker's process."""

    def __init__(self, sandbox: Sandbox, name: str, deadline: float):
        self.sandbox, self.__name__, self.deadline = sandbox, name, deadline
        self.__qualname__ = name
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.sandbox.kill()
            raise StudentTimedOut()
        self.sandbox.send({"call": self.__name__, "args": plain.encode(list(args)),
                           "kwargs": plain.encode(kwargs), "timeout": max(remaining, 0.1)})
        reply = self.sandbox.receive(self.deadline + 5)
        if "timeout" in reply:
            raise StudentTimedOut()
        if "raise" in reply:
            raise _student_exception(reply["raise"])
        if "value" not in reply:
            raise StudentCrashed("the student's process sent a reply without a value")
        try:
            value = plain.decode(reply["value"])
        except plain.NotPlain as error:
            raise TypeError(f"your function's result could not be accepted: it holds {error}") from None
        try:
            after = plain.decode(reply.get("args", []))
            after_kwargs = plain.decode(reply.get("kwargs", {"$": "dict", "items": []}))
        except plain.NotPlain:
            after, after_kwargs = [], {}
        if type(after) is list and len(after) == len(args):
            for original, changed in zip(args, after):
                _copy_back(original, changed)
        if type(after_kwargs) is dict:
            for key, original in kwargs.items():
                if key in after_kwargs:
                    _copy_back(original, after_kwargs[key])
        return value

    def __repr__(self) -> str:
        return f"<the student's function {self.__name__}>"


class Session:
    """The student's process with the notebook's cells run in it; restarted when needed."""

    def __init__(self, job: dict, private: Path):
        self.job, self.private = job, private
        self.cells: list[tuple[int, str]] = [tuple(c) for c in job["cells"]]
        self.outcome: dict[int, str] = {}
        self.skip: set[int] = set()
        self.notes: list[str] = []
        self.starts = 0
        self.sandbox = Sandbox(private, hide=[Path(p) for p in job["hide"]],
                               memory_mb=job["memory_mb"], unsafe=job["unsafe"])

    def ready(self) -> bool:
        """Start (or restart) the student's process and run the cells; False if it cannot."""
        if self.sandbox.alive():
            return True
        while self.starts < 4:
            self.starts += 1
            if self.starts > 1:
                self.notes.append("the student's process was restarted and the notebook run "
                                  "again without the cells that timed out or crashed")
            self.sandbox.start()
            timeout = float(self.job["timeout"])
            try:
                self.sandbox.send({"cells": [c for c in self.cells if c[0] not in self.skip],
                                   "timeout": timeout})
                current = None
                deadline = time.monotonic() + 120      # start-up: Python, IPython, imports
                while True:
                    message = self.sandbox.receive(deadline)
                    if message.get("event") == "start":
                        current = message.get("cell")
                        deadline = time.monotonic() + timeout + 10
                    elif message.get("event") == "done":
                        self.outcome[message.get("cell")] = str(message.get("outcome"))[:400]
                        current = None
                    elif message.get("event") == "ready":
                        return True
                    else:
                        raise StudentCrashed("an unexpected message")
            except StudentTimedOut:
                if current is None:
                    self.notes.append("the student's process did not start in time")
                    return False
                self.outcome[current] = "timed out"
                self.skip.add(current)
            except StudentCrashed:
                if current is None:
                    self.notes.append("the student's process died outside any cell")
                    return False
                self.outcome[current] = "crashed"
                self.skip.add(current)
        return False

    def has(self, name: str) -> bool:
        self.sandbox.send({"has": name})
        reply = self.sandbox.receive(time.monotonic() + 30)
        return reply.get("defined") is True and reply.get("callable") is True


def _private_folder(job: dict) -> Path:
    private = Path(tempfile.mkdtemp(prefix="lmcore-sandbox-"))
    import lmcore
    shutil.copytree(Path(lmcore.__file__).parent, private / "pkg" / "lmcore",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    master = Path(job["master_folder"])
    shutil.copytree(master, private / "work", ignore=shutil.ignore_patterns(
        "*.ipynb", ".ipynb_checkpoints", "_build", "__pycache__"))
    for path in [private, *private.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    if os.geteuid() == 0 and not job["unsafe"]:
        from lmcore.classroom.sandbox import NOBODY
        for path in [private / "work", *(private / "work").rglob("*")]:
            os.chown(path, NOBODY, NOBODY)
    return private


def check_submission(job: dict) -> None:
    """Run one submission and write a record per exercise (see the module docstring)."""
    from lmcore.exercises import run
    records = Path(job["records"])
    private = _private_folder(job)
    session = Session(job, private)
    try:
        for exercise in job["exercises"]:
            record = {"nonce": job["nonce"], "exercise": exercise["id"]}
            name = exercise["function_name"]
            try:
                usable = session.ready()
                defined = usable and session.has(name)
            except (StudentTimedOut, StudentCrashed):
                session.sandbox.kill()
                usable = defined = False
            if not usable:
                record.update(status="crashed", message="The student's process could not be "
                              "started or kept running, so this exercise was not checked.")
            elif not defined:
                record.update(status="missing", message=f"Your notebook does not define "
                              f"`{name}` (was its cell deleted or renamed?).")
            else:
                deadline = time.monotonic() + float(job["timeout"])
                try:
                    result = run(exercise["id"], Proxy(session.sandbox, name, deadline))
                    record.update(status=result.status, message=result.message)
                except StudentTimedOut:
                    session.sandbox.kill()
                    record.update(status="timed out", message=f"Checking `{name}` took longer "
                                  f"than {float(job['timeout']):g} s and was stopped (an "
                                  "infinite loop?).")
                except StudentCrashed as error:
                    session.sandbox.kill()
                    record.update(status="crashed", message=f"The student's process died while "
                                  f"`{name}` was being checked ({error}).")
            record["cells"] = {str(k): v for k, v in session.outcome.items()}
            record["notes"] = list(dict.fromkeys(session.notes))
            write_record(records / f"{exercise['index']:03d}.json", record)
    finally:
        session.sandbox.kill()
        shutil.rmtree(private, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    check_submission(job)
    return 0


if __name__ == "__main__":
    sys.exit(main())
