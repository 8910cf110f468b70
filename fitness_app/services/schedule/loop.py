"""The scheduler's loop: claim due rows in batches, do their work, move them on, yield.

One background task per server process (`start`). Each turn is one
transaction for a batch of up to SCHEDULE_BATCH rows (`run_due`):

1. claim the batch in one statement: rows whose `due_at` has come, through
   the `due_at` index, oldest first, with `FOR UPDATE SKIP LOCKED` on
   PostgreSQL: rows another worker holds are skipped, not waited for, so
   several workers share the work and each row is taken by one of them.
   (SQLite runs one process; the clause is left out there.)
2. drop the rows more than SCHEDULE_LATE_SECONDS late (the server was down):
   logged, not sent, so a long outage brings no flood of stale reminders;
3. take one row per user: the others wait for the next turn, so a user's
   reminder and nudge of the same minute never share a delivery unit (each
   notification also starts a group of its own: one popup, one push per
   item); lock those users in ascending id order, in one statement, so a
   turn never deadlocks with another transaction that locks several users
   in the same order;
4. let each kind's module read and decide for its rows, set-based (`batch.Work`);
5. write the batch: every notification in one INSERT and the unread counters
   in one UPDATE (`store.notify_many`), one-off rows deleted and recurring
   ones moved to their next occurrence in bulk; then COMMIT: the
   notifications and the rows' new times commit together, so a crash before
   COMMIT leaves the rows due and nothing sent, and after it they are no
   longer due. After COMMIT the delivery unit emits to each user's room and
   hands the batch to Web Push in one go; mail is queued, so it leaves at
   most once (digest.py).

A turn yields (`socketio.sleep(0)`) between its reads and computations, never
after its first write: on SQLite that write holds the database's one write
lock until COMMIT, and a request that waited for it would block the event
loop itself. Between turns the task yields at once while work remains, and
rests for up to SCHEDULE_POLL_SECONDS when none does.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from fitness_app import outages
from fitness_app.extensions import db, socketio
from fitness_app.models import DueItem, User, utcnow
from fitness_app.realtime.push import collector_paused
from fitness_app.services.notifications import store
from fitness_app.services.notifications.delivery import delivery
from fitness_app.services.schedule import digest, nudges, plan, reminders, summaries
from fitness_app.services.schedule.batch import Claimed, TurnFailed, Work, paced
from fitness_app.services.schedule.plan import Person
from fitness_app.services.sql import lock_users

log = logging.getLogger(__name__)
_STATE_KEY = "fitness_schedule_loop"
#: How soon to look again at due rows that another worker holds.
HELD_REST_SECONDS = 0.5

#: kind → run(items, users, now) → what to store, and what to do after COMMIT.
KINDS = {
    plan.REMINDER: reminders.run,
    "goal_nudge": nudges.run,
    "weekly_summary": summaries.run,
    "digest": digest.run,
}


def claim(now: datetime, limit: int) -> list[Claimed]:
    """Lock up to `limit` due rows, oldest first, skipping those another worker holds.

    One statement. Held until the caller's COMMIT or ROLLBACK, so two workers
    claiming at once get disjoint batches (SQLite, one process: no clause).
    """
    rows = db.session.execute(
        sa.select(DueItem.id, DueItem.kind, DueItem.user_id, DueItem.workout_id, DueItem.due_at)
        .where(DueItem.due_at <= now)
        .order_by(DueItem.due_at, DueItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [Claimed(r.id, r.kind, r.user_id, r.workout_id, plan.aware(r.due_at)) for r in rows]


def run_due(now: datetime | None = None, limit: int | None = None) -> int:
    """One turn: claim a batch, work it out, write it, commit, push; how many were claimed.

    A failure of the work raises `TurnFailed` (from the error), naming the rows
    claimed, so that the task can try them one at a time (`_run_forever`).
    """
    now = now or utcnow()
    limit = limit or current_app.config["SCHEDULE_BATCH"]
    # One transaction: the batch's rows, one COMMIT, then the push to rooms and devices.
    # The collector waits until the batch is garbage: run during it, its young
    # collections promote the batch's rows, drafts and payloads, and a full
    # collection (about 100 ms here) then came every few batches.
    with collector_paused(), delivery() as unit:
        claimed = claim(now, limit)
        if not claimed:
            unit.abandon()
            return 0
        try:
            work = _work(claimed, now)
        except Exception as error:
            if outages.is_database_outage(error):
                raise
            raise TurnFailed([item.id for item in claimed]) from error
    for action in work.after_commit:
        action()
    return len(claimed)


def _work(claimed: list[Claimed], now: datetime) -> Work:
    """Read, decide, then write the batch in the caller's transaction; what is left for after."""
    late_after = timedelta(seconds=current_app.config["SCHEDULE_LATE_SECONDS"])
    late = [item for item in claimed if now - item.due_at >= late_after]
    late_ids = {item.id for item in late}
    taken: list[Claimed] = []
    users_taken: set[int] = set()
    for item in claimed:
        if item.id not in late_ids and item.user_id not in users_taken:
            users_taken.add(item.user_id)
            taken.append(item)
    users = _users({item.user_id for item in late + taken})
    # Every user this turn notifies, locked up front in id order (one round trip).
    lock_users(item.user_id for item in taken)
    by_kind: dict[str, list[Claimed]] = defaultdict(list)
    for item in taken:
        by_kind[item.kind].append(item)
    work = Work()
    for kind, items in by_kind.items():
        socketio.sleep(0)
        work.add(KINDS[kind](items, users, now))
    socketio.sleep(0)
    moves = _next_times(late + taken, users, now)
    socketio.sleep(0)
    # Writes only from here to COMMIT, and no yield (see the module's docstring).
    store.notify_many(work.drafts)
    _move_on(moves)
    if late:
        _log_dropped(late, now)
    return work


