"""The isolation boundary: each submission's code runs in its own bubblewrap sandbox.

:class:`Sandbox` starts ``runner.py`` under Debian's ``bwrap`` (bubblewrap) with

- the whole file system **read-only**, and hidden behind empty folders: the instructor's
  project (the folder ``lmcore`` comes from), the master, submission and output folders, the
  grader's working folder, ``/home``, ``/root`` (then the Python installation and the venv
  are bound back, read-only), and a private, empty ``/tmp``;
- a private copy of ``lmcore`` (read-only) and a private work folder (the only writable
  place), both in a temporary folder that the grader deletes afterwards;
- no network (a new network namespace holds only a loopback), its own process tree (it sees
  only itself in ``/proc``), no capabilities; as root, it runs as user ``nobody``;
- limits: address space (memory), processes (a fork bomb stops at the limit when the grader
  runs as root, since the limit counts the ``nobody`` user's processes), file size, no core
  files; wall time is enforced by the caller, which kills the whole sandbox.

Where ``bwrap`` is missing or cannot create namespaces (some containers), :func:`available`
says why and the grader refuses to run unless told ``unsafe=True`` (``--unsafe-no-sandbox``):
then the runner still runs in a separate process with the same limits, a private copy of
``lmcore``, a private work folder and a cleared environment, but it can read (and as the
grader's user, write) whatever the grader's user can.
"""

from __future__ import annotations

import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable

from lmcore.classroom import plain

__all__ = ["Sandbox", "available", "SandboxUnavailable", "StudentTimedOut", "StudentCrashed",
           "NOBODY", "RUNNER"]

RUNNER = Path(__file__).with_name("runner.py")
NOBODY = 65534
MAX_MESSAGE = 64 << 20         # bytes in one message from the student's process


class SandboxUnavailable(RuntimeError):
    """bubblewrap cannot be used here (and the grader was not told to run without it)."""


class StudentTimedOut(BaseException):
    """The student's process did not answer in time (it was killed).

    A BaseException, so a checker's ``except Exception`` cannot swallow it."""


class StudentCrashed(BaseException):
    """The student's process died, closed the channel or sent something that is not a message."""


