"""From COMMIT to the push services: the hand-over, the dispatchers, and broadcasts.

`hand_over` is what the delivery unit calls after COMMIT: it only puts the
unit's (user, payload) pairs on a bounded queue, so the request pays for no
query and no encryption. Dispatchers (background tasks, green threads under
eventlet or gevent) take work from the queue: a unit becomes one message per
(user, group) (`policy`), its users' devices are read in one query, devices
with a socket open are left out (presence, across workers), and each push is
sent through the OS thread pool (`sender`). They stop after a quiet minute
and start again with the next hand-over.

An announcement goes to every device: a task of its own reads the devices
500 at a time by primary key, leaves out the connected ones, and queues the
pushes, never more than a few batches ahead of the dispatchers, so a user's
own notifications still leave within a second during a broadcast. It yields
between batches.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from fitness_app.extensions import db, socketio
from fitness_app.models import PushDevice
from fitness_app.realtime import presence
from fitness_app.services.push import devices, keys, policy
from fitness_app.services.push.sender import Outcomes, Push, Retries, judge, run_send

log = logging.getLogger(__name__)
# Put on the queue by `stop`: the dispatcher that takes it ends.
_STOP = object()

_EXTENSION = "fitness_push_fanout"
BATCH = 500
# Pushes one trip to an OS thread may carry, when the queue holds that many.
SEND_BATCH = 16
# Devices whose "last used" one statement writes.
OUTCOME_BATCH = 100
IDLE_SECONDS = 60.0
HOUSEKEEPING_SECONDS = 0.5


def init_app(app: Flask) -> None:
    keys.init_app(app)
    app.extensions[_EXTENSION] = Fanout(app)


def current() -> Fanout:
    return current_app.extensions[_EXTENSION]


def stop(app: Flask, timeout: float = 5.0) -> None:
    """Stop this app's dispatchers (tests tear their apps down; servers never need it)."""
    app.extensions[_EXTENSION].stop(timeout)


def hand_over(stored: Iterable[tuple[int | None, dict[str, Any]]]) -> None:
    """After COMMIT: push these (user id or None, notification payload) pairs to devices."""
    current().hand_over(list(stored))


