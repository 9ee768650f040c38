"""Running the service: uvicorn with a readiness flag and graceful shutdown (chapter 12).

:func:`run` serves :func:`lmcore.serve.app.create_app` with uvicorn. On SIGTERM or SIGINT
the service first reports itself not ready (``GET /ready`` answers 503, so a load balancer
stops sending it work), stops accepting connections, lets the requests in flight finish
(at most ``graceful_timeout`` seconds), stops the batch scheduler, and exits with status 0.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from typing import Iterator, Optional

import uvicorn

from lmcore._validate import bad_argument, check_int
from lmcore.serve.app import ServiceConfig, create_app

__all__ = ["run", "exit_with_parent"]


def exit_with_parent(parent_pid: int, interval: float = 1.0) -> threading.Thread:
    """Stop this process gracefully (SIGTERM to itself) once ``parent_pid`` is no longer its
    parent, checked every ``interval`` seconds in a daemon thread.

    :func:`lmcore.serve.process.start_server` asks for this, so a server started from a
    notebook does not outlive a kernel that was killed or restarted: an orphan is adopted by
    another process, ``os.getppid()`` changes, and the server drains and exits."""
    check_int("exit_with_parent", "parent_pid", parent_pid, minimum=1)
    if os.getppid() != parent_pid:
        raise ValueError(bad_argument("exit_with_parent", "parent_pid", parent_pid,
                                      f"this process's parent ({os.getppid()})"))

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        logging.getLogger("lmcore.serve").warning(
            "parent process %d is gone: stopping", parent_pid)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, name="lmcore-exit-with-parent", daemon=True)
    thread.start()
    return thread


class _Server(uvicorn.Server):
    """uvicorn's server, marking the service not ready as soon as a stop signal arrives."""

    def __init__(self, config: uvicorn.Config, state):
        super().__init__(config)
        self.service_state = state

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Handle SIGTERM/SIGINT with :meth:`handle_exit`; unlike uvicorn's own, do not
        re-raise the signal afterwards, so a requested, completed shutdown exits with 0."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit)
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig, frame) -> None:
        self.service_state.ready = False
        logging.getLogger("lmcore.serve").info("signal %s: draining, then stopping", sig)
        super().handle_exit(sig, frame)


def run(config: ServiceConfig, host: str = "127.0.0.1", port: int = 8000,
        log_level: str = "info", graceful_timeout: Optional[float] = 30.0) -> None:
    """Serve ``config`` on ``host:port`` until SIGTERM/SIGINT (blocking)."""
    if not isinstance(host, str) or not host:
        raise ValueError(bad_argument("run", "host", host, "a host name or address"))
    check_int("run", "port", port, minimum=0)
    if port > 65535:
        raise ValueError(bad_argument("run", "port", port, "a port number 0..65535"))
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    app = create_app(config)
    server = _Server(uvicorn.Config(app, host=host, port=port, log_level=log_level,
                                    timeout_graceful_shutdown=graceful_timeout,
                                    access_log=False),
                     app.state.service)
    server.run()
