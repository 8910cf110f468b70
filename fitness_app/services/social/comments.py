"""Comments: plain text on a workout, seen by whoever may see the workout.

A new comment notifies the owner and every earlier commenter who may still
see the workout (never its author), each once. The comment, its counter, the
owner's notification and the first batch of earlier commenters commit
together; a workout with many commenters has the rest notified in further
batches of BATCH, one transaction each, yielding to the loop between them,
so no transaction or stretch of the loop grows with the conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from fitness_app.extensions import db, socketio
from fitness_app.models import Comment, User, Workout, utcnow
from fitness_app.services.notifications import store
from fitness_app.services.notifications.delivery import delivery
from fitness_app.services.social.visibility import (
    blocked_either_way,
    seen_by,
    seen_by_each,
    visible_workouts,
)
from fitness_app.services.sql import lock_users

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
    try:
        first = _store(author, workout_id, body)
    except sa.exc.IntegrityError:
        # The workout's deletion committed between the visibility probe and the INSERT.
        return None
    if first is None:
        return None
    news, after = first
    while after is not None:
        socketio.sleep(0)
        with delivery():
            after = news.send(after)
    return news.comment_id


def _store(author: User, workout_id: int, body: str) -> tuple[_News, int | None] | None:
    """The comment, its counter, the owner and the first batch, in one transaction."""
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
        news = _News(workout.id, comment_id, (author.id, workout.user_id), "Comment",
                     _message(author.username, workout.title, body),
                     {"username": author.username, "workout_id": workout.id,
                      "comment_id": comment_id})
        owner = [] if workout.user_id == author.id else [workout.user_id]
        after = news.send(0, also=owner)
    return news, after


def _message(username: str, workout_title: str, body: str) -> str:
    quote = body if len(body) <= QUOTE else body[: QUOTE - 1].rstrip() + "…"
    return f"{username} on “{workout_title}”: {quote}"


@dataclass(frozen=True)
class _News:
    """One new comment's notification, and whom it has yet to reach."""

    workout_id: int
    comment_id: int
    # The author, then the owner: never among the earlier commenters notified.
    skip: tuple[int, int]
    title: str
    message: str
    data: dict[str, object]

    def send(self, after: int, also: Sequence[int] = ()) -> int | None:
        """Notify `also` and the next BATCH earlier commenters above user id `after`.

        Returns where the next batch starts, or None when this was the last.
        Only commenters who may still see the workout, asked of the whole
        batch in one query through the one rule (`seen_by_each`); comments
        written after this one do not count. The users' locks are taken at
        once, in id order, so two comments' fan-outs never wait on each
        other in a cycle.
        """
        batch = db.session.scalars(
            sa.select(Comment.user_id)
            .distinct()
            .join(Workout, Workout.id == Comment.workout_id)
            .where(
                Comment.workout_id == self.workout_id,
                Comment.id < self.comment_id,
                Comment.user_id > after,
                Comment.user_id.not_in(self.skip),
                seen_by_each(Comment.user_id),
                # Blocking hides everything both ways: not even news of a comment.
                ~blocked_either_way(Comment.user_id, self.skip[0]),
            )
            .order_by(Comment.user_id)
            .limit(BATCH)
        ).all()
        recipients = sorted({*also, *batch})
        lock_users(recipients)
        for user_id in recipients:
            store.notify(user_id, "comment", self.title, self.message, dict(self.data))
        return batch[-1] if len(batch) == BATCH else None


def visible_comment(viewer_id: int, comment_id: int) -> tuple[Comment, Workout] | None:
    """The comment and its workout when `viewer_id` may see both; else None.

    As on the page (`page`), a comment whose author is in a block with the
    viewer, either way, is not seen, even on a workout the viewer sees.
    """
    row = db.session.execute(
        sa.select(Comment, Workout)
        .join(Workout, Workout.id == Comment.workout_id)
        .where(Comment.id == comment_id, seen_by(viewer_id),
               ~blocked_either_way(viewer_id, Comment.user_id))
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

    Without the comments of anyone the viewer blocked or was blocked by:
    blocking hides everything both ways, on a third person's workout too.

    A keyset page of `ix_comments_workout`: ids above `after`, so page 100
    costs what page 1 does.
    """
    rows = db.session.execute(
        sa.select(Comment.id, Comment.body, Comment.created_at, Comment.user_id, User.username)
        .join(User, User.id == Comment.user_id)
        .where(Comment.workout_id == workout.id, Comment.id > after,
               ~blocked_either_way(viewer.id, Comment.user_id))
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
