"""The scheduler's loop: claim due rows in batches, do their work, move them on, yield.

One background task per server process (`start`). Each turn is one
transaction (`run_due`):

1. claim up to SCHEDULE_BATCH rows whose `due_at` has come, through the
   `due_at` index, oldest first, with `FOR UPDATE SKIP LOCKED` on PostgreSQL:
   rows another worker holds are skipped, not waited for, so several workers
   share the work and each row is taken by one of them. (SQLite runs one
   process; the clause is left out there.)
2. drop the rows more than SCHEDULE_LATE_SECONDS late (the server was down):
   logged, not sent, so a long outage brings no flood of stale reminders;
3. take one row per user: the others wait for the next turn, so a user's
   reminder and nudge of the same minute never share a delivery unit (each
   kind also passes `notify(..., new_group=True)`: one popup, one push per
   item, whatever a unit holds); lock those users in ascending id order, in
   one statement, so a turn never deadlocks with another transaction that
   locks several users in the same order;
4. let each kind's module do the work (`notify` inside this `delivery()`);
5. delete one-off rows and move recurring ones to their next occurrence, then
   COMMIT: the notification and the row's new time commit together, so a
   crash before COMMIT leaves the row due and nothing sent, and after it the
   row is no longer due. Mail is queued after COMMIT, so it leaves at most
   once (digest.py).

Between turns the task yields (`socketio.sleep`), at once while work remains
and for up to SCHEDULE_POLL_SECONDS when none does, so no turn holds the
event loop for longer than one batch.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from fitness_app import outages
from fitness_app.extensions import db, socketio
from fitness_app.models import DueItem, User, utcnow
from fitness_app.services.notifications.delivery import delivery
from fitness_app.services.schedule import digest, nudges, plan, reminders, summaries
from fitness_app.services.schedule.plan import Person
from fitness_app.services.sql import lock_users

log = logging.getLogger(__name__)
_STATE_KEY = "fitness_schedule_loop"

AfterCommit = Callable[[], None]


@dataclass(frozen=True)
class Claimed:
    """One due row, as claimed."""

    id: int
    kind: str
    user_id: int
    workout_id: int | None
    due_at: datetime


#: kind → run(items, users, now) → what to do after COMMIT.
KINDS: dict[str, Callable[[list[Claimed], dict[int, Person], datetime], list[AfterCommit]]] = {
    plan.REMINDER: reminders.run,
    "goal_nudge": nudges.run,
    "weekly_summary": summaries.run,
    "digest": digest.run,
}


def _claim(now: datetime, limit: int) -> list[Claimed]:
    rows = db.session.execute(
        sa.select(DueItem.id, DueItem.kind, DueItem.user_id, DueItem.workout_id, DueItem.due_at)
        .where(DueItem.due_at <= now)
        .order_by(DueItem.due_at, DueItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [Claimed(r.id, r.kind, r.user_id, r.workout_id, plan.aware(r.due_at)) for r in rows]


def run_due(now: datetime | None = None, limit: int | None = None) -> int:
    """One turn: claim, work, move on, commit. Returns how many rows were claimed."""
    now = now or utcnow()
    limit = limit or current_app.config["SCHEDULE_BATCH"]
    late_after = timedelta(seconds=current_app.config["SCHEDULE_LATE_SECONDS"])
    after_commit: list[AfterCommit] = []
    with delivery() as unit:
        claimed = _claim(now, limit)
        if not claimed:
            unit.abandon()
            return 0
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
        for kind, items in by_kind.items():
            after_commit += KINDS[kind](items, users, now)
        if late:
            _log_dropped(late, now)
        _move_on(late + taken, users, now)
    for action in after_commit:
        action()
    return len(claimed)


def _users(ids: set[int]) -> dict[int, Person]:
    """The batch's users' settings in one query, as plain rows."""
    if not ids:
        return {}
    rows = db.session.execute(sa.select(*plan.PERSON_COLUMNS).where(User.id.in_(ids)))
    return {row.id: row for row in rows}


def _move_on(items: list[Claimed], users: dict[int, Person], now: datetime) -> None:
    """Delete what happens once; move what recurs to its next occurrence after now."""
    gone: list[int] = []
    moved: list[dict[str, object]] = []
    for item in items:
        user = users.get(item.user_id)
        due = None
        if item.kind in plan.RECURRING and user is not None:
            due = plan.next_due(user, item.kind, max(item.due_at, now))
        if due is None:
            gone.append(item.id)
        else:
            moved.append({"row_id": item.id, "due": due})
    if gone:
        db.session.execute(sa.delete(DueItem.__table__).where(DueItem.__table__.c.id.in_(gone)))
    if moved:
        table = DueItem.__table__
        db.session.execute(
            sa.update(table).where(table.c.id == sa.bindparam("row_id"))
            .values(due_at=sa.bindparam("due")),
            moved,
        )


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
    while not state["stop"]:
        with app.app_context():
            try:
                claimed = run_due(limit=batch)
                # A full batch means more may be waiting: yield, then go again at once.
                wait = 0.0 if claimed >= batch else seconds_to_next(poll)
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


def seconds_to_next(poll: float) -> float:
    """How long to rest: until the next row is due, and never longer than `poll`.

    One probe of the `due_at` index. Rows that another process adds for
    sooner are seen at the next look, `poll` seconds at most from now.
    """
    upcoming = db.session.scalar(sa.select(sa.func.min(DueItem.due_at)))
    db.session.rollback()
    if upcoming is None:
        return poll
    return min(poll, max(0.0, (plan.aware(upcoming) - utcnow()).total_seconds()))


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
