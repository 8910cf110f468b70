"""Running an import: claim it, read its files one at a time, report progress, finish.

The work runs as a background task (`socketio.start_background_task`: a green
thread under eventlet or gevent, a thread otherwise) that mostly waits on the
reader process (`worker.py`); its own CPU per file is one short transaction.
At most IMPORT_CONCURRENCY imports run at once per server process; the others
wait their turn, queued.

- Progress: `import_progress` `{"import_id", "done", "total"}` to the user's
  room only, at least once a second while the import runs (files done of
  files in the upload; for a single file, tenths of it).
- Claiming is a conditional UPDATE, so of several servers (or a server and
  the sweeper) one runs an import. The runner moves `heartbeat_at` every few
  seconds; `resume_stale` (every IMPORT_STALE_SECONDS, from app.py) takes
  over an import whose heartbeat stopped: the server died mid-import. It
  resumes after the last file recorded, or marks the import failed when the
  uploaded file is gone.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from fitness_app.extensions import db, socketio
from fitness_app.models import WorkoutImport, utcnow
from fitness_app.realtime import push
from fitness_app.realtime.rooms import user_room
from fitness_app.services.imports import rows
from fitness_app.services.imports.track import Parsed
from fitness_app.services.imports.worker import Worker

_SLOTS = "fitness_import_slots"
HEARTBEAT_SECONDS = 5.0
#: Progress events: at most four a second, and one at least every EMIT_EVERY seconds,
#: which with the reader's TICK of 0.25 s keeps every gap within a second.
EMIT_EVERY, EMIT_AT_MOST = 0.75, 0.25
ONE_FILE_STEPS = 10

#: (done, total, unit): unit is "files", or "tenths" of a single file.
Progress = Callable[[int, int, str], None]


def init_app(app: Flask) -> None:
    # Created here, after app.py's monkey-patching, so it is green when it must be.
    app.extensions[_SLOTS] = (app, threading.BoundedSemaphore(app.config["IMPORT_CONCURRENCY"]))


def start(import_id: int) -> None:
    """Run the import in a background task of this process."""
    app, _ = current_app.extensions[_SLOTS]
    socketio.start_background_task(_in_app, app, import_id)


def _in_app(app: Flask, import_id: int) -> None:
    with app.app_context():
        try:
            run(import_id, emit_progress(import_id))
        except Exception:  # noqa: BLE001 - a background task must log, not vanish
            app.logger.exception("import %s stopped", import_id)
        finally:
            db.session.remove()


def emit_progress(import_id: int) -> Progress:
    """Push `import_progress` to the import's user; the runner paces the calls."""
    user_id = db.session.scalar(sa.select(WorkoutImport.user_id)
                                .where(WorkoutImport.id == import_id))
    room = user_room(user_id)

    def emit(done: int, total: int, unit: str) -> None:
        # `unit` is ours (docs/interface.md): what `done` and `total` count.
        push.emit("import_progress",
                  {"import_id": import_id, "done": done, "total": total, "unit": unit}, to=room)

    return emit


def run(import_id: int, progress: Progress) -> WorkoutImport | None:
    """Run one import to its end in this thread; None when another runner has it."""
    _, slots = current_app.extensions[_SLOTS]
    with slots:
        if not claim(import_id):
            return None
        return Runner(import_id, progress).run()


def claim(import_id: int) -> bool:
    """Take the import if it is queued, or running with a heartbeat gone stale."""
    stale = utcnow() - timedelta(seconds=current_app.config["IMPORT_STALE_SECONDS"])
    result = db.session.execute(
        sa.update(WorkoutImport)
        .where(WorkoutImport.id == import_id,
               (WorkoutImport.status == "queued")
               | ((WorkoutImport.status == "running") & (WorkoutImport.heartbeat_at < stale)))
        .values(status="running", heartbeat_at=utcnow())
    )
    db.session.commit()
    return result.rowcount == 1


