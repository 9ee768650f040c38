"""The student's side: runs INSIDE the sandbox, as a script (``python runner.py``).

It is the only part of the grader that shares a process with a student's code, and it holds
nothing worth stealing or changing: no expected value, no checker, no path to the
instructor's files, no way to write a grade. It

1. keeps its channel (the pipes on fd 0 and 1, which the checker owns) and points the
   student's stdin, stdout and stderr elsewhere; when started as root inside the sandbox it
   first becomes the unprivileged user the grader names (``LMCORE_SANDBOX_UID``);
2. reads the job (the notebook's code cells) and runs the cells in order in one IPython
   shell, each with a time limit, reporting "start" and the outcome of every cell;
3. then answers requests: ``{"has": name}`` and ``{"call": name, "args", "kwargs"}``. Arguments
   and results travel as plain data (``plain.py``); the reply holds the result, the arguments
   after the call (so the checker can see in-place changes), or the exception raised.

Whatever a student's code does to this process (patching json, numpy, this file's functions,
IPython's input transformers) can only change the answers it sends, which is what a student
controls anyway; the checker, in another process, decides what they are worth.
"""

import os
import signal
import sys
import traceback

_HERE = os.path.dirname(os.path.abspath(__file__))


def _channel():
    """Keep fds 0/1 as the channel; the student's code gets /dev/null and a log file."""
    incoming = os.fdopen(os.dup(0), "rb", buffering=0)
    outgoing = os.fdopen(os.dup(1), "wb", buffering=0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    log = os.open(os.environ.get("LMCORE_SANDBOX_LOG", os.devnull),
                  os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    return incoming, outgoing


def _drop_privileges():
    uid = os.environ.pop("LMCORE_SANDBOX_UID", "")
    if uid and os.getuid() == 0:
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))
        if os.getuid() == 0 or os.geteuid() == 0:
            raise SystemExit("could not drop root privileges")


class CellTimeout(Exception):
    """A cell or a call ran past its time limit (raised by the alarm)."""


def _alarm(seconds):
    def ring(signum, frame):
        raise CellTimeout(f"stopped after {seconds:g} s")
    signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _quiet():
    signal.setitimer(signal.ITIMER_REAL, 0)


def _where(error):
    """The last frame of the student's own code, as 'line N of your code (source)'."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if not f.filename.startswith((_HERE, sys.prefix, sys.base_prefix))
              and "site-packages" not in f.filename]
    if not frames:
        return ""
    frame = frames[-1]
    line = f" ({frame.line.strip()})" if frame.line else ""
    return f"\n  at line {frame.lineno} of your code{line}"


def main():
    _drop_privileges()
    incoming, outgoing = _channel()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a full log fails a write, not the process
    sys.path.insert(0, _HERE)
    import plain                                   # this folder's plain.py, by path
    sys.path.remove(_HERE)

    def send(message):
        outgoing.write(plain.dumps(message).encode())

    def receive():
        line = incoming.readline()
        if not line:
            raise SystemExit(0)
        return plain.loads(line)

    job = receive()
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    limit = float(job["timeout"])
    for index, source in job["cells"]:
        send({"event": "start", "cell": index})
        outcome = "ok"
        try:
            _alarm(limit)
            result = shell.run_cell(source, store_history=False)
            _quiet()
            error = result.error_before_exec or result.error_in_exec
            if isinstance(error, CellTimeout):
                outcome = "timed out"
            elif isinstance(error, SyntaxError):
                outcome = f"syntax error: {error.msg} (line {error.lineno})"
            elif error is not None:
                outcome = f"error: {type(error).__name__}: {str(error)[:300]}"
        except CellTimeout:
            outcome = "timed out"
        finally:
            _quiet()
        send({"event": "done", "cell": index, "outcome": outcome})
    send({"event": "ready"})

    while True:
        request = receive()
        name = request.get("has") or request.get("call")
        function = shell.user_ns.get(name)
        if "has" in request:
            send({"defined": function is not None, "callable": callable(function)})
            continue
        try:
            args = plain.decode(request["args"])
            kwargs = plain.decode(request["kwargs"])
            _alarm(float(request["timeout"]))
            try:
                value = function(*args, **kwargs)
            finally:
                _quiet()
            try:
                reply = {"value": plain.encode(value)}
            except plain.NotPlain as refused:
                reply = {"raise": {"type": "TypeError", "message":
                                   f"your function returned {refused}, which the grader "
                                   "cannot accept: return numbers, strings, lists, tuples, "
                                   "dicts, numpy arrays or torch tensors", "where": ""}}
            else:
                try:
                    reply["args"] = [plain.encode(a) for a in args]
                    reply["kwargs"] = plain.encode(kwargs)
                except plain.NotPlain:
                    pass
        except CellTimeout as error:
            reply = {"timeout": str(error)}
        except BaseException as error:     # the student's code raised: report it
            reply = {"raise": {"type": type(error).__name__, "message": str(error)[:2000],
                               "where": _where(error)}}
        send(reply)


if __name__ == "__main__":
    main()
