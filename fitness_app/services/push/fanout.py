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
from fitness_app.services.push.workers import Workers

log = logging.getLogger(__name__)

_EXTENSION = "fitness_push_fanout"
BATCH = 500
# Pushes one trip to an OS thread may carry, when the queue holds that many.
SEND_BATCH = 16
# Devices whose "last used" one statement writes.
OUTCOME_BATCH = 100


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


class Fanout(Workers):
    """One per app: the push-specific work of the dispatchers, the retries, what they counted."""

    def __init__(self, app: Flask) -> None:
        config = app.config
        ttl = int(config["PUSH_TTL_SECONDS"])
        if not 3600 <= ttl <= 28 * 24 * 3600:
            raise RuntimeError("PUSH_TTL_SECONDS must be between one hour and four weeks")
        super().__init__(max(1, int(config["PUSH_CONCURRENCY"])),
                         int(config["PUSH_QUEUE_LIMIT"]), batch=SEND_BATCH)
        self.app = app
        self.ttl = ttl
        self.timeout = float(config["PUSH_TIMEOUT_SECONDS"])
        self.retries = Retries(int(config["PUSH_QUEUE_LIMIT"]))
        self.outcomes = Outcomes()
        # A broadcast keeps at most this many pushes queued or in flight.
        self.broadcast_slots = threading.BoundedSemaphore(self.concurrency * SEND_BATCH * 2)
        self.counts: Counter[str] = Counter()

    def hand_over(self, stored: list[tuple[int | None, dict[str, Any]]]) -> None:
        personal = [pair for pair in stored if pair[0] is not None]
        if personal and not self.put_nowait(("unit", personal)):
            self.counts["dropped"] += 1
            log.warning("push queue full; a delivery unit was dropped, the inbox has it")
        for message in policy.messages(pair for pair in stored if pair[0] is None):
            self.started()
            socketio.start_background_task(self._broadcast, message)

    def batchable(self, job: Any) -> bool:
        return isinstance(job, Push)

    def handle(self, jobs: list[Any]) -> None:
        """A batch of pushes goes to one OS thread; a delivery unit is expanded here."""
        if self.batchable(jobs[0]):
            self._deliver(jobs)
            return
        with self.app.app_context():
            try:
                self._expand(jobs[0][1])
            finally:
                db.session.remove()

    def tick(self) -> bool:
        """Twice a second: queue the retries that are due, write the outcomes; True while busy."""
        for push in self.retries.due(time.time()):
            if not self.requeue(push):
                self.retries.add(push, time.time() + 1)
        self._write_outcomes()
        return bool(len(self.retries))

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
                    if not self.put_nowait(self._push(row, message, expires)):
                        self.counts["dropped"] += 1
                        log.warning("push queue full; a push to device %s was dropped", row.id)

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
                self.started()  # still pending until it is sent or given up

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
            self.finished()

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
                self.put(self._push(row, message, expires, slot=self.broadcast_slots))
            socketio.sleep(0)

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