def available() -> tuple[bool, str]:
    """(True, "") if bwrap can run a sandbox here, else (False, the reason)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False, ("bubblewrap is not installed (the `bwrap` command is missing; on "
                       "Debian or Ubuntu: apt-get install bubblewrap, or `make sandbox`)")
    try:
        result = subprocess.run([bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc",
                                 "/proc", "--unshare-pid", "--unshare-net", "--die-with-parent",
                                 "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"bwrap could not be started ({error})"
    if result.returncode != 0:
        return False, ("bwrap cannot create a sandbox on this machine: "
                       + (result.stderr.strip() or f"exit status {result.returncode}"))
    return True, ""


def _outermost(paths: Iterable[Path]) -> list[Path]:
    """The existing folders among ``paths``, without those inside another one."""
    found = sorted({p.resolve() for p in paths if p.exists() and p.is_dir()}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in found:
        if not any(path == k or k in path.parents for k in kept) and path != Path("/"):
            kept.append(path)
    return kept


class Sandbox:
    """One student's process, in a sandbox, spoken to over pipes that the grader owns."""

    def __init__(self, private: Path, *, hide: Iterable[Path] = (), memory_mb: int = 4096,
                 max_processes: int = 256, unsafe: bool = False, log: Path | None = None):
        self.private, self.unsafe = Path(private), unsafe
        self.hide = list(hide)
        self.memory_mb, self.max_processes = memory_mb, max_processes
        self.log = log
        self.process: subprocess.Popen | None = None
        self._buffer = b""

    # -------------------------------------------------------------- starting
    def command(self) -> list[str]:
        """The bwrap command line that runs the runner (nothing secret is in it)."""
        python = Path(sys.executable)
        prefixes = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
                    python.resolve().parent.parent]
        hidden = _outermost([Path(p) for p in ("/home", "/root", "/mnt", "/media", "/srv",
                                               "/var/tmp", "/run/user")]
                            + [Path(h) for h in self.hide] + [Path.cwd()])
        hidden = [h for h in hidden if h != Path("/tmp") and Path("/tmp") not in h.parents]
        command = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        for folder in hidden:
            command += ["--tmpfs", str(folder)]
        command += ["--perms", "1777", "--tmpfs", "/tmp"]
        covers = hidden + [Path("/tmp")]
        for prefix in _outermost(prefixes):     # bind Python and the venv back, read-only
            under = [h for h in covers if h == prefix or h in prefix.parents]
            if not under:
                continue
            for parent in reversed(prefix.parents):
                if under[0] in parent.parents:
                    command += ["--perms", "0755", "--dir", str(parent)]
            command += ["--ro-bind", str(prefix), str(prefix)]
        command += ["--ro-bind", str(self.private / "pkg"), "/tmp/pkg",
                    "--bind", str(self.private / "work"), "/tmp/work", "--chdir", "/tmp/work",
                    "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                    "--unshare-cgroup-try", "--hostname", "sandbox", "--die-with-parent",
                    "--new-session", "--cap-drop", "ALL"]
        if os.geteuid() == 0:       # root sets up the mounts, the runner then becomes nobody
            command += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            command += ["--unshare-user"]
        command += ["--clearenv"]
        for key, value in self.environment("/tmp/pkg", "/tmp/work").items():
            command += ["--setenv", key, value]
        command += [sys.executable, "-u", "/tmp/pkg/lmcore/classroom/runner.py"]
        return command

    def environment(self, package: str, work: str) -> dict[str, str]:
        env = {"PYTHONPATH": package, "HOME": work, "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1",
               "TRANSFORMERS_OFFLINE": "1", "IPYTHONDIR": f"{work}/.ipython",
               "MPLCONFIGDIR": f"{work}/.matplotlib", "PYTHONDONTWRITEBYTECODE": "1",
               "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
               "OMP_NUM_THREADS": "1", "LMCORE_SANDBOX_LOG": f"{work}/.output.log"}
        if os.geteuid() == 0 and not self.unsafe:
            env["LMCORE_SANDBOX_UID"] = str(NOBODY)
        return env

    def _limits(self) -> None:          # runs in the child, before exec
        memory = self.memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if os.geteuid() == 0 and not self.unsafe:   # counts the nobody user's processes
            resource.setrlimit(resource.RLIMIT_NPROC, (self.max_processes, self.max_processes))

    def start(self) -> None:
        if self.unsafe:
            command = [sys.executable, "-u", str(self.private / "pkg" / "lmcore" / "classroom"
                                                  / "runner.py")]
            env = self.environment(str(self.private / "pkg"), str(self.private / "work"))
            cwd = str(self.private / "work")
        else:
            command, env, cwd = self.command(), {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, "/"
        self._buffer = b""
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=env, cwd=cwd,
                                        preexec_fn=self._limits, start_new_session=True)

    # -------------------------------------------------------------- talking
    def send(self, message: Any) -> None:
        try:
            self.process.stdin.write(plain.dumps(message).encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise StudentCrashed("the student's process is gone") from None

    def receive(self, deadline: float) -> Any:
        """The next message, or StudentTimedOut (after killing the sandbox) at ``deadline``."""
        stream = self.process.stdout
        with selectors.DefaultSelector() as selector:
            selector.register(stream, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    raise StudentTimedOut()
                if not selector.select(min(remaining, 1.0)):
                    continue
                chunk = os.read(stream.fileno(), 1 << 20)
                if not chunk:
                    self.kill()
                    raise StudentCrashed("the student's process died")
                self._buffer += chunk
                if len(self._buffer) > MAX_MESSAGE:
                    self.kill()
                    raise StudentCrashed("the student's process sent a message larger than "
                                         f"{MAX_MESSAGE >> 20} MB")
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = plain.loads(line)
        except plain.NotPlain:
            self.kill()
            raise StudentCrashed("the student's process sent something that is not a message") from None
        if type(message) is not dict:
            self.kill()
            raise StudentCrashed("the student's process sent something that is not a message")
        return message

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """Kill the sandbox and everything in it (its own session / process tree)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.kill()
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
