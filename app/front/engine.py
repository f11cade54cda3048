"""The engine process of a split `serve`: started, awaited, restarted and stopped by the front.

The engine is `saas-tracker serve --engine-socket PATH`: the whole application (GraphQL, the
writer, retention) on a Unix socket, owning the embedded ClickHouse folder. It runs at a lower
CPU priority than the front, so that however heavy the analytics it computes, the front that
answers ingest and health checks gets a core when it needs one; with a core to spare, both run
at full speed. It dies with the front (`PR_SET_PDEATHSIG`): a SIGKILL of `serve` leaves no
engine holding the folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

# Niceness of the engine process: when both want the same core, its CPU weight is about 1/70
# of the front's (CFS weights 15 and 1024), so ingest and health checks wait for no analytics;
# with a core to spare, the engine runs at full speed (bench/README.md, bench.concurrency).
ENGINE_NICE = 19
# Its disk requests go after the front's too (the front fsyncs the queue before each 202):
# best-effort class, lowest priority, where the I/O scheduler honours priorities.
_IOPRIO_WHO_PROCESS = 1
_IOPRIO_CLASS_BE = 2
_IOPRIO_LOWEST = 7
_SYS_IOPRIO_SET = 251  # x86_64
_PR_SET_PDEATHSIG = 1
READY_TIMEOUT_S = 120.0
_RESTART_DELAYS_S = (0.5, 1.0, 2.0, 5.0, 10.0)


class EngineFailed(RuntimeError):
    """The engine process exited before it was ready; `exit_code` is its code."""

    def __init__(self, exit_code: int) -> None:
        super().__init__(f"the engine process exited with code {exit_code} before it was ready")
        self.exit_code = exit_code


def _in_child() -> None:
    """Runs in the forked child before exec: die with the parent, yield the CPU and the disk
    to it."""
    libc = ctypes.CDLL(None, use_errno=True)
    with contextlib.suppress(OSError, AttributeError):
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if platform.machine() == "x86_64":
            priority = (_IOPRIO_CLASS_BE << 13) | _IOPRIO_LOWEST
            libc.syscall(_SYS_IOPRIO_SET, _IOPRIO_WHO_PROCESS, 0, priority)
    os.nice(ENGINE_NICE)


class EngineProcess:
    def __init__(self, socket_path: Path, env: dict[str, str]) -> None:
        self.socket_path = socket_path
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "app.cli", "serve", "--engine-socket", str(self.socket_path)]

    def start(self) -> None:
        """Start the engine and return once it answers on its socket."""
        self._spawn()
        self.wait_ready()

    def _spawn(self) -> None:
        self.socket_path.unlink(missing_ok=True)
        # The child's output goes where the front's goes: one log for the installation.
        self.process = subprocess.Popen(self.command, env=self.env, preexec_fn=_in_child)

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        process = self.process
        assert process is not None
        transport = httpx.HTTPTransport(uds=str(self.socket_path))
        deadline = time.monotonic() + timeout
        with httpx.Client(transport=transport, base_url="http://engine", timeout=2.0) as client:
            while True:
                code = process.poll()
                if code is not None:
                    raise EngineFailed(code)
                if self.socket_path.exists():
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get("/healthz").status_code == 200:
                            return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the engine process was not ready within {timeout:g} s")
                time.sleep(0.05)

    def supervise(self) -> None:
        """Restart the engine whenever it exits without being asked to (in a thread). Ingest
        goes on meanwhile: events wait in the queue, other requests get 503."""
        self._supervisor = threading.Thread(
            target=self._watch, name="engine-supervisor", daemon=True
        )
        self._supervisor.start()

    def _watch(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            process = self.process
            assert process is not None
            code = process.wait()
            if self._stopping.is_set():
                return
            delay = _RESTART_DELAYS_S[min(failures, len(_RESTART_DELAYS_S) - 1)]
            log.error(
                "the engine process exited; restarting it",
                extra={"exit_code": code, "restart_in_s": delay},
            )
            if self._stopping.wait(delay):
                return
            try:
                self._spawn()
                self.wait_ready()
                failures = 0
                log.warning("the engine process is back")
            except (EngineFailed, TimeoutError, OSError) as exc:
                failures += 1
                log.error("the engine process did not come back", extra={"error": str(exc)})

    def stop(self, timeout: float = 35.0) -> None:
        """Ask the engine to finish what it is writing and exit; kill it past `timeout`."""
        self._stopping.set()
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.socket_path.unlink(missing_ok=True)
