"""The server's handle on a reader process (`child.py`): requests out, answers back, over pipes.

Why a process and not a thread pool: gpxpy, the XML pass and the
simplification are pure Python (measured: about 120 ms of CPU per one-hour
GPX file, 16 s for a 40 MB one), so a thread would hold the GIL, and under
eventlet the whole server, for that long. A process parses on the other core
at a lower priority, and its memory is its own. Waiting uses `select` on the
pipe, which eventlet and gevent patch to yield, so the loop serves everyone
else meanwhile, and which wakes every TICK seconds so the caller can report
progress and keep its heartbeat.

A reader that dies (the memory cap, a crash) or overruns ENTRY_TIMEOUT costs
the file it was reading; the next request starts a fresh process.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from config import BASE_DIR

TICK = 0.25
DIED = "The reader stopped on it (too large or malformed); refused."


class Worker:
    """One reader process, started on the first request and restarted after a failure."""

    def __init__(self, memory_mb: int, nice: int, entry_timeout: float) -> None:
        self.memory_mb, self.nice, self.entry_timeout = memory_mb, nice, entry_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.pending = b""

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[bytes]:
        if self.process is None:
            env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
            self.process = subprocess.Popen(
                [sys.executable, "-m", "fitness_app.services.imports.child",
                 "--memory-mb", str(self.memory_mb), "--nice", str(self.nice)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=BASE_DIR, env=env,
            )
            self.pending = b""
        return self.process

    def request(self, message: dict[str, Any], progress: Callable[[float], None],
                tick: Callable[[], None]) -> dict[str, Any]:
        """Send one request; call `progress` with fractions and `tick` while waiting."""
        process = self._start()
        try:
            process.stdin.write(json.dumps(message).encode() + b"\n")
            process.stdin.flush()
        except (BrokenPipeError, OSError):
            self._kill()
            return {"refused": DIED}
        deadline = time.monotonic() + self.entry_timeout
        while True:
            line = self._line(deadline, tick)
            if line is None:
                return {"refused": f"Reading it took over {self.entry_timeout:g} s; refused."}
            if line == b"":
                return {"refused": DIED}
            answer = json.loads(line)
            if "progress" in answer:
                progress(float(answer["progress"]))
                continue
            return answer

    def _line(self, deadline: float, tick: Callable[[], None]) -> bytes | None:
        """The next line from the reader; b"" once it died, None once the deadline passed."""
        fd = self.process.stdout.fileno()
        while b"\n" not in self.pending:
            if time.monotonic() > deadline:
                self._kill()
                return None
            readable, _, _ = select.select([fd], [], [], TICK)
            tick()
            if not readable:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                self._kill()
                return b""
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line

    def _kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process.stdin.close()
            self.process.stdout.close()
            self.process = None

    def close(self) -> None:
        """Let the reader finish and exit; kill it if it does not within five seconds."""
        if self.process is None:
            return
        self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.process = None
