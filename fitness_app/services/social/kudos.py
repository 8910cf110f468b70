"""Kudos: once per user per workout, each in one small transaction.

A popular workout may get kudos from a thousand people within a minute, so a
kudos is a fixed amount of work whatever came before: one visibility probe,
an INSERT that the primary key lets happen once (`ON CONFLICT DO NOTHING`,
no read first), one counter UPDATE, one notification, one COMMIT. Nothing
counts rows; the page reads `workouts.kudos_count`.
"""

from __future__ import annotations

import enum

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Kudos, User, Workout, utcnow
from fitness_app.services.notifications import store
from fitness_app.services.notifications.delivery import delivery
from fitness_app.services.social.visibility import blocked_either_way, visible_workouts
from fitness_app.services.sql import insert_ignoring_duplicates

#: How many givers the workout page names.
LATEST = 5


class Given(enum.Enum):
    GIVEN = "given"
    ALREADY = "already"
    OWN_WORKOUT = "own_workout"
    NOT_FOUND = "not_found"


def give(giver: User, workout_id: int) -> Given:
    """Kudos from `giver`; the owner hears of it once, in the same commit.

    A workout the giver may not see is NOT_FOUND, as one that does not exist.
    """
    try:
        return _give(giver, workout_id)
    except sa.exc.IntegrityError:
        # Its deletion committed between the visibility probe and the INSERT.
        return Given.NOT_FOUND


def _give(giver: User, workout_id: int) -> Given:
    with delivery() as unit:
        workout = db.session.scalar(visible_workouts(giver.id).where(Workout.id == workout_id))
        outcome = _record(giver, workout)
        if outcome is not Given.GIVEN:
            unit.abandon()
            return outcome
        db.session.execute(
            sa.update(Workout)
            .where(Workout.id == workout.id)
            .values(kudos_count=Workout.kudos_count + 1)
            .execution_options(synchronize_session=False)
        )
        store.notify(
            workout.user_id,
            "kudos",
            "Kudos",
            f"{giver.username} gave kudos to “{workout.title}”",
            {"username": giver.username, "workout_id": workout.id},
        )
    return Given.GIVEN


def _record(giver: User, workout: Workout | None) -> Given:
    """Insert the kudos row unless the workout is missing, the giver's own, or done already."""
    if workout is None:
        return Given.NOT_FOUND
    if workout.user_id == giver.id:
        return Given.OWN_WORKOUT
    inserted = insert_ignoring_duplicates(
        Kudos, {"workout_id": workout.id, "user_id": giver.id, "created_at": utcnow()}
    )
    return Given.GIVEN if inserted else Given.ALREADY


def has_given(user_id: int, workout_id: int) -> bool:
    """One primary-key probe."""
    return db.session.get(Kudos, (workout_id, user_id)) is not None


def latest_givers(workout_id: int, viewer_id: int, limit: int = LATEST) -> list[str]:
    """The usernames of the latest givers, newest first, through `ix_kudos_workout_latest`.

    Nobody the viewer blocked or was blocked by: blocking hides everything both ways.
    """
    return list(db.session.scalars(
        sa.select(User.username)
        .join(Kudos, Kudos.user_id == User.id)
        .where(Kudos.workout_id == workout_id, ~blocked_either_way(viewer_id, Kudos.user_id))
        .order_by(Kudos.created_at.desc())
        .limit(limit)
    ))


def before_account_deleted(user_id: int) -> None:
    """Take a departing user's kudos off the counters of the workouts they went to.

    The rows themselves go with the user (ON DELETE CASCADE); the counters
    are ours to keep. Runs in the deletion's transaction, through `ix_kudos_user`.
    """
    given = sa.select(Kudos.workout_id).where(Kudos.user_id == user_id)
    db.session.execute(
        sa.update(Workout)
        .where(Workout.id.in_(given), Workout.user_id != user_id)
        .values(kudos_count=Workout.kudos_count - 1)
        .execution_options(synchronize_session=False)
    )