class Fanout:
    """One per app: the queue, its dispatchers, the retries, and what they counted."""

    def __init__(self, app: Flask) -> None:
        config = app.config
        ttl = int(config["PUSH_TTL_SECONDS"])
        if not 3600 <= ttl <= 28 * 24 * 3600:
            raise RuntimeError("PUSH_TTL_SECONDS must be between one hour and four weeks")
        self.app = app
        self.ttl = ttl
        self.timeout = float(config["PUSH_TIMEOUT_SECONDS"])
        self.concurrency = max(1, int(config["PUSH_CONCURRENCY"]))
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=int(config["PUSH_QUEUE_LIMIT"]))
        self.retries = Retries(int(config["PUSH_QUEUE_LIMIT"]))
        self.outcomes = Outcomes()
        # A broadcast keeps at most this many pushes queued or in flight.
        self.broadcast_slots = threading.BoundedSemaphore(self.concurrency * SEND_BATCH * 2)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._dispatchers = 0
        self._housekeeping = False
        self._pending = 0
        self._stopping = False

    # -- putting work in -------------------------------------------------

    def hand_over(self, stored: list[tuple[int | None, dict[str, Any]]]) -> None:
        personal = [pair for pair in stored if pair[0] is not None]
        if personal:
            self._put_nowait(("unit", personal))
        for message in policy.messages(pair for pair in stored if pair[0] is None):
            self._started()
            socketio.start_background_task(self._broadcast, message)

    def _put_nowait(self, job: Any) -> bool:
        self._started()
        try:
            self.queue.put_nowait(job)
        except queue.Full:
            self._finished()
            self.counts["dropped"] += 1
            log.warning("push queue full (%d waiting); a push was dropped, the inbox has it",
                        self.queue.qsize())
            return False
        self._ensure_running()
        return True

    def _started(self) -> None:
        with self._lock:
            self._pending += 1

    def _finished(self) -> None:
        with self._lock:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued, in flight or due for a retry (for `flask announce`)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.5))
        return True

    def stop(self, timeout: float) -> None:
        """Let each dispatcher finish what it holds, then end; the housekeeper ends at its
        next tick without writing (outcomes not yet written are dropped)."""
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
            housekeeping = not self._housekeeping
            self._housekeeping = True
        for _ in range(missing):
            socketio.start_background_task(self._dispatch)
        if housekeeping:
            socketio.start_background_task(self._keep_house)

    # -- the dispatchers -------------------------------------------------

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
            jobs = [job]
            while isinstance(job, Push) and len(jobs) < SEND_BATCH:
                try:
                    job = self.queue.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    self.queue.put_nowait(job)  # for this dispatcher, after its batch
                    break
                jobs.append(job)
            pushes = [job for job in jobs if isinstance(job, Push)]
            for work in (pushes, *(job for job in jobs if not isinstance(job, Push))):
                try:
                    if work is pushes:
                        if pushes:
                            self._deliver(pushes)
                    else:
                        with self.app.app_context():
                            try:
                                self._expand(work[1])
                            finally:
                                db.session.remove()
                except Exception:  # noqa: BLE001 - a background task: log, never stop sending
                    log.exception("push dispatch failed")
            for _ in jobs:
                self._finished()

    def _expand(self, stored: list[tuple[int | None, dict[str, Any]]]) -> None:
        """A delivery unit's notifications → one push per (user, group) and unconnected device."""
        messages = policy.messages(stored)
        if not messages:
            return
        rows = db.session.execute(
            sa.select(PushDevice.id, PushDevice.user_id, PushDevice.endpoint,
                      PushDevice.p256dh, PushDevice.auth)
            .where(PushDevice.user_id.in_({m.user_id for m in messages}))
        ).all()
        db.session.rollback()
        if not rows:
            return
        connected = presence.store().connected_devices([row.id for row in rows])
        expires = time.time() + self.ttl
        for message in messages:
            for row in rows:
                if row.user_id == message.user_id and row.id not in connected:
                    self._put_nowait(self._push(row, message, expires))

    def _push(self, row: Any, message: policy.Message, expires: float, slot: Any = None) -> Push:
        return Push(0.0, row.id, row.endpoint, row.p256dh, row.auth, message.payload,
                    message.urgency, expires, slot=slot)

    def _deliver(self, pushes: list[Push]) -> None:
        try:
            answers = run_send(pushes, keys.of_app(self.app), self.ttl, self.timeout)
        finally:
            for push in pushes:  # a broadcast waits for these whatever happened
                if push.slot is not None:
                    push.slot.release()
                    push.slot = None
        now = time.time()
        for push, answer in zip(pushes, answers, strict=True):
            verdict = judge(push, answer, self.retries, self.outcomes, now)
            self.counts[verdict] += 1
            if verdict == "retry":
                self._started()  # still pending until it is sent or given up

    # -- broadcasts ------------------------------------------------------

    def _broadcast(self, message: policy.Message) -> None:
        """Every user's devices, in batches of 500 by primary key, yielding between them."""
        try:
            with self.app.app_context():
                try:
                    self._broadcast_batches(message)
                finally:
                    db.session.remove()
        except Exception:  # noqa: BLE001 - a background task: log, never kill the worker
            log.exception("push broadcast failed")
        finally:
            self._finished()

    def _broadcast_batches(self, message: policy.Message) -> None:
        expires = time.time() + self.ttl
        after = ""
        while True:
            rows = db.session.execute(
                sa.select(PushDevice.id, PushDevice.endpoint, PushDevice.p256dh, PushDevice.auth)
                .where(PushDevice.id > after).order_by(PushDevice.id).limit(BATCH)
            ).all()
            db.session.rollback()
            if not rows:
                return
            after = rows[-1].id
            connected = presence.store().connected_devices([row.id for row in rows])
            for row in rows:
                if row.id in connected:
                    continue
                self.broadcast_slots.acquire()
                self._started()
                self.queue.put(self._push(row, message, expires, slot=self.broadcast_slots))
                self._ensure_running()
            socketio.sleep(0)

    # -- retries and the database, twice a second ------------------------

    def _keep_house(self) -> None:
        while True:
            socketio.sleep(HOUSEKEEPING_SECONDS)
            if self._stopping:
                with self._lock:
                    self._housekeeping = False
                return
            for push in self.retries.due(time.time()):
                try:
                    self.queue.put_nowait(push)
                except queue.Full:
                    self.retries.add(push, time.time() + 1)
                    continue
                # The retry kept its pending mark; it now stands for the queued push.
                self._ensure_running()
            self._write_outcomes()
            with self._lock:
                if not self._dispatchers and not len(self.retries) and not self._pending:
                    self._housekeeping = False
                    self._idle.notify_all()
                    return

    def _write_outcomes(self) -> None:
        reached, forgotten = self.outcomes.take()
        if not reached and not forgotten:
            return
        with self.app.app_context():
            try:
                devices.forget(forgotten)
                # In small statements with a yield between them: a broadcast
                # reaches thousands of devices, and SQLite writes hold the loop.
                ids = sorted(reached)
                for start in range(0, len(ids), OUTCOME_BATCH):
                    devices.used(ids[start:start + OUTCOME_BATCH])
                    socketio.sleep(0)
            except Exception:  # noqa: BLE001 - a background task: log, never kill the worker
                db.session.rollback()
                log.exception("push: recording which devices were reached failed")
            finally:
                db.session.remove()

