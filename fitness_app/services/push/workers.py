"""A bounded queue and the dispatchers that empty it, starting with work and stopping when idle.

Dispatchers are background tasks (`socketio.start_background_task`: green
threads when serving, threads in threading mode). At most `concurrency` run;
the queue holds at most `limit` jobs, and a caller that must not wait (the
request, after COMMIT) is told when it is full instead. Every job put in is
counted as pending until the dispatcher that handled it says so, so
`wait_idle` knows when everything has left (`flask announce`). A
housekeeping task ticks twice a second while there is work. With no work
for a minute the dispatchers end; the next job starts them again, so tests
and `flask` commands leave no threads behind.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from fitness_app.extensions import socketio

log = logging.getLogger(__name__)

IDLE_SECONDS = 60.0
TICK_SECONDS = 0.5
# Put on the queue by `stop`: the dispatcher that takes it ends.
_STOP = object()


class Workers:
    """Subclasses say how to handle a batch of jobs, and what to do on each tick."""

    def __init__(self, concurrency: int, limit: int, batch: int) -> None:
        self.concurrency = concurrency
        self.batch = batch
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=limit)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._dispatchers = 0
        self._ticking = False
        self._pending = 0
        self._stopping = False

    def handle(self, jobs: list[Any]) -> None:
        raise NotImplementedError

    def batchable(self, job: Any) -> bool:
        """Whether `job` may share a batch with the ones queued after it."""
        return False

    def tick(self) -> bool:
        """Periodic work; True while it still has some (keeps the ticking going)."""
        return False

    # -- putting work in -------------------------------------------------

    def put_nowait(self, job: Any) -> bool:
        """Queue a job without waiting; False (nothing queued) when the queue is full."""
        self.started()
        try:
            self.queue.put_nowait(job)
        except queue.Full:
            self.finished()
            return False
        self._ensure_running()
        return True

    def put(self, job: Any) -> None:
        """Queue a job, waiting (cooperatively) for room: for background producers."""
        self.started()
        self.queue.put(job)
        self._ensure_running()

    def requeue(self, job: Any) -> bool:
        """Queue a job that is already counted as pending (a retry); False when full."""
        try:
            self.queue.put_nowait(job)
        except queue.Full:
            return False
        self._ensure_running()
        return True

    def started(self) -> None:
        with self._lock:
            self._pending += 1

    def finished(self) -> None:
        with self._lock:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued, in flight or pending; False after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.5))
        return True

    def stop(self, timeout: float) -> None:
        """Let each dispatcher finish what it holds, then end; the ticking ends at its next
        tick without running it."""
        with self._lock:
            self._stopping = True
            running = self._dispatchers
        for _ in range(running):
            try:
                self.queue.put_nowait(_STOP)
            except queue.Full:
                break
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._dispatchers and time.monotonic() < deadline:
                self._idle.wait(0.05)

    def _ensure_running(self) -> None:
        with self._lock:
            if self._stopping:
                return
            missing = self.concurrency - self._dispatchers
            self._dispatchers += missing
            ticking = not self._ticking
            self._ticking = True
        for _ in range(missing):
            socketio.start_background_task(self._dispatch)
        if ticking:
            socketio.start_background_task(self._tick_while_busy)

    # -- the dispatchers and the ticking -----------------------------------

    def _dispatch(self) -> None:
        while True:
            try:
                job = self.queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self.queue.empty():
                        self._dispatchers -= 1
                        self._idle.notify_all()
                        return
                continue
            if job is _STOP:
                with self._lock:
                    self._dispatchers -= 1
                    self._idle.notify_all()
                return
            jobs, extra = [job], []
            while self.batchable(job) and len(jobs) < self.batch:
                try:
                    job = self.queue.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    self.queue.put_nowait(job)  # for this dispatcher, after its batch
                    break
                (jobs if self.batchable(job) else extra).append(job)
                if extra:
                    break
            for work in ([jobs] + [[job] for job in extra]):
                try:
                    self.handle(work)
                except Exception:  # noqa: BLE001 - a background task: log, never stop
                    log.exception("push dispatch failed")
                finally:
                    for _ in work:
                        self.finished()

    def _tick_while_busy(self) -> None:
        while True:
            socketio.sleep(TICK_SECONDS)
            if self._stopping:
                with self._lock:
                    self._ticking = False
                return
            busy = self.tick()
            with self._lock:
                if not self._dispatchers and not busy and not self._pending:
                    self._ticking = False
                    self._idle.notify_all()
                    return