def set_aside(row_id: int, now: datetime | None = None) -> None:
    """A row whose work failed on its own: move it to its next time (or delete it), and log it.

    So one row the code cannot handle holds back no one else; the person misses
    this occurrence, and the next one is tried again. Skipped when another
    worker holds the row.
    """
    now = now or utcnow()
    item = db.session.execute(
        sa.select(DueItem.id, DueItem.kind, DueItem.user_id, DueItem.workout_id, DueItem.due_at)
        .where(DueItem.id == row_id).with_for_update(skip_locked=True)
    ).first()
    if item is None:
        db.session.rollback()
        return
    claimed = Claimed(item.id, item.kind, item.user_id, item.workout_id, plan.aware(item.due_at))
    try:
        moves = _next_times([claimed], _users({claimed.user_id}), now)
    except Exception:  # noqa: BLE001 - its next time may be what fails: then it goes
        moves = {None: [row_id]}
    _move_on(moves)
    db.session.commit()
    [due] = moves
    log.error("set aside due row %d (%s of user %d, due %s) whose work failed; next: %s",
              row_id, claimed.kind, claimed.user_id, claimed.due_at.isoformat(),
              due.isoformat() if due else "none, deleted")


def _users(ids: set[int]) -> dict[int, Person]:
    """The batch's users' settings in one query, as plain rows."""
    if not ids:
        return {}
    rows = db.session.execute(sa.select(*plan.PERSON_COLUMNS).where(User.id.in_(ids)))
    return {row.id: row for row in rows}


def _next_times(
    items: list[Claimed], users: dict[int, Person], now: datetime
) -> dict[datetime | None, list[int]]:
    """Row ids by their next due time after now; None for the rows that happen no more."""
    moves: dict[datetime | None, list[int]] = defaultdict(list)
    for item in paced(items):
        user = users.get(item.user_id)
        due = None
        if item.kind in plan.RECURRING and user is not None:
            due = plan.next_due(user, item.kind, max(item.due_at, now))
        moves[due].append(item.id)
    return moves


def _move_on(moves: dict[datetime | None, list[int]]) -> None:
    """Delete what happens once; move what recurs to its next time, in bulk.

    One DELETE, and one UPDATE per distinct next time: rows due at one minute
    mostly come back at one next minute (same setting, same zone), so a batch
    of 500 nudges is one or a few statements.
    """
    table = DueItem.__table__
    for due, ids in moves.items():
        if due is None:
            db.session.execute(sa.delete(table).where(table.c.id.in_(ids)))
        else:
            db.session.execute(sa.update(table).where(table.c.id.in_(ids)).values(due_at=due))


