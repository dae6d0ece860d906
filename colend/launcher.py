"""`colend` child processes (a node, a clearing service) for the demo and the end-to-end tests: start, wait,
stop, kill -9.

The child's stderr (its structured log) is drained for the process's whole life, so the pipe never blocks
the child; every line goes to a log file and to `lines`. Start-up is awaited on the child's own started line
(a node logs `event=node_started` once RPC listens and consensus runs), never on a sleep.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from colend.errors import ChildStartFailed, NodeStartFailed, ServiceStartFailed

STARTED = re.compile(r"event=node_started .*\brpc=(\S+):(\d+)")
SERVICE_STARTED = re.compile(r"event=service_started .*\bhttp=(\S+):(\d+)")
DEFAULT_START_TIMEOUT_S = 60.0


class ProcessLauncher:
    """`colend <argv>` as a child process, started once it logs a line matching `started` (host, port groups)."""

    what = "process"
    failure: type[ChildStartFailed] = ChildStartFailed

    def __init__(
        self, argv: list[str], log_path: Path, started: re.Pattern[str], *, start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
        prefix: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        self.argv = argv
        self.prefix = prefix  # e.g. ("ip", "netns", "exec", NS): run the child inside a network namespace
        self.started_pattern = started
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []  # every log line of every start, in order
        self.startup_lines: list[str] = []  # the latest start's lines up to its started line
        self.url = ""

    def start(self) -> str:
        """Starts the child and returns its URL (http://host:port) once it has logged its started line."""
        self.proc = subprocess.Popen(
            [*self.prefix, sys.executable, "-m", "colend", *self.argv],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,  # a terminal's Ctrl-C reaches the launcher, which stops each child exactly once
        )  # fmt: skip
        self.startup_lines = []
        started = threading.Event()
        address: list[str] = []
        self._pump = threading.Thread(target=self._drain, args=(self.proc, started, address), daemon=True)
        self._pump.start()
        if not started.wait(self.start_timeout_s) or not address:
            self.proc.kill()
            self.proc.wait()
            self._pump.join(timeout=5)
            tail = "".join(self.startup_lines[-40:])
            raise self.failure(f"{self.what} did not start (log {self.log_path}):\n{tail}")
        host = "127.0.0.1" if address[0] in ("0.0.0.0", "::") else address[0]
        self.url = f"http://{host}:{address[1]}"
        return self.url

    def _drain(self, proc: subprocess.Popen[str], started: threading.Event, address: list[str]) -> None:
        assert proc.stderr is not None
        with self.log_path.open("a") as log:
            for line in proc.stderr:
                log.write(line)
                log.flush()
                self.lines.append(line.rstrip("\n"))
                if not started.is_set():
                    self.startup_lines.append(line)
                    if match := self.started_pattern.search(line):
                        address.extend((match[1], match[2]))
                        started.set()
        started.set()  # the child exited: stop waiting for it

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        """A crash: SIGKILL, no chance to flush anything."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._pump.join(timeout=10)

    def terminate(self) -> None:
        """SIGTERM without waiting, so that several children shut down side by side; `stop` then waits."""
        if self.running():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout_s: float = 30) -> int:
        """A clean shutdown (SIGTERM); kills the child if it does not exit in time. Returns its exit code."""
        self.terminate()
        return self.wait(timeout_s)

    def wait(self, timeout_s: float = 30) -> int:
        """Waits for the child to exit (after a SIGTERM sent by `terminate`); kills it if it takes too long.

        One SIGTERM only: a second one during a node's shutdown ends it with -15 instead of 0.
        """
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._pump.join(timeout=10)
        return code


class NodeLauncher(ProcessLauncher):
    """`colend node run --config CONFIG`."""

    what = "node"
    failure = NodeStartFailed

    def __init__(
        self, config: Path, log_path: Path, *, start_timeout_s: float = DEFAULT_START_TIMEOUT_S, prefix: tuple[str, ...] = ()
    ) -> None:
        super().__init__(["node", "run", "--config", str(config)], log_path, STARTED, start_timeout_s=start_timeout_s,
                         prefix=prefix)  # fmt: skip
        self.config = config


class ServiceLauncher(ProcessLauncher):
    """`colend serve --config CONFIG`: a clearing service, started once it logs event=service_started."""

    what = "clearing service"
    failure = ServiceStartFailed

    def __init__(self, config: Path, log_path: Path, *, start_timeout_s: float = DEFAULT_START_TIMEOUT_S) -> None:
        super().__init__(["serve", "--config", str(config)], log_path, SERVICE_STARTED, start_timeout_s=start_timeout_s)
        self.config = config
