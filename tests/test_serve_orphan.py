"""A server started from a notebook does not outlive the notebook's kernel.

A learner who restarts a kernel in the middle of chapter 12, or a test run that is killed,
used to leave ``lmcore serve`` processes behind (``start_server`` starts them in their own
session, so the kernel's death does not signal them). ``start_server`` now passes
``--exit-with-parent``: the server checks that its parent is alive and stops gracefully once
it is not. This test plays the kernel with a child Python process, kills it with SIGKILL (no
clean-up code runs) and waits for the orphaned server to go away.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from serve_fixtures import tiny_gpt2_folder  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process handling")


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


KERNEL = """
import sys
from lmcore.serve.process import start_server
server = start_server(sys.argv[1], embeddings=False, threads=1)
print(server.pid, flush=True)
sys.stdin.read()          # block until killed
"""


def test_the_server_stops_when_the_process_that_started_it_is_killed(tiny_gpt2_folder):
    kernel = subprocess.Popen([sys.executable, "-c", KERNEL, str(tiny_gpt2_folder)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    server_pid = None
    try:
        server_pid = int(kernel.stdout.readline())
        assert alive(server_pid)
        time.sleep(1.5)                   # the server is serving, its parent alive
        assert alive(server_pid)
        kernel.send_signal(signal.SIGKILL)
        kernel.wait(10)
        deadline = time.monotonic() + 30
        while alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(server_pid), "the orphaned server is still running"
    finally:
        if kernel.poll() is None:
            kernel.kill()
        if server_pid is not None and alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)


def test_exit_with_parent_names_a_wrong_parent():
    from lmcore.serve.server import exit_with_parent
    with pytest.raises(ValueError, match="parent_pid"):
        exit_with_parent(0)
    with pytest.raises(ValueError, match="this process's parent"):
        exit_with_parent(os.getpid())


def test_the_command_line_refuses_a_pid_that_is_not_its_parent(tiny_gpt2_folder):
    result = subprocess.run([sys.executable, "-m", "lmcore", "serve", "--model",
                             str(tiny_gpt2_folder), "--no-embeddings",
                             "--exit-with-parent", "1"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "--exit-with-parent" in result.stderr
    assert "this process's parent" in result.stderr