def _log_dropped(late: list[Claimed], now: datetime) -> None:
    kinds = Counter(item.kind for item in late)
    oldest = min(item.due_at for item in late)
    log.warning(
        "dropped %d due items more than %d s late (%s); the oldest was due %s, now %s",
        len(late), current_app.config["SCHEDULE_LATE_SECONDS"],
        ", ".join(f"{kind} ×{count}" for kind, count in sorted(kinds.items())),
        oldest.isoformat(), now.isoformat(),
    )


def _run_forever(app: Flask, state: dict[str, Any]) -> None:
    poll = app.config["SCHEDULE_POLL_SECONDS"]
    batch = app.config["SCHEDULE_BATCH"]
    # After a batch failed: how many of the next rows to take one at a time, so
    # the good ones go out and the one that fails alone is set aside.
    singly = 0
    while not state["stop"]:
        limit = 1 if singly else batch
        with app.app_context():
            try:
                claimed = run_due(limit=limit)
                singly = max(0, singly - claimed)
                # A full batch means more may be waiting: yield, then go again at once.
                wait = 0.0 if claimed >= limit else seconds_to_next(poll, claimed == 0)
            except TurnFailed as failed:
                app.logger.exception("a scheduler batch of %d failed", len(failed.row_ids))
                claimed, wait = 0, 0.0
                if len(failed.row_ids) > 1:
                    singly = len(failed.row_ids)
                else:
                    singly = max(0, singly - 1)
                    try:
                        set_aside(failed.row_ids[0])
                    except Exception:  # noqa: BLE001 - the loop must go on; the row stays due
                        outages.give_up_transaction()
                        app.logger.exception("setting a failed due row aside failed too")
                        wait = poll
            except Exception as error:  # noqa: BLE001 - one bad turn must not end the loop
                if outages.is_database_outage(error):
                    # The database is away: the rows stay due and are tried again after
                    # a rest; the outage is logged once for the process, not every turn.
                    outages.give_up_transaction()
                    outages.state(app).noted(error)
                else:
                    app.logger.exception("a scheduler turn failed; retrying in %s s", poll)
                claimed, wait = 0, poll
            finally:
                db.session.remove()
        state["claimed"] += claimed
        socketio.sleep(wait)


def seconds_to_next(poll: float, claimed_none: bool = False) -> float:
    """How long to rest: until the next row is due, and never longer than `poll`.

    One probe of the `due_at` index. Rows that another process adds for
    sooner are seen at the next look, `poll` seconds at most from now. Rows
    already due that a turn claimed none of are held by another worker's turn
    (SKIP LOCKED passed them), or by a worker that died mid-turn until
    PostgreSQL notices its connection is gone: rest HELD_REST_SECONDS and look
    again, rather than go round at once for as long as they are held.
    """
    upcoming = db.session.scalar(sa.select(sa.func.min(DueItem.due_at)))
    db.session.rollback()
    if upcoming is None:
        return poll
    wait = (plan.aware(upcoming) - utcnow()).total_seconds()
    if wait <= 0 and claimed_none:
        return min(poll, HELD_REST_SECONDS)
    return min(poll, max(0.0, wait))


def start(app: Flask) -> None:
    """Start this process's scheduler task; app.py calls it for every serving process.

    A green thread under eventlet or gevent, a thread in threading mode. With
    several workers each runs one; SKIP LOCKED shares the rows between them.
    """
    if app.extensions.get(_STATE_KEY) or not app.config["SCHEDULE_ENABLED"]:
        return
    state = app.extensions[_STATE_KEY] = {"stop": False, "claimed": 0}
    socketio.start_background_task(_run_forever, app, state)


def claimed_so_far(app: Flask) -> int:
    """How many due rows this process's task has claimed since it started."""
    state = app.extensions.get(_STATE_KEY)
    return state["claimed"] if state else 0


def stop(app: Flask) -> None:
    """Let the task end after its current turn (tests, and a clean shutdown)."""
    state = app.extensions.get(_STATE_KEY)
    if state:
        state["stop"] = True
