"""`feed_item`: a completed workout, sent live to the open feeds of those who may see it.

`announce_completed(workout_id)` is called by the completion flow after its
COMMIT (services/training/workouts.py), when `may_reach_anyone` said so inside
the transaction, and returns at once: the fan-out runs
as a background task, so the completion POST never waits for 10,000
followers. Not stored, not a notification: a feed that was closed reads the
workout from the database when it opens.

Who gets it: the owner's accepted followers with no block either way, when
the workout's visibility is one followers see (`followers`, `public`); a
private workout goes to nobody, and the owner is not their own follower. The
followers are read in batches of `BATCH` ids through `ix_follows_followee`
(followee, accepted, follower), each batch after the last id of the one
before (keyset), so a batch costs the same for the first follower and the
10,000th; each batch is emitted `EMIT_GROUP` rooms at a time, with a yield
after each (`push.fan_out`), so the loop serves others in between.
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from fitness_app import outages
from fitness_app.extensions import db, socketio
from fitness_app.models import Follow, User, Workout
from fitness_app.realtime import push
from fitness_app.realtime.rooms import user_room
from fitness_app.services.social import visibility

BATCH = 500
#: Rooms per emit: each emit queues a packet per socket, and the yield after it
#: lets their writers send them, so a group is what the loop does between two
#: looks at everyone else (500 at once held eventlet's loop 0.2-0.4 s here).
EMIT_GROUP = 100

# Fan-outs running in this process, for `wait_idle`.
_running = 0
_idle = threading.Condition()


def may_reach_anyone(workout: Workout, owner: User) -> bool:
    """Whether a fan-out of this workout could reach a follower at all, from what the
    completion has loaded already: a private workout, or an owner nobody follows
    (`users.followers_count`, kept in the transactions that move it), reaches no one,
    so the completion starts no task and runs no query for it. A follow accepted
    while the completion runs is not seen; that follower reads the workout from
    the database when their feed next opens, as after any gap."""
    return workout.visibility in visibility.SHARED_WITH_FOLLOWERS and owner.followers_count > 0


def announce_completed(workout_id: int) -> None:
    """Start the `feed_item` fan-out of a workout just completed; returns at once."""
    global _running
    app = current_app._get_current_object()
    with _idle:
        _running += 1
    socketio.start_background_task(_run, app, workout_id)


def wait_idle(timeout: float) -> bool:
    """True once no fan-out runs in this process: for tests that count statements."""
    with _idle:
        return _idle.wait_for(lambda: _running == 0, timeout)


def _run(app: Flask, workout_id: int) -> None:
    global _running
    try:
        outages.retry_through(app, "the feed_item fan-out", lambda: fan_out(workout_id),
                              patience=60)
    except Exception:  # noqa: BLE001 - a background task: log, never kill the worker
        app.logger.exception("feed_item fan-out of workout %s failed", workout_id)
    finally:
        with _idle:
            _running -= 1
            _idle.notify_all()


def payload(workout: Workout, username: str) -> dict[str, Any]:
    """The `feed_item` event: what an open feed needs to show the workout at its top."""
    return {"workout_id": workout.id, "username": username, "title": workout.title,
            "url": f"/workouts/{workout.id}"}


def followers_batch(owner_id: int, after: int, size: int = BATCH) -> list[int]:
    """The next `size` accepted followers above id `after` with no block either way."""
    return list(db.session.scalars(
        sa.select(Follow.follower_id)
        .where(
            Follow.followee_id == owner_id,
            # `= true`, not a bare column: both databases then match it to the
            # index's middle column and read the followers in id order.
            Follow.accepted == sa.true(),
            Follow.follower_id > after,
            ~visibility.blocked_either_way(Follow.follower_id, owner_id),
        )
        .order_by(Follow.follower_id)
        .limit(size)
    ))


def fan_out(workout_id: int) -> int:
    """Send `feed_item` to every follower allowed to see the workout; returns how many."""
    row = db.session.execute(
        sa.select(Workout, User.username)
        .join(User, User.id == Workout.user_id)
        .where(Workout.id == workout_id, Workout.completed_at.is_not(None))
    ).first()
    if row is None or row[0].visibility not in visibility.SHARED_WITH_FOLLOWERS:
        db.session.rollback()
        return 0
    workout, username = row
    owner_id, event = workout.user_id, payload(workout, username)
    sent, after = 0, 0
    while True:
        batch = followers_batch(owner_id, after)
        # End the read before the emit: no transaction stays open while the loop serves others.
        db.session.rollback()
        if not batch:
            return sent
        for at in range(0, len(batch), EMIT_GROUP):
            push.fan_out([("feed_item", event,
                           [user_room(user_id) for user_id in batch[at : at + EMIT_GROUP]])])
        sent += len(batch)
        after = batch[-1]
