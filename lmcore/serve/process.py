"""Starting and stopping the service as a background process (chapter 12, tests, benchmark).

:func:`start_server` runs ``python -m lmcore serve ...`` as a child process on a free port of
127.0.0.1, waits until ``GET /ready`` answers 200, and returns a :class:`ServerProcess`;
:meth:`ServerProcess.stop` sends SIGTERM to that process id (graceful shutdown) and waits for
it to exit, killing it only if it does not stop in time. The server watches its parent: if
the process that started it dies (a killed or restarted notebook kernel), it stops on its
own instead of holding its port and memory (``lmcore serve --exit-with-parent``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional, Sequence

from lmcore._validate import bad_argument

__all__ = ["free_port", "start_server", "ServerProcess"]

HOST = "127.0.0.1"
# local requests never go through a proxy, whatever the environment says
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A running service: its process, port and URLs."""

    def __init__(self, process: subprocess.Popen, port: int, log_path: Path):
        self.process, self.port, self.log_path = process, port, log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, what ``OpenAI(base_url=...)`` takes."""
        return f"http://{HOST}:{self.port}/v1"

    @property
    def root_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log(self) -> str:
        """What the server wrote so far (uvicorn's and lmcore's log lines)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def running(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"The server exited with status {self.process.returncode} "
                                   f"before it was ready. Its log:\n{self.log()[-3000:]}")
            try:
                with _OPENER.open(f"{self.root_url}/ready", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"The server was not ready within {timeout} s. Its log:\n"
                           f"{self.log()[-3000:]}")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM to the server's process id, then wait; SIGKILL if it does not stop."""
        if self.running():
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait(10)
        return self.process.returncode

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_server(model_folder: str | Path, *, port: Optional[int] = None,
                 api_keys: Sequence[str] = (), tokens_per_minute: Optional[int] = None,
                 max_batch_size: int = 16, model_name: Optional[str] = None,
                 classifier: Optional[str | Path] = None, embeddings: bool = True,
                 threads: Optional[int] = None,
                 extra_args: Sequence[str] = (), ready_timeout: float = 120.0,
                 log_level: str = "info") -> ServerProcess:
    """Start ``python -m lmcore serve`` on 127.0.0.1 in the background; return when ready.

    API keys are passed in the environment (``LMCORE_API_KEYS``), not on the command line,
    where every user of the machine could read them."""
    if not Path(model_folder).is_dir():
        raise FileNotFoundError(bad_argument("start_server", "model_folder", str(model_folder),
                                             "a checkpoint folder"))
    port = free_port() if port is None else port
    command = [sys.executable, "-m", "lmcore", "serve", "--model", str(model_folder),
               "--host", HOST, "--port", str(port), "--max-batch-size", str(max_batch_size),
               "--log-level", log_level, "--exit-with-parent", str(os.getpid())]
    if model_name:
        command += ["--model-name", model_name]
    if tokens_per_minute is not None:
        command += ["--tokens-per-minute", str(tokens_per_minute)]
    if classifier is not None:
        command += ["--classifier", str(classifier)]
    if not embeddings:
        command += ["--no-embeddings"]
    if threads is not None:
        command += ["--threads", str(threads)]
    command += list(extra_args)
    environment = dict(os.environ, LMCORE_API_KEYS=",".join(api_keys))
    log_file = tempfile.NamedTemporaryFile(prefix="lmcore-serve-", suffix=".log", delete=False)
    process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, env=environment,
                               start_new_session=True)
    log_file.close()
    server = ServerProcess(process, port, Path(log_file.name))
    server.wait_ready(ready_timeout)
    return server
