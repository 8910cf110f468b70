"""Comments: plain text on a workout, seen by whoever may see the workout.

A new comment notifies the owner and every earlier commenter who may still
see the workout (never its author), each once. The comment, its counter, the
owner's notification and the first batch of earlier commenters commit
together; a workout with many commenters has the rest notified in further
batches of BATCH, one transaction each, yielding to the loop between them,
so no transaction or stretch of the loop grows with the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from fitness_app.extensions import db, socketio
from fitness_app.models import Comment, User, Workout, utcnow
from fitness_app.services.notifications import store
from fitness_app.services.notifications.delivery import delivery
from fitness_app.services.social.visibility import seen_by, seen_by_each, visible_workouts

MAX_LENGTH = 1000
#: Earlier commenters notified per transaction.
BATCH = 100
#: How much of a comment its notification quotes.
QUOTE = 100


@dataclass(frozen=True)
class Shown:
    """A comment as the workout page shows it."""

    id: int
    body: str
    created_at: datetime
    username: str
    may_delete: bool


@dataclass(frozen=True)
class Page:
    comments: list[Shown]
    # The id to continue after (`?comments_after=`), None on the last page.
    next_after: int | None


def add(author: User, workout_id: int, body: str) -> int | None:
    """Store `body` (already checked: 1–MAX_LENGTH characters, stripped) and notify; its id.

    None when the author may not see the workout, as when it does not exist.
    """
    with delivery() as unit:
        workout = db.session.scalar(visible_workouts(author.id).where(Workout.id == workout_id))
        if workout is None:
            unit.abandon()
            return None
        comment = Comment(workout_id=workout.id, user_id=author.id, body=body,
                          created_at=utcnow())
        db.session.add(comment)
        db.session.flush()
        comment_id = comment.id
        db.session.execute(
            sa.update(Workout)
            .where(Workout.id == workout.id)
            .values(comments_count=Workout.comments_count + 1)
            .execution_options(synchronize_session=False)
        )
        title, message = "Comment", _message(author.username, workout.title, body)
        data = {"username": author.username, "workout_id": workout.id}
        if workout.user_id != author.id:
            store.notify(workout.user_id, "comment", title, message, dict(data))
        skip = (author.id, workout.user_id)
        after = _notify_batch(workout.id, comment_id, skip, 0, title, message, data)
    while after is not None:
        socketio.sleep(0)
        with delivery():
            after = _notify_batch(workout_id, comment_id, skip, after, title, message, data)
    return comment_id


def _message(username: str, workout_title: str, body: str) -> str:
    quote = body if len(body) <= QUOTE else body[: QUOTE - 1].rstrip() + "…"
    return f"{username} on “{workout_title}”: {quote}"


def _notify_batch(workout_id: int, before_id: int, skip: tuple[int, ...], after: int,
                  title: str, message: str, data: dict[str, object]) -> int | None:
    """Notify the next BATCH earlier commenters above user id `after`; where to go on, or None.

    Only those who may still see the workout, asked of the whole batch in one
    query through the one rule (`seen_by_each`); comments written after this
    one (id ≥ `before_id`) do not count.
    """
    recipients = db.session.scalars(
        sa.select(Comment.user_id)
        .distinct()
        .join(Workout, Workout.id == Comment.workout_id)
        .where(
            Comment.workout_id == workout_id,
            Comment.id < before_id,
            Comment.user_id > after,
            Comment.user_id.not_in(skip),
            seen_by_each(Comment.user_id),
        )
        .order_by(Comment.user_id)
        .limit(BATCH)
    ).all()
    for user_id in recipients:
        store.notify(user_id, "comment", title, message, dict(data))
    return recipients[-1] if len(recipients) == BATCH else None


def visible_comment(viewer_id: int, comment_id: int) -> tuple[Comment, Workout] | None:
    """The comment and its workout when `viewer_id` may see the workout; else None."""
    row = db.session.execute(
        sa.select(Comment, Workout)
        .join(Workout, Workout.id == Comment.workout_id)
        .where(Comment.id == comment_id, seen_by(viewer_id))
    ).first()
    return (row[0], row[1]) if row else None


def delete(actor: User, comment_id: int) -> int | None:
    """Delete a comment for its author, the workout's owner or an admin; its workout id.

    None for anyone else, and for a comment the actor may not see: the same
    404. An admin moderates any comment, seen or not (/admin/reports).
    """
    query = (sa.select(Comment.user_id, Workout.id, Workout.user_id)
             .join(Workout, Workout.id == Comment.workout_id)
             .where(Comment.id == comment_id))
    if not actor.is_admin:
        query = query.where(seen_by(actor.id))
    row = db.session.execute(query).first()
    if row is None or not (actor.is_admin or actor.id in (row[0], row[2])):
        db.session.rollback()
        return None
    removed = db.session.execute(sa.delete(Comment).where(Comment.id == comment_id))
    if removed.rowcount == 1:
        db.session.execute(
            sa.update(Workout)
            .where(Workout.id == row[1])
            .values(comments_count=Workout.comments_count - 1)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return row[1]


def page(workout: Workout, viewer: User, after: int, per_page: int) -> Page:
    """Comments of a workout the viewer may see (the caller checked), oldest first.

    A keyset page of `ix_comments_workout`: ids above `after`, so page 100
    costs what page 1 does.
    """
    rows = db.session.execute(
        sa.select(Comment.id, Comment.body, Comment.created_at, Comment.user_id, User.username)
        .join(User, User.id == Comment.user_id)
        .where(Comment.workout_id == workout.id, Comment.id > after)
        .order_by(Comment.id)
        .limit(per_page + 1)
    ).all()
    moderator = viewer.is_admin or viewer.id == workout.user_id
    shown = [
        Shown(r.id, r.body, r.created_at, r.username, moderator or r.user_id == viewer.id)
        for r in rows[:per_page]
    ]
    return Page(shown, shown[-1].id if len(rows) > per_page else None)


def before_account_deleted(user_id: int) -> None:
    """Take a departing user's comments off the counters of others' workouts.

    The rows go with the user (ON DELETE CASCADE). One UPDATE through
    `ix_comments_user` and `ix_comments_workout_user`, in the deletion's transaction.
    """
    mine = sa.select(Comment.workout_id).where(Comment.user_id == user_id)
    theirs_on_it = (
        sa.select(sa.func.count())
        .where(Comment.workout_id == Workout.id, Comment.user_id == user_id)
        .scalar_subquery()
    )
    db.session.execute(
        sa.update(Workout)
        .where(Workout.id.in_(mine), Workout.user_id != user_id)
        .values(comments_count=Workout.comments_count - theirs_on_it)
        .execution_options(synchronize_session=False)
    )