class Runner:
    """One import being read: the reader process, the pacing of progress and heartbeats."""

    def __init__(self, import_id: int, progress: Progress) -> None:
        self.import_id = import_id
        self.progress = progress
        self.done = self.total = 0
        self.unit = "files"
        self.emitted_at = self.beat_at = 0.0
        self.emitted: tuple[int, int] | None = None
        config = current_app.config
        self.worker = Worker(config["IMPORT_WORKER_MEMORY_MB"], config["IMPORT_WORKER_NICE"],
                             config["IMPORT_ENTRY_TIMEOUT"])

    def run(self) -> WorkoutImport:
        job = db.session.get(WorkoutImport, self.import_id)
        path, filename = job.upload_path, job.filename
        read_all = job.total and job.done >= job.total
        db.session.rollback()
        if not path or not os.path.exists(path):
            # Every file recorded, then the server stopped before saying so.
            if read_all:
                rows.finish(self.import_id)
            else:
                rows.fail(self.import_id, "The uploaded file is gone (the server stopped "
                                          "while reading it); upload it again.")
            return db.session.get(WorkoutImport, self.import_id)
        with self.worker:
            listing = self._ask({"op": "list", "path": path, "filename": filename})
            if "entries" in listing:
                self._read_all(path, filename, listing["entries"])
        # Every outcome is committed by now; the finish below needs no file.
        os.unlink(path)
        if "entries" in listing:
            rows.finish(self.import_id)
        else:
            rows.fail(self.import_id, listing["refused"])
        return db.session.get(WorkoutImport, self.import_id)

    def _read_all(self, path: str, filename: str, entries: list[dict[str, Any]]) -> None:
        single = len(entries) == 1
        self.total = ONE_FILE_STEPS if single else len(entries)
        self.unit = "tenths" if single else "files"
        db.session.execute(sa.update(WorkoutImport).where(WorkoutImport.id == self.import_id)
                           .values(total=len(entries)))
        db.session.commit()
        recorded = rows.done_positions(self.import_id)
        self.done = ONE_FILE_STEPS * len(recorded) if single else len(recorded)
        self._tick(force=True)
        for position, entry in enumerate(entries):
            if position in recorded:
                continue
            answer = ({"refused": entry["refused"]} if entry["refused"] else self._ask(
                {"op": "read", "path": path, "filename": filename, "entry": entry["name"],
                 "format": entry["format"]},
                single=single,
            ))
            parsed = Parsed.from_json(answer["parsed"]) if "parsed" in answer else None
            rows.record(self.import_id, position, entry["name"], parsed, answer.get("refused"))
            self.done = ONE_FILE_STEPS if single else self.done + 1
            self._tick(force=position == len(entries) - 1)

    def _ask(self, message: dict[str, Any], single: bool = False) -> dict[str, Any]:
        def within_file(fraction: float) -> None:
            if single:
                self.done = min(ONE_FILE_STEPS - 1, int(fraction * ONE_FILE_STEPS))
            self._tick()

        return self.worker.request(message, within_file, self._tick)

    def _tick(self, force: bool = False) -> None:
        """Emit progress when it changed (at most four times a second) or a second passed."""
        now = time.monotonic()
        state = (self.done, self.total)
        due = now - self.emitted_at >= EMIT_EVERY
        changed = state != self.emitted and now - self.emitted_at >= EMIT_AT_MOST
        if self.total and (force or due or changed):
            self.progress(*state, self.unit)
            self.emitted, self.emitted_at = state, now
        if now - self.beat_at >= HEARTBEAT_SECONDS:
            self.beat_at = now
            db.session.execute(sa.update(WorkoutImport)
                               .where(WorkoutImport.id == self.import_id)
                               .values(heartbeat_at=utcnow()))
            db.session.commit()


def resume_stale() -> list[int]:
    """Take over every import whose server stopped; return the ids started again."""
    stale = utcnow() - timedelta(seconds=current_app.config["IMPORT_STALE_SECONDS"])
    ids = list(db.session.scalars(
        sa.select(WorkoutImport.id).where(WorkoutImport.status.in_(("queued", "running")),
                                          WorkoutImport.heartbeat_at < stale)
    ))
    db.session.rollback()
    for import_id in ids:
        start(import_id)
    return ids


def watch(app: Flask) -> None:
    """From app.py: resume stale imports now and every IMPORT_STALE_SECONDS after."""

    def loop() -> None:
        while True:
            with app.app_context():
                try:
                    resume_stale()
                except Exception:  # noqa: BLE001 - a database outage must not end the loop
                    app.logger.exception("resuming imports failed")
                finally:
                    db.session.remove()
            socketio.sleep(app.config["IMPORT_STALE_SECONDS"])

    socketio.start_background_task(loop)
